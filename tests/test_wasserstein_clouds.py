"""emd.wasserstein on point clouds (n, d), d >= 2: the straight path (issue 19).

Two C-contiguous NumPy clouds of one float dtype, weights None or 1-D of that
dtype, a metric name and p a Python number take emd._core.wasserstein_clouds_pair:
one call that checks the inputs while it builds the cost matrix, then solves.
It must give the full path's result to the last bit, and refuse (None) every
input one of the full path's checks could flag, so that the full path raises
its own message. The full path is reached through a Fortran-ordered copy of
the same points (never the straight path's kind), or called directly.
"""

from __future__ import annotations

import numpy as np
import ot
import pytest

import emd
from emd._backend.cpu import CPU_BACKEND, wasserstein_clouds_pair
from emd._metrics import METRIC_CODES
from emd._wasserstein import _wasserstein

from conftest import assert_ctrl_c_interrupts, rtol


def _full(x, y, xw=None, yw=None, p=1.0, metric="euclidean"):
    return _wasserstein(CPU_BACKEND, x, y, xw, yw, p, metric, "exact", None)


def _same_bits(a, b) -> bool:
    return type(a) is type(b) and a.tobytes() == b.tobytes()


def _clouds(rng, n, m, d, dtype, weighted):
    x = rng.normal(size=(n, d)).astype(dtype)
    y = (rng.normal(size=(m, d)) + 0.5).astype(dtype)
    if not weighted:
        return x, y, None, None
    xw = rng.random(n).astype(dtype)
    yw = (rng.random(m) * 1e-3).astype(dtype)  # another total: only the ratios matter
    if n > 2:
        xw[1] = 0.0  # a zero-weight point on purpose
    return x, y, xw, yw


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("metric", list(METRIC_CODES))
@pytest.mark.parametrize("p", [1.0, 2, 1.5, 3.0])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n,m,d", [(1, 1, 2), (2, 3, 2), (16, 16, 2), (64, 64, 2), (37, 50, 5)])
def test_straight_path_equals_the_full_path(rng, dtype, metric, p, weighted, n, m, d):
    x, y, xw, yw = _clouds(rng, n, m, d, dtype, weighted)
    straight = wasserstein_clouds_pair(x, y, xw, yw, p, METRIC_CODES[metric])
    assert straight is not None and straight.dtype == dtype and straight.shape == ()
    assert _same_bits(straight, _full(x, y, xw, yw, float(p), metric))
    assert _same_bits(emd.wasserstein(x, y, x_weights=xw, y_weights=yw, p=p, metric=metric), straight)
    fortran = [None if a is None else np.asfortranarray(a) for a in (x, y)]
    assert _same_bits(emd.wasserstein(*fortran, x_weights=xw, y_weights=yw, p=p, metric=metric), straight)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_straight_path_matches_pot(rng, dtype):
    # An independent reference: POT's network simplex on the same costs, in float64.
    x, y, xw, yw = _clouds(rng, 40, 30, 3, dtype, True)
    for p in (1.0, 2.0):
        a, b = (w.astype(np.float64) / w.astype(np.float64).sum() for w in (xw, yw))
        M = ot.dist(x.astype(np.float64), y.astype(np.float64), metric="euclidean") ** p
        ref = ot.emd2(a, b, M, numItermax=10**9) ** (1 / p)
        got = emd.wasserstein(x, y, x_weights=xw, y_weights=yw, p=p)
        assert got == pytest.approx(ref, rel=rtol(dtype))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_long_weights_are_normalized_like_numpy(rng, dtype):
    # The weights are divided by NumPy's own sum (pairwise, eight accumulators;
    # float32 cast in buffers of 8192): more than 128 and more than 8192 of them.
    for n in (300, 9000):
        x, y = rng.normal(size=(n, 2)).astype(dtype), rng.normal(size=(3, 2)).astype(dtype)
        xw = (rng.random(n) * 10.0 ** rng.uniform(-3, 3, n)).astype(dtype)
        straight = wasserstein_clouds_pair(x, y, xw, None, 1.0, METRIC_CODES["euclidean"])
        assert straight is not None
        assert _same_bits(straight, _full(x, y, xw, None))


# (x, y, keyword arguments, the message's pattern): inputs the full path refuses.
BAD = [
    ([[0.0, np.nan], [1.0, 1.0]], [[0.0, 1.0]], {}, r"`x` must be finite, but x\[\(0, 1\)\] = nan"),
    ([[0.0, 0.0]], [[0.0, 1.0], [np.inf, 1.0]], {}, r"`y` must be finite, but y\[\(1, 0\)\] = inf"),
    ([[0.0, 0.0]], [[0.0, 1.0, 2.0]], {}, r"`x` and `y` must have the same dimension"),
    ([[0.0, 0.0], [1.0, 1.0]], [[0.0, 1.0]], {"x_weights": [1.0, np.nan]}, r"`x_weights` must be finite"),
    ([[0.0, 0.0], [1.0, 1.0]], [[0.0, 1.0]], {"x_weights": [1.0, -1.0]}, r"`x_weights` must be nonnegative"),
    ([[0.0, 0.0], [1.0, 1.0]], [[0.0, 1.0]], {"x_weights": [0.0, 0.0]}, r"`x_weights` sums to 0"),
    ([[0.0, 0.0], [1.0, 1.0]], [[0.0, 1.0]], {"x_weights": [1.0, 1.0, 1.0]}, r"`x_weights` must have shape \(2,\)"),
    ([[0.0, 0.0], [1.0, 1.0]], [[0.0, 1.0]], {"y_weights": [1e308]}, None),  # valid: one weight
    ([[0.0, 0.0], [1.0, 1.0]], [[0.0, 1.0]], {"x_weights": [1.7e308, 1.7e308]}, r"`x_weights` sums to more than"),
    ([[0.0, 0.0]], [[0.0, 1.0]], {"p": 0.99}, r"`p` must be a finite number >= 1"),
    ([[0.0, 0.0]], [[0.0, 1.0]], {"p": np.inf}, r"`p` must be a finite number >= 1"),
    ([[0.0, 0.0]], [[0.0, 1.0]], {"p": np.nan}, r"`p` must be a finite number >= 1"),
    ([[0.0, 0.0]], [[1e160, 0.0]], {"p": 2}, r"costs euclidean\(x_i, y_j\) \*\* p overflow float64 \(p = 2\)"),
    (np.zeros((2, 2)), np.ones((2, 2)), {"p": 2000}, r"\*\* p overflow float64 \(p = 2000\)"),
    # Points beyond 2^300, which the full path rescales (the straight path leaves them to it).
    ([[0.0, 0.0]], [[6e299, 0.0]], {}, r"overflow float64 or the exact solver's range for 1 x 1 points"),
    # Points in range whose costs ** p overflow, or leave the solver's range (|M| (n + m) <= 1e300).
    ([[0.0, 0.0]], [[1e80, 0.0]], {"p": 4}, r"overflow float64 \(p = 4\) or the exact solver's range"),
    ([[0.0, 0.0]], [[1e75, 0.0]], {"p": 4.0}, r"overflow float64 \(p = 4\) or the exact solver's range for 1 x 1"),
    ([[0.0, 0.0]], [[0.7e75, 0.0]], {"p": 4.0}, None),  # 0.24e300 x 2: in range
    (np.zeros((0, 2)), np.ones((2, 2)), {}, r"`x` is empty"),
]


@pytest.mark.parametrize("x,y,kwargs,match", BAD)
def test_the_straight_path_refuses_what_the_full_path_refuses(x, y, kwargs, match):
    xa, ya = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    conv = {k: np.asarray(v, dtype=np.float64) if k.endswith("weights") else v for k, v in kwargs.items()}
    p = conv.get("p", 1.0)
    xw, yw = conv.get("x_weights"), conv.get("y_weights")
    straight = wasserstein_clouds_pair(xa, ya, xw, yw, p, METRIC_CODES["euclidean"])
    if match is None:  # valid after all: the straight path's result is the full path's
        assert _same_bits(straight, emd.wasserstein(np.asfortranarray(xa), np.asfortranarray(ya), **conv))
        return
    assert straight is None
    with pytest.raises(ValueError, match=match) as via_straight:
        emd.wasserstein(xa, ya, **conv)
    with pytest.raises(ValueError) as full:
        emd.wasserstein(np.asfortranarray(xa), np.asfortranarray(ya), **conv)
    assert str(via_straight.value) == str(full.value)


def test_float32_costs_beyond_the_dtype_are_refused():
    # float32 points whose costs overflow float32: the full path's message, not an inf.
    x = np.array([[-3e38, 0.0]], dtype=np.float32)
    y = np.array([[3e38, 0.0]], dtype=np.float32)
    assert wasserstein_clouds_pair(x, y, None, None, 1.0, METRIC_CODES["euclidean"]) is None
    with pytest.raises(ValueError, match=r"overflow float32: rescale the points or pass float64 points"):
        emd.wasserstein(x, y)


def test_other_kinds_of_arguments_take_the_full_path(rng):
    # Each argument below is valid but not of the straight path's kind: None
    # from the straight path, and emd.wasserstein still answers (the full path).
    x, y = rng.normal(size=(5, 2)), rng.normal(size=(4, 2))
    code = METRIC_CODES["euclidean"]
    assert wasserstein_clouds_pair(x, y, None, None, 1.0, code) is not None
    others = [
        (x.astype(np.float32), y, None, None, 1.0),  # mixed dtypes
        (x, y, np.ones(5, dtype=np.float32), None, 1.0),  # weights of another dtype
        (x, y, np.ones(5, dtype=np.int64), None, 1.0),
        (x, y, [1.0] * 5, None, 1.0),  # a list
        (x, y, None, None, np.float64(1.0)),  # a NumPy scalar p
        (np.asfortranarray(x), y, None, None, 1.0),  # not C-contiguous
        (x[:, :1], y[:, :1], None, None, 1.0),  # d = 1
        (x[:, 0], y[:, 0], None, None, 1.0),  # 1-D samples
        (x * 2.0**310, y * 2.0**310, None, None, 1.0),  # coordinates the full path rescales
        (x * 2.0**-310, y * 2.0**-310, None, None, 1.0),
        (x.tolist(), y, None, None, 1.0),
    ]
    for xa, ya, xw, yw, p in others:
        assert wasserstein_clouds_pair(xa, ya, xw, yw, p, code) is None
        got = emd.wasserstein(xa, ya, x_weights=xw, y_weights=yw, p=p)
        assert np.isfinite(got) and got > 0
    # The rescaled clouds: W1 is homogeneous of degree 1.
    scaled = emd.wasserstein(x * 2.0**310, y * 2.0**310)
    assert scaled == pytest.approx(emd.wasserstein(x, y) * 2.0**310, rel=1e-12)
    # True is a bool, which check_p refuses (a TypeError naming p).
    assert wasserstein_clouds_pair(x, y, None, None, True, code) is None
    with pytest.raises(TypeError, match=r"`p` must be a real number >= 1"):
        emd.wasserstein(x, y, p=True)
    assert wasserstein_clouds_pair(x, y, None, None, 1.0, 99) is None  # no such metric code


def test_the_power_is_numpys_and_obeys_its_error_state(rng):
    # M **= p runs through NumPy (the kernel calls back into it): costs near
    # 1e-80 raised to p = 4 underflow, which np.errstate(under="raise") turns
    # into the full path's FloatingPointError. The straight path must then
    # decline cleanly (None, no error left pending), and answer bit for bit
    # outside that state.
    x, y = rng.random((5, 2)) * 1e-80, rng.random((6, 2)) * 1e-80
    code = METRIC_CODES["euclidean"]
    with np.errstate(under="raise"):
        assert wasserstein_clouds_pair(x, y, None, None, 4.0, code) is None
        with pytest.raises(FloatingPointError, match="underflow"):
            emd.wasserstein(x, y, p=4.0)
    straight = wasserstein_clouds_pair(x, y, None, None, 4.0, code)
    assert straight is not None and straight > 0
    assert _same_bits(straight, _full(x, y, p=4.0))


def test_ctrl_c_interrupts_the_straight_path():
    # The solve inside the straight path runs with the GIL released and polls
    # for Ctrl-C (n = 3000, d = 32, Dirichlet weights: ~0.4 s of solve), after
    # the power's callback into NumPy (p = 2).
    setup = """
        from emd._backend.cpu import wasserstein_clouds_pair
        from emd._metrics import METRIC_CODES
        rng = np.random.default_rng(3)
        n = 3000
        x, y = rng.random((n, 32)), rng.random((n, 32))
        a, b = rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(n))
    """
    assert_ctrl_c_interrupts(setup, 'wasserstein_clouds_pair(x, y, a, b, 2.0, METRIC_CODES["sqeuclidean"])')
