"""The ``emd.nn`` losses as ``torch.compile`` sees them: custom ops and torch operations.

``emd.nn``'s losses call these under ``torch.compiler.is_compiling()`` (CPU
tensors): ``sliced_traceable`` is torch operations around the 1-D custom op
``emd::wasserstein_1d_gradients`` (``_backend/torch_ops.py``); the exact and
Sinkhorn losses' solvers are the custom ops below. Each op

- runs emd's NumPy path on the real tensors (its checks, messages and
  ConvergenceWarning included: they read values, which only the real
  implementation has) and returns outputs whose shapes follow from the
  inputs' alone, so that its fake (meta) implementation can state them and
  dynamo and AOTAutograd trace through it instead of breaking the graph;
- has its autograd registered: the envelope theorem's gradients, built in
  the backward from what the forward returned (the optimal plan's support or
  the converged potentials), as the eager path builds them.

``emd::exact_transport`` returns the plan's support padded to exactly
n + m - 1 entries (the most a basic optimal plan has; unused entries have
value 0 and contribute nothing); ``emd::sinkhorn_divergence`` returns the
potentials of its three solves and the normalized weights; its backward calls
``emd::sinkhorn_samples_gradient``, a custom op over the C++ kernel
``_core.sinkhorn_gradient_samples`` (the losses' costs, ||x - y||^p, are all
metrics it takes).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import torch

from ._backend.torch import _CREATE_GRAPH_REFUSED, _EXACT_WEIGHTS_REFUSED
from ._backend.torch_ops import numpy_view, paired_wasserstein_1d
from ._dispatch import CPU_BACKEND
from ._metrics import METRIC_CODES
from ._problems import SampleSinkhorn
from ._sinkhorn import divergence_solutions
from ._wasserstein import exact_solution

__all__ = ["exact_transport_cost", "sinkhorn_divergence_value", "sliced_traceable"]


def _normalization_gradient(w: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """d/dw of a function of a = w / sum(w) whose gradient in a is ``d``:
    (d - <a, d>) / sum(w), the gradient the eager path's normalization gives."""
    s = w.sum()
    d = d.to(w.dtype)
    return (d - (w / s * d).sum()) / s


# --- sliced ------------------------------------------------------------------------------------


def sliced_traceable(x: torch.Tensor, y: torch.Tensor, xw: Any, yw: Any, theta: torch.Tensor,
                     p: float) -> torch.Tensor:
    """SW_p^p as :func:`emd.sliced_wasserstein` computes it (directions normalized in
    float64, one product per cloud, the exact 1-D kernel on the L projected rows),
    in torch operations and emd's 1-D custom op only, so that torch.compile traces
    it without a graph break. Shapes are checked; values are not (a NaN is not
    reported as the eager path reports it: checking would read the data)."""
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or theta.ndim != 2 or theta.shape[0] != x.shape[1]:
        raise ValueError(f"`fake` {tuple(x.shape)}, `real` {tuple(y.shape)} and `projections` {tuple(theta.shape)}"
                         " must be (n, d), (m, d) and (d, L)")
    dtype = _float_dtype(x, y)
    th = theta.to(torch.float64)
    th = th / th.abs().amax(0)
    th = (th / torch.linalg.vector_norm(th, dim=0)).to(dtype)
    px = (th.T @ x.to(dtype).T).contiguous()
    py = (th.T @ y.to(dtype).T).contiguous()
    xw = None if xw is None else xw.to(dtype)
    yw = None if yw is None else yw.to(dtype)
    w = paired_wasserstein_1d(px, xw, py, yw, p)
    return (w.to(torch.float64) ** p).mean().to(dtype)


# --- exact ------------------------------------------------------------------------------------


@torch.library.custom_op("emd::exact_transport", mutates_args=(), device_types="cpu")
def exact_transport(x: torch.Tensor, y: torch.Tensor, x_weights: Optional[torch.Tensor],
                    y_weights: Optional[torch.Tensor], p: float
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(W_p^p (), f (n,), g (m,), rows, cols, values (n + m - 1,)) of the clouds
    x (n, d), y (m, d) with weights (normalized inside; None: uniform) for the
    cost ||x_i - y_j||^p: the optimal cost, the potentials and the plan's support,
    padded with zero flows to n + m - 1 entries. Solved by :func:`emd._wasserstein.exact_solution`
    (the checks and the cost matrix of :func:`emd.wasserstein`)."""
    # p = 2 as WassersteinLoss has always computed it: squared distances, no root and square.
    metric, power = ("sqeuclidean", 1.0) if p == 2.0 else ("euclidean", p)
    res = exact_solution(numpy_view(x), numpy_view(y), x_weights=numpy_view(x_weights), y_weights=numpy_view(y_weights),
                         p=power, metric=metric)
    n, m = x.shape[0], y.shape[0]
    rows, cols, vals = res.plan_coo
    k = len(rows)
    support = [np.zeros(n + m - 1, dtype=np.int64), np.zeros(n + m - 1, dtype=np.int64),
               np.zeros(n + m - 1, dtype=vals.dtype)]
    for out, v in zip(support, (rows, cols, vals)):
        out[:k] = v
    dt = x.dtype
    return (torch.tensor(float(res.cost), dtype=dt), torch.from_numpy(np.asarray(res.potential_a)).to(dt),
            torch.from_numpy(np.asarray(res.potential_b)).to(dt), torch.from_numpy(support[0]),
            torch.from_numpy(support[1]), torch.from_numpy(support[2]).to(dt))


@exact_transport.register_fake
def _(x: torch.Tensor, y: torch.Tensor, x_weights: Optional[torch.Tensor], y_weights: Optional[torch.Tensor],
      p: float) -> tuple:
    n, m = x.shape[0], y.shape[0]
    k = n + m - 1
    return (x.new_empty(()), x.new_empty((n,)), x.new_empty((m,)), x.new_empty((k,), dtype=torch.int64),
            x.new_empty((k,), dtype=torch.int64), x.new_empty((k,)))


def _cost_gradient(diff: torch.Tensor, p: float) -> torch.Tensor:
    """grad_x ||x - y||^p at diff = x - y (k, d): p ||diff||^(p - 2) diff, 0 at diff = 0
    (coincident points: the zero subgradient the eager path's safe norm gives)."""
    if p == 2.0:
        return 2.0 * diff
    s = (diff * diff).sum(-1, keepdim=True)
    pos = s > 0
    coef = p * torch.where(pos, s, 1.0) ** (0.5 * p - 1.0)
    return torch.where(pos, coef, 0.0) * diff


def _exact_setup_context(ctx: Any, inputs: tuple, output: tuple) -> None:
    x, y, xw, yw, p = inputs
    ctx.save_for_backward(x, y, xw, yw, *output[1:])
    ctx.p = p


def _exact_backward(ctx: Any, grad: torch.Tensor, *unused: Any) -> tuple:
    # The envelope theorem with the optimal basis held fixed: d/dx_i = sum_j P_ij grad_1 c(x_i, y_j)
    # over the support (zero flows add nothing), d/da = f, d/db = g. Written in torch
    # operations of x and y, so a backward that builds a graph differentiates it again
    # (second derivatives in the points, the plan fixed, as in eager mode).
    x, y, xw, yw, f, g, rows, cols, vals = ctx.saved_tensors
    need = ctx.needs_input_grad
    dx = dy = dxw = dyw = None
    if need[0] or need[1]:
        w = (grad * vals)[:, None] * _cost_gradient(x.index_select(0, rows) - y.index_select(0, cols), ctx.p)
        dx = torch.zeros_like(x).index_add(0, rows, w) if need[0] else None
        dy = torch.zeros_like(y).index_add(0, cols, -w) if need[1] else None
    if need[2] or need[3]:
        if torch.is_grad_enabled():
            raise RuntimeError(_EXACT_WEIGHTS_REFUSED)
        dxw = _normalization_gradient(xw, grad * f) if need[2] else None
        dyw = _normalization_gradient(yw, grad * g) if need[3] else None
    return dx, dy, dxw, dyw, None


torch.library.register_autograd("emd::exact_transport", _exact_backward, setup_context=_exact_setup_context)


def exact_transport_cost(x: torch.Tensor, y: torch.Tensor, x_weights: Any, y_weights: Any, p: float) -> torch.Tensor:
    """W_p^p between the clouds x (n, d), y (m, d) through ``emd::exact_transport``,
    differentiable in each input that requires grad. Shapes are checked here
    (at trace time); values in the op (on the real tensors)."""
    _check_clouds(x, y, x_weights, y_weights)
    dtype = _float_dtype(x, y)
    return torch.ops.emd.exact_transport(x.to(dtype), y.to(dtype), x_weights, y_weights, p)[0]


# --- Sinkhorn divergence ----------------------------------------------------------------------


@torch.library.custom_op("emd::sinkhorn_divergence", mutates_args=(), device_types="cpu")
def sinkhorn_divergence_op(x: torch.Tensor, y: torch.Tensor, x_weights: Optional[torch.Tensor],
                           y_weights: Optional[torch.Tensor], reg: float, p: float, max_iter: int,
                           tol: Optional[float]
                           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor,
         torch.Tensor, torch.Tensor]:
    """(S_eps (), slope (), a (n,), b (m,), f_xy (n,), g_xy (m,), f_xx (n,), g_xx (n,),
    f_yy (m,), g_yy (m,)) of :func:`emd.sinkhorn_divergence` for the cost ||x - y||^p:
    the divergence clamped at 0 and its derivative in the unclamped difference
    (1 or 0), the normalized weights, and the potentials of OT(x, y), OT(x, x),
    OT(y, y). Inputs of one float dtype (the caller casts); a solve that stops
    early warns (emd.ConvergenceWarning) here, as in eager mode."""
    value, s, terms = divergence_solutions(numpy_view(x), numpy_view(y), reg, x_weights=numpy_view(x_weights),
                                           y_weights=numpy_view(y_weights), p=p, metric="euclidean",
                                           max_iter=max_iter, tol=tol)
    dt = x.dtype
    out = [torch.tensor(float(value), dtype=dt), torch.tensor(1.0 if s >= 0 else 0.0, dtype=dt),
           torch.from_numpy(terms[0][0].a.copy()), torch.from_numpy(terms[0][0].b.copy())]
    for _, sol in terms:
        out += [torch.from_numpy(np.array(sol.f[0])), torch.from_numpy(np.array(sol.g[0]))]
    return tuple(t.to(dt) for t in out)


@sinkhorn_divergence_op.register_fake
def _(x: torch.Tensor, y: torch.Tensor, x_weights: Optional[torch.Tensor], y_weights: Optional[torch.Tensor],
      reg: float, p: float, max_iter: int, tol: Optional[float]) -> tuple:
    n, m = x.shape[0], y.shape[0]
    return (x.new_empty(()), x.new_empty(()), *(x.new_empty((k,)) for k in (n, m, n, m, n, n, m, m)))


@torch.library.custom_op("emd::sinkhorn_samples_gradient", mutates_args=(), device_types="cpu")
def sinkhorn_samples_gradient(x: torch.Tensor, y: torch.Tensor, a: torch.Tensor, b: torch.Tensor, f: torch.Tensor,
                              g: torch.Tensor, reg: float, p: float) -> torch.Tensor:
    """sum_j P_ij grad_x c(x_i, y_j) (n, d) for P_ij = a_i b_j exp((f_i + g_j - c(x_i, y_j)) / reg)
    and c = ||x - y||^p, matrix-free: the CPU backend's kernel (``_core.sinkhorn_gradient_samples``,
    which takes both metrics c can be)."""
    metric, power = ("sqeuclidean", 1.0) if p == 2.0 else ("euclidean", p)
    xn, yn, an, bn, fn, gn = (numpy_view(t) for t in (x, y, a, b, f, g))
    problem = SampleSinkhorn(xn, yn, an, bn, METRIC_CODES[metric], power, reg, tol=0.0, max_iter=1, eps_scaling=0.0)
    return torch.from_numpy(CPU_BACKEND.sinkhorn_gradient_samples(problem, fn, gn))


@sinkhorn_samples_gradient.register_fake
def _(x: torch.Tensor, y: torch.Tensor, a: torch.Tensor, b: torch.Tensor, f: torch.Tensor, g: torch.Tensor,
      reg: float, p: float) -> torch.Tensor:
    return torch.empty_like(x)


def _sinkhorn_setup_context(ctx: Any, inputs: tuple, output: tuple) -> None:
    x, y, xw, yw, reg, p = inputs[:6]
    ctx.save_for_backward(x, y, xw, yw, *output[1:])
    ctx.reg, ctx.p = reg, p


def _sinkhorn_backward(ctx: Any, grad: torch.Tensor, *unused: Any) -> tuple:
    # S = OT(x, y) - OT(x, x) / 2 - OT(y, y) / 2, each term's envelope gradient at its
    # converged potentials (d/dx of OT(x, x) counts x in both of its places, hence the
    # two kernel calls with the potentials swapped; likewise d/da = f + g there).
    if torch.is_grad_enabled():
        raise RuntimeError(_CREATE_GRAPH_REFUSED)
    x, y, xw, yw, slope, a, b, fxy, gxy, fxx, gxx, fyy, gyy = ctx.saved_tensors
    # The kernel's inputs as constants: the gradient op has no derivative of its own
    # (second derivatives are refused above).
    x, y, a, b, fxy, gxy, fxx, gxx, fyy, gyy = (t.detach() for t in (x, y, a, b, fxy, gxy, fxx, gxx, fyy, gyy))
    need = ctx.needs_input_grad
    scale = grad * slope  # the other outputs are constants of the graph
    kernel = torch.ops.emd.sinkhorn_samples_gradient
    reg, p = ctx.reg, ctx.p
    dx = dy = dxw = dyw = None
    if need[0]:
        dx = scale * (kernel(x, y, a, b, fxy, gxy, reg, p)
                      - 0.5 * (kernel(x, x, a, a, fxx, gxx, reg, p) + kernel(x, x, a, a, gxx, fxx, reg, p)))
    if need[1]:
        dy = scale * (kernel(y, x, b, a, gxy, fxy, reg, p)
                      - 0.5 * (kernel(y, y, b, b, fyy, gyy, reg, p) + kernel(y, y, b, b, gyy, fyy, reg, p)))
    if need[2]:
        dxw = _normalization_gradient(xw, scale * (fxy - 0.5 * (fxx + gxx)))
    if need[3]:
        dyw = _normalization_gradient(yw, scale * (gxy - 0.5 * (fyy + gyy)))
    return dx, dy, dxw, dyw, None, None, None, None


torch.library.register_autograd("emd::sinkhorn_divergence", _sinkhorn_backward, setup_context=_sinkhorn_setup_context)


def sinkhorn_divergence_value(x: torch.Tensor, y: torch.Tensor, x_weights: Any, y_weights: Any, reg: float,
                              p: float, max_iter: int, tol: float | None) -> torch.Tensor:
    """S_eps between the clouds x (n, d), y (m, d) through ``emd::sinkhorn_divergence``,
    differentiable in each input that requires grad; all cast to the dtype the eager
    path computes in (float64 if any input is, else float32)."""
    _check_clouds(x, y, x_weights, y_weights)
    dtype = _float_dtype(x, y, x_weights, y_weights)
    xw, yw = (None if w is None else w.to(dtype) for w in (x_weights, y_weights))
    return torch.ops.emd.sinkhorn_divergence(x.to(dtype), y.to(dtype), xw, yw, reg, p, max_iter, tol)[0]


# --- shared -----------------------------------------------------------------------------------


def _check_clouds(x: torch.Tensor, y: torch.Tensor, xw: Any, yw: Any) -> None:
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"`fake` {tuple(x.shape)} and `real` {tuple(y.shape)} must be (n, d) and (m, d)")
    for w, name, n in ((xw, "fake_weights", x.shape[0]), (yw, "real_weights", y.shape[0])):
        if w is not None and (not isinstance(w, torch.Tensor) or tuple(w.shape) != (n,)):
            shape = tuple(w.shape) if isinstance(w, torch.Tensor) else type(w).__name__
            raise ValueError(f"`{name}` must be a tensor of shape ({n},), got {shape}")


def _float_dtype(*tensors: Any) -> torch.dtype:
    """float64 if any input is, else float32 (float16 and bfloat16 computed in float32)."""
    return torch.float64 if any(t is not None and t.dtype == torch.float64 for t in tensors) else torch.float32
