"""emd's 1-D kernel as a ``torch.library`` custom op: visible to ``torch.compile``.

``emd::wasserstein_1d_gradients`` takes K paired rows and returns W_p of each
pair with its per-sample derivatives, computed by the C++ kernel in the walk
that computes the value (``_core.wasserstein_1d_gradients``). Registered with

- a fake (meta) implementation: output shapes from input shapes, so dynamo and
  AOTAutograd trace through the op instead of breaking the graph;
- its autograd: d/du = grad_output[:, None] * dW/du (and likewise v and the
  weights; a shared weight row (n,) sums over the pairs). A backward that
  builds a graph (``create_graph=True``) differentiates the torch rebuild of
  the value instead, whose second derivatives are exact almost everywhere.

CPU tensors only (the CUDA kernels keep the rebuild in ``torch.py``). The
rebuild (:func:`one_d_rebuild`) and the root with a zero subgradient at 0
(:func:`safe_root`) live here, below ``torch.py``, which imports them.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import torch

from .. import _core

__all__ = ["wasserstein_1d_with_gradients", "paired_wasserstein_1d", "kernel_threads", "one_d_rebuild", "safe_root",
           "numpy_view", "paired_rows"]


def numpy_view(t: Any) -> Any:
    """A custom op's tensor argument as the NumPy array its kernel reads (a view
    where the tensor is contiguous; None stays None)."""
    return None if t is None else t.detach().contiguous().numpy()


def kernel_threads() -> int:
    """The threads the kernel may use: torch's intra-op count (``torch.set_num_threads``),
    so that emd's OpenMP team and torch's add up to what the user allowed instead of
    each taking every core. Read when the op runs (inside the op, not in traced code)."""
    return torch.get_num_threads()


def paired_rows(x: Any, pairs: Optional[np.ndarray], k: int, expand_shared: bool) -> Any:
    """Row ``pairs[i]`` of x (R, n) for each of the k pairs (``pairs`` None: row i
    itself). A row (n,) shared by every pair is expanded to (k, n) when
    ``expand_shared`` (the rebuild pairs rows elementwise), else kept: the kernel
    reads it once and its gradient stays one row. None stays None. The gather is
    differentiable: a row used by several pairs sums their gradients."""
    if x is None:
        return None
    if x.ndim == 1:
        return x.expand(k, x.shape[-1]) if expand_shared else x
    if pairs is None or (x.shape[0] == k and np.array_equal(pairs, np.arange(k))):
        return x
    return x[torch.from_numpy(pairs).to(x.device)]


def safe_root(w: torch.Tensor, p: float) -> torch.Tensor:
    """w ** (1 / p) for w >= 0 with a zero (sub)gradient at w = 0 (W_p of identical
    measures), where the plain power's derivative is infinite and gives NaN."""
    if p == 1.0:
        return w.clamp_min(0.0)
    pos = w > 0
    return torch.where(pos, torch.where(pos, w, 1.0) ** (1.0 / p), 0.0)


def one_d_rebuild(u: torch.Tensor, uw: Any, v: torch.Tensor, vw: Any, p: float) -> torch.Tensor:
    r"""W_p^p of pairs of rows u (K, n), v (K, m) with weights (K, n), (K, m) or None
    (uniform), as torch operations: the quantile formula

    .. math:: W_p^p = \sum_k (q_k - q_{k-1}) \, |u_{(i_k)} - v_{(j_k)}|^p

    over the merged breakpoints q of the two cumulative distributions, the
    indices i_k, j_k found on detached values (piecewise constant), so the
    expression is differentiable in the values and weights almost everywhere,
    to any order, with O(n + m) memory per pair.
    """
    def sorted_cdf(x: torch.Tensor, w: Any) -> tuple[torch.Tensor, torch.Tensor]:
        k, n = x.shape
        perm = torch.argsort(x.detach(), dim=-1)
        xs = x.gather(-1, perm)
        if w is None:
            cdf = (torch.arange(1, n + 1, device=x.device, dtype=x.dtype) / n).expand(k, n)
        else:
            ws = w.gather(-1, perm)
            cdf = ws.cumsum(-1) / ws.sum(-1, keepdim=True)
            # The last breakpoint is 1 exactly: a constant, as the total mass is after normalization.
            cdf = torch.cat([cdf[:, :-1], torch.ones_like(cdf[:, -1:])], dim=-1)
        return xs, cdf

    if uw is None and vw is None and u.shape[-1] == v.shape[-1]:
        # Uniform weights, equal sizes: the quantile functions pair the sorted values
        # one to one (every breakpoint is shared), W_p^p = mean |u_(i) - v_(i)|^p.
        us = u.gather(-1, torch.argsort(u.detach(), dim=-1))
        vs = v.gather(-1, torch.argsort(v.detach(), dim=-1))
        gap = (us - vs).abs()
        return (gap if p == 1.0 else gap**p).mean(-1)
    us, cu = sorted_cdf(u, uw)
    vs, cv = sorted_cdf(v, vw)
    both = torch.cat([cu, cv], dim=-1)
    order = torch.argsort(both.detach(), dim=-1)
    q = both.gather(-1, order)
    dq = torch.diff(q, dim=-1, prepend=torch.zeros_like(q[:, :1]))
    qd = q.detach()
    mid = 0.5 * (qd + torch.cat([torch.zeros_like(qd[:, :1]), qd[:, :-1]], dim=-1))
    i = torch.searchsorted(cu.detach().contiguous(), mid.contiguous()).clamp_max(u.shape[-1] - 1)
    j = torch.searchsorted(cv.detach().contiguous(), mid.contiguous()).clamp_max(v.shape[-1] - 1)
    gap = (us.gather(-1, i) - vs.gather(-1, j)).abs()
    return (dq * (gap if p == 1.0 else gap**p)).sum(-1)


@torch.library.custom_op("emd::wasserstein_1d_gradients", mutates_args=(), device_types="cpu")
def wasserstein_1d_with_gradients(u: torch.Tensor, u_weights: Optional[torch.Tensor], v: torch.Tensor,
                                  v_weights: Optional[torch.Tensor], p: float, u_gradient: bool, v_gradient: bool,
                                  u_weight_gradient: bool, v_weight_gradient: bool
                                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(W_p (K,), dW/du (K, n), dW/dv (K, m), dW/du_weights, dW/dv_weights) of the
    pairs (u[k], v[k]) of rows u (K, n), v (K, m); weights (K, n), (n,) or None.
    A derivative not asked for (the four flags) is an empty tensor."""
    pairs = np.arange(u.shape[0], dtype=np.int64)
    value, du, dv, duw, dvw = _core.wasserstein_1d_gradients(
        numpy_view(u), numpy_view(u_weights), numpy_view(v), numpy_view(v_weights), pairs, pairs, p,
        (u_gradient, v_gradient, u_weight_gradient, v_weight_gradient), kernel_threads())
    def out(d: Any) -> torch.Tensor:  # a fresh empty tensor each: outputs may not alias
        return u.new_empty((0,)) if d is None else torch.from_numpy(d)

    return out(value), out(du), out(dv), out(duw), out(dvw)


@wasserstein_1d_with_gradients.register_fake
def _(u: torch.Tensor, u_weights: Optional[torch.Tensor], v: torch.Tensor, v_weights: Optional[torch.Tensor],
      p: float, u_gradient: bool, v_gradient: bool, u_weight_gradient: bool, v_weight_gradient: bool) -> tuple:
    k, n, m = u.shape[0], u.shape[1], v.shape[1]
    return (u.new_empty((k,)), u.new_empty((k, n) if u_gradient else (0,)), v.new_empty((k, m) if v_gradient else (0,)),
            u.new_empty((k, n) if u_weight_gradient else (0,)), v.new_empty((k, m) if v_weight_gradient else (0,)))


def _setup_context(ctx: Any, inputs: tuple, output: tuple) -> None:
    u, uw, v, vw, p = inputs[:5]
    ctx.save_for_backward(u, uw, v, vw, *output[1:])
    ctx.p = p


def _backward(ctx: Any, grad: torch.Tensor, *unused: Any) -> tuple:
    # The derivative outputs are constants of the graph (their own grads, `unused`,
    # are dropped): only W_p is differentiable.
    u, uw, v, vw, du, dv, duw, dvw = ctx.saved_tensors
    need = ctx.needs_input_grad[:4]
    if torch.is_grad_enabled():  # create_graph=True: the differentiable rebuild
        inputs = (u, uw, v, vw)
        wanted = [t for t, n in zip(inputs, need) if n]

        k = u.shape[0]
        with torch.enable_grad():
            rebuilt = safe_root(one_d_rebuild(u, paired_rows(uw, None, k, True), v, paired_rows(vw, None, k, True),
                                              ctx.p), ctx.p)
            grads = iter(torch.autograd.grad(rebuilt, wanted, grad, create_graph=True, allow_unused=True))
        out = [next(grads) if n else None for n in need]
        out = [torch.zeros_like(t) if n and g is None else g for g, n, t in zip(out, need, inputs)]
        return (*out, None, None, None, None, None)
    g = grad[:, None]
    for name, n, d in zip(("u", "u_weights", "v", "v_weights"), need, (du, duw, dv, dvw)):
        if n and d.numel() == 0 and g.numel() > 0:
            raise RuntimeError(f"emd::wasserstein_1d_gradients was called without the derivative of `{name}`,"
                               " which requires grad: set its flag (paired_wasserstein_1d sets them)")

    def scaled(d: torch.Tensor, shared: bool) -> torch.Tensor:
        return (g * d).sum(0) if shared else g * d

    return (scaled(du, False) if need[0] else None, scaled(duw, uw.ndim == 1) if need[1] else None,
            scaled(dv, False) if need[2] else None, scaled(dvw, vw.ndim == 1) if need[3] else None,
            None, None, None, None, None)


torch.library.register_autograd("emd::wasserstein_1d_gradients", _backward, setup_context=_setup_context)


def paired_wasserstein_1d(u: torch.Tensor, u_weights: Any, v: torch.Tensor, v_weights: Any, p: float) -> torch.Tensor:
    """W_p (K,) of the pairs (u[k], v[k]) through the op, differentiable in every
    input that requires grad (the weights' derivatives computed only then)."""
    flags = [t is not None and t.requires_grad for t in (u, v, u_weights, v_weights)]
    return torch.ops.emd.wasserstein_1d_gradients(u, u_weights, v, v_weights, p, *flags)[0]
