"""emd.sliced_wasserstein against POT and the 1-D solver."""

from __future__ import annotations

import numpy as np
import ot  # the test extra installs POT: a missing one must fail, not skip the module
import pytest

import emd


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_pot_with_same_projections(rng, p, weighted):
    n, m, d, L = 300, 250, 5, 40
    x, y = rng.normal(size=(n, d)), rng.normal(0.5, 1.5, size=(m, d))
    a = rng.random(n) if weighted else np.full(n, 1 / n)
    b = rng.random(m) if weighted else np.full(m, 1 / m)
    a, b = a / a.sum(), b / b.sum()
    theta = rng.normal(size=(d, L))
    theta /= np.linalg.norm(theta, axis=0)
    ref = ot.sliced_wasserstein_distance(x, y, a, b, projections=theta, p=p)
    got = emd.sliced_wasserstein(x, y, x_weights=a if weighted else None, y_weights=b if weighted else None, p=p, projections=theta)
    assert got == pytest.approx(ref, rel=1e-12)  # measured 1.5e-14


def test_projections_are_normalized(rng):
    x, y = rng.normal(size=(50, 3)), rng.normal(size=(40, 3))
    theta = rng.normal(size=(3, 7))
    a = emd.sliced_wasserstein(x, y, projections=theta)
    b = emd.sliced_wasserstein(x, y, projections=theta * rng.uniform(0.1, 10, size=7))
    assert a == pytest.approx(b, rel=1e-12)


def test_d1_equals_one_d(rng):
    x, y = rng.normal(size=(80, 1)), rng.normal(size=(60, 1))
    for p in (1.0, 2.0):
        got = emd.sliced_wasserstein(x, y, p=p, n_projections=5, seed=3)
        ref = ot.wasserstein_1d(x[:, 0], y[:, 0], p=p) ** (1 / p)
        assert got == pytest.approx(ref, rel=1e-12)


def test_identical_clouds_give_zero(rng):
    x = rng.normal(size=(100, 4))
    assert emd.sliced_wasserstein(x, x, seed=0) == 0.0
    assert emd.sliced_wasserstein(x, x[::-1], seed=0, reduce="max") == 0.0


def test_seed_reproducible_and_max_above_mean(rng):
    x, y = rng.normal(size=(100, 6)), rng.normal(1.0, 1.0, size=(90, 6))
    a = emd.sliced_wasserstein(x, y, seed=42)
    assert a == emd.sliced_wasserstein(x, y, seed=42)
    assert emd.sliced_wasserstein(x, y, seed=42, reduce="max") >= a


def test_max_sliced_with_given_directions(rng):
    x, y = rng.normal(size=(100, 2)), rng.normal(size=(100, 2)) + np.array([3.0, 0.0])
    theta = np.array([[1.0, 0.0], [0.0, 1.0]])  # e1 and e2
    got = emd.sliced_wasserstein(x, y, projections=theta, reduce="max", p=1)
    assert got == pytest.approx(ot.wasserstein_1d(x[:, 0], y[:, 0], p=1), rel=1e-12)


def test_float32(rng):
    x, y = rng.normal(size=(200, 3)), rng.normal(size=(150, 3))
    theta = rng.normal(size=(3, 16))
    x32, y32 = x.astype(np.float32), y.astype(np.float32)
    # POT in float64 on the same rounded points and the normalized directions
    unit = theta / np.linalg.norm(theta, axis=0)
    ref = ot.sliced_wasserstein_distance(x32.astype(np.float64), y32.astype(np.float64), projections=unit, p=2)
    got = emd.sliced_wasserstein(x32, y32, projections=theta)
    assert got == pytest.approx(ref, rel=2e-7)  # one float32 rounding (measured 3e-8)


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"n_projections": 0}, ValueError, "n_projections"),
        ({"n_projections": 2.5}, TypeError, "n_projections"),
        ({"projections": np.zeros((3, 2))}, ValueError, "projections"),
        ({"projections": np.ones((4, 2))}, ValueError, "projections"),
        ({"projections": np.ones(3)}, ValueError, "projections"),
        ({"projections": np.array([[np.nan], [1.0], [1.0]])}, ValueError, "projections"),
        ({"reduce": "median"}, ValueError, "reduce"),
        ({"p": 0.5}, ValueError, "p"),
        ({"x_weights": np.ones(4)}, ValueError, "x_weights"),
        ({"y_weights": -np.ones(6)}, ValueError, "y_weights"),
    ],
)
def test_bad_input(rng, kwargs, exc, match):
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(6, 3))
    with pytest.raises(exc, match=match):
        emd.sliced_wasserstein(x, y, **kwargs)


def test_dimension_mismatch(rng):
    with pytest.raises(ValueError, match="dimension"):
        emd.sliced_wasserstein(rng.normal(size=(5, 3)), rng.normal(size=(5, 2)))


@pytest.mark.parametrize("scale", [1e200, 1e-200, 5e-324])
def test_projection_columns_of_any_magnitude_are_directions(scale):
    # The column norm overflowed (0.0 came back) or underflowed ("column 0 is zero").
    x, y = np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([[2.0, 0.0], [3.0, 1.0]])
    assert emd.sliced_wasserstein(x, y, projections=[[scale], [0.0]]) == 2.0


@pytest.mark.parametrize("value,p", [(10.0, 400.0), (0.1, 1000.0)])
def test_power_mean_over_projections_is_rescaled(value, p):
    # mean(w ** p) ** (1 / p) overflowed (10 ** 400) or underflowed (0.1 ** 1000).
    x, y = np.zeros((2, 2)), np.full((2, 2), value)
    theta = emd.sliced_wasserstein(x, y, p=p, projections=np.eye(2))
    assert theta == pytest.approx(value, rel=1e-12)
