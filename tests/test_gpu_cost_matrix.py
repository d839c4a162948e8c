"""GPU cost matrices against scipy's cdist (and emd's CPU cost_matrix where present)."""

from __future__ import annotations

import numpy as np
import pytest

import emd

pytestmark = pytest.mark.gpu

cp = pytest.importorskip("cupy") if emd.has_cuda() else None
cdist = pytest.importorskip("scipy.spatial.distance").cdist

METRICS = [("sqeuclidean", {}), ("euclidean", {}), ("cityblock", {}), ("chebyshev", {}), ("minkowski", {"p": 3.0})]


def _gpu_cost_matrix(x, y, metric, **kw):
    return emd.cost_matrix(x, y, metric, **kw)


@pytest.mark.parametrize("metric, kw", METRICS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n, m, d", [(1, 1, 1), (2, 3, 2), (65, 63, 17), (130, 257, 33)])
def test_matches_cdist(rng, metric, kw, dtype, n, m, d):
    x = rng.standard_normal((n, d)).astype(dtype)
    y = rng.standard_normal((m, d)).astype(dtype)
    dev = _gpu_cost_matrix(cp.asarray(x), cp.asarray(y), metric, **kw)
    assert isinstance(dev, cp.ndarray) and dev.dtype == dtype and dev.shape == (n, m)
    # The kernel accumulates in double: against scipy in float64, the error is
    # the final rounding to the output dtype (float32) or a few ulps (float64).
    ref = cdist(x.astype(np.float64), y.astype(np.float64), metric, **kw)
    tol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(cp.asnumpy(dev), ref, rtol=tol, atol=tol)
    if hasattr(emd, "cost_matrix"):
        # emd's CPU kernel: the same double accumulation (bitwise equal when the
        # CPU uses emd::metric_distance without FMA contraction; not asserted,
        # since a BLAS-based CPU path for sqeuclidean is just as valid).
        cpu = emd.cost_matrix(x, y, metric, **kw)
        np.testing.assert_allclose(cp.asnumpy(dev), cpu, rtol=tol, atol=tol)


def test_non_contiguous_and_integer_inputs(rng):
    x = rng.integers(-5, 5, (40, 6))
    y = rng.standard_normal((12, 30))[:, ::5]
    dev = _gpu_cost_matrix(cp.asarray(x), cp.asarray(y), "euclidean")
    assert dev.dtype == np.float64
    np.testing.assert_allclose(cp.asnumpy(dev), cdist(x.astype(float), y, "euclidean"), rtol=1e-13)


@pytest.mark.parametrize(
    "x, y, metric",
    [
        (np.zeros((3, 2)), np.zeros((3, 3)), "sqeuclidean"),
        (np.zeros((3, 2)), np.zeros((3, 2)), "cosine"),
        (np.full((3, 2), np.inf), np.zeros((3, 2)), "euclidean"),
        (np.zeros(3), np.zeros((3, 1)), "euclidean"),
    ],
)
def test_bad_inputs(x, y, metric):
    with pytest.raises((TypeError, ValueError)):
        _gpu_cost_matrix(cp.asarray(x), cp.asarray(y), metric)


def test_callable_metric_is_refused_on_the_gpu():
    with pytest.raises(TypeError, match="callable `metric` runs on the CPU only"):
        _gpu_cost_matrix(cp.zeros((2, 2)), cp.zeros((2, 2)), lambda a, b: 0.0)


def test_cupy_arrays_reach_the_kernel():
    out = emd.cost_matrix(cp.ones((2, 3)), cp.zeros((4, 3)))
    assert isinstance(out, cp.ndarray) and float(out[0, 0]) == 3.0


@pytest.mark.parametrize("metric", ["sqeuclidean", "euclidean", "cityblock", "chebyshev", "minkowski"])
@pytest.mark.parametrize("scale", [1e200, 1e-200, 1e300, 5e-324])
def test_coordinates_far_from_one_neither_overflow_nor_underflow(metric, scale):
    # The CPU's closed forms (tests/test_cost_matrix.py): sums of squares of
    # 1e200 overflowed to inf, of 1e-200 underflowed to 0.
    x = np.array([[3.0, 0.0]]) * scale
    y = np.array([[0.0, 4.0]]) * scale
    unit = {"sqeuclidean": 25.0, "euclidean": 5.0, "cityblock": 7.0, "chebyshev": 4.0, "minkowski": 5.0}[metric]
    expected = unit * scale * (scale if metric == "sqeuclidean" else 1.0)  # Python floats: inf or 0 beyond the range
    if expected == np.inf:  # sqeuclidean at 1e200 and 1e300: the costs themselves overflow
        with pytest.raises(ValueError, match=r"costs sqeuclidean\(x_i, y_j\) overflow float64"):
            _gpu_cost_matrix(cp.asarray(x), cp.asarray(y), metric)
        return
    got = cp.asnumpy(_gpu_cost_matrix(cp.asarray(x), cp.asarray(y), metric))
    if scale == 5e-324 or expected == 0.0:  # ulps of the smallest subnormal, or below it: exact
        assert got[0, 0] == expected
    else:
        np.testing.assert_allclose(got, [[expected]], rtol=1e-15)


def test_costs_beyond_the_dtype_are_an_error():
    with pytest.raises(ValueError, match=r"overflow float32: rescale the points or pass float64 points"):
        _gpu_cost_matrix(cp.asarray([[1e20, 0.0]], cp.float32), cp.asarray([[0.0, 0.0]], cp.float32), "sqeuclidean")
    got = _gpu_cost_matrix(cp.asarray([[1e200, 0.0]]), cp.asarray([[0.0, 0.0]]), "euclidean")
    np.testing.assert_allclose(cp.asnumpy(got), [[1e200]], rtol=1e-15)
