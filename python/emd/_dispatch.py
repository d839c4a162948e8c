"""Which backend computes a call: the one rule, decided by the array arguments.

- NumPy arrays, Python lists and scalars: the CPU backend (``_backend.cpu``);
- CuPy arrays: the CUDA backend (``_backend.cuda``) on the arrays' device and
  CuPy's current stream, results as CuPy arrays of the input's dtype;
- torch tensors: the torch backend (``_backend.torch``), which runs CPU
  tensors on the CPU backend and CUDA tensors on the CUDA backend (viewed
  through DLPack, no copies; torch's current stream) and returns tensors.

Mixing libraries (a NumPy array with a CuPy array, a tensor with a CuPy array)
or devices in one call is a ``TypeError`` that says so: emd never copies
between host and device behind the caller's back. Neither cupy nor torch is
imported unless an argument already is one of their arrays (which can only
exist once its library is imported), so ``import emd`` stays fast.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from ._backend.base import Backend
from ._backend.cpu import CPU_BACKEND

__all__ = ["has_cuda", "library_of", "backend_for"]

# Types that are certainly host data: the fast path of backend_for (exact types:
# a subclass of ndarray may belong to another library).
_HOST_TYPES = frozenset((np.ndarray, list, tuple, float, int, bool, np.float64, np.float32, np.int64))


@lru_cache(maxsize=1)
def has_cuda() -> bool:
    """True when emd's CUDA kernels were built and a CUDA device is usable.

    Never raises: without the ``_cuda`` extension (emd built without nvcc),
    without a driver or without a device, it is False.
    """
    try:
        from . import _cuda  # type: ignore[attr-defined]
    except Exception:  # not built (ImportError), or a broken shared object (OSError)
        return False
    try:
        return bool(_cuda.device_count() > 0)
    except Exception:
        return False


def library_of(x: Any) -> str:
    """'cupy', 'torch' or 'numpy' (anything else: lists, scalars, NumPy arrays).

    Decided from the type's module name, so that neither library is imported.
    """
    mod = type(x).__module__
    if mod.startswith("cupy"):
        return "cupy"
    # The torch backend's own arrays (emd._backend.torch.TArray) count as tensors: an
    # emd function that calls another (wasserstein calls solve) passes them on.
    if mod.startswith("torch") or mod == "emd._backend.torch":
        return "torch"
    return "numpy"


def _device_of(x: Any, lib: str) -> str:
    if lib == "cupy":
        return f"cuda:{x.device.id}"
    if lib == "torch":
        return str(x.device)
    return "cpu"


def _describe_arrays(found: list[tuple[str, str, str]]) -> str:
    return ", ".join(f"`{name}` is a {lib} array on {dev}" for name, lib, dev in found)


def _classify(named: dict[str, Any]) -> tuple[str, str]:
    """The one library and device of the array arguments, or a TypeError."""
    found = []
    for name, value in named.items():
        if value is None:
            continue
        lib = library_of(value)
        found.append((name, lib, _device_of(value, lib)))
    libs = {lib for _, lib, _ in found}
    if len(libs) > 1:
        raise TypeError(
            f"array arguments mix libraries: {_describe_arrays(found)}; pass them all as NumPy arrays,"
            " all as CuPy arrays or all as torch tensors (emd does not copy between host and device for you)"
        )
    devices = {dev for _, _, dev in found}
    if len(devices) > 1:
        raise TypeError(
            f"array arguments are on different devices: {_describe_arrays(found)}; move them to one device first"
        )
    if not found:
        return "numpy", "cpu"
    return found[0][1], found[0][2]


def _gpu_unavailable(where: str) -> TypeError:
    return TypeError(
        f"emd.{where} was given GPU arrays but emd's CUDA kernels are not usable here"
        " (emd built without nvcc, or no CUDA device/driver: see emd.has_cuda());"
        " pass NumPy arrays instead (cupy.asnumpy(x) or tensor.cpu().numpy())"
    )


def _cuda_backend(where: str, index: int) -> Backend:
    if not has_cuda():
        raise _gpu_unavailable(where)
    from ._backend.cuda import CUDA  # needs cupy, which the caller's arrays prove imported

    return CUDA(index)


def backend_for(where: str, **arrays: Any) -> Backend:
    """The backend for a call of ``emd.<where>`` with these array arguments
    (None values do not count). The NumPy path costs one type check per argument."""
    if all(v is None or type(v) in _HOST_TYPES for v in arrays.values()):
        return CPU_BACKEND
    lib, device = _classify(arrays)
    if lib == "numpy":
        return CPU_BACKEND
    if lib == "cupy":
        return _cuda_backend(where, int(device.split(":")[1]))
    if device == "cpu":
        inner = CPU_BACKEND
    elif device.startswith("cuda"):
        try:
            import cupy  # noqa: F401
        except ImportError:
            raise ImportError(
                f"emd.{where} runs torch CUDA tensors through CuPy, which is not installed;"
                " pip install cupy-cuda12x (or cupy-cuda13x) matching your CUDA driver"
            ) from None
        inner = _cuda_backend(where, int(device.split(":")[1]) if ":" in device else 0)
    else:
        raise TypeError(f"emd.{where} takes torch tensors on the CPU or a CUDA device, got {device}")
    from ._backend.torch import Torch

    return Torch(inner, device)
