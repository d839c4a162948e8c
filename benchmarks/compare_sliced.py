"""Sliced W2: emd against POT with the same projections."""

from __future__ import annotations

import numpy as np
from _timing import median_time, print_table

import emd


def run(quick: bool) -> None:
    try:
        import ot
    except ImportError:
        print("\n(sliced: POT not installed, skipped)")
        return
    rng = np.random.default_rng(0)
    n, d, L = (10_000, 64, 128) if quick else (100_000, 64, 128)
    x, y = rng.normal(size=(n, d)), rng.normal(0.5, 1.0, size=(n, d))
    theta = rng.normal(size=(d, L))
    theta /= np.linalg.norm(theta, axis=0)
    ref = ot.sliced_wasserstein_distance(x, y, projections=theta, p=2)
    got = emd.sliced_wasserstein(x, y, projections=theta, p=2)
    assert abs(got / ref - 1) < 1e-10, (got, ref)
    rows = [
        (f"SW2 n=m={n:.0e}, d={d}, {L} projections, float64", "ot.sliced_wasserstein_distance, same projections",
         median_time(lambda: emd.sliced_wasserstein(x, y, projections=theta, p=2)),
         median_time(lambda: ot.sliced_wasserstein_distance(x, y, projections=theta, p=2), repeats=5),
         "target >= 20x"),
    ]
    x32, y32 = x.astype(np.float32), y.astype(np.float32)
    got32 = emd.sliced_wasserstein(x32, y32, projections=theta, p=2)
    ref32 = ot.sliced_wasserstein_distance(x32.astype(np.float64), y32.astype(np.float64), projections=theta, p=2)
    rows.append((f"SW2 n=m={n:.0e}, d={d}, {L} projections, float32", "ot.sliced_wasserstein_distance (float64)",
                 median_time(lambda: emd.sliced_wasserstein(x32, y32, projections=theta, p=2)), rows[0][3],
                 f"POT's float64 time; rel. diff {abs(got32 / ref32 - 1):.1e} from POT on the rounded points"))
    print_table("sliced Wasserstein (CPU)", rows)
