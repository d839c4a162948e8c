"""Exact 1-D W1: emd against scipy, POT and the numpy sort floor."""

from __future__ import annotations

import numpy as np
from _timing import median_time, print_table

import emd


def run(quick: bool) -> None:
    rng = np.random.default_rng(0)
    n = 100_000 if quick else 1_000_000
    u, v = rng.normal(0.0, 1.0, n), rng.normal(1.0, 2.0, n)
    uw, vw = rng.random(n) + 1e-3, rng.random(n) + 1e-3
    rows = []

    t_emd = median_time(lambda: emd.wasserstein_1d(u, v, uw, vw))
    try:
        from scipy.stats import wasserstein_distance

        assert abs(emd.wasserstein_1d(u, v, uw, vw) / wasserstein_distance(u, v, uw, vw) - 1) < 1e-10
        rows.append((f"W1 n=m={n:.0e} float64, random weights", "scipy.stats.wasserstein_distance", t_emd,
                     median_time(lambda: wasserstein_distance(u, v, uw, vw)), "target >= 10x"))
    except ImportError:
        pass
    try:
        import ot

        a, b = uw / uw.sum(), vw / vw.sum()
        ref = ot.emd2_1d(u, v, a, b, metric="euclidean")
        assert abs(emd.wasserstein_1d(u, v, uw, vw) / ref - 1) < 1e-8
        rows.append((f"W1 n=m={n:.0e} float64, random weights", "ot.emd2_1d(metric='euclidean')", t_emd,
                     median_time(lambda: ot.emd2_1d(u, v, a, b, metric="euclidean")), "target >= 4x"))
    except ImportError:
        pass
    rows.append((f"W1 n=m={n:.0e} float64, random weights", "np.sort of both inputs (the floor)", t_emd,
                 median_time(lambda: (np.sort(u), np.sort(v))), "goal: speedup > 1 (emd below the floor)"))
    t_uni = median_time(lambda: emd.wasserstein_1d(u, v))
    rows.append((f"W1 n=m={n:.0e} float64, uniform", "np.sort of both inputs (the floor)", t_uni,
                 median_time(lambda: (np.sort(u), np.sort(v))), ""))
    u32, v32 = u.astype(np.float32), v.astype(np.float32)
    rows.append((f"W1 n=m={n:.0e} float32, uniform", "np.sort of both inputs (the floor)",
                 median_time(lambda: emd.wasserstein_1d(u32, v32)), median_time(lambda: (np.sort(u32), np.sort(v32))), ""))

    # Batched: B pairs of n each. POT's wasserstein_1d takes (n, B) column batches.
    B, nb = (200, 1000) if quick else (1000, 1000)
    ub, vb = rng.normal(size=(B, nb)), rng.normal(1.0, 2.0, size=(B, nb))
    ubw, vbw = rng.random((B, nb)) + 1e-3, rng.random((B, nb)) + 1e-3
    try:
        import ot

        ubT, vbT = np.ascontiguousarray(ub.T), np.ascontiguousarray(vb.T)
        aT = np.ascontiguousarray((ubw / ubw.sum(1, keepdims=True)).T)
        bT = np.ascontiguousarray((vbw / vbw.sum(1, keepdims=True)).T)
        np.testing.assert_allclose(emd.wasserstein_1d(ub, vb), ot.wasserstein_1d(ubT, vbT, p=1), rtol=1e-9)
        np.testing.assert_allclose(emd.wasserstein_1d(ub, vb, ubw, vbw), ot.wasserstein_1d(ubT, vbT, aT, bT, p=1), rtol=1e-9)
        rows.append((f"batched W1 {B} pairs x n={nb}, uniform", "ot.wasserstein_1d on (n, B) columns",
                     median_time(lambda: emd.wasserstein_1d(ub, vb)), median_time(lambda: ot.wasserstein_1d(ubT, vbT, p=1)),
                     "target >= 8x"))
        rows.append((f"batched W1 {B} pairs x n={nb}, random weights", "ot.wasserstein_1d on (n, B) columns",
                     median_time(lambda: emd.wasserstein_1d(ub, vb, ubw, vbw)),
                     median_time(lambda: ot.wasserstein_1d(ubT, vbT, aT, bT, p=1)), "target >= 8x"))
    except ImportError:
        pass
    print_table("exact 1-D Wasserstein (CPU)", rows)
