"""The headline call: emd.wasserstein."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._backend.base import Backend
from ._backend.cpu import wasserstein_1d_pair, wasserstein_clouds_pair
from ._cost_matrix import cost_matrix
from ._dispatch import backend_for
from ._metrics import LINE_METRICS, METRIC_CODES
from ._network_simplex import MAX_ABS_COST, solve
from ._one_d import wasserstein_1d
from ._result import OTResult
from ._sinkhorn import sinkhorn_wasserstein
from ._validation import check_choice, check_finite, check_histogram, check_p, largest_abs

__all__ = ["wasserstein", "exact_solution"]


def wasserstein(
    x: Any,
    y: Any,
    *,
    x_weights: Any = None,
    y_weights: Any = None,
    p: float = 1.0,
    metric: str = "euclidean",
    method: str = "exact",
    reg: float | None = None,
) -> Any:
    r"""Exact p-Wasserstein distance between two weighted samples.

    .. math::

        W_p(\mu, \nu) = \Big( \min_{P \in \Pi(a, b)} \sum_{ij} P_{ij} \, d(x_i, y_j)^p \Big)^{1/p}

    Parameters
    ----------
    x : array_like, shape (n,) or (n, d)
    y : array_like, shape (m,) or (m, d)
    x_weights, y_weights : array_like or None
        Nonnegative weights (normalized internally); ``None`` means uniform.
    p : float, default 1.0
    metric : str or callable, default "euclidean"
        The ground distance d, any metric of :func:`emd.cost_matrix` (with
        ``method="sinkhorn"``, one of those :func:`emd.sinkhorn_samples` takes:
        "sqeuclidean", "euclidean", "cityblock", "chebyshev"). On the
        line, the metrics that are :math:`|x - y|` there ("euclidean",
        "cityblock", "chebyshev", "minkowski") use the sorting solver; the
        others ("sqeuclidean", a callable) solve the transport problem.
    method : {"exact", "sinkhorn"}, default "exact"
        "exact" solves the transport problem exactly. "sinkhorn" returns the
        entropic estimate :math:`\langle P_\varepsilon, C \rangle^{1/p}` with
        :math:`C = d^p` and :math:`P_\varepsilon` the plan of
        :func:`emd.sinkhorn_samples` at regularization ``reg`` (matrix-free; an
        overestimate of :math:`W_p` that tends to it as reg -> 0).
    reg : float, optional
        The absolute entropic regularization :math:`\varepsilon`; required
        with ``method="sinkhorn"``, refused otherwise.

    Returns
    -------
    scalar
        A NumPy scalar of the inputs' float dtype.

    Notes
    -----
    One-dimensional samples with a metric that is :math:`|x - y|` on the
    line go to the exact sorting solver :func:`emd.wasserstein_1d`. Point clouds (n, d) with d > 1 build the cost
    matrix :math:`d(x_i, y_j)^p` (:func:`emd.cost_matrix`) and solve the
    transport problem exactly with :func:`emd.solve` (a network simplex).
    Two NumPy clouds of one float dtype (C-contiguous, d >= 2, weights None or
    1-D of that dtype, a metric name, p a Python number) make one extension
    call that checks them while it builds the cost matrix and then solves; it
    gives the same result to the last bit, and any input a check flags takes
    the path above, which raises the error.

    CuPy inputs: 1-D samples run on the GPU; point clouds are copied once to
    the host, solved there by the CPU network simplex, and the result returned
    (the exact solver has no CUDA kernel yet).
    """
    # The common calls take a straight path, checks made in C++ as it goes;
    # None (another kind of argument, or a check that flags one) sends the call
    # below, where the full path's checks raise the messages that name the
    # argument. 1-D samples with a line metric: wasserstein_1d's (checks in the
    # sort's first pass). Point clouds (n, d), d >= 2: one call that checks the
    # points, weights and costs while it builds the cost matrix, then solves.
    if type(method) is str and type(metric) is str and method == "exact" and reg is None:
        if metric in LINE_METRICS:
            out = wasserstein_1d_pair(x, y, x_weights, y_weights, p, False)
            if out is not None:
                return out
        code = METRIC_CODES.get(metric)
        if code is not None:
            out = wasserstein_clouds_pair(x, y, x_weights, y_weights, p, code)
            if out is not None:
                return out
    be = backend_for("wasserstein", x=x, y=y, x_weights=x_weights, y_weights=y_weights)
    with be.active():
        return be.finish(_wasserstein(be, x, y, x_weights, y_weights, p, metric, method, reg))


def exact_solution(x: np.ndarray, y: np.ndarray, *, x_weights: Any = None, y_weights: Any = None, p: float = 1.0,
                   metric: str = "euclidean") -> OTResult:
    """The exact solve behind :func:`wasserstein` for NumPy point clouds: the same
    checks and messages, the same cost matrix ``metric ** p``, solved by the network
    simplex even on the line (where :func:`wasserstein` sorts), with the plan's
    support and the potentials kept. What the ``torch.compile`` op of
    ``emd.nn.WassersteinLoss`` (``emd._compile_ops``) runs on the real tensors."""
    be = backend_for("wasserstein", x=x, y=y, x_weights=x_weights, y_weights=y_weights)
    with be.active():
        return _wasserstein(be, x, y, x_weights, y_weights, p, metric, "exact", None, solution=True)


def _wasserstein(be: Backend, x: Any, y: Any, x_weights: Any, y_weights: Any, p: Any, metric: Any, method: Any,
                 reg: Any, solution: bool = False) -> Any:
    check_choice(method, "method", ("exact", "sinkhorn"))
    xa = be.asarray(x, "x", min_ndim=1, max_ndim=2)
    ya = be.asarray(y, "y", min_ndim=1, max_ndim=2)
    dx = 1 if xa.ndim == 1 else xa.shape[1]
    dy = 1 if ya.ndim == 1 else ya.shape[1]
    if dx != dy:
        raise ValueError(f"`x` and `y` must have the same dimension, got x {xa.shape} and y {ya.shape}")
    check_finite(xa, "x")
    check_finite(ya, "y")
    if method == "sinkhorn":
        if reg is None:
            raise ValueError("`reg` is required with method='sinkhorn' (the absolute entropic regularization epsilon)")
        # The weights in the backend's arrays (a torch tensor is viewed like the points).
        xw, yw = (None if w is None else be.asarray(w, name) for w, name in ((x_weights, "x_weights"), (y_weights, "y_weights")))
        return sinkhorn_wasserstein(
            xa.reshape(xa.shape[0], dx), ya.reshape(ya.shape[0], dy), reg, x_weights=xw, y_weights=yw, p=p, metric=metric,
        )
    if reg is not None:
        raise ValueError(f"`reg` is only used with method='sinkhorn'; the exact solver takes none (got reg={reg!r})")
    pf = check_p(p)
    xw = None if x_weights is None else _matching(be, x_weights, xa.shape[0], "x_weights")
    yw = None if y_weights is None else _matching(be, y_weights, ya.shape[0], "y_weights")
    if dx == 1 and isinstance(metric, str) and metric in LINE_METRICS and not solution:
        return wasserstein_1d(xa.reshape(-1), ya.reshape(-1), xw, yw, p=pf)
    a = None if xw is None else _normalized(xw)
    b = None if yw is None else _normalized(yw)
    xa, ya = xa.reshape(xa.shape[0], dx), ya.reshape(ya.shape[0], dy)
    M = cost_matrix(xa, ya, metric)
    name = getattr(metric, "__name__", metric)
    if pf != 1.0:
        with np.errstate(over="ignore"):
            M **= pf
    big = largest_abs(M)
    if not big * (M.shape[0] + M.shape[1]) <= MAX_ABS_COST:
        power = " ** p" if pf != 1.0 else ""
        order = f" (p = {pf:g})" if pf != 1.0 else ""
        limit = MAX_ABS_COST / (M.shape[0] + M.shape[1])
        raise ValueError(
            f"the costs {name}(x_i, y_j){power} overflow {M.dtype}{order} or the exact solver's range for"
            f" {M.shape[0]} x {M.shape[1]} points (|cost| up to {limit:.3g}, got {big:.3g}):"
            " rescale the points" + (" or pass float64 points" if M.dtype == np.float32 else "")
        )
    if solution:
        return solve(a, b, M, return_plan=True)
    return be.nonnegative_root(solve(a, b, M, return_plan=False).cost, pf, M.dtype)


def _matching(be: Backend, weights: Any, n: int, name: str) -> Any:
    w = check_histogram(be.asarray(weights, name, min_ndim=1, max_ndim=2), name)
    if w.ndim != 1 or w.shape[0] != n:
        raise ValueError(f"`{name}` must have shape ({n},) to match its points, got {w.shape}")
    return w


def _normalized(w: np.ndarray) -> np.ndarray:
    w = w.astype(np.float64 if w.dtype != np.float32 else np.float32)
    return w / w.sum(dtype=np.float64).astype(w.dtype)
