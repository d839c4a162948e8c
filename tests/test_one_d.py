"""emd.wasserstein_1d against scipy, POT, linprog and closed forms."""

from __future__ import annotations

import numpy as np
import ot  # the test extra installs POT: a missing one must fail, not skip the module
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog
from scipy.stats import wasserstein_distance

import emd
from conftest import NEAR_RANGE_CASES, RESCALED_CASES, exact_w1, exact_wpp, light_far_points, rtol

SIZES = [(1, 1), (1, 2), (2, 1), (2, 2), (3, 5), (17, 9), (100, 101), (1000, 777)]


def _sample(rng, n, m):
    return rng.normal(size=n), rng.normal(1.0, 2.0, size=m), rng.random(n) + 0.01, rng.random(m) + 0.01


# --- known answers ---------------------------------------------------------------


def test_scipy_docstring_cases():
    assert emd.wasserstein_1d([0, 1, 3], [5, 6, 8]) == pytest.approx(5.0, rel=1e-15)
    assert emd.wasserstein_1d([0, 1], [0, 1], [3, 1], [2, 2]) == pytest.approx(0.25, rel=1e-15)
    assert emd.wasserstein_1d([3.4, 3.9, 7.5, 7.8], [4.5, 1.4], [1.4, 0.9, 3.1, 7.2], [3.2, 3.5]) == pytest.approx(
        4.0781331438047861, rel=1e-14
    )
    assert emd.wasserstein_1d([0.0, 1.0], [0.0], [1, 1], [1]) == 0.5
    assert emd.wasserstein_1d([0.0, 1.0], [0.0], [3, 1], [1]) == 0.25


@pytest.mark.parametrize("case", ["light far points", "cauchy"])
@pytest.mark.parametrize("p", [1, 2, 3])
def test_tails_keep_their_digits(rng, case, p):
    # Where W_p lies in far, light tails, F (or the level q) is near 1 and the
    # gaps are small differences of numbers near 1: the walks sum 1 - F from
    # the right above the median, so they keep their digits. Summed from the
    # left, p = 1 was 1e-8 off here and p = 2 four times too large (levels near
    # 1 rounded together). Against exact rational arithmetic; every path:
    # the public call, presorted rows, a batch of pairs.
    if case == "cauchy":
        u, v = rng.standard_cauchy(1500), rng.standard_cauchy(1700)
        uw, vw = rng.random(1500), rng.random(1700)
    else:
        u, v, uw, vw = light_far_points(rng, 1500)
    want = exact_w1(u, v, uw, vw) if p == 1 else exact_wpp(u, v, uw, vw, p) ** (1.0 / p)
    tol = rtol(np.float64)
    assert emd.wasserstein_1d(u, v, uw, vw, p=p) == pytest.approx(want, rel=tol)
    ou, ov = np.argsort(u), np.argsort(v)
    got = emd.wasserstein_1d(u[ou], v[ov], uw[ou], vw[ov], p=p, assume_sorted=True)
    assert got == pytest.approx(want, rel=tol)
    batch = emd.wasserstein_1d(np.stack([u, u]), np.stack([v[::-1], v]), np.stack([uw, uw]),
                               np.stack([vw[::-1], vw]), p=p)
    np.testing.assert_allclose(batch, want, rtol=tol)


@pytest.mark.parametrize("p", [1.0, 1.5, 2.0, 3.0])
@pytest.mark.parametrize("t", [-2.5, 0.0, 1e-3, 7.0])
def test_translation_gives_shift(rng, p, t):
    x = rng.normal(size=333)
    w = rng.random(333)
    assert emd.wasserstein_1d(x, x + t, w, w, p=p) == pytest.approx(abs(t), rel=1e-12, abs=1e-12)
    assert emd.wasserstein_1d(x, x + t, p=p) == pytest.approx(abs(t), rel=1e-12, abs=1e-12)


def test_diracs():
    for p in (1.0, 2.0, 3.7):
        assert emd.wasserstein_1d([2.0], [-1.5], p=p) == pytest.approx(3.5, rel=1e-15)


def test_integer_weights_equal_repeated_samples(rng):
    x, y = rng.normal(size=20), rng.normal(size=15)
    kx, ky = rng.integers(1, 5, size=20), rng.integers(1, 5, size=15)
    for p in (1.0, 2.0, 2.5):
        a = emd.wasserstein_1d(x, y, kx, ky, p=p)
        b = emd.wasserstein_1d(np.repeat(x, kx), np.repeat(y, ky), p=p)
        assert a == pytest.approx(b, rel=1e-12)


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
def test_zero_weight_far_point_changes_nothing(rng, p):
    x, y = rng.normal(size=50), rng.normal(size=40)
    wx, wy = rng.random(50), rng.random(40)
    base = emd.wasserstein_1d(x, y, wx, wy, p=p)
    for far in (1e10, -1e10):
        got = emd.wasserstein_1d(np.append(x, far), y, np.append(wx, 0.0), wy, p=p)
        assert got == pytest.approx(base, rel=1e-12)
        got = emd.wasserstein_1d(x, np.append(y, far), wx, np.append(wy, 0.0), p=p)
        assert got == pytest.approx(base, rel=1e-12)


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
def test_unsorted_weighted_gives_sorted_answer(rng, p):
    # A historic POT bug: weights not permuted along with unsorted values.
    x, y = rng.normal(size=64), rng.normal(size=48)
    wx, wy = rng.random(64), rng.random(48)
    ix, iy = np.argsort(x), np.argsort(y)
    sorted_ans = emd.wasserstein_1d(x[ix], y[iy], wx[ix], wy[iy], p=p, assume_sorted=True)
    assert emd.wasserstein_1d(x, y, wx, wy, p=p) == pytest.approx(sorted_ans, rel=1e-13)


def test_ties_and_duplicates():
    x = np.array([0.0, 0.0, 1.0, 1.0, 1.0, 2.0])
    y = np.array([1.0, 1.0, 1.0])
    assert emd.wasserstein_1d(x, y) == pytest.approx(wasserstein_distance(x, y), rel=1e-15)
    assert emd.wasserstein_1d(x, x) == 0.0


# --- independent references ------------------------------------------------------


@pytest.mark.parametrize("n,m", SIZES)
def test_matches_scipy_p1(rng, n, m):
    u, v, uw, vw = _sample(rng, n, m)
    ref = wasserstein_distance(u, v)
    assert emd.wasserstein_1d(u, v) == pytest.approx(ref, rel=1e-12)
    ref = wasserstein_distance(u, v, uw, vw)
    assert emd.wasserstein_1d(u, v, uw, vw) == pytest.approx(ref, rel=1e-12)
    ref = wasserstein_distance(u, v, None, vw)
    assert emd.wasserstein_1d(u, v, None, vw) == pytest.approx(ref, rel=1e-12)


@pytest.mark.parametrize("n,m", SIZES)
@pytest.mark.parametrize("p", [1.5, 2.0, 3.0])
def test_matches_pot(rng, n, m, p):
    u, v, uw, vw = _sample(rng, n, m)
    # POT returns W_p ** p and expects normalized weights.
    ref = ot.wasserstein_1d(u, v, uw / uw.sum(), vw / vw.sum(), p=p) ** (1 / p)
    assert emd.wasserstein_1d(u, v, uw, vw, p=p) == pytest.approx(ref, rel=1e-11)
    ref = ot.wasserstein_1d(u, v, p=p) ** (1 / p)
    assert emd.wasserstein_1d(u, v, p=p) == pytest.approx(ref, rel=1e-11)


def _linprog_wp(u, v, a, b, p):
    n, m = len(u), len(v)
    cost = np.abs(u[:, None] - v[None, :]) ** p
    A = np.zeros((n + m, n * m))
    for i in range(n):
        A[i, i * m : (i + 1) * m] = 1
    for j in range(m):
        A[n + j, j::m] = 1
    res = linprog(cost.ravel(), A_eq=A, b_eq=np.concatenate([a, b]), bounds=(0, None), method="highs")
    assert res.status == 0
    return res.fun ** (1 / p)


@pytest.mark.parametrize("p", [1.0, 1.5, 2.0, 3.0])
@pytest.mark.parametrize("n,m", [(1, 3), (4, 4), (5, 8), (9, 6)])
def test_matches_linprog(rng, p, n, m):
    u, v, uw, vw = _sample(rng, n, m)
    a, b = uw / uw.sum(), vw / vw.sum()
    assert emd.wasserstein_1d(u, v, a, b, p=p) == pytest.approx(_linprog_wp(u, v, a, b, p), rel=1e-12)


# --- batching, dtypes ------------------------------------------------------------


def test_batched_equals_looped_with_broadcasting(rng):
    u = rng.normal(size=(3, 1, 40))
    v = rng.normal(size=(4, 25))
    uw = rng.random((3, 1, 40))
    out = emd.wasserstein_1d(u, v, uw, None, p=2.0)
    assert out.shape == (3, 4) and out.dtype == np.float64
    for i in range(3):
        for j in range(4):
            assert out[i, j] == emd.wasserstein_1d(u[i, 0], v[j], uw[i, 0], None, p=2.0)


def test_unbatched_returns_float(rng):
    assert isinstance(emd.wasserstein_1d(rng.normal(size=5), rng.normal(size=3)), float)


@pytest.mark.parametrize("p", [1.0, 2.0, 2.5])
def test_float32_in_float32_out(rng, p):
    u, v = rng.normal(size=(8, 300)), rng.normal(size=(8, 200))
    uw, vw = rng.random((8, 300)), rng.random((8, 200))
    # Reference: POT in float64 on the same (rounded) inputs; the float32 result
    # differs by its final rounding only (measured 5e-8).
    u32, v32, uw32, vw32 = (t.astype(np.float32) for t in (u, v, uw, vw))
    ref = [ot.wasserstein_1d(u32[k].astype(np.float64), v32[k].astype(np.float64),
                             uw32[k] / uw32[k].sum(dtype=np.float64), vw32[k] / vw32[k].sum(dtype=np.float64), p=p) ** (1 / p)
           for k in range(8)]
    got = emd.wasserstein_1d(u32, v32, uw32, vw32, p=p)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, ref, rtol=2e-7)


def test_integer_inputs_become_float64():
    out = emd.wasserstein_1d(np.array([[0, 1, 3]]), np.array([[5, 6, 8]]))
    assert out.dtype == np.float64 and out[0] == 5.0


def test_mixed_float_dtypes_promote(rng):
    out = emd.wasserstein_1d(rng.normal(size=(2, 4)).astype(np.float32), rng.normal(size=(2, 5)))
    assert out.dtype == np.float64


def test_non_contiguous_views(rng):
    u = rng.normal(size=(50, 7))
    v = rng.normal(size=(60, 7))
    got = emd.wasserstein_1d(u[:, 3], v[::2, 1])
    assert got == pytest.approx(wasserstein_distance(u[:, 3], v[::2, 1]), rel=1e-12)
    got = emd.wasserstein_1d(u.T, v.T)  # (7, 50) rows from a transposed view
    np.testing.assert_allclose(got, [wasserstein_distance(u[:, k], v[:, k]) for k in range(7)], rtol=1e-12)


# --- the kernel's sort and walk paths --------------------------------------------
# Rows are sorted with NumPy's quicksort (float32, float64; weighted rows as
# packed uint64s, float64 ones through an index and a gather); uniform rows
# of equal size take a vectorized sum, other uniform ones the integer quantile
# walk; the weighted W1 merge runs in 4 (or 2) lockstep pieces from 4096 steps
# on, and whole calls spread over threads from 32768 points on. Sizes below
# straddle each threshold.
PATH_SIZES = [(1, 1), (1, 2), (2, 2), (2, 3), (7, 7), (64, 63), (2047, 2049), (2048, 2048), (5001, 4999),
              (16384, 16385), (40_001, 40_001)]


@pytest.mark.parametrize("n,m", PATH_SIZES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", ["both", "u", "v", "none"])
def test_sort_and_walk_paths_match_scipy(rng, n, m, dtype, weighted):
    u, v = rng.normal(size=n).astype(dtype), rng.standard_cauchy(size=m).astype(dtype)
    uw = (rng.random(n) + 0.01).astype(dtype) if weighted in ("both", "u") else None
    vw = (rng.random(m) + 0.01).astype(dtype) if weighted in ("both", "v") else None
    # The reference sees the very same (rounded) inputs in float64, so float32
    # results differ from it only by the final rounding to float32.
    ref = wasserstein_distance(*(None if x is None else np.asarray(x, np.float64) for x in (u, v, uw, vw)))
    got = emd.wasserstein_1d(u, v, uw, vw)
    assert got == pytest.approx(ref, rel=rtol(dtype))


@pytest.mark.parametrize("n,m", [(3, 5), (5000, 5000), (5000, 7001), (40_001, 39_999)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_weights_with_zeros_match_scipy(rng, n, m, dtype):
    u, v = rng.normal(size=n).astype(dtype), rng.normal(0.5, 3.0, size=m).astype(dtype)
    uw, vw = rng.random(n).astype(dtype), rng.random(m).astype(dtype)
    uw[rng.random(n) < 0.4] = 0  # zeros anywhere, the extremes included
    vw[rng.random(m) < 0.4] = 0
    uw[np.argmax(u)] = 0
    vw[np.argmin(v)] = 0
    uw[0] = vw[0] = 1  # keep a positive mass
    ref = wasserstein_distance(u.astype(np.float64), v.astype(np.float64), uw.astype(np.float64), vw.astype(np.float64))
    assert emd.wasserstein_1d(u, v, uw, vw) == pytest.approx(ref, rel=rtol(dtype))


@pytest.mark.parametrize("n", [1000, 70_000])
def test_float64_values_equal_in_their_top_bits(rng, n):
    # float64 weighted rows are sorted by their keys' top bits over an index:
    # values that differ only in the last ulps tie there and are put in value
    # order afterwards. Here every value is 1 + k ulp (all tie), plus duplicates
    # and -0.0 next to 0.0.
    k = rng.permutation(n)
    u = 1.0 + k * np.finfo(np.float64).eps
    v = np.concatenate([1.0 + rng.integers(0, 64, n // 2) * np.finfo(np.float64).eps, np.zeros(n // 4), -np.zeros(n // 4)])
    rng.shuffle(v)
    uw, vw = rng.random(u.size) + 0.01, rng.random(v.size) + 0.01
    assert emd.wasserstein_1d(u, v, uw, vw) == pytest.approx(wasserstein_distance(u, v, uw, vw), rel=1e-12)
    # The same measure in another order: W = 0 up to rounding the CDFs (1 ulp)
    # times the spread of the values.
    w = emd.wasserstein_1d(u, u[::-1].copy(), uw, uw[::-1].copy())
    assert 0.0 <= w <= 4 * np.finfo(np.float64).eps * (u.max() - u.min())


def _uniform_quantile_reference(u, v, p):
    """W_p of uniform samples from the quantile form in long double: the levels
    are the union of i m and j n (units of 1 / (n m)), each piece's indices read
    off the level. Independent of emd's walk, and more precise than POT's
    float64 cumulative sums (which were off by 1.6e-10 at p = 3.5, n = 5e4)."""
    n, m = len(u), len(v)
    us, vs = np.sort(u).astype(np.longdouble), np.sort(v).astype(np.longdouble)
    q = np.union1d(np.arange(1, n + 1, dtype=np.int64) * m, np.arange(1, m + 1, dtype=np.int64) * n)
    i, j = (q + m - 1) // m - 1, (q + n - 1) // n - 1
    dq = np.diff(q, prepend=0).astype(np.longdouble)
    total = np.sum(dq * np.abs(us[i] - vs[j]) ** np.longdouble(p)) / (np.longdouble(n) * m)
    return float(total ** (1 / np.longdouble(p)))


@pytest.mark.parametrize("n,m", [(1, 1), (2, 3), (999, 1000), (50_000, 50_000), (50_000, 30_001)])
@pytest.mark.parametrize("p", [1.0, 2.0, 3.5])
def test_uniform_quantile_walks(rng, n, m, p):
    u, v = rng.normal(size=n), rng.exponential(size=m)
    got = emd.wasserstein_1d(u, v, p=p)
    assert got == pytest.approx(_uniform_quantile_reference(u, v, p), rel=1e-12)
    if n * m <= 10**6:
        assert got == pytest.approx(ot.wasserstein_1d(u, v, p=p) ** (1 / p), rel=1e-12)


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
def test_uniform_equal_sizes_closed_form(rng, p):
    # Equal sizes: W_p^p is the mean of |u_(i) - v_(i)|^p. Sorted, u = 0..n-1
    # and -u = -(n-1)..0 differ by n - 1 at every i; a shift by 0.5 is exact too.
    n = 100_003
    u = rng.permutation(n).astype(np.float64)
    assert emd.wasserstein_1d(u, u + 0.5, p=p) == pytest.approx(0.5, rel=rtol(np.float64))
    assert emd.wasserstein_1d(u, -u, p=p) == pytest.approx(n - 1, rel=rtol(np.float64))


def test_large_batched_rows_are_deterministic_and_match_looped(rng):
    # Rows big enough to sort on several threads and to walk in pieces.
    u, v = rng.normal(size=(3, 20_000)), rng.normal(size=(4, 1, 30_001))
    uw, vw = rng.random((3, 20_000)), rng.random((4, 1, 30_001))
    got = emd.wasserstein_1d(u, v, uw, vw)
    assert got.shape == (4, 3)
    assert np.array_equal(got, emd.wasserstein_1d(u, v, uw, vw))
    looped = np.array([[emd.wasserstein_1d(u[i], v[j, 0], uw[i], vw[j, 0]) for i in range(3)] for j in range(4)])
    assert np.array_equal(got, looped)
    assert got[1, 2] == pytest.approx(wasserstein_distance(u[2], v[1, 0], uw[2], vw[1, 0]), rel=1e-12)


def test_concurrent_large_calls_agree_with_sequential_ones(rng):
    # Large calls sort their rows on helper threads that claim rows from a
    # shared counter (a late helper finds none and exits): calls running side
    # by side on Python threads must each get their own sequential result.
    from concurrent.futures import ThreadPoolExecutor

    cases = [(rng.normal(size=20_000 + k), rng.normal(0.5, 2.0, size=30_000 - k), rng.random(20_000 + k),
              rng.random(30_000 - k) if k % 2 else None) for k in range(6)]
    expected = [emd.wasserstein_1d(*c) for c in cases]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda k: emd.wasserstein_1d(*cases[k % 6]), range(48)))
    assert all(g == expected[k % 6] for k, g in enumerate(got))
    assert expected[1] == pytest.approx(wasserstein_distance(*cases[1]), rel=1e-12)


def test_negative_zero_and_constant_rows():
    assert emd.wasserstein_1d([-0.0, 0.0] * 200, [0.0] * 300) == 0.0
    assert emd.wasserstein_1d(np.full(500, 3.0), np.full(400, 1.0), p=2) == pytest.approx(2.0, rel=1e-15)


def test_deterministic(rng):
    u, v = rng.normal(size=(64, 2000)), rng.normal(size=(64, 1500))
    w = rng.random((64, 2000))
    a = emd.wasserstein_1d(u, v, w, None)
    assert a.shape == (64,)
    assert np.array_equal(a, emd.wasserstein_1d(u, v, w.copy(), None))  # the weighted walk
    assert np.array_equal(emd.wasserstein_1d(u, v), emd.wasserstein_1d(u, v))


# --- properties (hypothesis) -----------------------------------------------------

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
samples = st.lists(finite, min_size=1, max_size=40)
positive = st.floats(min_value=1e-3, max_value=1e3)


@settings(max_examples=60, deadline=None)
@given(samples, samples, st.sampled_from([1.0, 1.5, 2.0, 3.0]))
def test_symmetry(u, v, p):
    assert emd.wasserstein_1d(u, v, p=p) == pytest.approx(emd.wasserstein_1d(v, u, p=p), rel=1e-12, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(samples, samples, st.floats(min_value=-1e3, max_value=1e3), st.sampled_from([1.0, 2.0, 2.5]))
def test_translation_invariance(u, v, t, p):
    u, v = np.array(u), np.array(v)
    a = emd.wasserstein_1d(u, v, p=p)
    b = emd.wasserstein_1d(u + t, v + t, p=p)
    # Shifting rounds each sample by up to ulp(|x| + |t|): the absolute slack says so.
    scale = max(np.abs(u).max(), np.abs(v).max(), abs(t))
    assert b == pytest.approx(a, rel=1e-9, abs=1e-12 * scale)


@settings(max_examples=60, deadline=None)
@given(samples, samples, st.floats(min_value=-100, max_value=100).filter(lambda s: s != 0), st.sampled_from([1.0, 2.0, 3.0]))
def test_homogeneity(u, v, s, p):
    u, v = np.array(u), np.array(v)
    a = emd.wasserstein_1d(s * u, s * v, p=p)
    assert a == pytest.approx(abs(s) * emd.wasserstein_1d(u, v, p=p), rel=1e-9, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(1, 30), st.integers(1, 30), st.integers(0, 2**32 - 1), st.sampled_from([1.0, 2.0, 1.7]))
def test_batched_equals_looped_property(b, n, m, seed, p):
    r = np.random.default_rng(seed)
    u, v = r.normal(size=(b, n)), r.normal(size=(b, m))
    uw, vw = r.random((b, n)), r.random((b, m)) + 0.1
    out = emd.wasserstein_1d(u, v, uw + 0.1, vw, p=p)
    for k in range(b):
        assert out[k] == emd.wasserstein_1d(u[k], v[k], uw[k] + 0.1, vw[k], p=p)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 300), st.integers(1, 300), st.integers(0, 2**32 - 1))
def test_float32_close_to_float64(n, m, seed):
    r = np.random.default_rng(seed)
    u, v = r.normal(size=n).astype(np.float32), r.normal(size=m).astype(np.float32)
    ref = wasserstein_distance(u.astype(np.float64), v.astype(np.float64))
    got = emd.wasserstein_1d(u, v)
    # one float32 rounding of the result, or of the inputs' scale for tiny distances
    scale = float(max(np.abs(u).max(), np.abs(v).max()))
    assert got == pytest.approx(ref, rel=2e-7, abs=1e-7 * scale)


@pytest.mark.parametrize("u,v,uw,vw,p,expected", RESCALED_CASES)
def test_large_p_and_large_gaps_are_rescaled(u, v, uw, vw, p, expected):
    assert emd.wasserstein_1d(u, v, uw, vw, p=p) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("u,v,uw,vw,p,expected", NEAR_RANGE_CASES)
def test_values_near_the_float_range(u, v, uw, vw, p, expected):
    assert emd.wasserstein_1d(u, v, uw, vw, p=p) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", ["both", "u", "none"])
@pytest.mark.parametrize("n,m", [(1, 1), (7, 5), (64, 64), (5000, 4001), (40_000, 40_000)])
@pytest.mark.parametrize("p", [1.0, 2, 1.5])
@pytest.mark.parametrize("assume_sorted", [False, True])
def test_straight_path_equals_the_full_path(rng, dtype, weighted, n, m, p, assume_sorted):
    # One pair of 1-D contiguous arrays of one float dtype takes the straight
    # path (emd._core.wasserstein_1d_pair: the checks in the kernel's first
    # pass). It must be taken (not None), and give the very bits of the full
    # path, which a batch of one pair takes, and of emd.wasserstein.
    from emd._backend.cpu import wasserstein_1d_pair

    u, v = rng.normal(size=n).astype(dtype), rng.normal(0.5, 2.0, size=m).astype(dtype)
    if assume_sorted:
        u, v = np.sort(u), np.sort(v)
    uw = rng.random(n).astype(dtype) if weighted in ("both", "u") else None
    vw = rng.random(m).astype(dtype) if weighted == "both" else None
    straight = wasserstein_1d_pair(u, v, uw, vw, p, assume_sorted)
    assert straight is not None and straight.dtype == dtype and straight.shape == ()
    full = emd.wasserstein_1d(u[None], v[None], None if uw is None else uw[None], None if vw is None else vw[None],
                              p=p, assume_sorted=assume_sorted)
    assert full.shape == (1,) and straight == full[0]
    assert emd.wasserstein_1d(u, v, uw, vw, p=p, assume_sorted=assume_sorted) == straight
    if not assume_sorted:
        assert emd.wasserstein(u, v, x_weights=uw, y_weights=vw, p=p) == straight
        ref = wasserstein_distance(u, v, uw, vw) if p == 1.0 else None
        if ref is not None:
            assert straight == pytest.approx(ref, rel=rtol(dtype), abs=1e-300)


@pytest.mark.parametrize(
    "make",
    [
        lambda u: u.tolist(),  # a list
        lambda u: u.astype(np.int64),  # integers (become float64)
        lambda u: u.astype(">f8"),  # byte-swapped
        lambda u: np.repeat(u, 2)[::2],  # strided
        lambda u: u[None],  # 2-D, a batch of one
        lambda u: u.view(type("Sub", (np.ndarray,), {})),  # a subclass
    ],
)
def test_other_kinds_of_arrays_take_the_full_path(rng, make):
    from emd._backend.cpu import wasserstein_1d_pair

    u, v = np.round(rng.normal(size=9) * 8), rng.normal(size=6)
    other = make(u)
    assert wasserstein_1d_pair(other, v, None, None, 1.0, False) is None
    assert wasserstein_1d_pair(u, v, None, None, 1.0, False) is not None
    expected = emd.wasserstein_1d(u, v)
    got = emd.wasserstein_1d(other, v)
    assert np.ndim(got) == np.ndim(other) - 1 and np.ravel(got)[0] == expected
    # mixed float dtypes and p of a NumPy type leave it too, with the full path's answer
    assert wasserstein_1d_pair(u.astype(np.float32), v, None, None, 1.0, False) is None
    assert wasserstein_1d_pair(u, v, None, None, np.float64(1.0), False) is None
    assert emd.wasserstein_1d(u, v, p=np.float64(1.0)) == expected
