"""Which array library an input belongs to, and whether GPU kernels exist."""

from __future__ import annotations

from functools import lru_cache

__all__ = ["has_cuda"]


@lru_cache(maxsize=1)
def has_cuda() -> bool:
    """True when emd's CUDA kernels were built and a CUDA device is usable."""
    try:
        from . import _cuda  # type: ignore[attr-defined]
    except ImportError:
        return False
    try:
        return bool(_cuda.device_count() > 0)
    except Exception:
        return False
