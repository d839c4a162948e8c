"""The WGAN paper's parallel lines: TV, KL, JS saturate; W1 = |theta|."""

from __future__ import annotations

import numpy as np
import pytest

import emd
from emd._parallel_lines import line_histograms, line_samples

THETAS = [-1.0, -0.3, -1e-3, 1e-6, 0.25, 2.0]


@pytest.mark.parametrize("theta", THETAS)
def test_divergences_saturate(theta):
    p0, pt = line_histograms(theta)
    assert emd.tv(p0, pt) == 1.0
    assert emd.kl(p0, pt) == np.inf
    assert emd.js(p0, pt) == pytest.approx(np.log(2), rel=1e-15)


def test_all_zero_at_theta_zero():
    p0, pt = line_histograms(0.0)
    assert emd.tv(p0, pt) == 0.0
    assert emd.kl(p0, pt) == 0.0
    assert emd.js(p0, pt) == 0.0
    real, fake = line_samples(0.0, 1000, seed=0), line_samples(0.0, 1000, seed=1)
    assert emd.wasserstein(real[:, 0], fake[:, 0]) == 0.0


@pytest.mark.parametrize("theta", THETAS)
def test_w1_is_abs_theta_exact_1d(theta):
    real, fake = line_samples(0.0, 5000, seed=0), line_samples(theta, 3000, seed=1)
    assert emd.wasserstein(real[:, :1], fake[:, :1]) == pytest.approx(abs(theta), rel=1e-15)
    assert emd.wasserstein_1d(real[:, 0], fake[:, 0], p=2) == pytest.approx(abs(theta), rel=1e-15)


@pytest.mark.parametrize("theta", THETAS)
def test_w1_is_abs_theta_sliced_e1(theta):
    real, fake = line_samples(0.0, 5000, seed=0), line_samples(theta, 3000, seed=1)
    e1 = np.array([[1.0], [0.0]])
    assert emd.sliced_wasserstein(real, fake, projections=e1, p=1) == pytest.approx(abs(theta), rel=1e-15)


def test_w1_continuous_where_divergences_jump():
    thetas = np.linspace(-0.1, 0.1, 21)
    real = line_samples(0.0, 2000, seed=0)
    w = [emd.wasserstein(real[:, 0], line_samples(t, 2000, seed=1)[:, 0]) for t in thetas]
    np.testing.assert_allclose(w, np.abs(thetas), rtol=1e-14, atol=1e-17)
    assert max(abs(np.diff(w))) <= 0.01 + 1e-15  # Lipschitz in theta with constant 1


def test_demo_runs(capsys):
    from emd.__main__ import main

    main(n=2000)
    out = capsys.readouterr().out
    assert "W1" in out and "0.693" in out
