"""emd.cost_matrix against scipy.spatial.distance.cdist, and the numba callable path."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.spatial.distance

import emd
from conftest import rtol

METRICS = ["sqeuclidean", "euclidean", "cityblock", "chebyshev", "minkowski"]


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n,m,d", [(1, 1, 1), (7, 5, 3), (300, 200, 17)])
def test_against_cdist(metric, dtype, n, m, d, rng):
    x = rng.normal(size=(n, d)).astype(dtype)
    y = rng.normal(size=(m, d)).astype(dtype)
    got = emd.cost_matrix(x, y, metric)
    assert got.dtype == dtype and got.shape == (n, m)
    ref = scipy.spatial.distance.cdist(x.astype(np.float64), y.astype(np.float64), metric)
    # float64 accumulation, one rounding to the output dtype (measured 6e-8 in float32)
    np.testing.assert_allclose(got, ref, rtol=rtol(dtype) if dtype == np.float64 else 2e-7)


@pytest.mark.parametrize("p", [1.0, 1.5, 3.0])
def test_minkowski_order(p, rng):
    x = rng.normal(size=(20, 4))
    y = rng.normal(size=(30, 4))
    ref = scipy.spatial.distance.cdist(x, y, "minkowski", p=p)
    np.testing.assert_allclose(emd.cost_matrix(x, y, "minkowski", p=p), ref, rtol=1e-12)


def test_one_dimensional_points_and_views(rng):
    x = rng.normal(size=10)
    y = rng.normal(size=(12, 3))[:, 1]  # a strided view
    np.testing.assert_allclose(emd.cost_matrix(x, y), (x[:, None] - y[None, :]) ** 2, rtol=1e-14)
    big = np.asfortranarray(rng.normal(size=(9, 4)))
    np.testing.assert_allclose(emd.cost_matrix(big, big[::2], "cityblock"), scipy.spatial.distance.cdist(big, big[::2], "cityblock"))


def test_callable_metric_with_numba(rng):
    pytest.importorskip("numba")
    x = rng.normal(size=(40, 3))
    y = rng.normal(size=(25, 3))

    def canberra(u, v):
        s = 0.0
        for k in range(u.shape[0]):
            s += abs(u[k] - v[k]) / (abs(u[k]) + abs(v[k]))
        return s

    got = emd.cost_matrix(x, y, canberra)
    np.testing.assert_allclose(got, scipy.spatial.distance.cdist(x, y, "canberra"), rtol=1e-12)
    assert emd.wasserstein(x, y, metric=canberra) > 0


def test_callable_metric_errors(rng):
    pytest.importorskip("numba")
    x = rng.normal(size=(4, 2))
    y = x.copy()
    y[2] = x[1]

    def log_dist(u, v):
        return np.log(np.sum((u - v) ** 2))  # -inf where u == v

    with pytest.raises(ValueError, match=r"log_dist returned -inf for the pair \(x\[0\], y\[0\]\)"):
        emd.cost_matrix(x, y, log_dist)

    def not_numeric(u, v):
        return "far"

    with pytest.raises(TypeError, match="not_numeric could not be compiled"):
        emd.cost_matrix(x, y, not_numeric)


def test_callable_metric_without_numba(monkeypatch, rng):
    import builtins
    import sys

    cm = sys.modules["emd._cost_matrix"]

    real_import = builtins.__import__

    def no_numba(name, *args, **kwargs):
        if name == "numba" or name.startswith("numba."):
            raise ImportError("no numba here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_numba)
    cm._compiled.cache_clear()
    with pytest.raises(ImportError, match=r"pip install emd\[numba\]"):
        emd.cost_matrix(rng.normal(size=(3, 2)), rng.normal(size=(3, 2)), lambda u, v: 0.0)
    cm._compiled.cache_clear()


@pytest.mark.parametrize(
    "x,y,kwargs,exc,match",
    [
        (np.ones((3, 2)), np.ones((3, 3)), {}, ValueError, "same dimension"),
        (np.ones((3, 2)), np.ones((3, 2)), {"metric": "cosine"}, ValueError, "`metric` must be one of"),
        (np.ones((3, 2)), np.ones((3, 2)), {"metric": "euclidean", "p": 3}, ValueError, "only used by metric='minkowski'"),
        (np.ones((3, 2)), np.ones((3, 2)), {"metric": "minkowski", "p": 0.5}, ValueError, "`p` must be a number >= 1"),
        (np.full((3, 2), np.nan), np.ones((3, 2)), {}, ValueError, "`x` must be finite"),
        (np.ones((3, 2)), np.ones((0, 2)), {}, ValueError, "`y` is empty"),
        (np.ones((3, 2), dtype=complex), np.ones((3, 2)), {}, TypeError, "`x` must be real"),
        (np.ones((3, 2, 1)), np.ones((3, 2)), {}, ValueError, "`x` must have at most 2"),
    ],
)
def test_bad_input(x, y, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        emd.cost_matrix(x, y, **kwargs)


@pytest.mark.parametrize("metric", ["euclidean", "cityblock", "chebyshev", "minkowski"])
@pytest.mark.parametrize("scale", [1e200, 1e-200, 1e300, 5e-324])
def test_coordinates_far_from_one_neither_overflow_nor_underflow(metric, scale):
    # Sums of squares of 1e200 overflowed to inf, of 1e-200 underflowed to 0.
    x = np.array([[3.0, 0.0]]) * scale
    y = np.array([[0.0, 4.0]]) * scale
    unit = {"euclidean": 5.0, "cityblock": 7.0, "chebyshev": 4.0, "minkowski": 5.0}[metric]  # closed forms
    got = emd.cost_matrix(x, y, metric)
    if scale == 5e-324:  # 3, 4, 5 and 7 ulps of the smallest subnormal: exact
        assert got[0, 0] == unit * scale
    else:
        np.testing.assert_allclose(got, [[unit * scale]], rtol=1e-15)


def test_costs_beyond_the_dtype_are_an_error():
    with pytest.raises(ValueError, match=r"costs sqeuclidean\(x_i, y_j\) overflow float64: rescale the points"):
        emd.cost_matrix([[1e200, 0.0]], [[0.0, 0.0]], "sqeuclidean")
    with pytest.raises(ValueError, match=r"overflow float32: rescale the points or pass float64 points"):
        emd.cost_matrix(np.array([[1e20, 0.0]], np.float32), np.array([[0.0, 0.0]], np.float32), "sqeuclidean")
    np.testing.assert_allclose(emd.cost_matrix([[1e200, 0.0]], [[0.0, 0.0]], "euclidean"), [[1e200]])


@pytest.mark.parametrize("metric", [print, np.linalg.norm])
def test_callables_numba_cannot_compile_name_the_metric(metric):
    pytest.importorskip("numba")
    with pytest.raises(TypeError, match=r"`metric` \w+ cannot be compiled by numba.*Python function"):
        emd.cost_matrix(np.zeros((2, 2)), np.ones((2, 2)), metric)
