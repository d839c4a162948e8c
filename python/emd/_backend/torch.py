"""The torch backend: tensors in, tensors out, computed by the CPU or CUDA backend.

CPU tensors are viewed as NumPy arrays and CUDA tensors as CuPy arrays
through DLPack (no copies; CUDA work goes on torch's current stream), the
inner backend computes, and the results come back as tensors on the inputs'
device: arrays through DLPack, result scalars as 0-d tensors. The values are
not differentiable here (the tensors are detached).
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any

import numpy as np

from .base import KERNELS, Backend

__all__ = ["Torch"]


class Torch(Backend):
    name = "torch"

    def __init__(self, inner: Backend, device: str) -> None:
        self.inner = inner
        self.device = device
        self.xp = inner.xp
        self.host = inner.host

    def _view(self, x: Any) -> Any:
        if type(x).__module__.startswith("torch"):
            if self.inner.host:
                return np.from_dlpack(x.detach())
            import cupy

            return cupy.from_dlpack(x.detach())
        return x

    def active(self) -> Any:
        if self.inner.host:
            return contextlib.nullcontext()
        import cupy
        import torch

        index = torch.device(self.device).index or 0
        stream = torch.cuda.current_stream(index)
        stack = contextlib.ExitStack()
        stack.enter_context(self.inner.active())
        stack.enter_context(cupy.cuda.ExternalStream(stream.cuda_stream, index))
        return stack

    def asarray(self, x: Any, name: str, **kwargs: Any) -> Any:
        return self.inner.asarray(self._view(x), name, **kwargs)

    def to_host(self, x: Any) -> np.ndarray:
        return self.inner.to_host(x)

    def scalar(self, x: Any) -> Any:
        return self.inner.scalar(x)

    def finish(self, out: Any) -> Any:
        import torch

        if isinstance(out, np.generic) and out.dtype.kind == "f":
            return torch.tensor(out.item(), dtype=getattr(torch, out.dtype.name), device=self.device)
        if isinstance(out, np.ndarray):
            return torch.from_numpy(out) if out.dtype.kind != "U" else out
        if type(out).__module__.startswith("cupy"):
            return torch.from_dlpack(out)
        if dataclasses.is_dataclass(out) and not isinstance(out, type):
            return dataclasses.replace(
                out, **{f.name: self.finish(getattr(out, f.name)) for f in dataclasses.fields(out) if f.init}
            )
        if isinstance(out, tuple):
            items = [self.finish(o) for o in out]
            return type(out)(*items) if hasattr(out, "_fields") else tuple(items)
        return out


def _delegate(kernel: str) -> Any:
    def run(self: Torch, *args: Any, **kwargs: Any) -> Any:
        # The kernels are the inner backend's: they see only its arrays.
        return getattr(self.inner, kernel)(*args, **kwargs)

    run.__name__ = kernel
    return run


for _kernel in KERNELS:
    setattr(Torch, _kernel, _delegate(_kernel))
