"""Divergences between histograms on a common support: TV, KL, JS.

These are the WGAN paper's foils: for two distributions with disjoint supports
they saturate (TV = 1, KL = inf, JS = log 2) however close the supports are,
where the Wasserstein distance shrinks continuously.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ._dispatch import accepts_gpu
from ._validation import as_float_array, check_finite, result_float_dtype

__all__ = ["tv", "kl", "js"]


def _check_histograms(p: Any, q: Any, axis: Any, as_array: Callable[..., Any] = as_float_array) -> tuple[Any, Any, np.dtype]:
    """The checks of the divergences: p and q cast to one float dtype, not yet
    normalized (shared with the GPU path, which passes its own ``as_array``)."""
    pa = as_array(p, "p", min_ndim=1)
    qa = as_array(q, "q", min_ndim=1)
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"`axis` must be an integer, got {axis!r}")
    # `axis` is read on the broadcast shape (as numpy reads it after
    # broadcasting): each input gets its leading length-1 axes first, so that a
    # positive axis means the same axis of both (it meant each one's own).
    ndim, p_shape, q_shape = max(pa.ndim, qa.ndim), pa.shape, qa.shape
    if not -ndim <= axis < ndim:
        raise ValueError(f"`axis` {axis} is out of range for `p` {pa.shape} and `q` {qa.shape} broadcast together")
    pa = pa.reshape((1,) * (ndim - pa.ndim) + pa.shape)
    qa = qa.reshape((1,) * (ndim - qa.ndim) + qa.shape)
    if pa.shape[axis] != qa.shape[axis]:
        raise ValueError(
            f"`p` and `q` must have the same number of bins along axis {axis}, got {pa.shape[axis]} and {qa.shape[axis]}"
        )
    try:
        np.broadcast_shapes(pa.shape, qa.shape)
    except ValueError:
        raise ValueError(f"the shapes of `p` {p_shape} and `q` {q_shape} do not broadcast") from None
    dtype = result_float_dtype(pa, qa)
    out = []
    for name, arr in (("p", pa), ("q", qa)):
        arr = arr.astype(dtype, copy=False)
        check_finite(arr, name)
        lowest = arr.min()
        if bool(lowest < 0):
            raise ValueError(f"`{name}` must be nonnegative (a histogram), but its minimum is {lowest}")
        with np.errstate(over="ignore", invalid="ignore"):
            total = arr.sum(axis=axis, keepdims=True, dtype=np.float64)
        if not bool(np.isfinite(total).all()):
            raise ValueError(f"`{name}` sums to more than the float64 range allows along axis {axis}; rescale it")
        if bool((total <= 0).any()):
            raise ValueError(f"`{name}` sums to 0 along axis {axis}; a histogram needs positive total mass")
        out.append(arr)
    return out[0], out[1], dtype


def _histograms(p: Any, q: Any, axis: int) -> tuple[np.ndarray, np.ndarray, int, np.dtype]:
    """The normalized histograms in float64 (float32 inputs too: the terms and
    their sums in float64, the result rounded once), the axis, the output dtype."""
    pa, qa, dtype = _check_histograms(p, q, axis)
    pn, qn = (np.asarray(a, dtype=np.float64) for a in (pa, qa))
    return pn / pn.sum(axis=axis, keepdims=True), qn / qn.sum(axis=axis, keepdims=True), axis, dtype


def _finish(x: np.ndarray, dtype: np.dtype) -> Any:
    x = np.asarray(x, dtype=dtype)
    return float(x) if x.ndim == 0 else x


def _rel_entr(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x log(x / y) with 0 log(0 / y) = 0 and x log(x / 0) = inf for x > 0.

    log(x / y) where the ratio is a normal number (accurate when x ~ y), else
    log x - log y (x / 1e-320 overflows, though its log is about 737).
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        ratio = x / y
        r = x * np.log(ratio)
        off = (x > 0) & (y > 0) & ~((ratio >= np.finfo(x.dtype).tiny) & (ratio <= np.finfo(x.dtype).max))
        if bool(off.any()):
            r = np.where(off, x * (np.log(x) - np.log(y)), r)
    r = np.where(x == 0, 0.0, r)
    return np.where((x > 0) & (y == 0), np.inf, r).astype(x.dtype, copy=False)


@accepts_gpu("p", "q")
def tv(p: Any, q: Any, axis: int = -1) -> Any:
    r"""Total variation distance between histograms.

    .. math:: \mathrm{TV}(p, q) = \tfrac12 \sum_i |p_i - q_i| = \sup_A |P(A) - Q(A)|

    Parameters
    ----------
    p, q : array_like
        Nonnegative histograms along ``axis`` (normalized internally); the other
        axes are a batch and broadcast.
    axis : int, default -1

    Returns
    -------
    float or ndarray
        In [0, 1]; a float for 1-D inputs, else an array of the batch shape.
    """
    pn, qn, ax, dtype = _histograms(p, q, axis)
    return _finish(0.5 * np.abs(pn - qn).sum(axis=ax), dtype)


@accepts_gpu("p", "q")
def kl(p: Any, q: Any, axis: int = -1) -> Any:
    r"""Kullback-Leibler divergence :math:`\mathrm{KL}(p \| q)` in nats.

    .. math:: \mathrm{KL}(p \| q) = \sum_i p_i \log \frac{p_i}{q_i},

    with :math:`0 \log 0 = 0`; it is :math:`+\infty` when some :math:`p_i > 0`
    where :math:`q_i = 0`.

    Parameters
    ----------
    p, q : array_like
        Nonnegative histograms along ``axis`` (normalized internally).
    axis : int, default -1

    Returns
    -------
    float or ndarray
    """
    pn, qn, ax, dtype = _histograms(p, q, axis)
    out = _rel_entr(pn, qn).sum(axis=ax)
    return _finish(np.maximum(out, 0.0), dtype)


@accepts_gpu("p", "q")
def js(p: Any, q: Any, axis: int = -1) -> Any:
    r"""Jensen-Shannon divergence in nats.

    .. math::

        \mathrm{JS}(p, q) = \tfrac12 \mathrm{KL}(p \| m) + \tfrac12 \mathrm{KL}(q \| m),
        \qquad m = \tfrac12 (p + q),

    bounded by :math:`\log 2`, which it reaches for disjoint supports. This is
    the divergence itself, not ``scipy.spatial.distance.jensenshannon``, which
    returns its square root.

    Parameters
    ----------
    p, q : array_like
        Nonnegative histograms along ``axis`` (normalized internally).
    axis : int, default -1

    Returns
    -------
    float or ndarray
    """
    pn, qn, ax, dtype = _histograms(p, q, axis)
    m = 0.5 * (pn + qn)
    out = 0.5 * (_rel_entr(pn, m).sum(axis=ax) + _rel_entr(qn, m).sum(axis=ax))
    # Rounding can overshoot the bounds by an ulp; the divergence cannot.
    return _finish(np.clip(out, 0.0, np.log(2.0)), dtype)
