"""Run emd's CUDA backend's Python layer on the CPU, with NumPy standing in for CuPy.

Not a test module (run by tests/test_gpu_glue.py in a subprocess, since it
replaces sys.modules["cupy"]). A fake ``emd._cuda`` reads the "device"
pointers it is given with ctypes and answers with emd's CPU kernel (1-D) or
scipy (divergences, cost matrices). What this checks is the glue, not the
CUDA kernels: the argument order and pointers handed to the extension, the
shapes, dtypes and batch layout, and that bad inputs raise the CPU's errors
word for word. The kernels themselves are checked by the gpu-marked tests.
"""
import sys, types, ctypes, numpy as np
import emd, emd._core as core
from _fake_device import fake_cuda_namespace, on_device, patch_backend

fake_cupy = types.ModuleType("cupy")
for name in ("ndarray", "asarray", "empty", "ascontiguousarray", "broadcast_to", "arange", "any", "argmin",
             "moveaxis", "float64", "uint8", "int64", "mean", "linalg", "abs", "maximum", "clip", "full", "zeros"):
    setattr(fake_cupy, name, getattr(np, name))
fake_cupy.asnumpy = np.asarray
fake_cupy.cuda = fake_cuda_namespace
sys.modules["cupy"] = fake_cupy

def arr(ptr, shape, dtype):
    dtype = np.dtype(dtype)
    n = int(np.prod(shape))
    buf = (ctypes.c_char * (n * dtype.itemsize)).from_address(ptr)
    return np.frombuffer(buf, dtype=dtype).reshape(shape)

fake = types.ModuleType("emd._cuda")
ws_seen = {}
def ws_bytes(itemsize, u, uw, u_rows, n, v, vw, v_rows, m, num_pairs, p, assume_sorted, device):
    return 1000
def w1d(itemsize, u, uw, u_rows, n, v, vw, v_rows, m, pair_u, pair_v, num_pairs, p, assume_sorted, out, ws, ws_bytes, device, stream):
    dt = np.float32 if itemsize == 4 else np.float64
    U = arr(u, (u_rows, n), dt); V = arr(v, (v_rows, m), dt)
    UW = arr(uw, (u_rows, n), dt) if uw else None; VW = arr(vw, (v_rows, m), dt) if vw else None
    PU = arr(pair_u, (num_pairs,), np.int64); PV = arr(pair_v, (num_pairs,), np.int64)
    O = arr(out, (num_pairs,), dt)
    O[:] = core.wasserstein_1d(U, UW, V, VW, PU.copy(), PV.copy(), p, assume_sorted)
def div(itemsize, kind, p, q, rows, bins, out, device, stream):
    dt = np.float32 if itemsize == 4 else np.float64
    P = arr(p, (rows, bins), dt).astype(float); Q = arr(q, (rows, bins), dt).astype(float)
    P = P / P.sum(1, keepdims=True); Q = Q / Q.sum(1, keepdims=True)
    from scipy.special import rel_entr
    if kind == 0: r = 0.5 * np.abs(P - Q).sum(1)
    elif kind == 1: r = rel_entr(P, Q).sum(1)
    else: M = (P + Q) / 2; r = 0.5 * (rel_entr(P, M).sum(1) + rel_entr(Q, M).sum(1))
    arr(out, (rows,), dt)[:] = r
def cm(itemsize, x, n, y, m, d, metric, q, out, device, stream):
    from scipy.spatial.distance import cdist
    dt = np.float32 if itemsize == 4 else np.float64
    names = ["sqeuclidean", "euclidean", "cityblock", "chebyshev", "minkowski"]
    kw = {"p": q} if metric == 4 else {}
    arr(out, (n, m), dt)[:] = cdist(arr(x, (n, d), dt), arr(y, (m, d), dt), names[metric], **kw)
fake.wasserstein_1d_workspace_bytes = ws_bytes; fake.wasserstein_1d = w1d; fake.divergence = div
fake.cost_matrix = cm; fake.device_count = lambda: 1
sys.modules["emd._cuda"] = fake
emd._cuda = fake

patch_backend()
# emd's functions with their arrays on the fake device: the CUDA backend runs them.
g = on_device(emd)
rng = np.random.default_rng(0)
for dt in (np.float32, np.float64):
    u = rng.standard_normal((4, 3, 50)).astype(dt); v = rng.standard_normal((3, 33)).astype(dt)
    uw = rng.uniform(0, 1, (4, 3, 50)).astype(dt)
    for p in (1, 2, 1.5):
        a = g.wasserstein_1d(u, v, uw, p=p); b = emd.wasserstein_1d(u, v, uw, p=p)
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b), (a, b)
    vw1 = rng.uniform(0, 1, 33).astype(dt)
    a = g.wasserstein_1d(u[0, 0], v[0], None, vw1, p=2)
    assert isinstance(a, np.floating) and a == emd.wasserstein_1d(u[0, 0], v[0], None, vw1, p=2)
    x = rng.standard_normal((60, 4)).astype(dt); y = rng.standard_normal((40, 4)).astype(dt)
    xw = rng.uniform(0, 1, 60).astype(dt)
    for red in ("mean", "max"):
        a = g.sliced_wasserstein(x, y, x_weights=xw, p=2, n_projections=16, seed=1, reduce=red)
        b = emd.sliced_wasserstein(x, y, x_weights=xw, p=2, n_projections=16, seed=1, reduce=red)
        assert abs(a - b) <= 1e-12 * abs(b), (a, b)
    th = rng.standard_normal((4, 5))
    a = g.sliced_wasserstein(x, y, projections=th); b = emd.sliced_wasserstein(x, y, projections=th)
    assert abs(a - b) <= 1e-12 * abs(b)
    P = rng.uniform(0, 1, (3, 9, 4)).astype(dt); Q = rng.uniform(0.1, 1, (9, 4)).astype(dt)
    for f in ("tv", "kl", "js"):
        a = getattr(g, f)(P, Q, axis=-2); b = getattr(emd, f)(P, Q, axis=-2)
        tol = 1e-12 if dt == np.float64 else 2e-7  # the fake answers with scipy, in float64
        assert a.shape == b.shape and a.dtype == dt and np.allclose(a, b, rtol=tol, atol=0), (f, a, b)
        a = getattr(g, f)(P[0, :, 0], Q[:, 0]); assert isinstance(a, np.floating) and a.dtype == dt
    for metric in ("sqeuclidean", "euclidean", "cityblock", "chebyshev", "minkowski"):
        c = g.cost_matrix(x, y, metric, p=3 if metric == "minkowski" else None)
        assert c.shape == (60, 40) and c.dtype == dt
        ref = emd.cost_matrix(x, y, metric, p=3 if metric == "minkowski" else None)
        np.testing.assert_allclose(c, ref, rtol=1e-15 if dt == np.float64 else 1e-7, atol=0)
# coordinates far from 1: the kernel (here cdist, which overflows at 1e200 like
# the CUDA kernel) sees them scaled, and the result is put back
for scale in (1e200, 1e-200, 1e300, 5e-324):
    x = np.array([[3.0, 0.0], [1.0, 2.0]]) * scale; y = np.array([[0.0, 4.0]]) * scale
    for metric in ("euclidean", "cityblock", "chebyshev", "minkowski", "sqeuclidean"):
        try: ref = emd.cost_matrix(x, y, metric)
        except ValueError as e: ref = e
        try: c = g.cost_matrix(x, y, metric)
        except ValueError as e: c = e
        if isinstance(ref, Exception):
            assert type(c) is type(ref) and str(c) == str(ref), (scale, metric, c, ref)
        else:
            assert np.all(np.isfinite(c)) and np.array_equal(c, ref), (scale, metric, c, ref)
# identical error messages
bad = [dict(u_values=np.array([0.0, np.nan]), v_values=np.array([1.0])),
       dict(u_values=np.array([0.0, 1.0]), v_values=np.array([1.0]), u_weights=np.array([1.0, -1.0])),
       dict(u_values=np.array([0.0, 1.0]), v_values=np.array([1.0]), u_weights=np.array([0.0, 0.0])),
       dict(u_values=np.zeros((2, 2)), v_values=np.array([1.0]), u_weights=np.zeros((2, 2))),
       dict(u_values=np.array([0.0, 1.0j]), v_values=np.array([1.0])),
       dict(u_values=np.array([], dtype=float), v_values=np.array([1.0])),
       dict(u_values=np.array(1.0), v_values=np.array([1.0])),
       dict(u_values=np.zeros((2, 3)), v_values=np.zeros((3, 3)))]
for kw in bad:
    ce = ge = None
    try: emd.wasserstein_1d(**kw)
    except (TypeError, ValueError) as e: ce = e
    try: g.wasserstein_1d(**kw)
    except (TypeError, ValueError) as e: ge = e
    assert ce is not None and type(ce) is type(ge) and str(ce) == str(ge), (kw, ce, ge)
for kw in [dict(p=np.array([1.0, -0.5]), q=np.array([1.0, 1.0])), dict(p=np.zeros(2), q=np.ones(2)),
           dict(p=np.ones(3), q=np.ones(3), axis=1), dict(p=np.ones((2, 3)), q=np.ones((4, 3)))]:
    for f in ("tv", "kl", "js"):
        ce = ge = None
        try: getattr(emd, f)(**kw)
        except (TypeError, ValueError) as e: ce = e
        try: getattr(g, f)(**kw)
        except (TypeError, ValueError) as e: ge = e
        assert ce is not None and type(ce) is type(ge) and str(ce) == str(ge), (kw, f, ce, ge)
print("glue ok")
