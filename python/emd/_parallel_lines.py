"""The WGAN paper's parallel lines (Arjovsky, Chintala, Bottou 2017, Example 1).

P_0 is the law of (0, Z) and P_theta the law of (theta, Z), Z ~ U[0, 1]. For
theta != 0 the supports are disjoint, so TV = 1, KL = +inf and JS = log 2 no
matter how small theta is, while W_1 = |theta| shrinks continuously.
"""

from __future__ import annotations

import numpy as np

__all__ = ["line_samples", "line_histograms"]


def line_samples(theta: float, n: int, seed: int = 0) -> np.ndarray:
    """n samples (n, 2) of (theta, Z), Z ~ U[0, 1]."""
    z = np.random.default_rng(seed).random(n)
    return np.column_stack([np.full(n, float(theta)), z])


def line_histograms(theta: float, n_bins: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Histograms of P_0 and P_theta on a common grid of the plane, flattened.

    The grid's columns sit at x = 0 and x = theta (one column when theta = 0);
    Z's mass 1/n_bins goes to each of n_bins rows, exactly as U[0, 1] fills them.
    """
    columns = np.unique([0.0, float(theta)])
    p0 = np.zeros((columns.size, n_bins))
    pt = np.zeros((columns.size, n_bins))
    p0[np.searchsorted(columns, 0.0)] = 1.0 / n_bins
    pt[np.searchsorted(columns, float(theta))] = 1.0 / n_bins
    return p0.ravel(), pt.ravel()
