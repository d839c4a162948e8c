"""Bad input: a ValueError/TypeError naming the argument, never a crash."""

from __future__ import annotations

import numpy as np
import ot
import pytest
import scipy.stats

import emd

GOOD = np.array([0.0, 1.0, 2.0])


def _strided(a: np.ndarray) -> np.ndarray:
    """The same values and dtype as a non-contiguous view: an argument the straight path leaves to the full path."""
    return np.repeat(a, 2)[::2]


@pytest.mark.parametrize(
    "args,kwargs,exc,match",
    [
        (([np.nan, 1.0], GOOD), {}, ValueError, r"u_values.*finite"),
        ((GOOD, [0.0, np.inf]), {}, ValueError, r"v_values.*finite"),
        ((GOOD, GOOD, [1.0, np.nan, 1.0]), {}, ValueError, r"u_weights.*finite"),
        ((GOOD, GOOD, None, [1.0, -1.0, 1.0]), {}, ValueError, r"v_weights.*nonnegative"),
        ((GOOD, GOOD, [0.0, 0.0, 0.0]), {}, ValueError, r"u_weights.*sums to 0"),
        ((GOOD, GOOD, [1.0, 1.0]), {}, ValueError, r"u_weights.*shape"),
        (([], GOOD), {}, ValueError, r"u_values.*empty"),
        ((GOOD, np.zeros((2, 0))), {}, ValueError, r"v_values.*empty"),
        ((GOOD, GOOD), {"p": 0.5}, ValueError, r"`p`"),
        ((GOOD, GOOD), {"p": np.inf}, ValueError, r"`p`"),
        ((GOOD, GOOD), {"p": np.nan}, ValueError, r"`p`"),
        ((GOOD, GOOD), {"p": "2"}, TypeError, r"`p`"),
        ((GOOD, GOOD), {"p": True}, TypeError, r"`p`"),
        ((GOOD + 1j, GOOD), {}, TypeError, r"u_values.*complex"),
        ((np.array(["a", "b"]), GOOD), {}, TypeError, r"u_values.*dtype"),
        ((np.array([1, 2], dtype=object), GOOD), {}, TypeError, r"u_values.*dtype"),
        ((np.array([1.0], dtype=np.longdouble), GOOD), {}, TypeError, r"u_values.*float"),
        ((np.array(["2026-01-01"], dtype="datetime64[D]"), GOOD), {}, TypeError, r"u_values.*dtype"),
        ((np.ones((2, 3)), np.ones((3, 3))), {}, ValueError, r"broadcast"),
        ((5.0, GOOD), {}, ValueError, r"u_values.*dimension"),
        (([[1.0, 2.0], [3.0]], GOOD), {}, TypeError, r"u_values"),
    ],
)
def test_wasserstein_1d_bad_input(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        emd.wasserstein_1d(*args, **kwargs)


def test_wasserstein_dimension_mismatch():
    with pytest.raises(ValueError, match="dimension"):
        emd.wasserstein(np.ones((3, 1)), np.ones((3, 2)))


def test_wasserstein_routes_1d_shapes(rng):
    x, y = rng.normal(size=40), rng.normal(size=30)
    expected = emd.wasserstein_1d(x, y, p=2)
    assert emd.wasserstein(x, y, p=2) == expected
    assert emd.wasserstein(x[:, None], y[:, None], p=2) == expected
    w = rng.random(30)
    assert emd.wasserstein(x, y, y_weights=w) == emd.wasserstein_1d(x, y, None, w)


def test_gpu_arrays_refused_with_clear_message():
    if emd.has_cuda():
        pytest.skip("CUDA is usable here: GPU arrays are accepted")

    class FakeCupy:
        __module__ = "cupy._core.core"
        device = type("Device", (), {"id": 0})()

        def __array__(self, *a, **k):  # pragma: no cover - must not be reached
            raise AssertionError("converted silently")

    with pytest.raises(TypeError, match="CUDA kernels are not usable"):
        emd.wasserstein_1d(FakeCupy(), FakeCupy())


def test_huge_and_tiny_magnitudes_stay_exact():
    x = np.array([1e300, -1e300])
    assert emd.wasserstein_1d(x, x) == 0.0
    assert emd.wasserstein_1d([1e-300], [2e-300]) == 2e-300 - 1e-300  # exact (Sterbenz)
    # |x - y| overflows float64: the answer is inf, said plainly, not NaN
    assert emd.wasserstein_1d([1.7e308], [-1.7e308]) == np.inf


def test_weights_whose_total_overflows_are_refused():
    # The normalized CDF would be 0 everywhere: refuse instead of a silent wrong answer.
    with pytest.raises(ValueError, match="u_weights.*float64 range"):
        emd.wasserstein_1d([0.0, 1.0], [0.5], [1e308, 1e308])
    with pytest.raises(ValueError, match="`p`.*float64 range"):
        emd.tv([1e308, 1e308], [0.5, 0.5])


# --- found by fuzzing the public API (2026-11-21) -------------------------------------


def test_subnormal_weight_totals_are_only_ratios():
    # The kernels divide by each row's total through its reciprocal, which
    # overflowed for totals below the normal range: NaN instead of 0.5.
    tiny = [1e-320, 1e-320]
    assert emd.wasserstein_1d([0.0, 1.0], [0.0, 2.0], tiny, tiny) == emd.wasserstein_1d([0.0, 1.0], [0.0, 2.0]) == 0.5
    assert emd.wasserstein([0.0, 1.0], [0.0, 2.0], x_weights=tiny) == 0.5
    x, y = np.zeros((2, 2)), np.array([[1.0, 0.0], [0.0, 3.0]])
    ref = emd.sliced_wasserstein(x, y, seed=3)
    assert emd.sliced_wasserstein(x, y, x_weights=tiny, y_weights=[5e-324, 5e-324], seed=3) == pytest.approx(ref, rel=1e-14)


@pytest.mark.parametrize("value", ["False", 0, 1, None, np.array([True])])
def test_assume_sorted_must_be_a_bool(value):
    with pytest.raises(TypeError, match="assume_sorted"):
        emd.wasserstein_1d([1.0, 0.0], [0.0, 2.0], assume_sorted=value)
    assert emd.wasserstein_1d([0.0, 1.0], [0.0, 2.0], assume_sorted=np.bool_(True)) == 0.5


def test_reg_needs_a_finite_reciprocal():
    M = np.array([[0.0, 1.0], [1.0, 0.0]])
    a = np.array([0.5, 0.5])
    with pytest.raises(ValueError, match=r"`reg` must be at least 2.23e-308"):
        emd.sinkhorn(a, a, M, 1e-310)
    with pytest.raises(ValueError, match=r"`reg` must be at least 1.18e-38 for float32.*float64"):
        emd.sinkhorn(a.astype(np.float32), a.astype(np.float32), M.astype(np.float32), 1e-39)
    with pytest.raises(ValueError, match=r"`reg` must be at least"):
        emd.sinkhorn_samples(np.zeros((2, 1)), np.ones((2, 1)), 1e-310)
    with pytest.raises(ValueError, match=r"`reg` must be at least"):
        emd.sinkhorn_divergence(np.zeros((2, 1), np.float32), np.ones((2, 1), np.float32), 1e-39)


def test_counts_beyond_int64_are_refused():
    M = np.array([[0.0, 1.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match=r"`max_iter` must be at most 2\*\*63 - 1"):
        emd.solve(None, None, M, max_iter=2**63)
    with pytest.raises(ValueError, match=r"`max_iter` must be at most 2\*\*63 - 1"):
        emd.sinkhorn([0.5, 0.5], [0.5, 0.5], M, 0.1, max_iter=2**63)


@pytest.mark.parametrize("seed,exc", [(-1, ValueError), ("abc", TypeError), (1.5, TypeError), (True, TypeError)])
def test_bad_seeds_name_the_seed(seed, exc):
    with pytest.raises(exc, match="`seed`"):
        emd.sliced_wasserstein(np.zeros((2, 2)), np.ones((2, 2)), seed=seed)
    with pytest.raises(exc, match="`seed`"):
        emd.MLPCritic.init([3, 4, 1], seed=seed)


@pytest.mark.parametrize("kind", ["list", np.float64, np.float32])
@pytest.mark.parametrize(
    "x,y,kwargs,match",
    [
        ([0.0, np.nan], [0.0, 1.0], {}, r"`x` must be finite, but x\[1\] = nan"),
        ([0.0, 1.0], [np.inf, 1.0], {}, r"`y` must be finite, but y\[0\] = inf"),
        ([0.0, 1.0], [0.0, 1.0], {"x_weights": [1.0, 1.0, 1.0]}, r"`x_weights` must have shape \(2,\) to match its points"),
        ([0.0, 1.0], [0.0, 1.0], {"y_weights": [-1.0, 1.0]}, r"`y_weights` must be nonnegative, but y_weights\[0\] = -1.0"),
        ([0.0, 1.0], [0.0, 1.0], {"y_weights": [0.0, 0.0]}, r"`y_weights` sums to 0"),
        ([0.0, 1.0], [0.0, 1.0], {"x_weights": [np.nan, 1.0]}, r"`x_weights` must be finite"),
        ([0.0, 1.0], [0.0, 1.0], {"p": 0.99}, r"`p` must be a finite number >= 1"),
        ([0.0, 1.0], [0.0, 2.0], {"metric": "bogus"}, r"`metric` must be one of"),
        ([0.0, 1.0], [0.0, 2.0], {"metric": None}, r"`metric` must be one of"),
    ],
)
def test_wasserstein_on_the_line_names_its_own_arguments(x, y, kwargs, match, kind):
    # Lists take the full path. 1-D arrays of one float dtype take the straight
    # path of wasserstein_1d, which must flag the input so that the full path
    # names wasserstein's own arguments (x, y, x_weights), with the very message
    # a strided view of the same arrays (never the straight path) gets.
    if kind == "list":
        with pytest.raises(ValueError, match=match):
            emd.wasserstein(x, y, **kwargs)
        return
    conv = {k: np.asarray(w, dtype=kind) if k.endswith("weights") else w for k, w in kwargs.items()}
    xa, ya = np.asarray(x, dtype=kind), np.asarray(y, dtype=kind)
    with pytest.raises(ValueError, match=match) as straight:
        emd.wasserstein(xa, ya, **conv)
    strided = {k: _strided(w) if isinstance(w, np.ndarray) else w for k, w in conv.items()}
    with pytest.raises(ValueError) as full:
        emd.wasserstein(_strided(xa), _strided(ya), **strided)
    assert str(straight.value) == str(full.value)


def test_wasserstein_on_the_line_with_a_non_line_metric_solves_the_transport_problem(rng):
    # sqeuclidean is not |x - y| on the line: the exact solver with its costs, not the sorting solver.
    x, y = rng.normal(size=7), rng.normal(size=5)
    ref = ot.emd2(np.full(7, 1 / 7), np.full(5, 1 / 5), (x[:, None] - y[None, :]) ** 2)
    assert emd.wasserstein(x, y, metric="sqeuclidean") == pytest.approx(ref, rel=1e-12)
    assert emd.wasserstein(x, y, metric="cityblock") == pytest.approx(scipy.stats.wasserstein_distance(x, y), rel=1e-12)


def test_cost_overflow_names_the_points_not_M():
    assert emd.wasserstein([[0.0, 0.0]], [[1e160, 0.0]]) == 1e160
    with pytest.raises(ValueError, match=r"costs euclidean\(x_i, y_j\) \*\* p overflow float64 \(p = 2\).*rescale the points"):
        emd.wasserstein([[0.0, 0.0]], [[1e160, 0.0]], p=2)
    with pytest.raises(ValueError, match=r"\*\* p overflow float64 \(p = 2000\).*rescale the points"):
        emd.wasserstein(np.zeros((2, 2)), np.ones((2, 2)), p=2000)


def test_mass_times_cost_beyond_float64_is_refused():
    with pytest.raises(ValueError, match=r"total mass 1e\+200 times the largest \|M\| 1e\+200"):
        emd.solve([1e200], [1e200], [[1e200]])


def test_sinkhorn_costs_that_overflow_or_swamp_reg_are_refused():
    # On-the-fly costs beyond the dtype gave NaN with only a convergence warning.
    with pytest.raises(ValueError, match=r"costs metric\(x_i, y_j\) \*\* p could reach .* float64's range"):
        emd.sinkhorn_samples([[0.0]], [[1e200]], 1.0)
    with pytest.raises(ValueError, match=r"float32's range.*float64 points"):
        emd.sinkhorn_samples(np.array([[0.0]], np.float32), np.array([[1e20]], np.float32), 1.0)
    with pytest.raises(ValueError, match=r"could reach"):
        emd.sinkhorn_divergence([[0.0], [1e200]], [[0.0], [1.0]], 1.0)
    # reg lost in the rounding of 1e200-sized potentials: cost inf with status
    # "converged" before; now refused, dense and matrix-free alike.
    with pytest.raises(ValueError, match=r"`reg` = 0.001 is below 1.42e-14 x the largest cost 1e\+200"):
        emd.sinkhorn_samples([[0.0], [1.0]], [[1e100], [2.0]], 1e-3, eps_scaling=0.5)
    with pytest.raises(ValueError, match=r"`reg` = 0.001 is below"):
        emd.sinkhorn(None, None, np.array([[0.0, 1e200], [1e200, 0.0]]), 1e-3)
    with pytest.raises(ValueError, match=r"`reg` = 1e-06 is below 7.63e-06 x the largest cost 1.*float64 inputs"):
        emd.sinkhorn(None, None, np.array([[0.0, 1.0], [1.0, 0.0]], np.float32), 1e-6)
    # The documented range stays open: reg = 1e-4 x max cost, in float32 too.
    res = emd.sinkhorn(None, None, np.array([[0.0, 1.0], [1.0, 0.0]], np.float32), 1e-4, tol=1e-3)
    assert res.status == "converged" and float(res.cost) == 0.0
    # A large p on small distances is fine (1 ** 1e4).
    assert float(emd.sinkhorn_samples([[0.0]], [[1.0]], 1.0, p=1e4).cost) == 1.0


def test_warnings_point_at_the_callers_line():
    # A fixed stacklevel pointed into the dispatch wrapper (_dispatch.py).
    M = np.random.default_rng(0).random((30, 30))
    calls = [
        lambda: emd.solve(None, None, M, max_iter=1),
        lambda: emd.emd(None, None, M, max_iter=1),
        lambda: emd.sinkhorn(None, None, M, 1e-3, max_iter=2),
        lambda: emd.sinkhorn_divergence(M[:20, :2], M[20:, 2:4], 1e-3, max_iter=2),
    ]
    for call in calls:
        with pytest.warns(RuntimeWarning) as record:
            call()
        assert {w.filename for w in record} == {__file__}


# --- the straight path of the common 1-D call (checks in the kernel's first pass) ---


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "args,kwargs,match",
    [
        (([np.nan, 1.0], GOOD), {}, r"`u_values` must be finite, but u_values\[0\] = nan"),
        ((GOOD, [0.0, np.inf]), {}, r"`v_values` must be finite, but v_values\[1\] = inf"),
        ((GOOD, [0.0, 1.0, -np.inf]), {}, r"`v_values` must be finite, but v_values\[2\] = -inf"),
        ((GOOD, GOOD, [1.0, np.nan, 1.0]), {}, r"`u_weights` must be finite, but u_weights\[1\] = nan"),
        ((GOOD, GOOD, [1.0, np.inf, 1.0]), {}, r"`u_weights` must be finite, but u_weights\[1\] = inf"),
        ((GOOD, GOOD, None, [1.0, -1.0, 1.0]), {}, r"`v_weights` must be nonnegative, but v_weights\[1\] = -1.0"),
        ((GOOD, GOOD, None, [1.0, -1e-30, 1.0]), {}, r"`v_weights` must be nonnegative"),
        ((GOOD, GOOD, [0.0, -0.0, 0.0]), {}, r"`u_weights` sums to 0"),
        ((GOOD, GOOD, [1.0, 1.0]), {}, r"`u_weights` must have the shape of `u_values` \(3,\), got \(2,\)"),
        ((GOOD, GOOD), {"p": 0.5}, r"`p` must be a finite number >= 1, got 0.5"),
        ((GOOD, GOOD), {"p": np.inf}, r"`p` must be a finite number >= 1"),
        ((GOOD, GOOD), {"p": np.nan}, r"`p` must be a finite number >= 1"),
        ((GOOD, GOOD), {"p": 0}, r"`p` must be a finite number >= 1, got 0"),
        (([], GOOD), {}, r"`u_values` is empty"),
        (([0.0, 1.0], [0.5], [1e308, 1e308]), {}, r"`u_weights` sums to more than the float64 range allows"),
    ],
)
def test_straight_path_raises_the_full_paths_messages(args, kwargs, match, dtype):
    # The common kind of call (1-D contiguous arrays of one float dtype) goes
    # through emd._core.wasserstein_1d_pair, which must flag the bad argument
    # (None) so that the full path names it: the same message as for the same
    # values in a strided view, which never takes the straight path.
    from emd._backend.cpu import wasserstein_1d_pair

    if dtype == np.float32 and "float64 range" in match:
        pytest.skip("1e308 is inf in float32: the finiteness case above")
    arrays = [None if a is None else np.asarray(a, dtype=dtype) for a in args]
    arrays += [None] * (4 - len(arrays))
    assert wasserstein_1d_pair(*arrays, kwargs.get("p", 1.0), False) is None
    assert wasserstein_1d_pair(*arrays, kwargs.get("p", 1.0), True) is None  # the scan without a sort
    with pytest.raises(ValueError, match=match) as straight:
        emd.wasserstein_1d(*arrays, **kwargs)
    with pytest.raises(ValueError) as full:
        emd.wasserstein_1d(*[a if a is None or a.size == 0 else _strided(a) for a in arrays], **kwargs)
    assert str(straight.value) == str(full.value)


@pytest.mark.parametrize(
    "args,kwargs,exc,match",
    [
        ((GOOD, GOOD), {"p": True}, TypeError, r"`p`"),
        ((GOOD, GOOD), {"p": "2"}, TypeError, r"`p`"),
        ((GOOD, GOOD), {"assume_sorted": 1}, TypeError, r"assume_sorted"),
        ((GOOD, GOOD), {"assume_sorted": None}, TypeError, r"assume_sorted"),
        ((GOOD + 1j, GOOD), {}, TypeError, r"u_values.*complex"),
        ((np.ones((2, 3)), np.ones((3, 3))), {}, ValueError, r"broadcast"),
    ],
)
def test_arguments_of_other_kinds_leave_the_straight_path(args, kwargs, exc, match):
    from emd._backend.cpu import wasserstein_1d_pair

    assert wasserstein_1d_pair(*args, None, None, kwargs.get("p", 1.0), kwargs.get("assume_sorted", False)) is None
    with pytest.raises(exc, match=match):
        emd.wasserstein_1d(*args, **kwargs)


def test_flagged_but_valid_weights_get_the_full_paths_answer():
    # The kernel's scan flags weights whose total it cannot bound inside the
    # normal range; the full path then decides: a subnormal total is only a
    # ratio (lifted), a largest weight near the float64 maximum is valid when
    # the total stays finite.
    from emd._backend.cpu import wasserstein_1d_pair

    u, v = np.array([0.0, 1.0]), np.array([0.0, 2.0])
    tiny = np.array([1e-320, 1e-320])
    assert wasserstein_1d_pair(u, v, tiny, tiny, 1.0, False) is None
    assert emd.wasserstein_1d(u, v, tiny, tiny) == emd.wasserstein_1d(u, v) == 0.5
    big = np.array([1e308, 0.0])
    assert wasserstein_1d_pair(u, np.array([0.5]), big, None, 1.0, False) is None
    assert emd.wasserstein_1d(u, np.array([0.5]), big) == 0.5
    # -0.0 is a zero weight, not a negative one: the straight path takes it.
    assert wasserstein_1d_pair(u, v, None, np.array([-0.0, 1.0]), 1.0, False) == 1.5
