"""Small numeric helpers shared by the algorithms and the backends."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["power_mean"]


def power_mean(w: Any, p: float, axis: int | None = None) -> Any:
    """(mean w^p)^(1/p) along ``axis`` (all of ``w`` by default), in float64.

    Where w^p leaves the normal range (w = 10 at p = 400) the w are divided by
    their largest first (exact either way up to rounding); all-zero w give 0.
    """
    w = np.asarray(w, dtype=np.float64)
    with np.errstate(over="ignore", under="ignore"):
        m = np.mean(w**p, axis=axis)
    in_range = (m >= 1e-280) & (m <= 1e280)
    if np.all(in_range):
        return m ** (1.0 / p)
    s = np.max(w, axis=axis, keepdims=True)
    safe = np.where(s > 0, s, 1.0)
    with np.errstate(over="ignore", under="ignore"):
        rescued = np.squeeze(safe, axis=axis) * np.mean((w / safe) ** p, axis=axis) ** (1.0 / p)
    rescued = np.where(np.squeeze(s, axis=axis) == 0, 0.0, rescued)
    return np.where(in_range, m ** (1.0 / p), rescued)
