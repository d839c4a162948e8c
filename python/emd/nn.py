"""Optimal-transport losses as ``torch.nn.Module``\\ s: emd's distances with autograd.

This module imports torch; ``import emd`` never imports it (``import emd.nn``
does). Each loss takes a batch of generated samples ``fake`` and of data
``real`` and returns a differentiable tensor on their device::

    loss_fn = emd.nn.SlicedWassersteinLoss(n_projections=128)
    loss = loss_fn(generator(z), x_real)
    loss.backward()

Shapes: ``fake`` (n, d) and ``real`` (m, d) give one loss (a 0-d tensor);
(B, n, d) and (B, m, d) give B losses, reduced by ``reduction`` ("mean", "sum"
or "none"). Optional weights (n,) / (m,) (or (B, n) / (B, m)) are normalized
inside; gradients reach them too.

What is returned, and why: every loss is in units of the cost ``|x - y|^p``,
i.e. :math:`W_p^p` (or its sliced / entropic counterparts), not :math:`W_p`.
:math:`W_p^p` is smooth where its root is not: the root's derivative
:math:`\\tfrac1p W^{1/p - 1}` grows without bound as the generator approaches
the data, so late-training gradients of :math:`W_p` blow up (and are 0/0 at a
perfect fit), while those of :math:`W_2^2` shrink in proportion to the
displacement, the gradient of a mean squared error. For p = 1 both coincide.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from . import sinkhorn_divergence, sliced_wasserstein, wasserstein
from ._compile_ops import (
    exact_transport_cost,
    sinkhorn_divergence_value,
    sliced_traceable,
)
from ._validation import check_choice, check_p, check_positive_int, check_positive_real

__all__ = ["WassersteinLoss", "SlicedWassersteinLoss", "SinkhornLoss"]


@torch.compiler.disable
def _eager(fn: Any, *args: Any, **kwargs: Any) -> torch.Tensor:
    """Call an emd function outside torch.compile's tracing: emd validates tensors
    through NumPy views and runs opaque C++ kernels, which dynamo cannot trace
    (docs/torch.md). On the CPU the losses trace through emd's custom ops instead;
    CUDA tensors under compile graph-break here and run the loss eagerly, with
    the same values and gradients."""
    return fn(*args, **kwargs)


class _TransportLoss(nn.Module):
    """Shape handling and reduction shared by the losses; subclasses define ``_one``."""

    def __init__(self, p: float = 2.0, reduction: str = "mean") -> None:
        super().__init__()
        self.p = check_p(p)
        self.reduction = check_choice(reduction, "reduction", ("mean", "sum", "none"))

    def _one(self, fake: torch.Tensor, real: torch.Tensor, fw: Any, rw: Any) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, fake: torch.Tensor, real: torch.Tensor, fake_weights: Any = None,
                real_weights: Any = None) -> torch.Tensor:
        """The loss between ``fake`` (n, d) or (B, n, d) and ``real`` (m, d) or (B, m, d)."""
        for name, t in (("fake", fake), ("real", real)):
            if not isinstance(t, torch.Tensor):
                raise TypeError(f"`{name}` must be a torch tensor, got {type(t).__name__}")
            if t.ndim not in (2, 3):
                raise ValueError(f"`{name}` must have shape (n, d) or (B, n, d), got {tuple(t.shape)}")
        if fake.ndim != real.ndim:
            raise ValueError(f"`fake` {tuple(fake.shape)} and `real` {tuple(real.shape)} must both be batched or neither")
        if fake.ndim == 2:
            return self._one(fake, real, fake_weights, real_weights)
        if fake.shape[0] != real.shape[0]:
            raise ValueError(f"batch sizes differ: `fake` has {fake.shape[0]}, `real` {real.shape[0]}")
        losses = torch.stack([
            self._one(fake[k], real[k], None if fake_weights is None else fake_weights[k],
                      None if real_weights is None else real_weights[k])
            for k in range(fake.shape[0])
        ])
        if self.reduction == "mean":
            return losses.mean()
        if self.reduction == "sum":
            return losses.sum()
        return losses


class WassersteinLoss(_TransportLoss):
    r"""Exact :math:`W_p^p(\mu_{fake}, \nu_{real})` for the cost :math:`\|x - y\|_2^p`.

    Solved exactly (network simplex); the gradient is the envelope theorem's:
    :math:`\partial / \partial x_i = \sum_j P_{ij} \nabla_x c(x_i, y_j)` over the
    optimal plan's at most n + m - 1 entries. Second derivatives in the points
    work (the plan is locally constant); in the weights they are refused.

    Under ``torch.compile`` (CPU tensors) the loss traces without a graph break:
    the custom op ``emd::exact_transport`` solves on the real tensors (the eager
    path's checks and errors included) and returns the cost, the potentials and
    the plan's support padded to n + m - 1 entries; see docs/torch.md.

    Parameters
    ----------
    p : float, default 2.0
        The order; the loss is :math:`W_p^p` (see the module docstring for why not :math:`W_p`).
    reduction : {"mean", "sum", "none"}
        Over the batch axis of batched inputs.
    """

    def _one(self, fake: torch.Tensor, real: torch.Tensor, fw: Any, rw: Any) -> torch.Tensor:
        if torch.compiler.is_compiling() and fake.device.type == "cpu":
            return exact_transport_cost(fake, real, fw, rw, self.p)
        if self.p == 2.0:  # W_2^2 straight from the squared distances (no root, no square)
            return _eager(wasserstein, fake, real, x_weights=fw, y_weights=rw, metric="sqeuclidean")
        return _eager(wasserstein, fake, real, x_weights=fw, y_weights=rw, p=self.p) ** self.p


class SlicedWassersteinLoss(_TransportLoss):
    r"""Sliced :math:`SW_p^p = \frac1L \sum_l W_p^p(\theta_l^\top \# \mu, \theta_l^\top \# \nu)`.

    Fresh directions each call, drawn with ``torch.randn`` on the inputs'
    device (so ``torch.manual_seed`` makes runs reproducible), or fixed ones
    passed as ``projections`` (d, L), which may themselves require grad
    (learned or max-sliced directions). O((n + m) L) work after one product;
    the backward multiplies the 1-D kernel's per-sample derivatives (computed
    with the value) by grad_output and backpropagates through the product.

    Under ``torch.compile`` (CPU tensors) the loss traces without a graph break:
    torch operations and emd's 1-D custom op, with shape checks only (values
    are not checked for NaN there); see docs/torch.md.

    Parameters
    ----------
    n_projections : int, default 128
    p : float, default 2.0
        The loss is :math:`SW_p^p`.
    projections : tensor (d, L), optional
    reduction : {"mean", "sum", "none"}
    """

    def __init__(self, n_projections: int = 128, p: float = 2.0, projections: Any = None,
                 reduction: str = "mean") -> None:
        super().__init__(p, reduction)
        self.n_projections = check_positive_int(n_projections, "n_projections")
        self.projections = projections

    def _one(self, fake: torch.Tensor, real: torch.Tensor, fw: Any, rw: Any) -> torch.Tensor:
        theta = self.projections
        if theta is None:
            dtype = fake.dtype if fake.dtype in (torch.float32, torch.float64) else torch.float32
            theta = torch.randn(fake.shape[1], self.n_projections, device=fake.device, dtype=dtype)
        if torch.compiler.is_compiling() and fake.device.type == "cpu":
            return sliced_traceable(fake, real, fw, rw, theta, self.p)
        sw = _eager(sliced_wasserstein, fake, real, x_weights=fw, y_weights=rw, p=self.p, projections=theta)
        return sw**self.p


class SinkhornLoss(_TransportLoss):
    r"""The debiased Sinkhorn divergence
    :math:`S_\varepsilon = \mathrm{OT}_\varepsilon(\mu, \nu) - \tfrac12 \mathrm{OT}_\varepsilon(\mu, \mu)
    - \tfrac12 \mathrm{OT}_\varepsilon(\nu, \nu)` for the cost :math:`\|x - y\|_2^p`.

    In the units of :math:`W_p^p` (it tends to it as reg -> 0), nonnegative
    and 0 only for equal inputs. Matrix-free: O(n + m) memory in the solve,
    blocks of rows in the backward. Gradients are the envelope gradients at
    the converged potentials; second derivatives are refused.

    Under ``torch.compile`` (CPU tensors) the loss traces without a graph break:
    the custom op ``emd::sinkhorn_divergence`` runs the three solves on the real
    tensors (checks and ConvergenceWarning as in eager mode) and returns the
    potentials, from which its backward computes the envelope gradients with
    the C++ kernel; see docs/torch.md.

    GeomLoss' ``SamplesLoss("sinkhorn", p=2, blur=b)`` uses the cost
    :math:`\|x - y\|^2 / 2` and :math:`\varepsilon = b^2`: it equals
    ``0.5 * SinkhornLoss(reg=2 * b**2, p=2)``.

    Parameters
    ----------
    reg : float
        The entropic regularization :math:`\varepsilon`, in units of the cost.
    p : float, default 2.0
    reduction : {"mean", "sum", "none"}
    max_iter, tol : as in :func:`emd.sinkhorn_samples` (tol None: per dtype).
    """

    def __init__(self, reg: float, p: float = 2.0, reduction: str = "mean", max_iter: int = 10_000,
                 tol: float | None = None) -> None:
        super().__init__(p, reduction)
        self.reg = check_positive_real(reg, "reg")
        self.max_iter = max_iter
        self.tol = tol

    def _one(self, fake: torch.Tensor, real: torch.Tensor, fw: Any, rw: Any) -> torch.Tensor:
        if torch.compiler.is_compiling() and fake.device.type == "cpu":
            return sinkhorn_divergence_value(fake, real, fw, rw, self.reg, self.p, self.max_iter, self.tol)
        return _eager(sinkhorn_divergence, fake, real, self.reg, x_weights=fw, y_weights=rw, p=self.p,
                      metric="euclidean", max_iter=self.max_iter, tol=self.tol)
