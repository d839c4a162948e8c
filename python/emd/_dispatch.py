"""Which array library an input belongs to, and whether GPU kernels exist.

The public functions stay NumPy code; a decorator, :func:`accepts_gpu`, sends
a call whose array arguments are CuPy arrays to the CUDA implementation in
``emd._gpu`` and converts PyTorch tensors through DLPack (no copies):

- NumPy arrays, Python lists and scalars: the function itself, untouched;
- CuPy arrays: the GPU implementation, on CuPy's current device and stream,
  results as CuPy arrays of the input's dtype;
- PyTorch CUDA tensors: viewed as CuPy arrays (``cupy.from_dlpack``), run on
  the GPU on torch's current stream, results back as tensors (``torch.from_dlpack``);
- PyTorch CPU tensors: viewed as NumPy arrays, the CPU path, results back as tensors.

Mixing libraries (a NumPy array with a CuPy array, a tensor with a CuPy
array) or devices in one call is a ``TypeError`` that says so: emd never
copies between host and device behind the caller's back.

Neither cupy nor torch is imported unless an argument already is one of
their arrays, so ``import emd`` stays fast and works without them.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
import warnings
from functools import lru_cache
from typing import Any, Callable

__all__ = ["has_cuda", "library_of", "accepts_gpu", "warn_at_caller"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def warn_at_caller(message: str, category: type[Warning] = RuntimeWarning) -> None:
    """``warnings.warn`` attributed to the user's line: the first frame outside
    the emd package (a fixed stacklevel pointed into the dispatch wrapper,
    whose depth differs between entry points)."""
    level, frame = 2, sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR + os.sep):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)


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
    if mod.startswith("torch"):
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


def _classify(named: list[tuple[str, Any]]) -> tuple[str, str]:
    """The one library and device of the array arguments, or a TypeError."""
    found = []
    for name, value in named:
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


def _gpu_unavailable(fn_name: str) -> TypeError:
    return TypeError(
        f"emd.{fn_name} was given GPU arrays but emd's CUDA kernels are not usable here"
        " (emd built without nvcc, or no CUDA device/driver: see emd.has_cuda());"
        " pass NumPy arrays instead (cupy.asnumpy(x) or tensor.cpu().numpy())"
    )


def _torch_to_numpy(x: Any) -> Any:
    import numpy as np

    if library_of(x) != "torch":
        return x
    return np.from_dlpack(x.detach())


def _numpy_to_torch(out: Any) -> Any:
    import numpy as np

    if isinstance(out, np.ndarray):
        import torch

        return torch.from_numpy(out)
    return out


def _torch_to_cupy(x: Any) -> Any:
    if library_of(x) != "torch":
        return x
    import cupy

    return cupy.from_dlpack(x.detach())


def _cupy_to_torch(out: Any) -> Any:
    if library_of(out) == "cupy":
        import torch

        return torch.from_dlpack(out)
    return out


def _gpu_impl(name: str) -> Callable[..., Any]:
    # Imported on the first GPU call only: emd._gpu needs cupy.
    from . import _gpu

    return getattr(_gpu, name)


def accepts_gpu(*array_params: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Route a public function by the library of its ``array_params``.

    The GPU implementation is ``emd._gpu.<function name>``: it takes the same
    arguments as the decorated function, CuPy arrays in place of NumPy ones.
    The NumPy path costs one type check per array argument.
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        params = list(inspect.signature(fn).parameters)
        positions = [(name, params.index(name)) for name in array_params]

        def arrays_of(args: tuple, kwargs: dict) -> list[tuple[str, Any]]:
            out = []
            for name, pos in positions:
                if pos < len(args):
                    out.append((name, args[pos]))
                elif name in kwargs:
                    out.append((name, kwargs[name]))
            return out

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            named = arrays_of(args, kwargs)
            # Fast path: NumPy / lists / scalars only, nothing else imported.
            if all(library_of(v) == "numpy" for _, v in named):
                return fn(*args, **kwargs)
            lib, device = _classify(named)
            if lib == "cupy":
                if not has_cuda():
                    raise _gpu_unavailable(fn.__name__)
                import cupy

                with cupy.cuda.Device(int(device.split(":")[1])):
                    return _gpu_impl(fn.__name__)(*args, **kwargs)
            # torch: convert the array arguments only, by position or keyword.
            names = {name for name, _ in positions}
            if device == "cpu":
                conv_in, conv_out, call = _torch_to_numpy, _numpy_to_torch, fn
            else:
                if not device.startswith("cuda"):
                    raise TypeError(f"emd.{fn.__name__} takes torch tensors on the CPU or a CUDA device, got {device}")
                if not has_cuda():
                    raise _gpu_unavailable(fn.__name__)
                try:
                    import cupy  # noqa: F401
                except ImportError:
                    raise ImportError(
                        f"emd.{fn.__name__} runs torch CUDA tensors through CuPy, which is not installed;"
                        " pip install cupy-cuda12x (or cupy-cuda13x) matching your CUDA driver"
                    ) from None
                conv_in, conv_out, call = _torch_to_cupy, _cupy_to_torch, _gpu_impl(fn.__name__)
            array_positions = {pos for _, pos in positions}
            args = tuple(conv_in(a) if i in array_positions else a for i, a in enumerate(args))
            kwargs = {k: (conv_in(v) if k in names else v) for k, v in kwargs.items()}
            if device == "cpu":
                return conv_out(call(*args, **kwargs))
            import cupy
            import torch

            index = torch.device(device).index or 0
            stream = torch.cuda.current_stream(index)
            with cupy.cuda.Device(index), cupy.cuda.ExternalStream(stream.cuda_stream, index):
                return conv_out(call(*args, **kwargs))

        wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
        return wrapper

    return decorate


def current_stream_ptr() -> int:
    """CuPy's current stream on the current device, as the integer the kernels take."""
    cupy = sys.modules["cupy"]
    return int(cupy.cuda.get_current_stream().ptr)
