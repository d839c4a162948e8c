"""The headline call: emd.wasserstein."""

from __future__ import annotations

from typing import Any

from ._validation import as_float_array
from .one_d import wasserstein_1d

__all__ = ["wasserstein"]


def wasserstein(x: Any, y: Any, *, x_weights: Any = None, y_weights: Any = None, p: float = 1.0) -> float:
    r"""Exact p-Wasserstein distance between two weighted samples.

    .. math::

        W_p(\mu, \nu) = \Big( \min_{P \in \Pi(a, b)} \sum_{ij} P_{ij} \, |x_i - y_j|^p \Big)^{1/p}

    Parameters
    ----------
    x : array_like, shape (n,) or (n, 1)
    y : array_like, shape (m,) or (m, 1)
    x_weights, y_weights : array_like or None
        Nonnegative weights (normalized internally); ``None`` means uniform.
    p : float, default 1.0

    Returns
    -------
    float

    Notes
    -----
    One-dimensional samples go to the exact sorting solver
    :func:`emd.wasserstein_1d`. Point clouds (n, d) with d > 1 need the exact
    discrete solver, which is not in this release yet.
    """
    xa = as_float_array(x, "x", min_ndim=1, max_ndim=2)
    ya = as_float_array(y, "y", min_ndim=1, max_ndim=2)
    dx = 1 if xa.ndim == 1 else xa.shape[1]
    dy = 1 if ya.ndim == 1 else ya.shape[1]
    if dx != dy:
        raise ValueError(f"`x` and `y` must have the same dimension, got x {xa.shape} and y {ya.shape}")
    if dx == 1:
        return wasserstein_1d(xa.reshape(-1), ya.reshape(-1), x_weights, y_weights, p=p)
    raise NotImplementedError(
        f"emd.wasserstein on point clouds of dimension {dx} needs the exact discrete solver, "
        "which is not available yet; use emd.sliced_wasserstein for an estimate"
    )
