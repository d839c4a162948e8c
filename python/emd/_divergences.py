"""Divergences between histograms on a common support: TV, KL, JS.

These are the WGAN paper's foils: for two distributions with disjoint supports
they saturate (TV = 1, KL = inf, JS = log 2) however close the supports are,
where the Wasserstein distance shrinks continuously.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._backend.base import Backend
from ._dispatch import backend_for
from ._validation import check_finite, result_float_dtype

__all__ = ["tv", "kl", "js"]


def _check_histograms(be: Backend, p: Any, q: Any, axis: Any) -> tuple[Any, Any, np.dtype]:
    """The checks of the divergences: p and q cast to one float dtype and to the
    same number of dimensions, not yet normalized."""
    pa = be.asarray(p, "p", min_ndim=1)
    qa = be.asarray(q, "q", min_ndim=1)
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


def _divergence(kind: str, p: Any, q: Any, axis: Any) -> Any:
    """The divergence ``kind`` of the backend's kernel, bounded as the divergence is
    (rounding can overshoot by an ulp; the divergence cannot), in the inputs' dtype."""
    be = backend_for(kind, p=p, q=q)
    with be.active():
        pa, qa, dtype = _check_histograms(be, p, q, axis)
        out = be.divergence(kind, pa, qa, axis)
        if kind == "kl":
            out = be.xp.maximum(out, 0.0)
        elif kind == "js":
            out = be.xp.clip(out, 0.0, np.log(2.0))
        out = out.astype(dtype, copy=False)
        return be.finish(be.scalar(out) if out.ndim == 0 else out)


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
    scalar or ndarray
        In [0, 1]; a NumPy scalar for 1-D inputs, else an array of the batch shape.
    """
    return _divergence("tv", p, q, axis)


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
    scalar or ndarray
    """
    return _divergence("kl", p, q, axis)


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
    scalar or ndarray
    """
    return _divergence("js", p, q, axis)
