"""GPU wasserstein_1d and sliced_wasserstein against the CPU kernels.

Every test feeds the same seeded inputs to the CPU path (NumPy) and to the
GPU path (CuPy), whose own correctness tests/test_one_d.py establishes
against scipy and closed forms.
"""

from __future__ import annotations

import numpy as np
import pytest

import emd
from conftest import NEAR_RANGE_CASES, RESCALED_CASES, rtol

pytestmark = pytest.mark.gpu

cp = pytest.importorskip("cupy") if emd.has_cuda() else None

# GPU vs CPU. float64: the GPU adds the same nonnegative terms as the CPU walk
# but in a tree (not sequentially with compensation) and builds the weight
# CDFs by a parallel scan, so the two differ by a few ulps times log2(n + m):
# 1e-10 leaves room without hiding a wrong term (which is O(1 / n) at least).
# float32: both accumulate the same float32 inputs in double and round once,
# so the conftest table (1e-5) applies.
GPU_RTOL = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): rtol(np.float32)}

DTYPES = [np.float32, np.float64]
SIZES = [(1, 1), (1, 2), (2, 1), (2, 2), (3, 5), (7, 7), (101, 64), (1000, 999)]


def _close(gpu, cpu, dtype):
    gpu_host = cp.asnumpy(gpu) if isinstance(gpu, cp.ndarray) else np.asarray(gpu)
    np.testing.assert_allclose(gpu_host, cpu, rtol=GPU_RTOL[np.dtype(dtype)], atol=1e-12)


def _same(fn, *args, **kwargs):
    """Run fn on NumPy and on CuPy copies of the array arguments."""
    cpu = fn(*args, **kwargs)
    dev = fn(*(cp.asarray(a) if isinstance(a, np.ndarray) else a for a in args),
             **{k: cp.asarray(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()})
    return dev, cpu


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, m", SIZES)
@pytest.mark.parametrize("p", [1.0, 2.0, 1.5, 3.0])
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_cpu(rng, dtype, n, m, p, weighted):
    u = rng.standard_normal(n).astype(dtype)
    v = (rng.standard_normal(m) * 2 + 1).astype(dtype)
    uw = rng.uniform(0.1, 1.0, n).astype(dtype) if weighted else None
    vw = rng.uniform(0.1, 1.0, m).astype(dtype) if weighted else None
    dev, cpu = _same(emd.wasserstein_1d, u, v, uw, vw, p=p)
    assert isinstance(dev, float)  # 1-D inputs: the API's float, read back once
    _close(dev, cpu, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [1.0, 2.0, 2.5])
def test_zero_weights_and_ties(rng, dtype, p):
    # Zero weights first, in the middle and last (a far zero-weight point must
    # change nothing), and integer values with many ties inside and across rows.
    u = rng.integers(0, 5, 41).astype(dtype)
    v = rng.integers(0, 5, 30).astype(dtype)
    u[-1] = 1e3
    uw = rng.integers(0, 3, 41).astype(dtype)
    uw[0] = uw[-1] = 0
    uw[5] = 1
    vw = rng.integers(0, 3, 30).astype(dtype)
    vw[3] = 1
    dev, cpu = _same(emd.wasserstein_1d, u, v, uw, vw, p=p)
    _close(dev, cpu, dtype)
    dev, cpu = _same(emd.wasserstein_1d, u, v, p=p)  # uniform, ties only
    _close(dev, cpu, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_batched_broadcast_returns_device_array_of_input_dtype(rng, dtype):
    u = rng.standard_normal((4, 3, 50)).astype(dtype)
    v = rng.standard_normal((3, 33)).astype(dtype)
    uw = rng.uniform(0, 1, (4, 3, 50)).astype(dtype)
    for p in (1.0, 2.0, 1.25):
        dev, cpu = _same(emd.wasserstein_1d, u, v, uw, p=p)
        assert isinstance(dev, cp.ndarray) and dev.shape == (4, 3) and dev.dtype == dtype
        _close(dev, cpu, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_assume_sorted(rng, dtype):
    u = np.sort(rng.standard_normal((5, 40)).astype(dtype), axis=-1)
    v = np.sort(rng.standard_normal((5, 21)).astype(dtype), axis=-1)
    vw = rng.uniform(0, 1, (5, 21)).astype(dtype)
    for p in (1.0, 2.0):
        dev, cpu = _same(emd.wasserstein_1d, u, v, None, vw, p=p, assume_sorted=True)
        _close(dev, cpu, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_long_rows_and_many_scan_tiles(rng, dtype):
    # Rows >= 2^16 take the device-wide sort, one row at a time; 5e6 weighted
    # points span more than 2048 scan tiles, so the per-row scan of the tile
    # sums runs several chunks with a carry.
    u = rng.standard_normal((2, 70_000)).astype(dtype)
    v = rng.standard_normal((2, 65_536)).astype(dtype)
    uw = rng.uniform(0, 1, (2, 70_000)).astype(dtype)
    for p in (1.0, 2.0):
        dev, cpu = _same(emd.wasserstein_1d, u, v, uw, p=p)
        _close(dev, cpu, dtype)
    big_u = rng.standard_normal(5_000_000).astype(dtype)
    big_w = rng.uniform(0, 1, 5_000_000).astype(dtype)
    big_v = rng.standard_normal(3_000_001).astype(dtype)
    dev, cpu = _same(emd.wasserstein_1d, big_u, big_v, big_w, p=1.0)
    _close(dev, cpu, dtype)


def test_deterministic(rng):
    u = cp.asarray(rng.standard_normal((8, 30_001)))
    v = cp.asarray(rng.standard_normal((8, 20_000)))
    w = cp.asarray(rng.uniform(0, 1, (8, 30_001)))
    a = emd.wasserstein_1d(u, v, w, p=1.5)
    b = emd.wasserstein_1d(u, v, w, p=1.5)
    assert cp.array_equal(a, b)


def test_runs_on_the_current_stream(rng):
    u, v = rng.standard_normal((3, 500)), rng.standard_normal((3, 400))
    cpu = emd.wasserstein_1d(u, v)
    stream = cp.cuda.Stream(non_blocking=True)
    with stream:
        out = emd.wasserstein_1d(cp.asarray(u), cp.asarray(v))
    stream.synchronize()
    _close(out, cpu, np.float64)


def test_non_contiguous_views(rng):
    u = rng.standard_normal((6, 40))[::2, ::3]
    v = rng.standard_normal((3, 50)).T[:20].T
    dev, cpu = _same(emd.wasserstein_1d, u, v, p=2)
    _close(dev, cpu, np.float64)


def test_mixed_float_dtypes_promote_like_the_cpu(rng):
    u = rng.standard_normal(30).astype(np.float32)
    v = rng.standard_normal(20)
    dev = emd.wasserstein_1d(cp.asarray(u[None]), cp.asarray(v[None]))
    assert dev.dtype == np.float64


BAD_1D = [
    dict(u_values=np.array([0.0, np.nan]), v_values=np.array([1.0])),
    dict(u_values=np.array([0.0, 1.0]), v_values=np.array([np.inf])),
    dict(u_values=np.array([0.0, 1.0]), v_values=np.array([1.0]), u_weights=np.array([1.0, -1.0])),
    dict(u_values=np.array([0.0, 1.0]), v_values=np.array([1.0]), u_weights=np.array([0.0, 0.0])),
    dict(u_values=np.array([0.0, 1.0]), v_values=np.array([1.0]), u_weights=np.array([1.0])),
    dict(u_values=np.array([0.0, 1.0]), v_values=np.array([1.0]), p=0.5),
    dict(u_values=np.array([0.0, 1.0]), v_values=np.array([1.0]), p="2"),
    dict(u_values=np.array([0.0, 1.0j]), v_values=np.array([1.0])),
    dict(u_values=np.array([], dtype=np.float64), v_values=np.array([1.0])),
    dict(u_values=np.array(1.0), v_values=np.array([1.0])),
    dict(u_values=np.zeros((2, 3)), v_values=np.zeros((3, 3))),
]


@pytest.mark.parametrize("kwargs", BAD_1D)
def test_bad_inputs_same_errors_as_cpu(kwargs):
    with pytest.raises((TypeError, ValueError)) as cpu_err:
        emd.wasserstein_1d(**kwargs)
    dev_kwargs = {k: (cp.asarray(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
    with pytest.raises(type(cpu_err.value)) as dev_err:
        emd.wasserstein_1d(**dev_kwargs)
    assert str(dev_err.value) == str(cpu_err.value)


def test_torch_cuda_tensors(rng):
    torch = pytest.importorskip("torch")
    u, v = rng.standard_normal((2, 50)), rng.standard_normal((2, 40))
    out = emd.wasserstein_1d(torch.from_numpy(u).cuda(), torch.from_numpy(v).cuda(), p=2)
    assert isinstance(out, torch.Tensor) and out.is_cuda and out.dtype == torch.float64
    np.testing.assert_allclose(out.cpu().numpy(), emd.wasserstein_1d(u, v, p=2), rtol=1e-10)


# --- sliced -------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, m", [(1, 1), (2, 3), (101, 64), (700, 513)])
@pytest.mark.parametrize("reduce", ["mean", "max"])
def test_sliced_matches_cpu(rng, dtype, n, m, reduce):
    x = rng.standard_normal((n, 5)).astype(dtype)
    y = (rng.standard_normal((m, 5)) + 0.5).astype(dtype)
    xw = rng.uniform(0, 1, n).astype(dtype)
    for p in (1.0, 2.0):
        dev, cpu = _same(emd.sliced_wasserstein, x, y, x_weights=xw, p=p, n_projections=32, seed=3, reduce=reduce)
        assert isinstance(dev, float)
        # float32: the projections come from cuBLAS, not from the CPU BLAS, so
        # the projected values differ in the last float32 bits (TF32 is off
        # in CuPy's matmul by default).
        tol = 1e-4 if dtype == np.float32 else GPU_RTOL[np.dtype(dtype)]
        np.testing.assert_allclose(dev, cpu, rtol=tol)


def test_sliced_explicit_device_projections(rng):
    x, y = rng.standard_normal((50, 3)), rng.standard_normal((40, 3))
    theta = rng.standard_normal((3, 7))
    dev, cpu = _same(emd.sliced_wasserstein, x, y, projections=theta, p=2)
    np.testing.assert_allclose(dev, cpu, rtol=1e-10)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(x=np.zeros((3, 2)), y=np.zeros((3, 3))),
        dict(x=np.zeros((3, 2)), y=np.zeros((3, 2)), x_weights=np.array([1.0, -1.0, 0.0])),
        dict(x=np.zeros((3, 2)), y=np.zeros((3, 2)), projections=np.zeros((2, 2))),
        dict(x=np.zeros((3, 2)), y=np.zeros((3, 2)), projections=np.ones((3, 2))),
        dict(x=np.zeros((3, 2)), y=np.zeros((3, 2)), reduce="median"),
        dict(x=np.zeros((3, 2)), y=np.zeros((3, 2)), n_projections=0),
        dict(x=np.full((3, 2), np.nan), y=np.zeros((3, 2))),
    ],
)
def test_sliced_bad_inputs_same_errors_as_cpu(kwargs):
    with pytest.raises((TypeError, ValueError)) as cpu_err:
        emd.sliced_wasserstein(**kwargs)
    dev_kwargs = {k: (cp.asarray(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
    with pytest.raises(type(cpu_err.value)) as dev_err:
        emd.sliced_wasserstein(**dev_kwargs)
    assert str(dev_err.value) == str(cpu_err.value)


@pytest.mark.parametrize("u,v,uw,vw,p,expected", RESCALED_CASES + NEAR_RANGE_CASES)
def test_values_and_powers_beyond_the_float_range(u, v, uw, vw, p, expected):
    # The CPU's closed forms: the kernel divides values near the float range by
    # a power of two, and walks again with the gaps divided by the largest one
    # where the sum of |d|^p leaves the normal range.
    dev = [None if a is None else cp.asarray(np.asarray(a, dtype=np.float64)) for a in (u, v, uw, vw)]
    assert emd.wasserstein_1d(*dev, p=p) == pytest.approx(expected, rel=GPU_RTOL[np.dtype(np.float64)])


def test_rescaled_pairs_beside_ordinary_ones_in_one_batch(rng):
    # Only the marked pairs are walked again: a batch mixing them with ordinary
    # rows gives each its own answer (the ordinary rows: the CPU's, as always).
    u = rng.standard_normal((4, 50))
    v = rng.standard_normal((4, 40))
    u[1] *= 1e160
    v[1] *= 1e160
    u[3, 0] = -1e308
    for p in (2.0, 3.0):
        dev, cpu = _same(emd.wasserstein_1d, u, v, p=p)
        assert np.all(np.isfinite(cpu)) and cpu[1] > 1e159
        np.testing.assert_allclose(cp.asnumpy(dev), cpu, rtol=GPU_RTOL[np.dtype(np.float64)], atol=0)
