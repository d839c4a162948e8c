"""Hypothesis throws inputs at every public function, in two layers.

Odd inputs (any shape, dtype and value): accepted outcomes are a result
without NaN (inf is a legitimate answer, e.g. KL or an overflowing distance),
or a ValueError/TypeError. Anything else (a crash, another exception, a hang,
a NaN) fails.

Valid inputs (finite values of moderate size, positive weights, matching
shapes): every one of them must give a result (the stated share is 100%; a
function that refused everything would fail here), and the result must match
an independent reference (scipy, POT, closed forms) to the dtype's tolerance.
``test_the_valid_fuzz_can_fail`` feeds the checkers broken functions.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import emd
import ot
from scipy.spatial.distance import cdist
from scipy.special import rel_entr
from scipy.stats import wasserstein_distance

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


# --- valid inputs: a result every time, equal to a reference ---------------------------------

VALID_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FLOATS = st.sampled_from([np.float64, np.float32])
TOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-5}  # conftest.RTOL: references run in float64


@st.composite
def samples(draw, n_min=1, n_max=12, d=None):
    """(values (n,) or (n, d), weights (n,) > 0 or None, dtype) with finite values in [-10, 10]."""
    dtype = np.dtype(draw(FLOATS))
    n = draw(st.integers(n_min, n_max))
    shape = (n,) if d is None else (n, d)
    values = draw(hnp.arrays(np.float64, shape, elements=st.floats(-10, 10))).astype(dtype)
    weights = draw(st.one_of(st.none(), hnp.arrays(np.float64, n, elements=st.floats(0.05, 1.0))))
    return values, None if weights is None else weights.astype(dtype), dtype


def _close(value, reference, dtype, what):
    value = float(value)
    assert np.isfinite(value), f"{what}: {value}"
    # float32 inputs: the references compute in float64 on the rounded inputs
    assert abs(value - reference) <= TOL[np.dtype(dtype)] * max(1.0, abs(reference)), (what, value, reference)


def check_wasserstein_1d(fn, u, uw, v, vw, p, dtype):
    value = fn(u, v, uw, vw, p=p)
    if p == 1.0:
        ref = wasserstein_distance(u.astype(float), v.astype(float), uw, vw)
    else:
        a = np.full(len(u), 1 / len(u)) if uw is None else uw / uw.sum(dtype=float)
        b = np.full(len(v), 1 / len(v)) if vw is None else vw / vw.sum(dtype=float)
        ref = float(ot.wasserstein_1d(u.astype(float), v.astype(float), a.astype(float), b.astype(float), p=p)) ** (1 / p)
    _close(value, ref, dtype, "wasserstein_1d")


def check_wasserstein_clouds(fn, x, xw, y, yw, p, dtype):
    value = fn(x, y, x_weights=xw, y_weights=yw, p=p)
    a = np.full(len(x), 1 / len(x)) if xw is None else xw.astype(float) / xw.sum(dtype=float)
    b = np.full(len(y), 1 / len(y)) if yw is None else yw.astype(float) / yw.sum(dtype=float)
    M = cdist(x.astype(float), y.astype(float)) ** p
    ref = float(ot.emd2(a, b, M)) ** (1 / p)
    _close(value, ref, dtype, "wasserstein")


def check_solve(fn, a, b, M, dtype):
    res = fn(a, b, M)
    assert res.status == "optimal", res.status
    ref = float(ot.emd2(a.astype(float) / a.sum(dtype=float), b.astype(float) / b.sum(dtype=float), M.astype(float)))
    _close(res.cost, ref, dtype, "solve")


def check_divergence(fn, name, p, q, dtype):
    value = fn(p, q)
    pn, qn = p.astype(float) / p.sum(dtype=float), q.astype(float) / q.sum(dtype=float)
    ref = {"tv": 0.5 * np.abs(pn - qn).sum(), "kl": rel_entr(pn, qn).sum(),
           "js": 0.5 * (rel_entr(pn, (pn + qn) / 2).sum() + rel_entr(qn, (pn + qn) / 2).sum())}[name]
    _close(value, ref, dtype, name)


def check_sliced(fn, x, xw, y, yw, proj, p, dtype):
    value = fn(x, y, x_weights=xw, y_weights=yw, projections=proj, p=p)
    a = np.full(len(x), 1 / len(x)) if xw is None else xw.astype(float) / xw.sum(dtype=float)
    b = np.full(len(y), 1 / len(y)) if yw is None else yw.astype(float) / yw.sum(dtype=float)
    unit = proj.astype(float) / np.linalg.norm(proj.astype(float), axis=0)
    # float32 projections round once more in emd: compare on what it projects
    unit = unit.astype(dtype).astype(float)
    ref = float(ot.sliced_wasserstein_distance(x.astype(float), y.astype(float), a, b, p=p, projections=unit))
    _close(value, ref, dtype, "sliced_wasserstein")


def check_sinkhorn(fn, a, b, M, reg, dtype):
    res = fn(a, b, M, reg, tol=1e-10 if dtype == np.float64 else 1e-5)
    assert res.status in ("converged", "resolution_limit"), res.status
    an, bn = a.astype(float), b.astype(float) * (a.sum(dtype=float) / b.sum(dtype=float))
    ref = float(ot.sinkhorn2(an, bn, M.astype(float), reg, method="sinkhorn_log", stopThr=1e-13, numItermax=100_000))
    tol = 1e-7 if dtype == np.float64 else 1e-3  # both stop on a marginal error, not on the cost
    assert abs(float(res.cost) - ref) <= tol * max(1.0, abs(ref)), (float(res.cost), ref)


@VALID_SETTINGS
@given(samples(), samples(), st.sampled_from([1.0, 2.0, 1.5]))
def test_valid_wasserstein_1d(us, vs, p):
    (u, uw, du), (v, vw, dv) = us, vs
    dtype = np.result_type(du, dv)
    check_wasserstein_1d(emd.wasserstein_1d, u.astype(dtype), None if uw is None else uw.astype(dtype),
                         v.astype(dtype), None if vw is None else vw.astype(dtype), p, dtype)


@VALID_SETTINGS
@given(st.integers(1, 4), st.data(), st.sampled_from([1.0, 2.0]))
def test_valid_wasserstein_point_clouds(d, data, p):
    x, xw, dtype = data.draw(samples(d=d))
    y, yw, _ = data.draw(samples(d=d))
    y = y.astype(dtype)
    yw = None if yw is None else yw.astype(dtype)
    check_wasserstein_clouds(emd.wasserstein, x, xw, y, yw, p, dtype)


@VALID_SETTINGS
@given(st.data(), FLOATS)
def test_valid_solve(data, dtype):
    n, m = data.draw(st.integers(1, 9)), data.draw(st.integers(1, 9))
    a = data.draw(hnp.arrays(np.float64, n, elements=st.floats(0.05, 1.0)))
    b = data.draw(hnp.arrays(np.float64, m, elements=st.floats(0.05, 1.0)))
    M = data.draw(hnp.arrays(np.float64, (n, m), elements=st.floats(0, 10)))
    a, b = a / a.sum(), b / b.sum()
    check_solve(emd.solve, a.astype(dtype), b.astype(dtype), M.astype(dtype), dtype)


@pytest.mark.parametrize("name", ["tv", "kl", "js"])
@VALID_SETTINGS
@given(data=st.data(), dtype=FLOATS)
def test_valid_divergences(name, data, dtype):
    n = data.draw(st.integers(1, 12))
    p = data.draw(hnp.arrays(np.float64, n, elements=st.floats(0.01, 1.0))).astype(dtype)
    q = data.draw(hnp.arrays(np.float64, n, elements=st.floats(0.01, 1.0))).astype(dtype)
    check_divergence(getattr(emd, name), name, p, q, dtype)


@VALID_SETTINGS
@given(st.integers(1, 4), st.integers(1, 6), st.data(), st.sampled_from([1.0, 2.0]))
def test_valid_sliced(d, num, data, p):
    x, xw, dtype = data.draw(samples(d=d))
    y, yw, _ = data.draw(samples(d=d))
    y = y.astype(dtype)
    yw = None if yw is None else yw.astype(dtype)
    proj = data.draw(hnp.arrays(np.float64, (d, num), elements=st.floats(-1, 1).filter(lambda t: abs(t) > 0.1)))
    check_sliced(emd.sliced_wasserstein, x, xw, y, yw, proj.astype(dtype), p, dtype)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), FLOATS, st.sampled_from([0.5, 1.0, 2.0]))
def test_valid_sinkhorn(data, dtype, reg):
    n, m = data.draw(st.integers(1, 8)), data.draw(st.integers(1, 8))
    a = data.draw(hnp.arrays(np.float64, n, elements=st.floats(0.05, 1.0)))
    b = data.draw(hnp.arrays(np.float64, m, elements=st.floats(0.05, 1.0)))
    M = data.draw(hnp.arrays(np.float64, (n, m), elements=st.floats(0, 4)))
    a, b = a / a.sum(), b / b.sum()
    check_sinkhorn(emd.sinkhorn, a.astype(dtype), b.astype(dtype), M.astype(dtype), reg, dtype)


def test_the_valid_fuzz_can_fail():
    """The checkers reject a function that refuses valid input and one that answers wrongly."""
    rng = np.random.default_rng(0)
    u, v = rng.normal(size=5), rng.normal(size=4)

    def refuses(*args, **kwargs):
        raise ValueError("no")

    def off(*args, **kwargs):
        return emd.wasserstein_1d(*args, **kwargs) * (1 + 1e-6)

    with pytest.raises(ValueError):
        check_wasserstein_1d(refuses, u, None, v, None, 1.0, np.float64)
    with pytest.raises(AssertionError):
        check_wasserstein_1d(off, u, None, v, None, 1.0, np.float64)
    x, y = rng.normal(size=(4, 2)), rng.normal(size=(3, 2))
    with pytest.raises(AssertionError):
        check_wasserstein_clouds(lambda *a, **k: emd.wasserstein(*a, **k) + 1e-6, x, None, y, None, 1.0, np.float64)
    a, b, M = np.full(3, 1 / 3), np.full(2, 0.5), rng.uniform(size=(3, 2))
    with pytest.raises(AssertionError):
        check_solve(lambda *args: dataclasses.replace(emd.solve(*args), cost=emd.emd(*args) + 1e-6), a, b, M, np.float64)
    with pytest.raises(AssertionError):
        check_divergence(emd.js, "tv", a, np.array([0.2, 0.3, 0.5]), np.float64)
    with pytest.raises(AssertionError):
        check_sinkhorn(lambda *args, **kw: emd.sinkhorn(*args[:3], args[3] * 2, **kw), a, b, M, 0.5, np.float64)
