"""The bucketed sort and walk of a single weighted float64 pair (emd::WeightedSort).

`emd.wasserstein_1d` takes it from 2^20 points of the pair on; `_core.wasserstein_1d`
can force it ("buckets") or today's whole-row sort ("whole_rows") at any size, so
the inputs that stress it (ties, -0.0, denormals, crowded and far values, zero
weights, empty buckets) are checked at small sizes too, against scipy, closed
forms and the whole-row path.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from scipy.stats import wasserstein_distance

import emd
from conftest import exact_w1, rtol
from emd import _core

# WeightedSort::automatic takes the buckets from this many points of the pair on
# (k_bucket_min_points in csrc/cpu/one_d.cpp).
BUCKET_MIN_POINTS = 1 << 20
_PAIR = np.zeros(1, np.int64)


def _w(u, v, uw, vw, how, p=1.0):
    """W_p of one weighted float64 pair through the kernel's `how` sort."""
    rows = [np.ascontiguousarray(a, dtype=np.float64)[None] for a in (u, uw, v, vw)]
    return float(_core.wasserstein_1d(*rows, _PAIR, _PAIR, p, False, how)[0])


def _cases(rng):
    n = 20_000
    normal = rng.normal(size=n)
    out = {
        "normal": (rng.normal(size=n), rng.normal(0.3, 1.2, size=n - 3)),
        # Cauchy against Cauchy: W_1 then lies mostly in the far tails, where
        # |F_u - F_v| is a small difference of two F near 1 (1e-11 relative
        # for both paths against a long double reference): left out.
        "cauchy": (rng.normal(size=n), rng.standard_cauchy(size=n + 5)),
        "all equal": (np.full(n, 2.5), np.full(n, 2.5)),
        "two values": (rng.choice([1.0, 2.0], n), rng.choice([1.0, 3.0], n)),
        "-0.0 and +0.0": (rng.choice([-0.0, 0.0], n), rng.choice([-0.0, 0.0, 1e-300], n)),
        "denormals": (rng.random(n) * 1e-310, rng.random(n) * 1e-310 - 5e-311),
        "huge range": (rng.normal(size=n) * 1e200, rng.normal(size=n) * 1e-200),
        "sorted": (np.sort(normal), np.sort(rng.normal(size=n))),
        "reversed": (np.sort(normal)[::-1], np.sort(rng.normal(size=n))[::-1]),
        # The splitters see every 4th point here (~4096 of 20,000): the last
        # index is not among them, so these outliers lie outside the sampled
        # range and are clamped into the end buckets.
        "one outlier 1e300": (np.r_[normal[:-1], 1e300], rng.normal(size=n)),
        "outliers at both ends": (np.r_[normal[:-2], -1e250, 3e-5], np.r_[rng.normal(size=n - 1), 1e250]),
        "one outlier 1e200": (np.r_[normal[:-1], 1e200], rng.normal(size=n)),
        "integers": (rng.integers(0, 50, n).astype(float), rng.integers(0, 60, n).astype(float)),
        "disjoint, u below": (normal, rng.normal(100.0, 1.0, n)),
        "disjoint, v below": (normal + 100.0, rng.normal(size=n)),
        "seven points in v": (normal, rng.normal(size=7)),
        "three points in u": (rng.normal(size=3), normal),
    }
    return out


@pytest.mark.parametrize("name", list(_cases(np.random.default_rng(0))))
def test_buckets_match_whole_rows_and_scipy(rng, name):
    u, v = _cases(rng)[name]
    uw, vw = rng.random(u.size) + 0.01, rng.random(v.size) + 0.01
    got = _w(u, v, uw, vw, "buckets")
    assert got == pytest.approx(_w(u, v, uw, vw, "whole_rows"), rel=rtol(np.float64), abs=0.0)
    # A far outlier's W_1 is its mass times the distance, its mass 1 - F of the
    # rest: scipy's forward cumsum leaves 1e-12 there, so exact rationals.
    want = exact_w1(u, v, uw, vw) if "outlier" in name else wasserstein_distance(u, v, uw, vw)
    assert got == pytest.approx(want, rel=rtol(np.float64), abs=1e-300)


@pytest.mark.parametrize("n,m", [(1, 1), (1, 2), (2, 3), (17, 9), (1000, 777), (5000, 7001), (40_001, 39_999)])
@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
def test_buckets_at_every_size(rng, n, m, p):
    u, v = rng.normal(size=n), rng.standard_cauchy(size=m)
    uw, vw = rng.random(n) + 0.01, rng.random(m) + 0.01
    want = wasserstein_distance(u, v, uw, vw) if p == 1.0 else _w(u, v, uw, vw, "whole_rows", p)
    assert _w(u, v, uw, vw, "buckets", p) == pytest.approx(want, rel=rtol(np.float64))


@pytest.mark.parametrize("t", [-3.25, 1e-3, 40.0])
def test_translation_gives_shift(rng, t):
    # W_1(mu, mu + t) = |t|, with the second sample in another order. Values and
    # shift on a grid of 2^-30, so that u + t is exact and the measures are
    # exact translates.
    n = 30_000
    grid = 2.0**-30
    u, uw = np.round(rng.normal(size=n) / grid) * grid, rng.random(n) + 0.01
    t = np.round(t / grid) * grid
    order = rng.permutation(n)
    got = _w(u, (u + t)[order], uw, uw[order], "buckets")
    assert got == pytest.approx(abs(t), rel=rtol(np.float64))


def test_clusters_far_apart(rng):
    # 60 tight clusters 10 apart, u's and v's with other weights: almost all of
    # W_1 lies in the gaps between clusters, i.e. between buckets. Dropping or
    # misplacing the segment from one bucket's last point to the next one's
    # first, or a bucket's starting cumulative weight, changes W by far more
    # than the tolerance.
    k, per = 60, 500
    centers = np.repeat(np.arange(k) * 10.0, per)
    u = centers + rng.normal(scale=1e-3, size=k * per)
    v = centers + rng.normal(scale=1e-3, size=k * per)
    uw = np.repeat(rng.random(k) + 0.5, per) * (rng.random(k * per) + 0.5)
    vw = np.repeat(rng.random(k) + 0.5, per) * (rng.random(k * per) + 0.5)
    ref = wasserstein_distance(u, v, uw, vw)
    assert ref > 1.0
    assert _w(u, v, uw, vw, "buckets") == pytest.approx(ref, rel=rtol(np.float64))


@pytest.mark.parametrize(
    "name",
    ["trailing zero weights far away", "leading zero weight far away", "light far points",
     "light far points on both sides", "mostly zero weights"],
)
def test_zero_and_light_weights_at_the_ends(rng, name):
    # Above the lower weighted median both paths sum 1 - F from the right (the
    # buckets above the median's bucket, and that bucket above the median): a
    # row's 1 - F is exactly 0 after its last positive weight, and light far
    # points keep their digits where F_u and F_v are both near 1 (a forward
    # cumsum, scipy's and the walk's before, was 1e-8 off on the both-sides
    # case). Against W_1 in exact arithmetic.
    n = 3000
    u, v = rng.normal(size=n), rng.normal(size=n)
    uw, vw = rng.random(n), rng.random(n)
    if name == "trailing zero weights far away":
        u[:2], uw[:2] = [1e6, 2e6], 0.0
    elif name == "leading zero weight far away":
        u[0], uw[0] = -1e6, 0.0
    elif name == "light far points":
        u[0], uw[0] = -1e6, 1e-12  # below v: F_u alone, no cancellation
        v[0], vw[0] = 1e7, 1e-13  # beyond u: in v's backward tail
    elif name == "light far points on both sides":
        u[0], uw[0] = 1e6, 1e-12  # between 1e6 and 1e7 both F are near 1
        v[:2], vw[:2] = [-1e6, 1e7], [1e-12, 1e-13]
    else:
        uw[rng.random(n) < 0.99] = 0.0
        vw[rng.random(n) < 0.99] = 0.0
        uw[0] = vw[0] = 1.0
    want = exact_w1(u, v, uw, vw)
    assert _w(u, v, uw, vw, "buckets") == pytest.approx(want, rel=rtol(np.float64))
    assert _w(u, v, uw, vw, "whole_rows") == pytest.approx(want, rel=rtol(np.float64))


def test_crowded_values_fall_back_and_agree(rng):
    # A bucket above a quarter of a row (here: 90% of u at one value) makes the
    # pair take the whole-row sort; the answer is the same either way.
    n = 50_000
    u = np.where(rng.random(n) < 0.9, 1.0, rng.normal(size=n))
    v = rng.normal(size=n)
    uw, vw = rng.random(n) + 0.01, rng.random(n) + 0.01
    got = _w(u, v, uw, vw, "buckets")
    assert got == _w(u, v, uw, vw, "whole_rows")
    assert got == pytest.approx(wasserstein_distance(u, v, uw, vw), rel=rtol(np.float64))


@pytest.mark.parametrize("extra", [-1, 0])
def test_public_call_at_the_threshold(rng, extra):
    # n + m = 2^20 - 1 takes the whole-row sort, 2^20 the buckets.
    n = BUCKET_MIN_POINTS // 2
    u, v = rng.normal(size=n), rng.normal(0.1, 1.1, size=n + extra)
    uw, vw = rng.random(n) + 0.01, rng.random(n + extra) + 0.01
    got = emd.wasserstein_1d(u, v, uw, vw)
    assert got == pytest.approx(wasserstein_distance(u, v, uw, vw), rel=rtol(np.float64))
    assert got == pytest.approx(_w(u, v, uw, vw, "buckets"), rel=rtol(np.float64))


@pytest.mark.parametrize(
    "spoil,arg",
    [
        (lambda u, v, uw, vw: u.__setitem__(123, np.nan), "u"),
        (lambda u, v, uw, vw: v.__setitem__(-1, np.inf), "v"),
        (lambda u, v, uw, vw: vw.__setitem__(7, -0.5), "v_weights"),
        (lambda u, v, uw, vw: uw.__setitem__(slice(None), 0.0), "u_weights"),
    ],
)
def test_input_checks_through_the_buckets(rng, spoil, arg):
    # The public call at 2^20 points scans the inputs in the buckets' passes;
    # a flaw sends it to the Python checks, which name the argument.
    n = BUCKET_MIN_POINTS // 2
    u, v, uw, vw = rng.normal(size=n), rng.normal(size=n), rng.random(n) + 0.01, rng.random(n) + 0.01
    spoil(u, v, uw, vw)
    with pytest.raises(ValueError, match=arg):
        emd.wasserstein_1d(u, v, uw, vw)


def test_weighted_sort_must_be_known(rng):
    u = rng.normal(size=4)
    with pytest.raises(ValueError, match="weighted_sort"):
        _w(u, u, u * 0 + 1, u * 0 + 1, "bucket")


_THREADS_SCRIPT = """
import numpy as np
from emd import _core
rng = np.random.default_rng(5)
n = 300_001
u, v = rng.standard_cauchy(size=n), rng.normal(size=n - 11)
uw, vw = rng.random(n), rng.random(n - 11)
z = np.zeros(1, np.int64)
print(repr(float(_core.wasserstein_1d(u[None], uw[None], v[None], vw[None], z, z, 1.0, False, "buckets")[0])))
"""


def test_same_bits_for_any_thread_count():
    # Buckets are sorted and walked on whichever thread claims them; their
    # integrals are added in bucket order, so the bits do not depend on it.
    got = set()
    for threads in ("1", "2", "3"):
        env = dict(os.environ, OMP_NUM_THREADS=threads)
        out = subprocess.run([sys.executable, "-c", _THREADS_SCRIPT], env=env, capture_output=True, text=True,
                             timeout=120)
        assert out.returncode == 0, out.stderr
        got.add(out.stdout.strip())
    assert len(got) == 1, got
