"""Section `network_simplex`: emd.solve (exact network simplex) against POT's ot.emd2 and scipy.

Same cost matrix for both sides; POT runs with numItermax=10**9 so that it, too,
reaches the optimum (its default cap stops early at these sizes). Every timed
pair is also checked to agree to 1e-9 relative. Peak memory of one n = 4000
solve is measured in fresh subprocesses: the peak RSS (VmHWM, reset through
/proc/self/clear_refs once the inputs are built) minus the RSS at that point.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np

from _timing import median_time, per_call_times, print_table

import emd


def _problem(n: int, d: int, weights: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, d))
    y = rng.random((n, d))
    M = emd.cost_matrix(x, y, "sqeuclidean")
    if weights == "uniform":
        a = np.full(n, 1.0 / n)
        b = np.full(n, 1.0 / n)
    else:
        a = rng.dirichlet(np.ones(n))
        b = rng.dirichlet(np.ones(n))
    return a, b, M


def _check(got: float, ref: float, what: str) -> str:
    rel = abs(got - ref) / max(abs(ref), 1e-300)
    return f"rel. diff {rel:.1e}" + ("" if rel <= 1e-9 else f" MISMATCH ({what})")


_MEMORY_SCRIPT = r"""
import json, sys
import numpy as np
which, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
x = rng.random((n, 32)); y = rng.random((n, 32))
import emd
M = emd.cost_matrix(x, y, "sqeuclidean")
a = np.full(n, 1.0 / n); b = a.copy()
import emd, ot  # both imported in both runs: same baseline
def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
def hwm_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
base = rss_kib()
try:  # reset the peak RSS (Linux >= 4.0) so it measures the solve alone
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    reset = True
except OSError:
    reset = False
if which == "emd":
    emd.solve(a, b, M)
else:
    ot.emd2(a, b, M, numItermax=10**9)
# Without the reset the peak would be the whole process's: report nothing rather than that.
peak = hwm_kib() if reset else None
print(json.dumps({"base_kib": base, "peak_kib": peak}))
"""


def _peak_memory(which: str, n: int) -> tuple[float, float]:
    out = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT, which, str(n)], capture_output=True, text=True, check=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    if r["peak_kib"] is None:  # /proc/self/clear_refs not writable: no per-solve peak
        return float("nan"), float("nan")
    return (r["peak_kib"] - r["base_kib"]) / 1024, r["peak_kib"] / 1024


def run_batched(quick: bool, repeats: int) -> None:
    """Many small problems sharing one cost matrix: warm-started batches (issue 19)
    against the loop of ot.emd2 and against the same batch solved cold.

    The cold batch is the same call with ``max_iter=10**9`` (never reached: a capped
    batch takes no warm start), so both run the same solver in the same process;
    the pivots per problem are printed beside.
    """
    import ot

    num, n = (200, 64) if quick else (1000, 64)
    rng = np.random.default_rng(1)
    M = emd.cost_matrix(rng.random((n, 2)), rng.random((n, 2)))
    A = rng.dirichlet(np.ones(n), size=num)
    B = rng.dirichlet(np.ones(n), size=num)
    grid = np.stack(np.meshgrid(np.arange(8.0), np.arange(8.0)), -1).reshape(-1, 2)
    H = rng.random((32, n))
    H /= H.sum(axis=1, keepdims=True)
    cases = [
        (f"{num} problems, n = m = {n}, Dirichlet", A, B, M),
        # emd.pairwise's layout: row i of a tile is (h_i, h_j) for consecutive j.
        ("1024 pairs of 32 histograms (pairwise rows), 8 x 8 grid", np.repeat(H, 32, axis=0), np.tile(H, (32, 1)),
         emd.cost_matrix(grid, grid, "euclidean")),
    ]
    rows = []
    for name, A, B, Mc in cases:
        warm = emd.solve(A, B, Mc)
        cold = emd.solve(A, B, Mc, max_iter=10**9)
        ref = np.array([ot.emd2(A[k], B[k], Mc, numItermax=10**9) for k in range(len(A))])
        # Relative to each cost, or to the largest where a pair's cost is 0 (h_i against itself).
        rel = float(np.max(np.abs(warm.cost - ref) / np.maximum(ref, 1e-12 * ref.max())))
        t_warm = median_time(lambda: emd.emd(A, B, Mc), repeats=repeats)
        t_cold = median_time(lambda: emd.emd(A, B, Mc, max_iter=10**9), repeats=repeats)
        t_ref = median_time(lambda: [ot.emd2(A[k], B[k], Mc, numItermax=10**9) for k in range(len(A))], repeats=repeats)
        pivots = f"pivots {warm.n_iter.mean():.0f} warm, {cold.n_iter.mean():.0f} cold"
        rows.append((name, "loop of ot.emd2", t_warm, t_ref, f"max rel. diff {rel:.1e}; {pivots}"))
        rows.append((name, "the same batch cold", t_warm, t_cold, pivots))
    print_table("network_simplex: batched, shared cost (warm starts)", rows)


CLOUD_SIZES = (16, 64, 256)


def run_clouds(repeats: int = 11, cpu_time: bool = False) -> None:
    """emd.wasserstein on small point clouds (n, 2) against POT's
    ``ot.emd2(a, b, ot.dist(x, y))``, and against emd's own full path (the
    Python checks, cost_matrix and emd.solve that every call took before the
    straight path of issue 19), in this one process. Uniform weights; y is x's
    distribution shifted by 0.5. Each time is the median of ``repeats`` runs of
    many calls (a 16-point call lasts a few microseconds), the three calls
    timed in turn in each round (_timing.per_call_times), per call: wall time,
    or with ``cpu_time`` the process's CPU time (run with OMP_NUM_THREADS=1, as
    ``--clouds`` does for its second table: on a shared machine a call waits
    for a core, which wall time counts and CPU time does not)."""
    import ot

    from emd._backend.cpu import CPU_BACKEND
    from emd._wasserstein import _wasserstein

    def per_call(fns: list, n: int) -> list[float]:
        clock = time.process_time if cpu_time else time.perf_counter
        return per_call_times(fns, inner=max(1, 4096 // n), repeats=repeats, clock=clock)

    rows = []
    rng = np.random.default_rng(4)
    for n in CLOUD_SIZES:
        x = rng.normal(size=(n, 2))
        y = rng.normal(size=(n, 2)) + 0.5
        a = np.full(n, 1.0 / n)
        # (emd metric, POT's ot.dist metric): W1 with euclidean costs, and the issue's
        # literal row, ot.dist's default squared euclidean costs (emd: sqeuclidean, p = 1).
        for metric, pot_metric in (("euclidean", "euclidean"), ("sqeuclidean", "sqeuclidean")):
            got = float(emd.wasserstein(x, y, metric=metric))
            full = _wasserstein(CPU_BACKEND, x, y, None, None, 1.0, metric, "exact", None)
            ref = float(ot.emd2(a, a, ot.dist(x, y, metric=pot_metric)))
            note = _check(got, ref, "POT") + ("" if got == float(full) else " NOT the full path's bits")
            work = f"wasserstein, clouds {n} x 2, {metric}"
            t_emd, t_ref, t_full = per_call([
                lambda: emd.wasserstein(x, y, metric=metric),
                lambda: ot.emd2(a, a, ot.dist(x, y, metric=pot_metric)),
                lambda: _wasserstein(CPU_BACKEND, x, y, None, None, 1.0, metric, "exact", None),
            ], n)
            rows.append((work, f"ot.emd2(a, b, ot.dist(x, y, {pot_metric!r}))", t_emd, t_ref,
                         note + ("; target >= 3x" if n == 64 else "")))
            rows.append((work, "emd's full path (Python checks, cost_matrix, solve)", t_emd, t_full,
                         "the straight path's gain"))
    what = "CPU time per call, OMP_NUM_THREADS=1" if cpu_time else "wall time per call"
    print_table(f"network_simplex: emd.wasserstein on small point clouds, {what}", rows)


def run_clouds_both() -> None:
    """The wall-time table here, then the CPU-time one in a one-thread child process."""
    run_clouds()
    sys.stdout.flush()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, os.path.abspath(__file__), "--clouds", "--cpu-time"], env=env, check=True,
                   cwd=os.path.dirname(os.path.abspath(__file__)))


def run(quick: bool) -> None:
    import ot
    import scipy.optimize

    sizes = [500, 1000] if quick else [2000, 4000]
    repeats = 3 if quick else 5
    rows = []
    lsa_rows = []
    for n in sizes:
        for d in (2, 32):
            for weights in ("uniform", "dirichlet"):
                a, b, M = _problem(n, d, weights)
                got = float(emd.emd(a, b, M))
                ref = float(ot.emd2(a, b, M, numItermax=10**9))
                t_emd = median_time(lambda: emd.emd(a, b, M), repeats=repeats)
                t_ref = median_time(lambda: ot.emd2(a, b, M, numItermax=10**9), repeats=repeats)
                rows.append((f"n = m = {n}, d = {d}, {weights}", "ot.emd2", t_emd, t_ref, _check(got, ref, "POT")))
                if weights == "uniform":
                    r, c = scipy.optimize.linear_sum_assignment(M)
                    lsa = M[r, c].sum() / n
                    t_lsa = median_time(lambda: scipy.optimize.linear_sum_assignment(M), repeats=repeats)
                    lsa_rows.append(
                        (f"n = m = {n}, d = {d}, uniform", "scipy linear_sum_assignment", t_emd, t_lsa, _check(got, lsa, "LSA"))
                    )
    print_table("network_simplex: exact EMD, squared-euclidean costs", rows)
    print_table("network_simplex: uniform weights against the assignment solver", lsa_rows)

    run_batched(quick, repeats)
    run_clouds_both()

    n_mem = 1000 if quick else 4000
    mem_emd, peak_emd = _peak_memory("emd", n_mem)
    mem_pot, peak_pot = _peak_memory("pot", n_mem)
    print(f"\n### network_simplex: peak memory, n = m = {n_mem}, d = 32 (cost matrix {n_mem * n_mem * 8 / 2**20:.0f} MiB)\n")
    print("| solver | added by the solve | peak RSS |")
    print("| --- | ---: | ---: |")
    print(f"| emd.solve | {mem_emd:8.1f} MiB | {peak_emd:8.1f} MiB |")
    print(f"| ot.emd2 | {mem_pot:8.1f} MiB | {peak_pot:8.1f} MiB |")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    if "--batched" in sys.argv:
        run_batched("--quick" in sys.argv, 5)
    elif "--clouds" in sys.argv and "--cpu-time" in sys.argv:
        run_clouds(cpu_time=True)
    elif "--clouds" in sys.argv:
        run_clouds_both()
    else:
        run("--quick" in sys.argv)
