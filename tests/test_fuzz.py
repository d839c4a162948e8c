"""Hypothesis throws odd shapes, dtypes and values at every public function.

Accepted outcomes: a result without NaN (inf is a legitimate answer, e.g. KL
or an overflowing distance), or a ValueError/TypeError. Anything else (a
crash, another exception, a hang, a NaN) fails.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import emd

DTYPES = st.sampled_from([np.float64, np.float32, np.float16, np.int64, np.int8, np.uint8, np.bool_, np.complex128])
ELEMENTS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0.0, -0.0, 1e308, -1e308, 1e-308, 5e-324, 1.0, -1.0]),
)


@st.composite
def arrays(draw, max_dims=3):
    dtype = np.dtype(draw(DTYPES))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=0, max_side=5))
    values = draw(hnp.arrays(np.float64, shape, elements=ELEMENTS))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return values.astype(dtype)


maybe = lambda s: st.one_of(st.none(), s)  # noqa: E731
ps = st.one_of(st.sampled_from([1.0, 2.0, 0.5, np.inf, np.nan, -1.0, 3]), st.floats(0.5, 8.0))
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _no_nan(res):
    if isinstance(res, emd.OTResult):
        fields = [res.cost, res.potential_a, res.potential_b, res.duality_gap, getattr(res, "marginal_error", None)]
    else:
        fields = [res]
    for v in fields:
        if v is not None:
            assert not np.any(np.isnan(np.asarray(v, dtype=np.float64))), f"NaN in a result: {v!r}"


def _call(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            res = fn(*args, **kwargs)
        except (ValueError, TypeError):
            return
    _no_nan(res)


@SETTINGS
@given(arrays(), arrays(), maybe(arrays()), maybe(arrays()), ps, st.booleans())
def test_wasserstein_1d(u, v, uw, vw, p, assume_sorted):
    _call(emd.wasserstein_1d, u, v, uw, vw, p=p, assume_sorted=assume_sorted)


@SETTINGS
@given(arrays(max_dims=2), arrays(max_dims=2), maybe(arrays(max_dims=1)), ps)
def test_wasserstein(x, y, w, p):
    _call(emd.wasserstein, x, y, x_weights=w, p=p)


@SETTINGS
@given(arrays(max_dims=2), arrays(max_dims=2), maybe(arrays(max_dims=2)), ps,
       st.one_of(st.integers(-2, 6), st.floats(0, 3)), st.sampled_from(["mean", "max", "sum"]))
def test_sliced_wasserstein(x, y, proj, p, n_proj, reduce):
    _call(emd.sliced_wasserstein, x, y, projections=proj, p=p, n_projections=n_proj, seed=0, reduce=reduce)


@pytest.mark.parametrize("fn", [emd.tv, emd.kl, emd.js])
@SETTINGS
@given(p=arrays(), q=arrays(), axis=st.integers(-4, 4))
def test_divergences(fn, p, q, axis):
    _call(fn, p, q, axis=axis)


@SETTINGS
@given(maybe(arrays(max_dims=2)), maybe(arrays(max_dims=2)), arrays(), st.one_of(st.none(), st.integers(-1, 50)))
def test_solve_and_emd(a, b, M, max_iter):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # max_iter reached is a warning by design
        for fn in (emd.solve, emd.emd):
            try:
                res = fn(a, b, M, max_iter=max_iter)
            except (ValueError, TypeError):
                continue
            _no_nan(res)


@SETTINGS
@given(arrays(max_dims=2), arrays(max_dims=2),
       st.sampled_from(["sqeuclidean", "euclidean", "cityblock", "chebyshev", "minkowski", "cosine", 3]),
       st.one_of(st.none(), ps))
def test_cost_matrix(x, y, metric, p):
    _call(emd.cost_matrix, x, y, metric, p=p)


regs = st.one_of(st.sampled_from([1e-3, 0.1, 1.0, 0.0, -1.0, np.nan, np.inf]), st.floats(1e-4, 10.0))


@SETTINGS
@given(maybe(arrays(max_dims=2)), maybe(arrays(max_dims=2)), arrays(), regs)
def test_sinkhorn(a, b, M, reg):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # not converging in 50 sweeps is a warning by design
        try:
            res = emd.sinkhorn(a, b, M, reg, max_iter=50)
        except (ValueError, TypeError):
            return
    _no_nan(res)


@SETTINGS
@given(arrays(max_dims=2), arrays(max_dims=2), regs, st.sampled_from(["euclidean", "sqeuclidean", "cityblock", "nope"]))
def test_sinkhorn_samples_and_divergence(x, y, reg, metric):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for fn in (emd.sinkhorn_samples, emd.sinkhorn_divergence):
            try:
                res = fn(x, y, reg, metric=metric, max_iter=50)
            except (ValueError, TypeError):
                continue
            _no_nan(res)
