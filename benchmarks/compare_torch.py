"""torch losses, forward + backward: emd against POT on torch tensors and GeomLoss (issue 17).

The inputs are built once; each workload runs emd and the reference in this
process on the same tensors, as a loss whose gradient is taken (forward +
backward), median of 5 runs after a warm-up. A second table gives emd's
backward cost: forward + backward over the forward alone (under no_grad).

    python benchmarks/compare_torch.py [--quick] [--only sliced,one_d]
    python benchmarks/compare.py torch

The sliced rows also print the floor of any implementation that projects with a
matrix product: the two products (L, d) x (d, n) forward and their backward to
x, timed alone in this process.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import fmt_time, machine_description, median_time, print_table  # noqa: E402

import emd  # noqa: E402

REPEATS = 5
# emd's tol for the Sinkhorn divergence rows: the marginal error ||P 1 - a||_1 at
# which each of its three solves stops (the float32 default is 1e-6).
SINKHORN_TOL = 1e-2


def _fwd_bwd(loss_fn, *leaves):
    def run():
        for t in leaves:
            t.grad = None
        loss_fn().backward()

    return run


def _fwd(loss_fn):
    import torch

    def run():
        with torch.no_grad():
            loss_fn()

    return run


def _timed_pair(rows: list, costs: list, work: str, ref_name: str, ours, ref, leaf, note: str,
                rtol: float | None = None) -> None:
    """One row: emd and the reference, forward + backward on ``leaf``; values checked to ``rtol``."""
    v1, v2 = float(ours().detach()), float(ref().detach())
    if rtol is not None:
        assert abs(v1 / v2 - 1) < rtol, (work, v1, v2)
        note = f"{note}; rel. diff {abs(v1 / v2 - 1):.1e}"
    t_emd = median_time(_fwd_bwd(ours, leaf), repeats=REPEATS)
    rows.append((work, ref_name, t_emd, median_time(_fwd_bwd(ref, leaf), repeats=REPEATS), note))
    costs.append((work, median_time(_fwd(ours), repeats=REPEATS), t_emd))
    _progress(rows[-1], costs[-1])


def _progress(row: tuple, cost: tuple) -> None:
    """Each row as soon as it is measured (a long run that is cut short keeps what it has)."""
    work, _, t_emd, t_ref, _ = row
    print(f"  {work}: emd {fmt_time(t_emd)}, reference {fmt_time(t_ref)}, forward alone {fmt_time(cost[1])}", flush=True)


SECTIONS = ("exact", "sliced", "sinkhorn", "one_d", "threads")


def _threads(quick: bool) -> None:
    """A sliced and a 1-D step (forward + backward) with (torch threads, emd kernel
    threads) = (default, default), (default, 1), (1, 1), alternating, median and min."""
    import statistics
    import time

    import torch
    from emd._backend import torch_ops

    g = torch.Generator().manual_seed(1)
    n, K = (1024, 200) if quick else (4096, 1000)
    x, y = torch.randn(n, 2, generator=g).requires_grad_(), torch.randn(n, 2, generator=g) + 0.5
    th = torch.randn(2, 128, generator=g)
    u = torch.randn(K, 1000, generator=g, dtype=torch.float64).requires_grad_()
    v = torch.randn(K, 1000, generator=g, dtype=torch.float64)
    steps = {f"sliced SW2^2 {n} x 2, L=128, fwd + bwd": lambda: (emd.sliced_wasserstein(x, y, projections=th) ** 2)
             .backward(),
             f"batched 1-D W1 {K} x 1000, fwd + bwd": lambda: emd.wasserstein_1d(u, v).sum().backward()}
    default, kernel_threads = torch.get_num_threads(), torch_ops.kernel_threads
    settings = [(default, default), (default, 1), (1, 1)]
    times = {(name, s): [] for name in steps for s in settings}
    try:
        for _ in range(5 if quick else 21):
            for tt, et in settings:
                torch.set_num_threads(tt)
                torch_ops.kernel_threads = lambda et=et: et
                for name, step in steps.items():
                    step()
                    t0 = time.perf_counter()
                    step()
                    times[(name, (tt, et))].append(time.perf_counter() - t0)
    finally:
        torch.set_num_threads(default)
        torch_ops.kernel_threads = kernel_threads
    print(f"\n### threads: (torch intra-op, emd kernel), median / min of {len(times[(name, settings[0])])}\n")
    print("| step | " + " | ".join(str(s) for s in settings) + " |")
    print("| --- |" + " ---: |" * len(settings))
    for name in steps:
        cells = [f"{fmt_time(statistics.median(times[(name, s)]))} / {fmt_time(min(times[(name, s)]))}"
                 for s in settings]
        print(f"| {name} | " + " | ".join(cells) + " |")


def run(quick: bool, only: tuple[str, ...] = SECTIONS) -> None:
    try:
        import ot
        import torch
    except ImportError:
        print("\n(torch: torch or POT not installed, skipped)")
        return
    try:
        import geomloss
    except ImportError:
        geomloss = None
    print(f"\ntorch {torch.__version__}, {torch.get_num_threads()} intra-op threads"
          + (f", geomloss {geomloss.__version__}" if geomloss else ""))
    g = torch.Generator().manual_seed(0)
    rows, costs = [], []

    # Exact W_2^2 between point clouds, gradient w.r.t. x.
    for n in () if "exact" not in only else (500,) if quick else (1000, 2000):
        x = torch.randn(n, 2, generator=g, dtype=torch.float64).requires_grad_()
        y = torch.randn(n, 2, generator=g, dtype=torch.float64) + 1.0
        a = torch.full((n,), 1.0 / n, dtype=torch.float64)
        ours = lambda: emd.wasserstein(x, y, metric="sqeuclidean")  # noqa: E731
        pot = lambda: ot.emd2(a, a, ot.dist(x, y))  # noqa: E731
        _timed_pair(rows, costs, f"exact W2^2, n=m={n}, d=2, float64, grad x", "ot.emd2(a, b, ot.dist(x, y))",
                    ours, pot, x, "target >= 3x", rtol=1e-10)

    # Sliced SW_2^2, float32, the same unit directions.
    shapes = ((256, 64, 32), (2048, 2, 128)) if quick else ((256, 3072, 128), (4096, 2, 128), (10_000, 64, 256))
    floors = []
    for n, d, L in shapes if "sliced" in only else ():
        x = torch.randn(n, d, generator=g).requires_grad_()
        y = torch.randn(n, d, generator=g) + 0.5
        th = torch.randn(d, L, generator=g)
        th = th / th.norm(dim=0)
        ours = lambda: emd.sliced_wasserstein(x, y, projections=th, p=2) ** 2  # noqa: E731
        pot = lambda: ot.sliced_wasserstein_distance(x, y, projections=th, p=2) ** 2  # noqa: E731
        _timed_pair(rows, costs, f"sliced SW2^2, n=m={n}, d={d}, L={L}, float32, grad x",
                    "ot.sliced_wasserstein_distance", ours, pot, x, "target >= 20x", rtol=1e-4)
        # The projections alone: what any matmul-based implementation pays before sorting.
        products = lambda: ((th.T @ x.T).sum() + (th.T @ y.T).sum())  # noqa: E731
        floors.append((n, d, L, median_time(_fwd_bwd(products, x), repeats=REPEATS), rows[-1][2], rows[-1][3]))

    # Sinkhorn divergence, float32, blur 0.05: GeomLoss' eps = blur^2 on |x - y|^2 / 2,
    # emd's reg = 2 blur^2 on |x - y|^2 and a factor 1/2 (the same divergence). GeomLoss
    # runs a fixed annealing schedule (blur scaling 0.5, so eps scaling 0.25, about one
    # iteration per eps) and is off by about 0.6% here; emd anneals eps by the same
    # factor 0.25 and stops at tol SINKHORN_TOL, its default stopping rule, there.
    # Accuracy: each value's relative error against emd converged in float64 (tol 1e-9).
    blur = 0.05
    gs = torch.Generator().manual_seed(17)  # its own inputs, whichever sections ran before
    for n in () if "sinkhorn" not in only else (1000,) if quick else (2000, 5000):
        x = torch.rand(n, 2, generator=gs).requires_grad_()
        y = torch.rand(n, 2, generator=gs) * 0.8 + 0.1
        ours = lambda: 0.5 * emd.sinkhorn_divergence(x, y, 2 * blur**2, metric="sqeuclidean", p=1,  # noqa: E731
                                                     eps_scaling=0.25, tol=SINKHORN_TOL)
        v1 = float(ours().detach())
        v_acc = float(0.5 * emd.sinkhorn_divergence(x.detach().double(), y.double(), 2 * blur**2, metric="sqeuclidean",
                                                    p=1, eps_scaling=0.5))
        if geomloss is not None:
            loss = geomloss.SamplesLoss("sinkhorn", p=2, blur=blur, backend="tensorized")
            ref = lambda: loss(x, y)  # noqa: E731
            v2 = float(ref().detach())
            t_ref, name = median_time(_fwd_bwd(ref, x), repeats=REPEATS), "geomloss SamplesLoss tensorized"
        else:
            v2, t_ref, name = float("nan"), float("nan"), "(geomloss not installed)"
        t_emd = median_time(_fwd_bwd(ours, x), repeats=REPEATS)
        rows.append((f"Sinkhorn divergence, n=m={n}, d=2, blur {blur}, float32, grad x", name, t_emd, t_ref,
                     f"target >= 4x; values emd {v1:.6g} (rel. err {abs(v1 / v_acc - 1):.1e}), geomloss {v2:.6g}"
                     f" (rel. err {abs(v2 / v_acc - 1):.1e}), converged float64 {v_acc:.6g}"))
        costs.append((rows[-1][0], median_time(_fwd(ours), repeats=REPEATS), t_emd))
        _progress(rows[-1], costs[-1])

    # Batched 1-D W_1: K pairs of rows.
    if "one_d" in only:
        K, n = (200, 500) if quick else (1000, 1000)
        u = torch.randn(K, n, generator=g, dtype=torch.float64).requires_grad_()
        v = torch.randn(K, n, generator=g, dtype=torch.float64) + 0.3
        ours = lambda: emd.wasserstein_1d(u, v).sum()  # noqa: E731
        pot = lambda: ot.wasserstein_1d(u.T, v.T, p=1).sum()  # noqa: E731  (POT: one problem per column)
        _timed_pair(rows, costs, f"batched 1-D W1, {K} pairs x {n} samples, float64, grad u", "ot.wasserstein_1d",
                    ours, pot, u, "target >= 10x", rtol=1e-9)

    if "threads" in only:
        _threads(quick)
    if not rows:
        return
    print_table("torch losses, forward + backward (CPU)", rows)
    print("\n### emd's backward cost (CPU)\n")
    print("| workload | forward (no_grad) | forward + backward | (fwd + bwd) / fwd |")
    print("| --- | ---: | ---: | ---: |")
    for work, t_f, t_fb in costs:
        print(f"| {work} | {fmt_time(t_f)} | {fmt_time(t_fb)} | {t_fb / t_f:6.2f}x |")
    if floors:
        print("\n### the sliced floor: the projection products alone, forward + backward to x (CPU)\n")
        print("| n, d, L | products alone | emd | reference | reference / products (the best ratio possible) |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for n, d, L, t_mm, t_emd, t_ref in floors:
            print(f"| {n}, {d}, {L} | {fmt_time(t_mm)} | {fmt_time(t_emd)} | {fmt_time(t_ref)} | {t_ref / t_mm:6.1f}x |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller problems, for a smoke run")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections to run, of {', '.join(SECTIONS)} (default: all)")
    args = parser.parse_args()
    only = tuple(args.only.split(","))
    unknown = set(only) - set(SECTIONS)
    if unknown:
        parser.error(f"--only: unknown sections {sorted(unknown)}; choose from {', '.join(SECTIONS)}")
    print(f"machine: {machine_description()}")
    run(args.quick, only)
