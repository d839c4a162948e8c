"""GPU Sinkhorn (dense, batched, matrix-free, divergence) against the CPU kernels.

The gpu-marked tests need a CUDA device and CuPy; the last test runs the GPU
Python layer on any machine against a fake extension (tests/_gpu_glue_sinkhorn_critic.py).
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import emd

# Both solvers stop at marginal error < tol, the GPU with plain Sinkhorn
# updates, the CPU possibly over-relaxed: the results differ by O(tol) in the
# potentials, not by rounding. float32: tol 1e-4 is what float32 potentials
# can reliably reach on the CPU; costs then agree to about 1e-3 relative.
TOL = {np.dtype(np.float64): 1e-9, np.dtype(np.float32): 1e-4}
RTOL = {np.dtype(np.float64): 1e-6, np.dtype(np.float32): 2e-3}


@pytest.fixture
def cp():
    return pytest.importorskip("cupy")


def _problem(rng, n, m, dtype, zero=True):
    a = rng.uniform(0, 1, n)
    b = rng.uniform(0, 1, m)
    if zero and n > 2:
        a[1] = 0.0  # zero weights on purpose
    if zero and m > 3:
        b[2] = 0.0
    a /= a.sum()
    b /= b.sum()
    M = rng.uniform(0, 1, (n, m))
    return a.astype(dtype), b.astype(dtype), M.astype(dtype)


def _close(gpu, cpu, dtype, cp, factor=1.0):
    gpu = cp.asnumpy(gpu) if isinstance(gpu, cp.ndarray) else np.asarray(gpu)
    r = factor * RTOL[np.dtype(dtype)]
    np.testing.assert_allclose(np.asarray(gpu, dtype=float), np.asarray(cpu, dtype=float), rtol=r, atol=r)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (17, 13), (300, 260), (1000, 700)])
@pytest.mark.parametrize("eps_scaling", [None, 0.5])
def test_dense_matches_cpu(rng, cp, dtype, shape, eps_scaling):
    a, b, M = _problem(rng, *shape, dtype)
    tol = TOL[np.dtype(dtype)]
    cpu = emd.sinkhorn(a, b, M, 0.05, tol=tol, eps_scaling=eps_scaling)
    gpu = emd.sinkhorn(cp.asarray(a), cp.asarray(b), cp.asarray(M), 0.05, tol=tol, eps_scaling=eps_scaling)
    assert gpu.status == cpu.status == "converged"
    assert isinstance(gpu.cost, float) and gpu.marginal_error < tol
    assert isinstance(gpu.potential_a, cp.ndarray) and gpu.potential_a.dtype == dtype
    _close(gpu.cost, cpu.cost, dtype, cp)
    _close(gpu.objective, cpu.objective, dtype, cp)
    _close(gpu.plan, cpu.plan, dtype, cp, factor=10)
    shift = float(cp.asnumpy(gpu.potential_a).astype(float).mean() - cpu.potential_a.astype(float).mean())
    _close(gpu.potential_a - shift, cpu.potential_a, dtype, cp, factor=100)
    # the plan's marginals: rows to tol, columns exact after the last g-update
    P = cp.asnumpy(gpu.plan).astype(float)
    assert np.abs(P.sum(1) - a).sum() < 10 * tol + 1e-6 * (dtype == np.float32)
    np.testing.assert_allclose(P.sum(0), b, atol=1e-5 if dtype == np.float32 else 1e-9)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shared", [True, False])
def test_batched_matches_cpu(rng, cp, dtype, shared):
    B, n, m = 40, 64, 64
    a = rng.uniform(0, 1, (B, n))
    b = rng.uniform(0, 1, (B, m))
    a[:, 0] = 0.0
    a /= a.sum(1, keepdims=True)
    b /= b.sum(1, keepdims=True)
    M = rng.uniform(0, 1, (n, m) if shared else (B, n, m))
    a, b, M = a.astype(dtype), b.astype(dtype), M.astype(dtype)
    tol = TOL[np.dtype(dtype)]
    cpu = emd.sinkhorn(a, b, M, 0.01, tol=tol)
    gpu = emd.sinkhorn(cp.asarray(a), cp.asarray(b), cp.asarray(M), 0.01, tol=tol)
    assert list(gpu.status) == ["converged"] * B
    assert isinstance(gpu.cost, cp.ndarray) and gpu.cost.shape == (B,) and gpu.cost.dtype == dtype
    _close(gpu.cost, cpu.cost, dtype, cp)
    _close(gpu.objective, cpu.objective, dtype, cp)
    # batched equals looped (the per-problem solves of the same kernel)
    for p in (0, B - 1):
        one = emd.sinkhorn(cp.asarray(a[p]), cp.asarray(b[p]), cp.asarray(M if shared else M[p]), 0.01, tol=tol)
        assert one.n_iter == int(gpu.n_iter[p])
        assert one.cost == float(gpu.cost[p])


@pytest.mark.gpu
def test_batched_stops_per_problem(rng, cp):
    # problem 0 has a zero cost (P = a b^T is optimal at once: one iteration);
    # problem 1 a random one: each stops on its own.
    n = 32
    M = np.stack([np.zeros((n, n)), rng.uniform(0, 1, (n, n))])
    a = np.full((2, n), 1.0 / n)
    b = np.stack([a[0], rng.dirichlet(np.ones(n))])
    gpu = emd.sinkhorn(cp.asarray(a), cp.asarray(b), cp.asarray(M), 0.02, tol=1e-9)
    assert int(gpu.n_iter[0]) == 1 and int(gpu.n_iter[1]) > 1
    cpu = emd.sinkhorn(a, b, M, 0.02, tol=1e-9)
    _close(gpu.cost, cpu.cost, np.float64, cp)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_eps_scaling_small_reg(rng, cp, dtype):
    a, b, M = _problem(rng, 200, 150, dtype, zero=False)
    tol = TOL[np.dtype(dtype)]
    kw = dict(tol=tol, eps_scaling=0.5, max_iter=20_000)
    reg = 1e-3 if dtype == np.float64 else 3e-3
    cpu = emd.sinkhorn(a, b, M, reg, **kw)
    gpu = emd.sinkhorn(cp.asarray(a), cp.asarray(b), cp.asarray(M), reg, **kw)
    assert gpu.status == "converged" and np.isfinite(gpu.cost)
    _close(gpu.cost, cpu.cost, dtype, cp, factor=10)


@pytest.mark.gpu
def test_max_iter_warns_like_cpu(rng, cp):
    a, b, M = _problem(rng, 50, 40, np.float64)
    with pytest.warns(RuntimeWarning, match="did not converge within max_iter=3"):
        r = emd.sinkhorn(cp.asarray(a), cp.asarray(b), cp.asarray(M), 1e-3, max_iter=3, tol=1e-12)
    assert r.status == "max_iter_reached" and r.n_iter == 3
    big = _problem(rng, 400, 300, np.float64)  # the dense path
    with pytest.warns(RuntimeWarning, match="did not converge"):
        r = emd.sinkhorn(*(cp.asarray(t) for t in big), 1e-3, max_iter=3, tol=1e-12)
    assert r.n_iter == 3


@pytest.mark.gpu
@pytest.mark.parametrize("max_iter", [1, 2, 5, 30])
@pytest.mark.parametrize("shape", [(40, 30), (400, 300)])  # the one-block kernel, the dense path
def test_max_iter_counts_every_epsilon_stage(cp, max_iter, shape):
    # As on the CPU (tests/test_sinkhorn.py): ~67 stages at eps_scaling = 0.9,
    # each of which took an iteration past the budget before.
    M = np.random.default_rng(5).random(shape)
    with pytest.warns(RuntimeWarning, match="did not converge"):
        r = emd.sinkhorn(None, None, cp.asarray(M), 1e-3, eps_scaling=0.9, max_iter=max_iter)
    assert r.status == "max_iter_reached" and 1 <= r.n_iter <= max_iter
    x = np.random.default_rng(6).random((300, 2))
    with pytest.warns(RuntimeWarning, match="did not converge"):
        r = emd.sinkhorn_samples(cp.asarray(x), cp.asarray(x[::-1] + 0.5), 1e-3, eps_scaling=0.9, max_iter=max_iter)
    assert r.status == "max_iter_reached" and 1 <= r.n_iter <= max_iter


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("metric,p", [("euclidean", 2), ("euclidean", 1), ("sqeuclidean", 1), ("cityblock", 1),
                                      ("chebyshev", 1.5)])
@pytest.mark.parametrize("sizes", [(1, 1, 1), (2, 3, 2), (257, 130, 3), (40, 3000, 20)])
def test_samples_matches_cpu(rng, cp, dtype, metric, p, sizes):
    n, m, d = sizes  # (40, 3000, 20): columns chunked over blocks; d > 16 reads coordinates from global memory
    x = rng.standard_normal((n, d)).astype(dtype)
    y = (rng.standard_normal((m, d)) + 0.3).astype(dtype)
    xw = rng.uniform(0, 1, n).astype(dtype)
    if n > 2:
        xw[0] = 0.0
    tol = TOL[np.dtype(dtype)]
    reg = 0.1 * (d if metric != "chebyshev" else 1)
    kw = dict(x_weights=xw, p=p, metric=metric, tol=tol, eps_scaling=0.5)
    cpu = emd.sinkhorn_samples(x, y, reg, **kw)
    gpu = emd.sinkhorn_samples(cp.asarray(x), cp.asarray(y), reg, x_weights=cp.asarray(xw), **{k: v for k, v in kw.items() if k != "x_weights"})
    assert gpu.status == cpu.status == "converged"
    _close(gpu.cost, cpu.cost, dtype, cp)
    _close(gpu.objective, cpu.objective, dtype, cp)
    if n * m <= 1 << 20:
        _close(gpu.plan, cpu.plan, dtype, cp, factor=10)


@pytest.mark.gpu
def test_samples_known_answer(cp):
    # two Diracs at distance 3: every plan moves the unit mass by 3
    x, y = cp.asarray([[0.0, 0.0]]), cp.asarray([[3.0, 0.0]])
    assert emd.sinkhorn_samples(x, y, 0.1, p=1).cost == pytest.approx(3.0, rel=1e-12)
    assert emd.sinkhorn_samples(x, y, 0.1, p=2).cost == pytest.approx(9.0, rel=1e-12)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_divergence_matches_cpu(rng, cp, dtype):
    x = rng.standard_normal((300, 2)).astype(dtype)
    y = (rng.standard_normal((200, 2)) + 1.0).astype(dtype)
    # the symmetric solves OT(x, x) converge slowly: a looser tol than the table's
    kw = dict(tol=max(TOL[np.dtype(dtype)], 1e-6), eps_scaling=0.5)
    cpu = emd.sinkhorn_divergence(x, y, 0.2, **kw)
    gpu = emd.sinkhorn_divergence(cp.asarray(x), cp.asarray(y), 0.2, **kw)
    assert isinstance(gpu, float)
    _close(gpu, cpu, dtype, cp, factor=10)
    assert emd.sinkhorn_divergence(cp.asarray(x), cp.asarray(x), 0.2, **kw) == 0.0


@pytest.mark.gpu
def test_wasserstein_method_sinkhorn(rng, cp):
    x = rng.standard_normal((500, 3))
    y = rng.standard_normal((400, 3)) + 0.5
    for p in (1, 2):
        cpu = emd.wasserstein(x, y, p=p, method="sinkhorn", reg=0.1)
        gpu = emd.wasserstein(cp.asarray(x), cp.asarray(y), p=p, method="sinkhorn", reg=0.1)
        assert isinstance(gpu, float)
        _close(gpu, cpu, np.float64, cp)


@pytest.mark.gpu
def test_deterministic(rng, cp):
    a, b, M = _problem(rng, 500, 400, np.float32)
    r1 = emd.sinkhorn(cp.asarray(a), cp.asarray(b), cp.asarray(M), 0.05, tol=1e-4)
    r2 = emd.sinkhorn(cp.asarray(a), cp.asarray(b), cp.asarray(M), 0.05, tol=1e-4)
    assert r1.cost == r2.cost and bool(cp.all(r1.potential_a == r2.potential_a))
    x = cp.asarray(rng.standard_normal((3000, 3)))
    s1 = emd.sinkhorn_samples(x, x[::-1] + 0.5, 0.1, tol=1e-7)
    s2 = emd.sinkhorn_samples(x, x[::-1] + 0.5, 0.1, tol=1e-7)
    assert s1.cost == s2.cost and bool(cp.all(s1.potential_b == s2.potential_b))


@pytest.mark.gpu
def test_bad_input_same_errors(cp):
    a = cp.asarray([0.5, 0.5])
    with pytest.raises(ValueError, match="total mass"):
        emd.sinkhorn(a, cp.asarray([0.5, 0.6]), cp.ones((2, 2)), 0.1)
    with pytest.raises(ValueError, match="NaN|finite"):
        emd.sinkhorn(a, a, cp.asarray([[0.0, cp.nan], [1.0, 0.0]]), 0.1)
    with pytest.raises(TypeError, match="mix"):
        emd.sinkhorn(a, np.array([0.5, 0.5]), cp.ones((2, 2)), 0.1)


def test_gpu_python_layer_against_a_fake_extension():
    pytest.importorskip("scipy")
    if not hasattr(emd, "sinkhorn"):
        pytest.skip("emd.sinkhorn (the CPU API this layer mirrors) is not in this build")
    here = os.path.dirname(os.path.abspath(__file__))
    run = subprocess.run([sys.executable, os.path.join(here, "_gpu_glue_sinkhorn_critic.py"), "sinkhorn"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip().endswith("glue ok")
