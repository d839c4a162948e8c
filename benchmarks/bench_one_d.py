"""pytest-benchmark suite for the 1-D kernels (not collected by the default test run).

    python -m pytest benchmarks/bench_one_d.py --benchmark-only
"""

from __future__ import annotations

import numpy as np
import pytest

import emd


def problem(n: int, m: int, batch: tuple[int, ...] = (), weighted: bool = True, dtype=np.float64, seed: int = 0):
    rng = np.random.default_rng(seed)
    u = rng.normal(0.0, 1.0, (*batch, n)).astype(dtype)
    v = rng.normal(1.0, 2.0, (*batch, m)).astype(dtype)
    uw = (rng.random((*batch, n)) + 1e-3).astype(dtype) if weighted else None
    vw = (rng.random((*batch, m)) + 1e-3).astype(dtype) if weighted else None
    return u, v, uw, vw


@pytest.mark.parametrize("n", [2, 64, 1_000, 100_000, 1_000_000])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_w1_single_pair(benchmark, n, weighted, dtype):
    u, v, uw, vw = problem(n, n, weighted=weighted, dtype=dtype)
    benchmark(emd.wasserstein_1d, u, v, uw, vw)


@pytest.mark.parametrize("weighted", [False, True])
def test_w1_unequal_sizes(benchmark, weighted):
    # n != m: the uniform rows take the integer quantile walk, not the equal-size sum.
    u, v, uw, vw = problem(1_000_000, 999_999, weighted=weighted)
    benchmark(emd.wasserstein_1d, u, v, uw, vw)


@pytest.mark.parametrize("p", [1.0, 2.0, 1.5])
def test_wp_batched(benchmark, p):
    u, v, uw, vw = problem(1000, 1000, batch=(1000,))
    benchmark(emd.wasserstein_1d, u, v, uw, vw, p=p)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sliced(benchmark, dtype):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(100_000, 64)).astype(dtype), rng.normal(size=(100_000, 64)).astype(dtype)
    benchmark(emd.sliced_wasserstein, x, y, n_projections=128, seed=0)
