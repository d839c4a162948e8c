"""Exact 1-D W1: emd against scipy, POT and the sort floor (np.sort of both inputs).

The floor is numpy's own sort (AVX-512/AVX2 x86-simd-sort where the CPU has it):
emd sorts through the same kernels (csrc/include/emd/sort.hpp), so "speedup"
against it reads as how close emd's whole distance comes to sorting alone
(>= 1: at or below the floor; emd sorts u and v on two threads when it can).
Rows against "the full path" time the same pair passed as a batch of one, which
takes the Python dispatch, casts and checks that every call took before the
straight path of issue 19 (one extension call that checks in the kernel).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

import numpy as np
from _timing import median_time, per_call_times, print_table

import emd

REPEATS = 7  # median of 7 runs after a warm-up, all in this one process


def median_cpu_time(fn, *, repeats: int = REPEATS) -> float:
    """Median CPU time of ``fn()`` (the whole process, user + system).

    On a machine shared with busy processes a call longer than a scheduler
    slice spends most of its wall time waiting for a core (10 ms of CPU took
    75 ms of wall time at a load of 11 on 2 cores), so wall times of the large
    rows measure the neighbours. CPU time does not. It is taken in a child
    process with OMP_NUM_THREADS=1 (see run): libgomp's idle workers spin
    after each parallel region, which CPU time would count as emd's work."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return statistics.median(times)


def _wall(fn) -> float:
    return median_time(fn, repeats=REPEATS)


def _sort_both(u, v):
    return lambda: (np.sort(u), np.sort(v))


def _large(rows: list, n: int, _t) -> None:
    rng = np.random.default_rng(0)
    u, v = rng.normal(0.0, 1.0, n), rng.normal(1.0, 2.0, n)
    uw, vw = rng.random(n) + 1e-3, rng.random(n) + 1e-3
    a, b = uw / uw.sum(), vw / vw.sum()
    try:
        from scipy.stats import wasserstein_distance
    except ImportError:
        wasserstein_distance = None
    try:
        import ot
    except ImportError:
        ot = None

    for label, (x, y, xw, yw, pa, pb) in {
        "random weights": (u, v, uw, vw, a, b),
        "uniform": (u, v, None, None, np.full(n, 1 / n), np.full(n, 1 / n)),
    }.items():
        work = f"W1 n=m={n:.0e} float64, {label}"
        t_emd = _t(lambda: emd.wasserstein_1d(x, y, xw, yw))
        rows.append((work, "np.sort of both inputs (the floor)", t_emd, _t(_sort_both(x, y)), "target >= 1x"))
        # The same pair as a batch of one: the full path (dispatch, casts and the
        # checks' passes in Python), which every call took before the straight path.
        x2, y2, xw2, yw2 = (None if a is None else a[None] for a in (x, y, xw, yw))
        rows.append((work, "emd.wasserstein_1d, full path (a batch of one pair)", t_emd,
                     _t(lambda: emd.wasserstein_1d(x2, y2, xw2, yw2)), "the straight path's gain"))
        if wasserstein_distance is not None:
            ref = wasserstein_distance(x, y, xw, yw)
            assert abs(emd.wasserstein_1d(x, y, xw, yw) / ref - 1) < 1e-10
            rows.append((work, "scipy.stats.wasserstein_distance", t_emd,
                         _t(lambda: wasserstein_distance(x, y, xw, yw)), "target >= 10x"))
        if ot is not None:
            ref = ot.emd2_1d(x, y, pa, pb, metric="euclidean")
            assert abs(emd.wasserstein_1d(x, y, xw, yw) / ref - 1) < 1e-8
            rows.append((work, "ot.emd2_1d(metric='euclidean')", t_emd,
                         _t(lambda: ot.emd2_1d(x, y, pa, pb, metric="euclidean")), "target >= 4x"))


def _float32(rows: list, sizes: list[int], _t) -> None:
    rng = np.random.default_rng(1)
    for n in sizes:
        u = rng.normal(0.0, 1.0, n).astype(np.float32)
        v = rng.normal(1.0, 2.0, n).astype(np.float32)
        uw = (rng.random(n) + 1e-3).astype(np.float32)
        vw = (rng.random(n) + 1e-3).astype(np.float32)
        floor = _t(_sort_both(u, v))
        rows.append((f"W1 n=m={n:.0e} float32, uniform", "np.sort of both inputs (the floor)",
                     _t(lambda: emd.wasserstein_1d(u, v)), floor, "target >= 1x"))
        rows.append((f"W1 n=m={n:.0e} float32, random weights", "np.sort of both inputs (the floor)",
                     _t(lambda: emd.wasserstein_1d(u, v, uw, vw)), floor, ""))


SIZES = (2, 8, 64, 512, 4096, 100_000, 10_000_000)


def _per_call(fn, n: int) -> float:
    """Median wall time of one call. Calls on a few thousand points or fewer are
    timed in runs of many (reading the clock costs about as much as a 2-point
    call), 51 runs; larger ones alone, 7 runs (5 from 10^6 points on)."""
    repeats = 51 if n <= 4096 else 7 if n < 1_000_000 else 5
    return per_call_times([fn], inner=max(1, 20_000 // (n + 100)), repeats=repeats)[0]


def _sizes(rows: list, quick: bool) -> None:
    """Single pairs of uniform samples at every size of the issue-19 target:
    emd.wasserstein_1d and emd.wasserstein (1-D arrays) against scipy and POT.
    Up to 4096 points also against emd's own full path (a batch of one pair:
    the dispatch, conversions and checks in Python that every call took before
    the straight path), in this same process."""
    try:
        import ot
        from scipy.stats import wasserstein_distance
    except ImportError:
        return
    rng = np.random.default_rng(2)
    for n in SIZES if not quick else SIZES[:-1]:
        u, v = rng.normal(size=n), rng.normal(1.0, 2.0, size=n)
        work = f"W1 n=m={n:g} float64, uniform"
        ref = wasserstein_distance(u, v)
        assert abs(emd.wasserstein_1d(u, v) / ref - 1) < 1e-10 and emd.wasserstein(u, v) == emd.wasserstein_1d(u, v)
        t_scipy = _per_call(lambda: wasserstein_distance(u, v), n)
        t_ot = _per_call(lambda: ot.wasserstein_1d(u, v), n)
        for name, call in (("emd.wasserstein_1d", lambda: emd.wasserstein_1d(u, v)),
                           ("emd.wasserstein", lambda: emd.wasserstein(u, v))):
            t = _per_call(call, n)
            rows.append((work, "scipy.stats.wasserstein_distance", t, t_scipy, name))
            rows.append((work, "ot.wasserstein_1d", t, t_ot, name))
            if n <= 4096 and name == "emd.wasserstein_1d":
                u2, v2 = u[None], v[None]
                rows.append((work, "emd.wasserstein_1d, full path (a batch of one pair)", t,
                             _per_call(lambda: emd.wasserstein_1d(u2, v2), n), "the straight path's gain"))


def _batched(rows: list, quick: bool, _t=_wall) -> None:
    # Batched: B pairs of n each. POT's wasserstein_1d takes (n, B) column batches.
    try:
        import ot
    except ImportError:
        return
    rng = np.random.default_rng(3)
    B, nb = (200, 1000) if quick else (1000, 1000)
    ub, vb = rng.normal(size=(B, nb)), rng.normal(1.0, 2.0, size=(B, nb))
    ubw, vbw = rng.random((B, nb)) + 1e-3, rng.random((B, nb)) + 1e-3
    ubT, vbT = np.ascontiguousarray(ub.T), np.ascontiguousarray(vb.T)
    aT = np.ascontiguousarray((ubw / ubw.sum(1, keepdims=True)).T)
    bT = np.ascontiguousarray((vbw / vbw.sum(1, keepdims=True)).T)
    np.testing.assert_allclose(emd.wasserstein_1d(ub, vb), ot.wasserstein_1d(ubT, vbT, p=1), rtol=1e-9)
    np.testing.assert_allclose(emd.wasserstein_1d(ub, vb, ubw, vbw), ot.wasserstein_1d(ubT, vbT, aT, bT, p=1), rtol=1e-9)
    rows.append((f"batched W1 {B} pairs x n={nb}, uniform", "ot.wasserstein_1d on (n, B) columns",
                 _t(lambda: emd.wasserstein_1d(ub, vb)), _t(lambda: ot.wasserstein_1d(ubT, vbT, p=1)), "target >= 8x"))
    rows.append((f"batched W1 {B} pairs x n={nb}, random weights", "ot.wasserstein_1d on (n, B) columns",
                 _t(lambda: emd.wasserstein_1d(ub, vb, ubw, vbw)),
                 _t(lambda: ot.wasserstein_1d(ubT, vbT, aT, bT, p=1)), "target >= 8x"))


def run(quick: bool) -> None:
    large, f32 = (100_000, [100_000]) if quick else (1_000_000, [1_000_000, 10_000_000])
    rows: list = []
    _large(rows, large, _wall)
    _float32(rows, f32, _wall)
    _sizes(rows, quick)
    _batched(rows, quick)
    print_table("exact 1-D Wasserstein (CPU), wall time", rows)
    sys.stdout.flush()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, __file__, "--cpu-time"] + (["--quick"] if quick else []), env=env, check=True,
                   cwd=os.path.dirname(os.path.abspath(__file__)))


def run_cpu_time(quick: bool) -> None:
    """The large rows again, one thread, in CPU time (see median_cpu_time)."""
    large, f32 = (100_000, [100_000]) if quick else (1_000_000, [1_000_000, 10_000_000])
    rows: list = []
    _large(rows, large, median_cpu_time)
    _float32(rows, f32, median_cpu_time)
    print_table("exact 1-D Wasserstein (CPU), one thread (OMP_NUM_THREADS=1), CPU time", rows)


if __name__ == "__main__" and "--cpu-time" in sys.argv:
    run_cpu_time("--quick" in sys.argv)
