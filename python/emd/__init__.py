"""emd: exact and entropic optimal transport kernels.

The public API::

    emd.wasserstein(x, y)             # exact W_p between two samples
    emd.wasserstein_1d(u, v, ...)     # exact 1-D W_p, batched
    emd.sliced_wasserstein(x, y, ...) # sliced / max-sliced W_p
    emd.tv, emd.kl, emd.js            # divergences between histograms
    emd.sinkhorn(a, b, M, reg)        # entropic OT (log-domain Sinkhorn), batched
    emd.sinkhorn_samples(x, y, reg)   # the same, matrix-free between point clouds
    emd.sinkhorn_divergence(x, y, reg)
"""

from __future__ import annotations

from ._dispatch import has_cuda
from ._result import OTResult
from .divergences import js, kl, tv
from .one_d import wasserstein_1d
from .sinkhorn import sinkhorn, sinkhorn_divergence, sinkhorn_samples, sinkhorn_wasserstein
from .sliced import sliced_wasserstein
from .wasserstein import wasserstein

__version__ = "0.1.0"

__all__ = [
    "OTResult",
    "has_cuda",
    "js",
    "kl",
    "sinkhorn",
    "sinkhorn_divergence",
    "sinkhorn_samples",
    "sinkhorn_wasserstein",
    "sliced_wasserstein",
    "tv",
    "wasserstein",
    "wasserstein_1d",
]
