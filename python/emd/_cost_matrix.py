"""Ground-cost matrices between point clouds: emd.cost_matrix."""

from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np

from ._backend.base import Backend
from ._dispatch import backend_for
from ._metrics import METRIC_CODES
from ._validation import cast, check_choice, check_finite, check_p, largest_abs, result_float_dtype

__all__ = ["cost_matrix"]


def _points(be: Backend, x: Any, name: str) -> Any:
    arr = be.asarray(x, name, min_ndim=1, max_ndim=2)
    return arr.reshape(-1, 1) if arr.ndim == 1 else arr


def cost_matrix(x: Any, y: Any, metric: str | Callable[[np.ndarray, np.ndarray], float] = "sqeuclidean", *, p: float | None = None) -> np.ndarray:
    r"""Pairwise ground costs :math:`M_{ij} = d(x_i, y_j)` between two point clouds.

    Parameters
    ----------
    x : array_like, shape (n, d) or (n,)
    y : array_like, shape (m, d) or (m,)
        Points; 1-D inputs are points on the line.
    metric : str or callable, default "sqeuclidean"
        ``"sqeuclidean"`` :math:`\|x - y\|_2^2`, ``"euclidean"`` :math:`\|x - y\|_2`,
        ``"cityblock"`` :math:`\|x - y\|_1`, ``"chebyshev"`` :math:`\|x - y\|_\infty`,
        ``"minkowski"`` :math:`\|x - y\|_p` (as scipy's ``cdist``), computed in
        C++ over threads with float64 accumulation. A callable ``metric(u, v) ->
        float`` on two 1-D float64 arrays is compiled with numba (``pip install
        emd[numba]``) and evaluated in parallel.
    p : float, optional
        Order of the Minkowski metric (>= 1, default 2; ``numpy.inf`` gives the
        Chebyshev metric, its limit); only for ``"minkowski"``.

    Returns
    -------
    ndarray, shape (n, m)
        float32 when both inputs are float32, else float64 (a callable metric
        always gives float64).
    """
    be = backend_for("cost_matrix", x=x, y=y)
    with be.active():
        return be.finish(_cost_matrix(be, x, y, metric, p))


def _cost_matrix(be: Backend, x: Any, y: Any, metric: Any, p: Any) -> Any:
    xa = _points(be, x, "x")
    ya = _points(be, y, "y")
    if xa.shape[1] != ya.shape[1]:
        raise ValueError(f"`x` and `y` must have the same dimension, got x {xa.shape} and y {ya.shape}")
    if callable(metric):
        if not be.host:
            raise TypeError(
                "a callable `metric` runs on the CPU only (compiled with numba); pass NumPy arrays"
                " (cupy.asnumpy(x)) or use one of the built-in metrics " + ", ".join(map(repr, METRIC_CODES))
            )
        if p is not None:
            raise ValueError("`p` is only used by metric='minkowski'; a callable metric takes no `p`")
        xc = cast(xa, np.float64)
        yc = cast(ya, np.float64)
        check_finite(xc, "x")
        check_finite(yc, "y")
        # numba reads host arrays: a torch backend's tensors as their (detached) NumPy views.
        return _callable_cost(be.to_host(xc), be.to_host(yc), metric)
    check_choice(metric, "metric", tuple(METRIC_CODES))
    if metric == "minkowski":
        q = 2.0 if p is None else check_p(p, "p", allow_inf=True)
        if q == np.inf:  # the limit of the Minkowski metrics: Chebyshev's
            metric, q = "chebyshev", 2.0
    else:
        if p is not None:
            raise ValueError(f"`p` is only used by metric='minkowski', got p={p!r} with metric={metric!r}")
        q = 2.0
    dtype = result_float_dtype(xa, ya)
    xc = cast(xa, dtype)
    yc = cast(ya, dtype)
    check_finite(xc, "x")
    check_finite(yc, "y")
    return homogeneous_costs(xc, yc, metric, lambda xs, ys: be.cost_matrix(xs, ys, metric, q))


def homogeneous_costs(xc: Any, yc: Any, metric: str, compute: Callable[[Any, Any], Any]) -> Any:
    """``compute(x, y)``, a built-in metric's kernel (CPU or CUDA), on points
    brought near 1, and the check that the costs fit their dtype.

    Every built-in metric is homogeneous: d(s x, s y) = s^k d(x, y), k = 2 for
    sqeuclidean, else 1. Coordinates far from 1 are divided by a power of two
    s (exact) so that the float64 sums of squares neither overflow (1e200 gave
    inf) nor underflow (1e-200 gave 0), and s^k is put back on the result.
    NumPy and CuPy arrays alike (on the GPU, a few scalars are read back).
    """
    degree = 2 if metric == "sqeuclidean" else 1
    big = max(largest_abs(xc), largest_abs(yc))
    if big > 2.0**300 or 0.0 < big < 2.0**-300:
        s = 2.0 ** (int(np.frexp(big)[1]) - 1)  # big / s in [1, 2)
        out = compute(xc / s, yc / s)
        with np.errstate(over="ignore"):
            for _ in range(degree):  # s^2 itself may leave the range
                out *= s
    else:
        out = compute(xc, yc)
    # Bounded by (2 big d)^k: only near the dtype's limit is the result scanned.
    if big > 0 and degree * np.log(2.0 * big * xc.shape[1]) > np.log(float(np.finfo(out.dtype).max) / 4):
        if not np.isfinite(float(out.max())):
            raise ValueError(
                f"the costs {metric}(x_i, y_j) overflow {out.dtype}: rescale the points"
                + (" or pass float64 points" if out.dtype == np.float32 else "")
            )
    return out


def _numba() -> Any:
    try:
        import numba
    except ImportError:
        raise ImportError(
            "a callable `metric` is compiled with numba, which is not installed; install it with"
            " `pip install emd[numba]`, or pass one of the built-in metric names"
        ) from None
    return numba


@functools.lru_cache(maxsize=32)
def _compiled(metric: Callable[..., float]) -> tuple[Any, Any]:
    """(jitted metric, parallel pairwise kernel); compiled once per metric function."""
    numba = _numba()
    if isinstance(metric, numba.core.registry.CPUDispatcher):
        jitted = metric
    else:
        try:
            jitted = numba.njit(cache=False)(metric)
        except TypeError as exc:  # builtins, numpy ufuncs and dispatchers are not Python functions
            raise TypeError(
                f"`metric` {_name(metric)} cannot be compiled by numba ({exc}); pass a Python function (def or"
                " lambda) of two float64 vectors, e.g. lambda u, v: np.linalg.norm(u - v), or a metric name"
            ) from None

    @numba.njit(parallel=True, cache=False)
    def pairwise(x, y, out):  # pragma: no cover - compiled
        n, m = out.shape
        for i in numba.prange(n):
            for j in range(m):
                out[i, j] = jitted(x[i], y[j])

    return jitted, pairwise


def _name(metric: Any) -> str:
    return getattr(metric, "__qualname__", None) or getattr(metric, "__name__", None) or repr(metric)


def _callable_cost(x: np.ndarray, y: np.ndarray, metric: Callable[..., float]) -> np.ndarray:
    jitted, pairwise = _compiled(metric)
    out = np.empty((x.shape[0], y.shape[0]), dtype=np.float64)
    try:
        pairwise(x, y, out)
    except Exception as exc:
        numba = _numba()
        if isinstance(exc, numba.core.errors.TypingError):
            raise TypeError(
                f"the metric {_name(metric)} could not be compiled by numba for two float64 vectors: "
                f"{str(exc).splitlines()[0]}"
            ) from exc
        # Find the first failing pair with the compiled metric, one pair at a time.
        for i in range(x.shape[0]):
            for j in range(y.shape[0]):
                try:
                    jitted(x[i], y[j])
                except Exception as inner:
                    raise ValueError(
                        f"the metric {_name(metric)} failed on the pair (x[{i}], y[{j}]): {inner!r}"
                    ) from inner
        raise ValueError(f"the metric {_name(metric)} failed: {exc!r}") from exc
    with np.errstate(all="ignore"):
        finite = np.isfinite(out.sum())
    if not finite:
        i, j = (int(k) for k in np.argwhere(~np.isfinite(out))[0])
        raise ValueError(
            f"the metric {_name(metric)} returned {out[i, j]} for the pair (x[{i}], y[{j}]); costs must be finite"
        )
    return out
