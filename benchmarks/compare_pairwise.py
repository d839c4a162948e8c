"""Section `pairwise`: emd.pairwise against loops of scipy / POT, the cdist floor, and itself on Dask.

The four workloads of issue 18:

1. W1 between N = 2000 samples of 1000 values each (1,999,000 pairs), square
   output, against a loop of ``scipy.stats.wasserstein_distance``: the loop is
   timed on a random sample of pairs and scaled to all pairs (it would take
   minutes). The same with random weights (the general merge-walk path, no
   structure) is shown beside it.
2. The same data, equal-size uniform: against the floor of the structure,
   ``cdist(sorted rows, sorted rows, "cityblock") / m`` (one core, the full square;
   the sort is outside the floor's timing, inside emd's).
3. Exact EMD between N = 500 histograms of 64 bins with a shared cost (124,750
   pairs), against a loop of ``ot.emd2`` (timed on a sample of pairs, scaled).
4. Workload 1 on ``backend="dask"`` with a LocalCluster of 2 workers x 1 thread on
   this machine, against the threads backend on the same cores (throughput ratio;
   3 runs of each, interleaved, medians).

Every emd result is checked against its reference on the sampled pairs (1e-9 relative).
Also printed: pairs per second per core of each emd row, and the cores that
N = 1e5 and 1e6 would need for a one-hour run at that rate (docs/pairwise.md).
"""

from __future__ import annotations

import os
import time

import numpy as np

from _timing import median_time, print_table

import emd


def _sample_pairs(rng, n, count):
    i = rng.integers(0, n, size=count)
    j = rng.integers(0, n, size=count)
    keep = i != j
    return i[keep], j[keep]


def _loop_time(fn, pairs, total_pairs):
    """Seconds of fn over the sampled pairs, scaled to ``total_pairs``, and the values."""
    i, j = pairs
    t0 = time.perf_counter()
    vals = np.array([fn(a, b) for a, b in zip(i, j)])
    return (time.perf_counter() - t0) * total_pairs / len(i), vals


def _check(D, pairs, ref_vals):
    got = D[pairs[0], pairs[1]]
    rel = float(np.max(np.abs(got - ref_vals) / np.maximum(np.abs(ref_vals), 1e-300)))
    return f"max rel. diff {rel:.1e}" + ("" if rel <= 1e-9 else " MISMATCH")


def _cores_for_hour(pairs_per_s_per_core, n):
    return n * (n - 1) / 2 / (pairs_per_s_per_core * 3600.0)


def run(quick: bool) -> None:
    from scipy.spatial.distance import cdist
    from scipy.stats import wasserstein_distance
    import ot

    cores = os.cpu_count() or 1
    rng = np.random.default_rng(0)
    N, m = (400, 1000) if quick else (2000, 1000)
    total = N * (N - 1) // 2
    X = rng.normal(size=(N, m)) * rng.uniform(0.5, 2.0, size=(N, 1)) + rng.normal(size=(N, 1))
    W = rng.random((N, m))
    pairs = _sample_pairs(rng, N, 300 if quick else 1000)
    repeats = 3

    rows, rates = [], []
    t_emd = median_time(lambda: emd.pairwise(X), repeats=repeats)
    D = emd.pairwise(X)
    t_ref, ref_vals = _loop_time(lambda a, b: wasserstein_distance(X[a], X[b]), pairs, total)
    rows.append((f"W1, N={N} x m={m} ({total:,} pairs), square", "scipy wasserstein_distance loop (sampled, scaled)",
                 t_emd, t_ref, _check(D, pairs, ref_vals)))
    rates.append(("W1 equal-size uniform (threads)", total / t_emd / cores))

    t_top = median_time(lambda: emd.pairwise(X, output="topk", k=10), repeats=repeats)
    top = emd.pairwise(X, output="topk", k=10)
    same = np.array_equal(top.indices, np.argsort(D, axis=1, kind="stable")[:, :10])
    rows.append((f"W1, N={N} x m={m}, topk k=10", "scipy wasserstein_distance loop (sampled, scaled)",
                 t_top, t_ref, f"indices {'equal' if same else 'DIFFER from'} argsort of the square"))
    rates.append(("W1 equal-size uniform, topk k=10 (threads)", total / t_top / cores))

    t0 = time.perf_counter()  # one run: it takes long
    Dw = emd.pairwise(X, weights=W)
    t_w = time.perf_counter() - t0
    t_ref_w, ref_w = _loop_time(lambda a, b: wasserstein_distance(X[a], X[b], W[a], W[b]), pairs, total)
    rows.append((f"W1 weighted, N={N} x m={m}, square", "scipy wasserstein_distance loop (sampled, scaled)",
                 t_w, t_ref_w, _check(Dw, pairs, ref_w) + "; one run; the general merge-walk path"))
    rates.append(("W1 weighted (threads)", total / t_w / cores))

    S = np.sort(X, axis=1)
    t_floor = median_time(lambda: cdist(S, S, "cityblock") / m, repeats=repeats)
    floor = cdist(S, S, "cityblock") / m
    rel = float(np.max(np.abs(D - floor) / np.maximum(floor, 1e-300)))
    rows.append((f"W1 equal-size uniform, N={N} x m={m}", "cdist(sorted, sorted, cityblock) / m (the floor, 1 core)",
                 t_emd, t_floor, f"max rel. diff {rel:.1e}; emd includes the sort"))

    n_h, bins = (150, 64) if quick else (500, 64)
    total_h = n_h * (n_h - 1) // 2
    H = rng.random((n_h, bins))
    Hn = H / H.sum(axis=1, keepdims=True)
    grid = np.stack(np.meshgrid(np.arange(8.0), np.arange(8.0)), -1).reshape(-1, 2)
    M = emd.cost_matrix(grid, grid, "euclidean")
    t_ex = median_time(lambda: emd.pairwise(H, metric="exact", cost=M), repeats=1, warmup=1)
    De = emd.pairwise(H, metric="exact", cost=M)
    pairs_h = _sample_pairs(rng, n_h, 300 if quick else 2000)
    t_pot, ref_e = _loop_time(lambda a, b: ot.emd2(Hn[a], Hn[b], M, numItermax=10**9), pairs_h, total_h)
    rows.append((f"exact EMD, N={n_h} x {bins} bins ({total_h:,} pairs), shared cost", "ot.emd2 loop (sampled, scaled)",
                 t_ex, t_pot, _check(De, pairs_h, ref_e)))
    rates.append(("exact EMD 64 bins (threads)", total_h / t_ex / cores))

    print_table("pairwise: emd.pairwise, threads backend", rows)
    _run_dask(X, D, total, rates)

    print("\n### pairwise: throughput per core and cores for a one-hour run (n(n-1)/2 pairs)\n")
    print("| workload | pairs/s per core | cores, N = 1e5, 1 h | cores, N = 1e6, 1 h |")
    print("| --- | ---: | ---: | ---: |")
    for name, r in rates:
        print(f"| {name} | {r:,.0f} | {_cores_for_hour(r, 1e5):,.1f} | {_cores_for_hour(r, 1e6):,.0f} |")


def _run_dask(X, D, total, rates):
    try:
        import distributed
    except ImportError:
        print("\n(dask not installed: the dask row is skipped; pip install 'emd[dask]')")
        return
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address=None, silence_logs=50)
    client = distributed.Client(cluster)
    try:
        emd.pairwise(X[:50], backend="dask", client=client)  # warm-up: imports on the workers
        # Interleaved, 3 of each: on a shared machine the load drifts between
        # blocks of runs; each dask run includes its pilot and worker check.
        t_thr, t_dsk = [], []
        for _ in range(3):
            t0 = time.perf_counter()
            emd.pairwise(X)
            t_thr.append(time.perf_counter() - t0)
            time.sleep(0.25)
            t0 = time.perf_counter()
            Dd = emd.pairwise(X, backend="dask", client=client)
            t_dsk.append(time.perf_counter() - t0)
            time.sleep(0.25)
        t_threads, t_dask = float(np.median(t_thr)), float(np.median(t_dsk))
        rel = float(np.max(np.abs(Dd - D) / np.maximum(D, 1e-300)))
        print("\n### pairwise: dask backend (LocalCluster 2 workers x 1 thread, tiles from the pilot) against threads\n")
        print("| workload | threads | dask | dask throughput / threads | note |")
        print("| --- | ---: | ---: | ---: | --- |")
        print(f"| W1, N={X.shape[0]} x m={X.shape[1]}, square | {t_threads:.3f} s | {t_dask:.3f} s |"
              f" {t_threads / t_dask:.2f}x | max rel. diff to threads {rel:.1e}; medians of 3 interleaved runs"
              f" (threads {', '.join(f'{t:.2f}' for t in t_thr)}; dask {', '.join(f'{t:.2f}' for t in t_dsk)} s),"
              " pilot included |")
        rates.append(("W1 equal-size uniform (dask, 2 x 1)", total / t_dask / 2))
    finally:
        client.close()
        cluster.close()


if __name__ == "__main__":
    import sys

    run("--quick" in sys.argv)
