"""Shared fixtures: seeded generators and one tolerance table per dtype."""

from __future__ import annotations

import numpy as np
import pytest

# Relative tolerances against float64 references. float32 inputs are
# accumulated in float64 inside emd, so their error is the inputs' rounding.
RTOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-5}


def rtol(dtype) -> float:
    return RTOL[np.dtype(dtype)]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261121)


def _gpu_available() -> bool:
    try:
        import emd

        return emd.has_cuda()
    except Exception:
        return False


def pytest_collection_modifyitems(config, items):
    if _gpu_available():
        return
    skip = pytest.mark.skip(reason="no CUDA device visible or emd built without CUDA kernels")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
