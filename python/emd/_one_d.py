"""Exact Wasserstein distances on the real line."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._backend.base import Backend
from ._backend.cpu import wasserstein_1d_pair
from ._dispatch import backend_for
from ._problems import OneD
from ._validation import (
    cast,
    check_bool,
    check_finite,
    check_p,
    check_weights,
    lift_tiny_weights,
    result_float_dtype,
)

__all__ = ["wasserstein_1d"]


def _leading_pairs(lead_u: tuple[int, ...], lead_v: tuple[int, ...]) -> tuple[tuple[int, ...], np.ndarray, np.ndarray]:
    """Row indices of u and v for every element of the broadcast batch shape."""
    if lead_u == lead_v:  # the common case, single pairs included: row k with row k
        rows = np.arange(math.prod(lead_u), dtype=np.int64)
        return lead_u, rows, rows
    try:
        shape = np.broadcast_shapes(lead_u, lead_v)
    except ValueError:
        raise ValueError(
            f"the leading (batch) shapes of `u_values` {lead_u} and `v_values` {lead_v} do not broadcast"
        ) from None
    iu = np.broadcast_to(np.arange(int(np.prod(lead_u, dtype=np.int64))).reshape(lead_u), shape)
    iv = np.broadcast_to(np.arange(int(np.prod(lead_v, dtype=np.int64))).reshape(lead_v), shape)
    return shape, np.ascontiguousarray(iu, dtype=np.int64).ravel(), np.ascontiguousarray(iv, dtype=np.int64).ravel()


def _describe(be: Backend, u_values: Any, v_values: Any, u_weights: Any, v_weights: Any, p: Any,
              assume_sorted: Any) -> tuple[OneD, tuple[int, ...]]:
    """The checks and casts of :func:`wasserstein_1d`: the kernel's problem (rows of
    one float dtype, contiguous, and the pairs) and the batch shape of the result."""
    u = be.asarray(u_values, "u_values", min_ndim=1)
    v = be.asarray(v_values, "v_values", min_ndim=1)
    uw = None if u_weights is None else be.asarray(u_weights, "u_weights", min_ndim=1)
    vw = None if v_weights is None else be.asarray(v_weights, "v_weights", min_ndim=1)
    pf = check_p(p)
    sorted_rows = check_bool(assume_sorted, "assume_sorted")
    dtype = result_float_dtype(u, v, uw, vw)
    u, v = cast(u, dtype), cast(v, dtype)
    check_finite(u, "u_values")
    check_finite(v, "v_values")
    if uw is not None:
        uw = cast(uw, dtype)
        check_weights(uw, u.shape, "u_weights", "u_values")
    if vw is not None:
        vw = cast(vw, dtype)
        check_weights(vw, v.shape, "v_weights", "v_values")
    uw, vw = lift_tiny_weights(uw), lift_tiny_weights(vw)
    shape, pair_u, pair_v = _leading_pairs(u.shape[:-1], v.shape[:-1])
    n, m = u.shape[-1], v.shape[-1]
    problem = OneD(
        u.reshape(-1, n), None if uw is None else uw.reshape(-1, n),
        v.reshape(-1, m), None if vw is None else vw.reshape(-1, m),
        pair_u, pair_v, pf, sorted_rows,
    )
    return problem, shape


def wasserstein_1d(
    u_values: Any,
    v_values: Any,
    u_weights: Any = None,
    v_weights: Any = None,
    *,
    p: float = 1.0,
    assume_sorted: bool = False,
) -> Any:
    r"""Exact p-Wasserstein distance between weighted samples on the real line.

    With :math:`F_u, F_v` the cumulative distribution functions of
    :math:`u = \sum_i w_i \delta_{u_i} / \sum_i w_i` and likewise :math:`v`,

    .. math::

        W_1(u, v) = \int_{\mathbb{R}} |F_u(t) - F_v(t)| \, dt, \qquad
        W_p(u, v) = \Big( \int_0^1 |F_u^{-1}(q) - F_v^{-1}(q)|^p \, dq \Big)^{1/p}.

    Both are computed exactly: each row is sorted once (NumPy's SIMD sort, called from C++),
    then one merge walk per pair evaluates the integral, accumulating in
    float64 for either input dtype. Batches are spread over threads with the
    GIL released.

    Parameters
    ----------
    u_values : array_like, shape (..., n)
        Samples of the first distribution; the leading axes are a batch.
    v_values : array_like, shape (..., m)
        Samples of the second; its leading axes broadcast against ``u_values``'.
    u_weights, v_weights : array_like or None
        Nonnegative weights of the shape of their values, each distribution's
        normalized to sum 1; ``None`` means uniform.
    p : float, default 1.0
        Any real ``p >= 1``.
    assume_sorted : bool, default False
        Promise that every row of values is sorted ascending, to skip the sort.
        Unsorted rows then give wrong results.

    Returns
    -------
    scalar or ndarray
        :math:`W_p` (not :math:`W_p^p`): a NumPy scalar for 1-D inputs, else an
        array of the broadcast batch shape. Dtype: float32 only when every float
        input is float32 (integers count as float64).

    References
    ----------
    C. Villani, *Topics in Optimal Transportation*, AMS 2003, Theorem 2.18.
    A. Ramdas, N. Garcia Trillos, M. Cuturi, "On Wasserstein two-sample
    testing and related families of nonparametric tests", Entropy 19(2), 2017.

    Examples
    --------
    >>> import emd
    >>> emd.wasserstein_1d([0.0, 1.0], [0.0], [1, 1], [1])
    0.5
    """
    # The common call takes one extension call (the checks made in the kernel's
    # first pass); anything else, or an input a check flags, the path below.
    out = wasserstein_1d_pair(u_values, v_values, u_weights, v_weights, p, assume_sorted)
    if out is not None:
        return out
    be = backend_for("wasserstein_1d", u_values=u_values, v_values=v_values, u_weights=u_weights, v_weights=v_weights)
    with be.active():
        problem, shape = _describe(be, u_values, v_values, u_weights, v_weights, p, assume_sorted)
        out = be.wasserstein_1d(problem)
        return be.finish(be.scalar(out) if not shape else out.reshape(shape))
