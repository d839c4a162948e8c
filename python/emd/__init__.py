"""emd: exact and entropic optimal transport kernels.

The public API::

    emd.wasserstein(x, y)             # exact W_p between two samples
    emd.wasserstein_1d(u, v, ...)     # exact 1-D W_p, batched
    emd.sliced_wasserstein(x, y, ...) # sliced / max-sliced W_p
    emd.tv, emd.kl, emd.js            # divergences between histograms
"""

from __future__ import annotations

from ._dispatch import has_cuda
from ._result import OTResult
from .cost_matrix import cost_matrix
from .critic import MLPCritic, clip_weights, critic_forward, kr_estimate, lipschitz_bound, spectral_norm
from .discrete import emd, solve
from .divergences import js, kl, tv
from .one_d import wasserstein_1d
from .sliced import sliced_wasserstein
from .wasserstein import wasserstein

__version__ = "0.1.0"

__all__ = [
    "MLPCritic",
    "clip_weights",
    "critic_forward",
    "kr_estimate",
    "lipschitz_bound",
    "spectral_norm",
    "OTResult",
    "cost_matrix",
    "emd",
    "has_cuda",
    "js",
    "kl",
    "sliced_wasserstein",
    "solve",
    "tv",
    "wasserstein",
    "wasserstein_1d",
]
