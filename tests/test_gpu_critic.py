"""GPU critic_forward / kr_estimate (fused kernel and the cuBLAS path) against the CPU kernels.

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

# The GPU sums each neuron's inputs in order with fused multiply-adds, the
# CPU in a register-tiled order: float32 outputs differ by a few ulps per
# layer relative to the activations' size; float64 by ~1e-15.
RTOL = {np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-11}

LAYERS = [
    [2, 64, 64, 64, 1],   # the trainer's default critic: fused
    [5, 1],               # one linear layer: fused
    [3, 7, 1],            # odd widths: fused
    [64, 64, 1],          # widest fused input
    [2, 65, 1],           # just too wide: cuBLAS
    [2, 512, 512, 512, 1],  # the wide critic: cuBLAS
]


@pytest.fixture
def cp():
    return pytest.importorskip("cupy")


def _close(gpu, cpu, dtype, cp):
    gpu = cp.asnumpy(gpu) if isinstance(gpu, cp.ndarray) else np.asarray(gpu)
    scale = max(1.0, float(np.max(np.abs(cpu)))) if np.size(cpu) else 1.0
    np.testing.assert_allclose(gpu, cpu, rtol=RTOL[np.dtype(dtype)], atol=RTOL[np.dtype(dtype)] * scale)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layers", LAYERS, ids=str)
@pytest.mark.parametrize("batch", [1, 63, 64, 65, 1000])
def test_forward_matches_cpu(rng, cp, dtype, layers, batch):
    critic = emd.MLPCritic.init(layers, seed=3, dtype=dtype)
    x = rng.standard_normal((batch, layers[0])).astype(dtype)
    out = emd.critic_forward(critic, cp.asarray(x))
    assert isinstance(out, cp.ndarray) and out.shape == (batch,) and out.dtype == dtype
    _close(out, emd.critic_forward(critic, x), dtype, cp)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layers", [[2, 64, 64, 64, 1], [2, 128, 128, 1]], ids=str)
def test_stacked_matches_cpu(rng, cp, dtype, layers):
    K, batch = 5, 300
    stacked = emd.MLPCritic.stack([emd.MLPCritic.init(layers, seed=k, dtype=dtype) for k in range(K)])
    for shape in ((K, batch, layers[0]), (batch, layers[0])):
        x = rng.standard_normal(shape).astype(dtype)
        out = emd.critic_forward(stacked, cp.asarray(x))
        assert out.shape == (K, batch) and out.dtype == dtype
        _close(out, emd.critic_forward(stacked, x), dtype, cp)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layers", [[2, 64, 64, 64, 1], [3, 1], [2, 256, 1]], ids=str)
@pytest.mark.parametrize("sizes", [(1, 1), (100, 37), (5000, 3001)])
def test_kr_estimate_matches_cpu(rng, cp, dtype, layers, sizes):
    n, m = sizes
    critic = emd.MLPCritic.init(layers, seed=5, dtype=dtype)
    xr = rng.standard_normal((n, layers[0])).astype(dtype)
    xf = (rng.standard_normal((m, layers[0])) + 0.5).astype(dtype)
    gpu = emd.kr_estimate(critic, cp.asarray(xr), cp.asarray(xf))
    assert isinstance(gpu, float)
    _close(gpu, emd.kr_estimate(critic, xr, xf), dtype, cp)
    stacked = emd.MLPCritic.stack([emd.MLPCritic.init(layers, seed=k, dtype=dtype) for k in range(3)])
    g3 = emd.kr_estimate(stacked, cp.asarray(xr), cp.asarray(xf))
    assert g3.shape == (3,)
    _close(g3, emd.kr_estimate(stacked, xr, xf), dtype, cp)


@pytest.mark.gpu
def test_kr_estimate_known_value(cp):
    # f(x) = x . w + c is linear: the estimate is (mean x_real - mean x_fake) . w exactly
    w = np.array([[0.5], [-2.0]])
    critic = emd.MLPCritic((w,), (np.array([0.25]),), 0.2)
    xr = cp.asarray([[1.0, 0.0], [3.0, 2.0]])
    xf = cp.asarray([[0.0, 1.0]])
    assert emd.kr_estimate(critic, xr, xf) == pytest.approx((2.0 * 0.5 + 1.0 * -2.0) - (0.0 - 2.0), abs=1e-14)


@pytest.mark.gpu
def test_deterministic(rng, cp):
    critic = emd.MLPCritic.init([2, 64, 64, 64, 1], seed=0)
    x = cp.asarray(rng.standard_normal((100_000, 2)).astype(np.float32))
    assert emd.kr_estimate(critic, x, x[::-1] + 1) == emd.kr_estimate(critic, x, x[::-1] + 1)
    assert bool(cp.all(emd.critic_forward(critic, x) == emd.critic_forward(critic, x)))


@pytest.mark.gpu
def test_bad_input_same_errors(cp):
    critic = emd.MLPCritic.init([2, 8, 1])
    with pytest.raises(ValueError, match="columns"):
        emd.critic_forward(critic, cp.zeros((4, 3)))
    with pytest.raises(ValueError, match="NaN|finite"):
        emd.critic_forward(critic, cp.asarray([[cp.nan, 0.0]]))


def test_gpu_python_layer_against_a_fake_extension():
    pytest.importorskip("scipy")
    if not hasattr(emd, "critic_forward"):
        pytest.skip("emd.critic_forward (the CPU API this layer mirrors) is not in this build")
    here = os.path.dirname(os.path.abspath(__file__))
    run = subprocess.run([sys.executable, os.path.join(here, "_gpu_glue_sinkhorn_critic.py"), "critic"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip().endswith("glue ok")


def test_trainer_device_branches_against_numpy():
    # --device cuda's code paths with NumPy standing in for CuPy reproduce the CPU run exactly
    wgan = pytest.importorskip("emd.wgan")
    import dataclasses

    if "device" not in {f.name for f in dataclasses.fields(wgan.Config)}:
        pytest.skip("this emd.wgan has no --device")
    here = os.path.dirname(os.path.abspath(__file__))
    run = subprocess.run([sys.executable, os.path.join(here, "_gpu_glue_sinkhorn_critic.py"), "wgan"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip().endswith("glue ok")


@pytest.mark.gpu
def test_trainer_on_the_gpu_tracks_the_cpu_run(tmp_path, cp):
    # Same seed, same batches (drawn by the same NumPy streams), float64
    # networks: the runs differ by rounding only, which RMSProp amplifies
    # slowly; over 60 generator iterations the metrics stay close.
    from emd.wgan import Config, train

    base = dict(iters=60, eval_every=20, eval_samples=500, seed=1)
    s_cpu = train(Config(out=str(tmp_path / "cpu"), device="cpu", **base), progress=False, log=None)
    s_gpu = train(Config(out=str(tmp_path / "gpu"), device="cuda", **base), progress=False, log=None)
    assert s_gpu["w1_initial"] == pytest.approx(s_cpu["w1_initial"], rel=1e-9)
    assert s_gpu["w1_final"] == pytest.approx(s_cpu["w1_final"], rel=0.05)
    for key in ("critic_loss", "gen_loss", "critic_estimate"):
        assert np.isfinite(float(s_gpu["final"][key]))
    assert float(s_gpu["final"]["critic_estimate"]) == pytest.approx(float(s_cpu["final"]["critic_estimate"]), rel=0.05, abs=1e-4)


def test_trainer_device_cuda_refused_clearly_without_a_gpu(tmp_path):
    pytest.importorskip("emd.wgan")
    try:
        import cupy  # noqa: F401

        if emd.has_cuda():
            pytest.skip("a usable GPU is present: --device cuda runs")
    except ImportError:
        pass
    out = tmp_path / "run"
    run = subprocess.run([sys.executable, "-m", "emd.wgan", "--device", "cuda", "--iters", "1", "--out", str(out)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr
    assert "--device cuda" in run.stderr and "usage:" in run.stderr
    assert not out.exists()  # nothing written before the inputs are known to be good
