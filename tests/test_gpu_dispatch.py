"""The GPU dispatch layer, on any machine: routing, refusals, the build.

These run without a GPU (and without cupy or torch): the array libraries are
stood in for by fake classes whose ``__module__`` says cupy or torch, which is
all the dispatch looks at before it commits to a library.
"""

from __future__ import annotations

import importlib
import inspect
import shutil
import subprocess
import sys

import numpy as np
import pytest

import emd
from emd import _dispatch


class _Device:
    def __init__(self, idx: int) -> None:
        self.id = idx

    def __str__(self) -> str:
        return f"cuda:{self.id}"


def _fake(module: str, device: int = 0) -> object:
    """An object that claims to be an array of `module` on CUDA device `device`."""
    cls = type("ndarray", (), {"__module__": module})
    obj = cls()
    obj.device = _Device(device)  # cupy: .device.id; torch: str(.device)
    return obj


FAKE_CUPY = "cupy._core.core"
FAKE_TORCH = "torch"


def test_import_emd_imports_neither_cupy_nor_torch():
    code = "import sys, emd; emd.wasserstein_1d([0.0], [1.0]); print('cupy' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


def test_has_cuda_is_a_bool_that_matches_the_device_count():
    has = emd.has_cuda()
    assert isinstance(has, bool)
    try:
        from emd import _cuda
    except ImportError:
        assert has is False
        return
    count = _cuda.device_count()
    assert isinstance(count, int) and count >= 0
    assert has == (count > 0)


def test_cuda_extension_is_built_when_nvcc_is_present():
    config = importlib.import_module("emd._build_config")
    assert config.EMD_CUDA in ("AUTO", "ON", "OFF")
    if config.CUDA:
        _cuda = importlib.import_module("emd._cuda")  # static cudart: imports without a driver
        assert _cuda.device_count() >= 0
    if shutil.which("nvcc") is None or config.EMD_CUDA == "OFF":
        pytest.skip(f"nvcc on PATH: {shutil.which('nvcc')}; EMD_CUDA={config.EMD_CUDA}: the CUDA build is not expected")
    assert config.CUDA, "nvcc is on PATH and EMD_CUDA is not OFF, yet emd was built without its CUDA kernels"


@pytest.mark.parametrize(
    "module, expected", [("numpy", "numpy"), ("cupy", "cupy"), ("cupy._core.core", "cupy"), ("torch", "torch"), ("builtins", "numpy")]
)
def test_library_of(module, expected):
    assert _dispatch.library_of(type("X", (), {"__module__": module})()) == expected


def test_library_of_real_inputs():
    assert _dispatch.library_of(np.zeros(3)) == "numpy"
    assert _dispatch.library_of([1.0, 2.0]) == "numpy"
    assert _dispatch.library_of(1.5) == "numpy"


@pytest.mark.parametrize(
    "call",
    [
        lambda g: emd.wasserstein_1d(np.zeros(3), g),
        lambda g: emd.wasserstein_1d(g, [0.0, 1.0]),
        lambda g: emd.wasserstein_1d(np.zeros(3), np.zeros(2), v_weights=g),
        lambda g: emd.sliced_wasserstein(np.zeros((3, 2)), g),
        lambda g: emd.sliced_wasserstein(g, g, projections=np.ones((2, 4))),
        lambda g: emd.tv(g, np.ones(3)),
        lambda g: emd.kl(np.ones(3), q=g),
        lambda g: emd.js(g, [1.0, 2.0, 3.0]),
    ],
)
@pytest.mark.parametrize("module", [FAKE_CUPY, FAKE_TORCH])
def test_mixing_host_and_device_libraries_is_a_type_error(call, module):
    with pytest.raises(TypeError, match="mix libraries") as info:
        call(_fake(module))
    assert "numpy" in str(info.value) and module.split(".")[0] in str(info.value)


def test_mixing_cupy_and_torch_is_a_type_error():
    with pytest.raises(TypeError, match=r"mix libraries.*`u_values` is a cupy array.*`v_values` is a torch array"):
        emd.wasserstein_1d(_fake(FAKE_CUPY), _fake(FAKE_TORCH))


def test_arrays_on_two_devices_are_a_type_error():
    with pytest.raises(TypeError, match=r"different devices.*cuda:0.*cuda:1"):
        emd.wasserstein_1d(_fake(FAKE_CUPY, 0), _fake(FAKE_CUPY, 1))


def test_none_arguments_do_not_count_as_arrays():
    # Weights left at None must not make a NumPy call look mixed.
    assert emd.wasserstein_1d(np.array([0.0, 1.0]), np.array([0.0]), None, None) == pytest.approx(0.5)


@pytest.mark.skipif(emd.has_cuda(), reason="checks the message given when no CUDA device is usable")
def test_gpu_arrays_without_cuda_are_a_clear_type_error():
    with pytest.raises(TypeError, match=r"emd\.wasserstein_1d was given GPU arrays.*has_cuda"):
        emd.wasserstein_1d(_fake(FAKE_CUPY), _fake(FAKE_CUPY))
    with pytest.raises(TypeError, match=r"emd\.tv was given GPU arrays"):
        emd.tv(p=_fake(FAKE_CUPY), q=_fake(FAKE_CUPY))


def test_public_functions_keep_their_signatures_and_docstrings():
    for fn in (emd.wasserstein_1d, emd.sliced_wasserstein, emd.tv, emd.kl, emd.js):
        assert fn.__doc__ and fn.__module__.startswith("emd.")
    assert list(inspect.signature(emd.wasserstein_1d).parameters)[:4] == ["u_values", "v_values", "u_weights", "v_weights"]


def test_numpy_results_are_the_cpu_kernels(rng):
    from emd._backend.cpu import CPU_BACKEND
    from emd._problems import OneD

    u, v = rng.standard_normal((3, 20)), rng.standard_normal(15)
    rows = np.arange(3, dtype=np.int64)
    direct = CPU_BACKEND.wasserstein_1d(OneD(u, None, v[None], None, rows, np.zeros(3, np.int64), 2.0, False))
    np.testing.assert_array_equal(emd.wasserstein_1d(u, v, p=2), direct)
    np.testing.assert_array_equal(emd.wasserstein_1d(u_values=u, v_values=v, p=2), direct)


def test_cuda_backend_imports_where_cupy_does():
    pytest.importorskip("cupy")
    if not importlib.import_module("emd._build_config").CUDA:
        pytest.skip("emd built without its CUDA kernels")
    from emd._backend.base import Backend
    from emd._backend.cuda import CUDA

    kernels = [k for k, v in vars(Backend).items() if callable(v) and not k.startswith("_")]
    missing = [k for k in kernels if getattr(CUDA, k) is getattr(Backend, k) and k not in ("finish", "scalar", "active")]
    assert not missing, missing


def test_torch_cpu_tensors_round_trip(rng):
    torch = pytest.importorskip("torch")
    u, v = rng.standard_normal((2, 9)), rng.standard_normal((2, 7))
    out = emd.wasserstein_1d(torch.from_numpy(u), torch.from_numpy(v))
    assert isinstance(out, torch.Tensor) and out.device.type == "cpu"
    np.testing.assert_array_equal(out.numpy(), emd.wasserstein_1d(u, v))
    assert emd.tv(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])) == 1.0
