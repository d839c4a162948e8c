"""Run emd's CUDA backend's Sinkhorn and critic layers on the CPU, NumPy standing in for CuPy.

Not a test module: tests/test_gpu_sinkhorn.py and tests/test_gpu_critic.py
run it in a subprocess (it replaces sys.modules["cupy"]) with the argument
"sinkhorn" or "critic". A fake ``emd._cuda`` reads the "device" pointers it is
given with ctypes and answers with an independent NumPy implementation of
what the CUDA kernels compute: the log-domain Sinkhorn loop with the CPU's
stopping rule and epsilon ladder (scipy's logsumexp, float64), and the MLP
forward pass (numpy matmul). What this checks is the glue: the pointers,
argument order, options, output slots and batch layout handed to the
extension, the dispatch between the batched / dense / fused / matmul paths,
the results' types and dtypes, and that bad inputs raise the CPU's errors word
for word. The kernels themselves are checked by the gpu-marked tests.
"""
import ctypes
import sys
import types
import warnings

warnings.simplefilter("error")  # as pytest's filterwarnings = error

import numpy as np
from scipy.special import logsumexp
from scipy.spatial.distance import cdist

import emd
from _fake_device import fake_cuda_namespace, on_device, patch_backend

fake_cupy = types.ModuleType("cupy")
fake_cupy.__getattr__ = lambda name: getattr(np, name)  # PEP 562: everything else is numpy's
fake_cupy.ndarray = np.ndarray
fake_cupy.asnumpy = np.asarray
fake_cupy.cuda = fake_cuda_namespace
sys.modules["cupy"] = fake_cupy


def arr(ptr, shape, dtype):
    dtype = np.dtype(dtype)
    n = int(np.prod(shape))
    buf = (ctypes.c_char * max(1, n * dtype.itemsize)).from_address(ptr)
    return np.frombuffer(buf, dtype=dtype, count=n).reshape(shape)


def dt_of(itemsize):
    return np.float32 if itemsize == 4 else np.float64


calls = []


def ref_sinkhorn(a, b, C, reg, tol, max_iter, eps_scaling, scale, f0, g0):
    """The loop of csrc/cuda/sinkhorn.cu (and of the CPU: over-relaxed), in float64."""
    a, b, C = a.astype(float), b.astype(float), C.astype(float)
    ladder = []
    if 0 < eps_scaling < 1:
        e = scale
        while e > reg and len(ladder) < 200:
            ladder.append(e)
            e *= eps_scaling
    ladder.append(reg)
    with np.errstate(divide="ignore"):
        la, lb = np.log(a), np.log(b)
    f = np.zeros(len(a)) if f0 is None else f0.astype(float).copy()
    g = np.zeros(len(b)) if g0 is None else g0.astype(float).copy()
    n_iter, status, err = 0, 1, 0.0
    for si, eps in enumerate(ladder):
        last = si == len(ladder) - 1
        stage_tol = tol if last else max(tol, 1e-2 * a.sum())
        it, omega, err_probe, err_ref, probe_start, g_relaxed = 0, 1.0, 0.0, 0.0, 0, False
        while True:
            f_new = -eps * logsumexp((g / eps + lb)[None, :] - C / eps, axis=1)
            if it > 0:
                err = float(np.sum(a * np.abs(np.expm1(np.minimum(700.0, (f - f_new) / eps)))))
                if err < stage_tol and not g_relaxed:
                    status = 0 if last else status
                    break
                if n_iter >= max_iter and not g_relaxed:
                    break
                # the over-relaxation of the CPU loop (Thibault et al. 2017)
                if err < stage_tol or n_iter + 1 >= max_iter:
                    omega = 1.0
                else:
                    if omega == 1.0 and it == probe_start + 10:
                        err_probe = err
                    if omega == 1.0 and it == probe_start + 20 and err < err_probe and err_probe > 0:
                        kappa = (err / err_probe) ** 0.1
                        omega = min(1.9, 2.0 / (1.0 + np.sqrt(max(0.0, 1.0 - kappa))))
                        err_ref = err
                    elif omega > 1.0 and not err < 100.0 * err_ref:
                        omega, probe_start = 1.0, it
            f = f + omega * (f_new - f)
            g_new = -eps * logsumexp((f / eps + la)[:, None] - C / eps, axis=0)
            g = g + omega * (g_new - g)
            g_relaxed = omega != 1.0
            it += 1
            n_iter += 1
    t = (f[:, None] + g[None, :] - C) / reg
    P = np.exp(t + la[:, None] + lb[None, :])
    cost = float((P * C).sum())
    objective = cost + reg * (float((P * t).sum()) - P.sum() + a.sum() * b.sum())
    return f, g, cost, objective, err, n_iter, status


def write_outputs(outputs, p, n, m, dtype, res):
    f_ptr, g_ptr, c_ptr, o_ptr, e_ptr, it_ptr, st_ptr = outputs
    it = np.dtype(dtype).itemsize
    f, g, cost, obj, err, n_iter, status = res
    arr(f_ptr + p * n * it, (n,), dtype)[:] = f
    arr(g_ptr + p * m * it, (m,), dtype)[:] = g
    arr(c_ptr + 8 * p, (1,), np.float64)[0] = cost
    arr(o_ptr + 8 * p, (1,), np.float64)[0] = obj
    arr(e_ptr + 8 * p, (1,), np.float64)[0] = err
    arr(it_ptr + 8 * p, (1,), np.int64)[0] = n_iter
    arr(st_ptr + 4 * p, (1,), np.int32)[0] = status


fake = types.ModuleType("emd._cuda")
fake.device_count = lambda: 1
fake.sinkhorn_batched_fits = lambda n, m: n <= 1024 and m <= 1024
fake.sinkhorn_dense_workspace_bytes = lambda itemsize, n, m, device: 64
fake.sinkhorn_samples_workspace_bytes = lambda itemsize, n, m, d, device: 64


def sinkhorn_dense(itemsize, a, b, cost, n, m, reg, tol, max_iter, eps_scaling, scale, mass_a, f_init, g_init,
                   outputs, workspace, workspace_bytes, device, stream):
    dt = dt_of(itemsize)
    A, B, C = arr(a, (n,), dt), arr(b, (m,), dt), arr(cost, (n, m), dt)
    assert workspace and workspace_bytes >= 64 and abs(mass_a - A.sum(dtype=float)) < 1e-5 * mass_a
    if eps_scaling:
        assert scale == np.abs(C).max(), (scale, np.abs(C).max())
    f0 = arr(f_init, (n,), dt) if f_init else None
    g0 = arr(g_init, (m,), dt) if g_init else None
    calls.append("dense")
    write_outputs(outputs, 0, n, m, dt, ref_sinkhorn(A, B, C, reg, tol, max_iter, eps_scaling, scale, f0, g0))


def sinkhorn_batched(itemsize, a, b, cost, shared_cost, num_problems, n, m, reg, tol, max_iter, eps_scaling, scale,
                     f_init, g_init, outputs, device, stream):
    dt = dt_of(itemsize)
    A, B = arr(a, (num_problems, n), dt), arr(b, (num_problems, m), dt)
    C = arr(cost, (n, m) if shared_cost else (num_problems, n, m), dt)
    S = arr(scale, (1 if shared_cost else num_problems,), np.float64) if eps_scaling else None
    F0 = arr(f_init, (num_problems, n), dt) if f_init else None
    G0 = arr(g_init, (num_problems, m), dt) if g_init else None
    calls.append("batched")
    for p in range(num_problems):
        Cp = C if shared_cost else C[p]
        sp = 0.0 if S is None else S[0 if shared_cost else p]
        if S is not None:
            assert sp == np.abs(Cp).max()
        res = ref_sinkhorn(A[p], B[p], Cp, reg, tol, max_iter, eps_scaling, sp, None if F0 is None else F0[p],
                           None if G0 is None else G0[p])
        write_outputs(outputs, p, n, m, dt, res)


def sinkhorn_samples(itemsize, x, y, a, b, n, m, d, metric, power, reg, tol, max_iter, eps_scaling, scale, f_init,
                     g_init, outputs, workspace, workspace_bytes, device, stream):
    dt = dt_of(itemsize)
    X, Y = arr(x, (n, d), dt).astype(float), arr(y, (m, d), dt).astype(float)
    A, B = arr(a, (n,), dt), arr(b, (m,), dt)
    assert abs(A.sum(dtype=float) - 1) < 1e-5 and abs(B.sum(dtype=float) - 1) < 1e-5
    C = cdist(X, Y, ["sqeuclidean", "euclidean", "cityblock", "chebyshev"][metric]) ** power
    calls.append("samples")
    write_outputs(outputs, 0, n, m, dt, ref_sinkhorn(A, B, C, reg, tol, max_iter, eps_scaling, scale, None, None))


def cost_matrix(itemsize, x, n, y, m, d, metric, q, out, device, stream):
    dt = dt_of(itemsize)
    names = ["sqeuclidean", "euclidean", "cityblock", "chebyshev", "minkowski"]
    arr(out, (n, m), dt)[:] = cdist(arr(x, (n, d), dt), arr(y, (m, d), dt), names[metric])


def np_forward(ws, bs, slope, x):
    h = x
    for l, (w, b) in enumerate(zip(ws, bs)):
        h = np.matmul(h, w) + b[:, None, :]
        if l < len(ws) - 1:
            h = np.maximum(h, slope * h)
    return h[..., 0]


def critic_layers(itemsize, dims, weights, biases, K):
    dt = dt_of(itemsize)
    ws = [arr(w, (K, dims[l], dims[l + 1]), dt) for l, w in enumerate(weights)]
    bs = [arr(b, (K, dims[l + 1]), dt) for l, b in enumerate(biases)]
    return dt, ws, bs


def critic_forward(itemsize, dims, weights, biases, num_critics, slope, x, batch, shared_x, out, device, stream):
    dt, ws, bs = critic_layers(itemsize, dims, weights, biases, num_critics)
    X = arr(x, (1 if shared_x else num_critics, batch, dims[0]), dt)
    calls.append("fused")
    arr(out, (num_critics, batch), dt)[:] = np_forward(ws, bs, slope, X)


def kr_estimate(itemsize, dims, weights, biases, num_critics, slope, x_real, n_real, x_fake, n_fake, out, workspace,
                workspace_bytes, device, stream):
    dt, ws, bs = critic_layers(itemsize, dims, weights, biases, num_critics)
    assert workspace and workspace_bytes >= 8 * num_critics
    fr = np_forward(ws, bs, slope, arr(x_real, (1, n_real, dims[0]), dt)).astype(float)
    ff = np_forward(ws, bs, slope, arr(x_fake, (1, n_fake, dims[0]), dt)).astype(float)
    calls.append("fused")
    arr(out, (num_critics,), np.float64)[:] = fr.mean(1) - ff.mean(1)


for name in ("sinkhorn_dense", "sinkhorn_batched", "sinkhorn_samples", "cost_matrix", "critic_forward", "kr_estimate"):
    setattr(fake, name, globals()[name])
fake.critic_fused_fits = lambda itemsize, dims, device: max(dims) <= 64 and len(dims) <= 9
fake.kr_estimate_workspace_bytes = lambda K: 512 * 8 * K + 256
sys.modules["emd._cuda"] = fake
emd._cuda = fake

patch_backend()
g = on_device(emd)  # emd's functions with their arrays on the fake device: the CUDA backend runs them
rng = np.random.default_rng(0)


def same_error(cpu_call, gpu_call):
    ce = ge = None
    try:
        cpu_call()
    except (TypeError, ValueError) as e:
        ce = e
    try:
        gpu_call()
    except (TypeError, ValueError) as e:
        ge = e
    assert ce is not None and type(ce) is type(ge) and str(ce) == str(ge), (ce, ge)


def close(x, y, rtol):
    np.testing.assert_allclose(np.asarray(x, dtype=float), np.asarray(y, dtype=float), rtol=rtol, atol=rtol)


def check_sinkhorn():
    from emd._sinkhorn import sinkhorn as cpu_sinkhorn, sinkhorn_samples as cpu_samples
    from emd._sinkhorn import sinkhorn_divergence as cpu_div

    cpu_sinkhorn = getattr(cpu_sinkhorn, "__wrapped__", cpu_sinkhorn)
    cpu_samples = getattr(cpu_samples, "__wrapped__", cpu_samples)
    cpu_div = getattr(cpu_div, "__wrapped__", cpu_div)
    for dt, tol in ((np.float64, 1e-9), (np.float32, 1e-4)):
        rt = 1e-6 if dt == np.float64 else 2e-3
        for n, m in ((1, 1), (2, 3), (7, 5), (300, 260)):  # the last one takes the dense path
            a = rng.uniform(0, 1, n).astype(dt)
            b = rng.uniform(0, 1, m).astype(dt)
            if n > 2:
                a[1] = 0  # a zero weight on purpose
            b *= a.sum() / b.sum()
            M = rng.uniform(0, 1, (n, m)).astype(dt)
            for eps_scaling in (None, 0.5):
                calls.clear()
                r = g.sinkhorn(a, b, M, 0.05, tol=tol, eps_scaling=eps_scaling)
                assert calls == (["dense"] if n * m > 65536 else ["batched"]), calls
                c = cpu_sinkhorn(a, b, M, 0.05, tol=tol, eps_scaling=eps_scaling)
                assert isinstance(r.cost, np.floating) and r.cost.dtype == dt and r.status == c.status == "converged", (r.status, c.status)
                assert r.potential_a.dtype == dt and r.potential_a.shape == (n,) and r.potential_b.shape == (m,)
                close(r.cost, c.cost, rt)
                close(r.objective, c.objective, rt)
                close(r.plan, c.plan, rt)
                # potentials agree up to the constant the dual leaves free
                shift = float(np.mean(r.potential_a.astype(float) - c.potential_a.astype(float)))
                close(r.potential_a - shift, c.potential_a, 10 * rt)
        # a batch, shared and per-problem costs, with initial potentials
        B, n, m = 4, 6, 5
        a = rng.uniform(0.1, 1, (B, n)).astype(dt)
        b = rng.uniform(0.1, 1, (B, m)).astype(dt)
        b *= (a.sum(1) / b.sum(1))[:, None]
        for M in (rng.uniform(0, 1, (n, m)).astype(dt), rng.uniform(0, 1, (B, n, m)).astype(dt)):
            init = (np.zeros((B, n), dt), rng.uniform(-0.1, 0.1, (B, m)).astype(dt))
            r = g.sinkhorn(a, b, M, 0.1, tol=tol, eps_scaling=0.7, init=init)
            c = cpu_sinkhorn(a, b, M, 0.1, tol=tol, eps_scaling=0.7, init=init)
            assert r.cost.shape == (B,) and r.cost.dtype == dt and list(r.status) == list(c.status)
            close(r.cost, c.cost, rt)
            close(r.plan, c.plan, rt)
        # max_iter reached: the CPU's warning, word for word up to the numbers
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            r = g.sinkhorn(a[0], b[0], M[0], 0.01, max_iter=2, tol=1e-12)
        assert r.status == "max_iter_reached" and r.n_iter == 2 and "did not converge" in str(w[0].message)
        # point clouds
        x = rng.standard_normal((40, 3)).astype(dt)
        y = rng.standard_normal((30, 3)).astype(dt) + 0.5
        xw = rng.uniform(0, 1, 40).astype(dt)
        for metric, p in (("euclidean", 2), ("euclidean", 1), ("sqeuclidean", 1), ("cityblock", 1), ("chebyshev", 1.5)):
            r = g.sinkhorn_samples(x, y, 0.1, x_weights=xw, p=p, metric=metric, tol=tol, eps_scaling=0.5)
            c = cpu_samples(x, y, 0.1, x_weights=xw, p=p, metric=metric, tol=tol, eps_scaling=0.5)
            close(r.cost, c.cost, rt)
            close(r.plan, c.plan, rt)
        # the symmetric solves converge slowly in plain Sinkhorn: a larger reg and tol
        d_gpu = g.sinkhorn_divergence(x, y, 0.5, tol=1e-5)
        close(d_gpu, cpu_div(x, y, 0.5, tol=1e-5), 1e-3)
        assert g.sinkhorn_divergence(x, x, 0.5, tol=1e-5) == 0.0
        close(g.sinkhorn_wasserstein(x, y, 0.1, tol=tol), emd.sinkhorn_wasserstein(x, y, 0.1, tol=tol), rt)
        # the headline call routes method="sinkhorn" to the GPU Sinkhorn (float64:
        # it takes no tol, and its default 1e-9 is below float32 weights' rounding)
        x64, y64, xw64 = x.astype(float), y.astype(float), xw.astype(float)
        calls.clear()
        w_gpu = g.wasserstein(x64, y64, x_weights=xw64, p=2, method="sinkhorn", reg=0.5)
        assert calls == ["samples"], calls
        close(w_gpu, emd.wasserstein(x64, y64, x_weights=xw64, p=2, method="sinkhorn", reg=0.5), 1e-6)
        close(g.wasserstein(x64[:, 0], y64[:, 0], method="sinkhorn", reg=0.5),
              emd.wasserstein(x64[:, 0], y64[:, 0], method="sinkhorn", reg=0.5), 1e-6)
    # identical error messages
    M = np.ones((2, 2))
    for args, kw in [((np.array([0.5, 0.5]), np.array([0.5, 0.6]), M, 0.1), {}),
                     ((np.array([0.5, np.nan]), np.array([0.5, 0.5]), M, 0.1), {}),
                     ((np.array([1.5, -0.5]), np.array([0.5, 0.5]), M, 0.1), {}),
                     ((np.array([0.5, 0.5]), np.array([0.5, 0.5]), np.ones((2, 3)), 0.1), {}),
                     ((np.array([0.5, 0.5]), np.array([0.5, 0.5]), M, -1.0), {}),
                     ((np.array([0.5, 0.5]), np.array([0.5, 0.5]), M, 0.1), {"eps_scaling": 1.5}),
                     ((np.ones((2, 2)), np.array([0.5, 0.5]), M, 0.1), {}),
                     ((np.array([0.5, 0.5]), np.array([0.5, 0.5]), M, 0.1), {"init": (np.zeros(3), np.zeros(2))})]:
        same_error(lambda: cpu_sinkhorn(*args, **kw), lambda: g.sinkhorn(*args, **kw))
    x = np.zeros((3, 2))
    for kw in [dict(method="sinkhorn"), dict(method="sinkhorn", reg=0.1, metric="nope")]:
        same_error(lambda: emd.wasserstein(x, x + 1, **kw), lambda: g.wasserstein(x, x + 1, **kw))
    same_error(lambda: emd.wasserstein(x, np.zeros((3, 3)), method="sinkhorn", reg=0.1),
               lambda: g.wasserstein(x, np.zeros((3, 3)), method="sinkhorn", reg=0.1))
    for args, kw in [((x, np.zeros((3, 3)), 0.1), {}), ((x, x, 0.1), {"metric": "minkowski"}),
                     ((x, x, 0.1), {"x_weights": np.zeros(3)}), ((x, x, 0.1), {"p": 0.5}),
                     ((np.full((3, 2), np.inf), x, 0.1), {})]:
        same_error(lambda: cpu_samples(*args, **kw), lambda: g.sinkhorn_samples(*args, **kw))


def check_critic():
    from emd._critic import MLPCritic, critic_forward as cpu_forward, kr_estimate as cpu_kr

    cpu_forward = getattr(cpu_forward, "__wrapped__", cpu_forward)
    cpu_kr = getattr(cpu_kr, "__wrapped__", cpu_kr)
    for dt in (np.float32, np.float64):
        rt = 1e-5 if dt == np.float32 else 1e-12
        for layers, path in (([2, 64, 64, 64, 1], "fused"), ([3, 1], "fused"), ([2, 128, 1], "matmul")):
            c = MLPCritic.init(layers, seed=1, dtype=dt)
            x = rng.standard_normal((37, layers[0])).astype(dt)
            xf = rng.standard_normal((11, layers[0])).astype(dt)
            calls.clear()
            out = g.critic_forward(c, x)
            assert calls == (["fused"] if path == "fused" else []), (layers, calls)
            assert out.shape == (37,) and out.dtype == dt
            close(out, cpu_forward(c, x), rt)
            k = g.kr_estimate(c, x, xf)
            assert isinstance(k, np.float64)
            close(k, cpu_kr(c, x, xf), max(rt, 1e-10))
            s = MLPCritic.stack([MLPCritic.init(layers, seed=i, dtype=dt) for i in range(3)])
            xs = rng.standard_normal((3, 9, layers[0])).astype(dt)
            for xin in (xs, xs[0]):
                out = g.critic_forward(s, xin)
                assert out.shape == (3, 9) and out.dtype == dt
                close(out, cpu_forward(s, xin), rt)
            ks = g.kr_estimate(s, x, xf)
            assert ks.shape == (3,) and ks.dtype == np.float64
            close(ks, cpu_kr(s, x, xf), max(rt, 1e-10))
    c = MLPCritic.init([2, 8, 1])
    for args in [(c, np.zeros((4, 3))), (c, np.zeros((0, 2))), (c, np.array([[np.nan, 0.0]])), ("nope", np.zeros((4, 2))),
                 (c, np.zeros((2, 4, 2)))]:
        same_error(lambda: cpu_forward(*args), lambda: g.critic_forward(*args))
    for args in [(c, np.zeros((4, 3)), np.zeros((4, 2))), (c, np.zeros((4, 2)), np.full((4, 2), np.inf))]:
        same_error(lambda: cpu_kr(*args), lambda: g.kr_estimate(*args))


def check_wgan():
    # The trainer's --device cuda branches (device arrays, host copies for the
    # exact W1 and the checkpoint, clipping in place) with NumPy standing in for
    # CuPy must reproduce the CPU run exactly.
    import tempfile

    from emd.wgan import Config, train

    def w1(x, y):  # the exact solver's stand-in: host arrays in, a float out
        assert isinstance(x, np.ndarray) and isinstance(y, np.ndarray)
        return emd.sliced_wasserstein(x, y, seed=0)

    for kw in (dict(), dict(lipschitz="spectral"), dict(lipschitz="gp"), dict(dataset="parallel_lines"),
               dict(loss="gan")):
        with tempfile.TemporaryDirectory() as d1, tempfile.TemporaryDirectory() as d2:
            base = dict(iters=6, eval_every=3, eval_samples=50, batch=16, hidden=8, n_critic_boost=0, **kw)
            s_cpu = train(Config(out=d1, device="cpu", **base), progress=False, log=None, w1_fn=w1)
            s_dev = train(Config(out=d2, device="cuda", **base), progress=False, log=None, w1_fn=w1)
            for key in ("w1_initial", "w1_final"):
                assert s_cpu[key] == s_dev[key], (kw, key, s_cpu[key], s_dev[key])
            for key in ("critic_estimate", "sliced_w2", "critic_loss", "gen_loss"):
                assert s_cpu["final"][key] == s_dev["final"][key], (kw, key)
            # resume from the device run's checkpoint
            s_res = train(Config(out=d2, device="cuda", **{**base, "iters": 9}), resume=True, progress=False, log=None, w1_fn=w1)
            assert np.isfinite(s_res["w1_final"])


{"sinkhorn": check_sinkhorn, "critic": check_critic, "wgan": check_wgan}[sys.argv[1]]()
print("glue ok")
