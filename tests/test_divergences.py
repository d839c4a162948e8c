"""emd.tv, emd.kl, emd.js against scipy and closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.special import rel_entr
from scipy.stats import entropy

import emd


def _hists(rng, shape):
    p, q = rng.random(shape), rng.random(shape)
    return p / p.sum(-1, keepdims=True), q / q.sum(-1, keepdims=True)


def test_tv_matches_definition_and_sup_over_sets(rng):
    p, q = _hists(rng, 8)
    t = emd.tv(p, q)
    assert t == pytest.approx(0.5 * np.abs(p - q).sum(), rel=1e-14)
    # sup_A |P(A) - Q(A)| by brute force over all 2^8 subsets
    best = max(abs(p[list(s)].sum() - q[list(s)].sum())
               for k in range(9) for s in __import__("itertools").combinations(range(8), k))
    assert t == pytest.approx(best, rel=1e-12)


def test_kl_matches_scipy_entropy(rng):
    p, q = _hists(rng, 50)
    assert emd.kl(p, q) == pytest.approx(entropy(p, q), rel=1e-13)
    assert emd.kl(3 * p, 7 * q) == pytest.approx(entropy(p, q), rel=1e-13)  # normalized internally


def test_js_is_square_of_scipy_jensenshannon(rng):
    p, q = _hists(rng, 30)
    assert emd.js(p, q) == pytest.approx(jensenshannon(p, q) ** 2, rel=1e-12)


def test_zero_conventions():
    p = np.array([0.5, 0.5, 0.0])
    q = np.array([0.5, 0.0, 0.5])
    assert emd.kl(p, q) == np.inf
    assert emd.kl(np.array([0.5, 0.5, 0.0]), np.array([0.25, 0.25, 0.5])) == pytest.approx(np.log(2))
    assert emd.kl(p, p) == 0.0
    assert emd.js(p, q) == pytest.approx(0.5 * np.log(2))
    assert emd.tv(p, q) == pytest.approx(0.5)
    assert np.isfinite(emd.js(p, q))


def test_disjoint_supports_saturate():
    p, q = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    assert emd.tv(p, q) == 1.0
    assert emd.kl(p, q) == np.inf
    assert emd.js(p, q) == pytest.approx(np.log(2), rel=1e-15)


@pytest.mark.parametrize("fn", [emd.tv, emd.kl, emd.js])
def test_batched_along_axis(rng, fn):
    p, q = _hists(rng, (4, 3, 10))
    out = fn(p, q)
    assert out.shape == (4, 3)
    for i in range(4):
        for j in range(3):
            assert out[i, j] == pytest.approx(fn(p[i, j], q[i, j]), rel=1e-14)
    out0 = fn(np.moveaxis(p, -1, 0), np.moveaxis(q, -1, 0), axis=0)
    np.testing.assert_allclose(out0, out, rtol=1e-14)


def test_rel_entr_reference(rng):
    p, q = _hists(rng, 40)
    p[::5] = 0
    p /= p.sum()
    assert emd.kl(p, q) == pytest.approx(rel_entr(p, q).sum(), rel=1e-13)


def test_float32_dtype(rng):
    p, q = _hists(rng, (3, 20))
    p32, q32 = p.astype(np.float32), q.astype(np.float32)
    for fn, ref in (
        (emd.js, jensenshannon(p32.astype(np.float64), q32.astype(np.float64), axis=-1) ** 2),
        (emd.kl, rel_entr(p32 / p32.sum(-1, keepdims=True, dtype=np.float64),
                          q32 / q32.sum(-1, keepdims=True, dtype=np.float64)).sum(-1)),
    ):
        out = fn(p32, q32)
        assert out.dtype == np.float32
        # computed in float64 from the float32 inputs, rounded once
        np.testing.assert_allclose(out, ref, rtol=1e-7)


@pytest.mark.parametrize("fn", [emd.tv, emd.kl, emd.js])
@pytest.mark.parametrize(
    "p,q,exc,match",
    [
        ([0.5, -0.1, 0.6], [0.3, 0.3, 0.4], ValueError, "nonnegative"),
        ([0.0, 0.0], [0.5, 0.5], ValueError, "sums to 0"),
        ([np.nan, 1.0], [0.5, 0.5], ValueError, "finite"),
        ([np.inf, 1.0], [0.5, 0.5], ValueError, "finite"),
        ([0.5, 0.5], [0.2, 0.3, 0.5], ValueError, "bins"),
        ([], [], ValueError, "empty"),
        ([1 + 1j, 1.0], [0.5, 0.5], TypeError, "complex"),
        (["a", "b"], [0.5, 0.5], TypeError, "dtype"),
    ],
)
def test_bad_input(fn, p, q, exc, match):
    with pytest.raises(exc, match=match):
        fn(p, q)


def test_kl_with_a_ratio_beyond_the_float_range():
    # p_i / q_i overflowed (0.5 / 5e-324) and gave inf; its log is finite.
    expected = 0.5 * np.log(0.5) + 0.5 * (np.log(0.5) - np.log(5e-324))
    assert emd.kl([0.5, 0.5], [1.0, 5e-324]) == pytest.approx(expected, rel=1e-14)
    assert emd.kl([0.5, 0.5], [1.0, 0.0]) == np.inf


def test_positive_axis_is_read_on_the_broadcast_shape():
    # axis=0 meant each input's own axis 0: p (2, 2) was normalized along what
    # became axis 1 after broadcasting against q (2, 2, 2), and kl came out 0.0
    # for two different histograms. Now it is the broadcast shape's axis 0.
    rng = np.random.default_rng(0)
    p, q = rng.random((6, 3)) + 0.1, rng.random((2, 6, 3)) + 0.1
    for fn in (emd.tv, emd.kl, emd.js):
        got = fn(p, q, axis=1)
        loop = np.array([[fn(p[:, j], q[k, :, j]) for j in range(3)] for k in range(2)])
        np.testing.assert_allclose(got, loop, rtol=1e-12)
        np.testing.assert_allclose(fn(p, q, axis=-2), got, rtol=0)
    with pytest.raises(ValueError, match=r"same number of bins along axis 0, got 1 and 2"):
        emd.kl(np.ones((2, 2)), np.ones((2, 2, 2)), axis=0)
