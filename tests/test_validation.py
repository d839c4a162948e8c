"""Bad input: a ValueError/TypeError naming the argument, never a crash."""

from __future__ import annotations

import numpy as np
import pytest

import emd

GOOD = np.array([0.0, 1.0, 2.0])


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
    assert emd.wasserstein_1d([1e-300], [2e-300]) == pytest.approx(1e-300)
    # |x - y| overflows float64: the answer is inf, said plainly, not NaN
    assert emd.wasserstein_1d([1.7e308], [-1.7e308]) == np.inf


def test_weights_whose_total_overflows_are_refused():
    # The normalized CDF would be 0 everywhere: refuse instead of a silent wrong answer.
    with pytest.raises(ValueError, match="u_weights.*float64 range"):
        emd.wasserstein_1d([0.0, 1.0], [0.5], [1e308, 1e308])
    with pytest.raises(ValueError, match="`p`.*float64 range"):
        emd.tv([1e308, 1e308], [0.5, 0.5])
