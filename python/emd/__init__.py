"""emd: exact and entropic optimal transport kernels.

The public API::

    emd.wasserstein(x, y)                # exact W_p between two samples (1-D or point clouds)
    emd.wasserstein_1d(u, v, ...)        # exact 1-D W_p, batched
    emd.sliced_wasserstein(x, y, ...)    # sliced / max-sliced W_p
    emd.tv, emd.kl, emd.js               # divergences between histograms
    emd.solve(a, b, M) -> emd.OTResult   # exact discrete OT (network simplex), batched; the result type
    emd.emd(a, b, M)                     # its optimal cost
    emd.cost_matrix(x, y, metric)        # ground costs
    emd.sinkhorn(a, b, M, reg)           # entropic OT (log-domain Sinkhorn), batched
    emd.sinkhorn_samples(x, y, reg)      # the same, matrix-free between point clouds
    emd.sinkhorn_divergence(x, y, reg)   # debiased Sinkhorn divergence
    emd.sinkhorn_wasserstein(x, y, reg)  # the entropic estimate of W_p (wasserstein(method="sinkhorn"))
    emd.MLPCritic, emd.critic_forward, emd.kr_estimate, emd.clip_weights,
    emd.spectral_norm, emd.lipschitz_bound   # WGAN critics (trainer: python -m emd.wgan)
    emd.has_cuda()                       # CuPy arrays run on emd's CUDA kernels when True
    emd.ConvergenceWarning               # what a solver that stops early warns with

Every function takes NumPy arrays, CuPy arrays or torch tensors and returns
its results in the same library; the backend is chosen in ``_dispatch.py``.
"""

from __future__ import annotations

from ._dispatch import has_cuda
from ._result import OTResult
from ._cost_matrix import cost_matrix
from ._critic import MLPCritic, clip_weights, critic_forward, kr_estimate, lipschitz_bound, spectral_norm
from ._network_simplex import emd, solve
from ._divergences import js, kl, tv
from ._one_d import wasserstein_1d
from ._pairwise import pairwise
from ._sinkhorn import sinkhorn, sinkhorn_divergence, sinkhorn_samples, sinkhorn_wasserstein
from ._sliced import sliced_wasserstein
from ._warnings import ConvergenceWarning
from ._wasserstein import wasserstein

__version__ = "0.1.0"

__all__ = [
    "MLPCritic",
    "clip_weights",
    "critic_forward",
    "kr_estimate",
    "lipschitz_bound",
    "spectral_norm",
    "OTResult",
    "ConvergenceWarning",
    "cost_matrix",
    "emd",
    "has_cuda",
    "js",
    "kl",
    "pairwise",
    "sinkhorn",
    "sinkhorn_divergence",
    "sinkhorn_samples",
    "sinkhorn_wasserstein",
    "sliced_wasserstein",
    "solve",
    "tv",
    "wasserstein",
    "wasserstein_1d",
]
