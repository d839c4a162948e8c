"""Sliced Wasserstein distances: 1-D distances along many directions."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._backend.base import Backend
from ._dispatch import backend_for
from ._problems import OneD
from ._validation import (
    cast,
    check_choice,
    check_finite,
    check_p,
    check_positive_int,
    check_seed,
    check_weights,
    lift_tiny_weights,
    result_float_dtype,
)

__all__ = ["sliced_wasserstein"]


def _directions(be: Backend, d: int, n_projections: int, projections: Any, seed: Any, dtype: np.dtype) -> Any:
    """Unit directions (d, L) as columns, in the backend's arrays.

    Random directions are drawn on the host from ``default_rng(seed)`` (d x L
    numbers, not data), so that a seed gives the same directions on every device.
    """
    xp = be.xp
    if projections is None:
        theta = xp.asarray(check_seed(seed).standard_normal((d, n_projections)))
    else:
        theta = be.asarray(projections, "projections", min_ndim=2, max_ndim=2)
        if theta.shape[0] != d:
            raise ValueError(
                f"`projections` must have shape (d, L) = ({d}, L) to match the clouds' dimension, got {theta.shape}"
            )
        theta = theta.astype(np.float64, copy=False)
        check_finite(theta, "projections")
    # Each column scaled by its largest |entry| first, so that the norm neither
    # overflows (1e200) nor underflows (1e-200) on the way: only directions matter.
    scale = xp.abs(theta).max(axis=0)
    if bool(xp.any(scale == 0)):
        raise ValueError(f"`projections` column {int(xp.argmin(scale))} is zero; every direction needs a nonzero norm")
    theta = theta / scale
    return xp.ascontiguousarray((theta / xp.linalg.norm(theta, axis=0)).astype(dtype, copy=False))


def _prepare(be: Backend, x: Any, y: Any, x_weights: Any, y_weights: Any, p: Any, n_projections: Any,
             reduce: Any) -> tuple[Any, Any, Any, Any, float, int]:
    """The checks and casts of :func:`sliced_wasserstein`."""
    as_array = be.asarray
    xa = as_array(x, "x", min_ndim=2, max_ndim=2)
    ya = as_array(y, "y", min_ndim=2, max_ndim=2)
    if xa.shape[1] != ya.shape[1]:
        raise ValueError(f"`x` and `y` must have the same dimension d, got x {xa.shape} and y {ya.shape}")
    xw = None if x_weights is None else as_array(x_weights, "x_weights", min_ndim=1, max_ndim=1)
    yw = None if y_weights is None else as_array(y_weights, "y_weights", min_ndim=1, max_ndim=1)
    pf = check_p(p)
    check_choice(reduce, "reduce", ("mean", "max"))
    n_proj = check_positive_int(n_projections, "n_projections")
    dtype = result_float_dtype(xa, ya, xw, yw)
    xa, ya = cast(xa, dtype), cast(ya, dtype)
    check_finite(xa, "x")
    check_finite(ya, "y")
    if xw is not None:
        xw = cast(xw, dtype)
        check_weights(xw, xa.shape[:1], "x_weights", "x's first axis")
    if yw is not None:
        yw = cast(yw, dtype)
        check_weights(yw, ya.shape[:1], "y_weights", "y's first axis")
    return xa, ya, lift_tiny_weights(xw), lift_tiny_weights(yw), pf, n_proj


def sliced_wasserstein(
    x: Any,
    y: Any,
    *,
    x_weights: Any = None,
    y_weights: Any = None,
    p: float = 2.0,
    n_projections: int = 128,
    projections: Any = None,
    seed: Any = None,
    reduce: str = "mean",
) -> Any:
    r"""Sliced p-Wasserstein distance between two weighted point clouds.

    .. math::

        SW_p(\mu, \nu) = \Big( \frac{1}{L} \sum_{l=1}^{L} W_p^p(\theta_l^\top \# \mu, \theta_l^\top \# \nu) \Big)^{1/p},
        \qquad \max SW_p = \max_l W_p(\theta_l^\top \# \mu, \theta_l^\top \# \nu),

    with unit directions :math:`\theta_l`. The projection is one matrix product;
    the L one-dimensional problems are one batched call of the exact 1-D kernel.

    Parameters
    ----------
    x : array_like, shape (n, d)
    y : array_like, shape (m, d)
    x_weights, y_weights : array_like, shape (n,) and (m,), or None
        Nonnegative weights, normalized internally; ``None`` means uniform.
    p : float, default 2.0
        Order, any real ``p >= 1``.
    n_projections : int, default 128
        Number L of random directions, drawn uniformly on the sphere from
        ``numpy.random.default_rng(seed)``. Ignored when ``projections`` is given.
    projections : array_like, shape (d, L), optional
        Explicit directions as columns; emd normalizes them to unit length.
    seed : int, Generator or None
        Seed of the random directions.
    reduce : {"mean", "max"}
        "mean" gives :math:`SW_p`, "max" the max-sliced distance over the directions.

    Returns
    -------
    scalar
        A NumPy scalar of the inputs' float dtype.

    References
    ----------
    N. Bonneel, J. Rabin, G. Peyré, H. Pfister, "Sliced and Radon Wasserstein
    barycenters of measures", JMIV 51, 2015. I. Deshpande et al., "Max-sliced
    Wasserstein distance and its use for GANs", CVPR 2019.
    """
    be = backend_for("sliced_wasserstein", x=x, y=y, x_weights=x_weights, y_weights=y_weights, projections=projections)
    with be.active():
        xa, ya, xw, yw, pf, n_proj = _prepare(be, x, y, x_weights, y_weights, p, n_projections, reduce)
        theta = _directions(be, xa.shape[1], n_proj, projections, seed, xa.dtype)
        # (L, n) rows straight out of BLAS: theta^T x^T, no transpose copy (NumPy);
        # cuBLAS through CuPy's matmul.
        with np.errstate(all="ignore"):
            px = be.xp.ascontiguousarray(theta.T @ xa.T)
            py = be.xp.ascontiguousarray(theta.T @ ya.T)
        check_finite(px, "x projected on `projections` (overflow)")
        check_finite(py, "y projected on `projections` (overflow)")
        rows = np.arange(theta.shape[1], dtype=np.int64)
        # A 1-D weight row is shared by all L projected rows.
        w = be.wasserstein_1d(OneD(px, xw, py, yw, rows, rows, pf, False))
        return be.finish(be.slice_reduce(w, pf, reduce, xa.dtype))

