"""GPU tv / kl / js against the CPU implementation and the closed forms."""

from __future__ import annotations

import numpy as np
import pytest

import emd
from conftest import rtol

pytestmark = pytest.mark.gpu

cp = pytest.importorskip("cupy") if emd.has_cuda() else None

# float64: the GPU sums in a tree in double, numpy pairwise: a few ulps.
# float32: the CPU path computes in float32 (numpy), the GPU in double, so the
# difference is the CPU's float32 rounding: the conftest table's 1e-5.
GPU_RTOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): rtol(np.float32)}
FUNCS = [emd.tv, emd.kl, emd.js]


def _check(fn, p, q, dtype, **kw):
    cpu = fn(p, q, **kw)
    dev = fn(cp.asarray(p), cp.asarray(q), **kw)
    if isinstance(cpu, float):
        assert isinstance(dev, float)
    else:
        assert isinstance(dev, cp.ndarray) and dev.dtype == dtype and dev.shape == cpu.shape
        dev = cp.asnumpy(dev)
    np.testing.assert_allclose(dev, cpu, rtol=GPU_RTOL[np.dtype(dtype)], atol=1e-7 if dtype == np.float32 else 1e-15)


@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bins", [1, 2, 7, 1000, 4097])
def test_matches_cpu(rng, fn, dtype, bins):
    p = rng.uniform(0, 1, bins).astype(dtype)
    q = rng.uniform(0.01, 1, bins).astype(dtype)
    p[0] = 0  # a zero bin on purpose
    if bins == 1:
        p[0] = 1
    _check(fn, p, q, dtype)


@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batched_axis_and_broadcast(rng, fn, dtype):
    p = rng.uniform(0, 1, (3, 9, 4)).astype(dtype)
    q = rng.uniform(0.01, 1, (9, 4)).astype(dtype)
    _check(fn, p, q, dtype, axis=-2)  # q broadcasts over p's first axis
    _check(fn, p, q[:, :1], dtype, axis=-2)  # and over p's last
    _check(fn, p, p[::-1], dtype, axis=-1)


def test_known_values():
    a = cp.asarray([1.0, 0.0, 0.0])
    b = cp.asarray([0.0, 0.0, 2.0])
    assert emd.tv(a, b) == 1.0
    assert emd.kl(a, b) == np.inf
    assert emd.js(a, b) == pytest.approx(np.log(2.0), rel=1e-15)
    assert emd.kl(a, a) == 0.0


def test_kl_ratio_beyond_the_float_range():
    # p_i / q_i overflows (0.5 / 5e-324) though its log is finite: the CPU's
    # fix (log p_i - log q_i there), against the closed form.
    expected = 0.5 * np.log(0.5) + 0.5 * (np.log(0.5) - np.log(5e-324))
    assert emd.kl(cp.asarray([0.5, 0.5]), cp.asarray([1.0, 5e-324])) == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("fn", FUNCS)
@pytest.mark.parametrize(
    "p, q, kw",
    [
        (np.array([1.0, -0.5]), np.array([1.0, 1.0]), {}),
        (np.array([0.0, 0.0]), np.array([1.0, 1.0]), {}),
        (np.array([1.0, np.nan]), np.array([1.0, 1.0]), {}),
        (np.array([1.0, 1.0]), np.array([1.0, 1.0, 1.0]), {}),
        (np.ones((2, 3)), np.ones((4, 3)), {}),
        (np.ones(3), np.ones(3), {"axis": 1}),
        (np.ones(3), np.ones(3), {"axis": 0.5}),
        (np.ones(3) + 1j, np.ones(3), {}),
    ],
)
def test_bad_inputs_same_errors_as_cpu(fn, p, q, kw):
    with pytest.raises((TypeError, ValueError)) as cpu_err:
        fn(p, q, **kw)
    with pytest.raises(type(cpu_err.value)) as dev_err:
        fn(cp.asarray(p), cp.asarray(q), **kw)
    assert str(dev_err.value) == str(cpu_err.value)
