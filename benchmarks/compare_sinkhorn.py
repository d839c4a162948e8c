"""Sinkhorn (entropic OT): emd against POT's sinkhorn2, dense, batched and matrix-free.

Workloads of issue 4. Every solve stops at marginal error 1e-6 (POT's stopThr;
POT measures the L2 norm of the column marginal error every 10 iterations, emd
the L1 norm of the row marginal error every iteration, a stricter test for one
problem; for a batch POT's norm is taken over all problems at once, which on
the recorded 1000 x 64 workload first passes at the same iteration, 270, as a
per-problem L1 test would).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np

from _timing import fmt_time, median_time, print_table

TOL = 1e-6
# POT's log-domain solver takes about a minute at n = 4000: time it once, not 5 times.
SLOW_S = 10.0
# EMD_BENCH_SKIP_SLOW=1 leaves out the POT "sinkhorn_log" references (a minute at
# reg = 0.01, about 18 minutes at reg = 0.001) and the reg = 0.001 rows, for re-runs.
SKIP_SLOW = os.environ.get("EMD_BENCH_SKIP_SLOW", "") == "1"


def _cloud(n: int, d: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random((n, d))


def _time(fn, slow_ok: bool = False) -> tuple[float, str]:
    """Median of 5 after a warm-up; a solve slower than SLOW_S is timed once (the note says so)."""
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    if slow_ok and first > SLOW_S:
        return first, "reference timed once (slow)"
    return median_time(fn, repeats=5, warmup=0), ""


def _dense_rows(n: int, reg: float, quick: bool) -> list:
    import ot

    import emd

    x, y = _cloud(n, 2, 1), _cloud(n, 2, 2)
    a = np.full(n, 1.0 / n)
    M = ot.dist(x, y)  # squared Euclidean
    rows = []
    scaling = 0.5 if reg < 0.01 else None
    emd_dense = lambda: emd.sinkhorn(a, a, M, reg, tol=TOL, eps_scaling=scaling)  # noqa: E731
    emd_samples = lambda: emd.sinkhorn_samples(x, y, reg, tol=TOL, eps_scaling=scaling)  # noqa: E731
    t_dense, _ = _time(emd_dense)
    t_samples, _ = _time(emd_samples)
    r = emd_dense()
    work = f"n = m = {n}, d = 2, reg = {reg}"
    info = f"emd: {r.n_iter} iterations, cost {r.cost:.6g}"
    if reg >= 0.01:
        pot_fast = lambda: ot.sinkhorn2(a, a, M, reg, method="sinkhorn", stopThr=TOL, numItermax=100_000)  # noqa: E731
        t_fast, note = _time(pot_fast)
        rows.append((work + ", dense M", 'POT "sinkhorn"', t_dense, t_fast, info + f"; POT cost {float(pot_fast()):.6g}"))
        rows.append((work + ", matrix-free", 'POT "sinkhorn" (given M)', t_samples, t_fast, "emd.sinkhorn_samples"))
    if SKIP_SLOW:
        return rows
    pot_log = lambda: ot.sinkhorn2(a, a, M, reg, method="sinkhorn_log", stopThr=TOL, numItermax=100_000)  # noqa: E731
    t_log, note = _time(pot_log, slow_ok=True)
    scaled = ", eps_scaling 0.5" if scaling else ""
    rows.append((work + ", dense M" + scaled, 'POT "sinkhorn_log"', t_dense, t_log, "; ".join(filter(None, [info, note]))))
    rows.append((work + ", matrix-free" + scaled, 'POT "sinkhorn_log" (given M)', t_samples, t_log, note))
    return rows


def _batched_rows(num: int) -> list:
    import ot

    import emd

    bins = 64
    rng = np.random.default_rng(3)
    grid = np.arange(bins, dtype=np.float64)[:, None]
    M = ot.dist(grid, grid)
    M /= M.max()
    a = np.full(bins, 1.0 / bins)
    b = rng.random((num, bins)) + 0.05
    b /= b.sum(axis=1, keepdims=True)
    a_batch = np.ascontiguousarray(np.broadcast_to(a, (num, bins)))
    reg = 0.01
    run_emd = lambda: emd.sinkhorn(a_batch, b, M, reg, tol=TOL)  # noqa: E731
    b_cols = b.T.copy()  # POT's (bins, B) layout, made once outside the timing as a_batch is
    run_pot = lambda: ot.sinkhorn2(a, b_cols, M, reg, method="sinkhorn", stopThr=TOL, numItermax=100_000)  # noqa: E731
    t_emd, _ = _time(run_emd)
    t_pot, _ = _time(run_pot)
    r = run_emd()
    ref = np.asarray(run_pot())
    err = np.max(np.abs(r.cost - ref) / ref)
    return [
        (f"batched: {num} x {bins}-bin, shared grid cost, reg = {reg}", 'POT "sinkhorn", b (64, B)', t_emd, t_pot,
         f"max rel. cost difference {err:.1e}; emd iterations {int(r.n_iter.min())}-{int(r.n_iter.max())}")
    ]


_MATRIX_FREE = r"""
import json, sys, time
import numpy as np
import emd

def status_kib(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key):
                return int(line.split()[1])

n, d, reg = int(sys.argv[1]), 3, 0.01
rng = np.random.default_rng(4)
x, y = rng.random((n, d)), rng.random((n, d))
emd.sinkhorn_samples(x[:50], y[:50], reg)  # load the extension and its threads
with open("/proc/self/clear_refs", "w") as fh:  # reset the peak (VmHWM) to the current resident size
    fh.write("5")
before = status_kib("VmRSS")
t0 = time.perf_counter()
r = emd.sinkhorn_samples(x, y, reg, eps_scaling=0.5, tol=float(sys.argv[2]))
t = time.perf_counter() - t0
extra = (status_kib("VmHWM") - before) / 1024
print(json.dumps({"t": t, "extra_mb": extra, "n_iter": r.n_iter, "status": r.status, "cost": r.cost}))
"""


def _matrix_free(n: int, tol: float) -> None:
    # A fresh process, so that the peak resident memory is this solve's alone.
    out = subprocess.run([sys.executable, "-c", _MATRIX_FREE, str(n), str(tol)], capture_output=True, text=True,
                         check=True, env=dict(os.environ))
    res = json.loads(out.stdout.strip().splitlines()[-1])
    dense_gb = 8 * n * n / 1e9
    print(f"\n### Sinkhorn, matrix-free (emd.sinkhorn_samples, eps_scaling = 0.5, tol = {tol:g})\n")
    print("| workload | emd | iterations | status | peak memory above inputs | dense M would need |")
    print("| --- | ---: | ---: | --- | ---: | ---: |")
    print(f"| n = m = {n}, d = 3, reg = 0.01 | {fmt_time(res['t'])} | {res['n_iter']} | {res['status']} |"
          f" {res['extra_mb']:.1f} MB | {dense_gb:.1f} GB |")


def run(quick: bool) -> None:
    n = 1000 if quick else 4000
    n_small = 500 if quick else 4000
    rows = _dense_rows(n, 0.01, quick) + ([] if SKIP_SLOW else _dense_rows(n_small, 0.001, quick))
    print_table("Sinkhorn, squared Euclidean cost on uniform points in the unit square, float64, stop at 1e-6", rows)
    print_table("Sinkhorn, batched", _batched_rows(100 if quick else 1000))
    _matrix_free(10_000, 1e-3)  # the 100,000-point case (~20 min on 2 cores) is the section sinkhorn_large


if __name__ == "__main__":
    run("--quick" in sys.argv)
