"""NumPy memory posing as CuPy's, for the GPU glue checks (_gpu_glue_*.py).

The scripts install a fake ``cupy`` module (NumPy's functions) and a fake
``emd._cuda``; ``on_device`` then calls emd's public functions with the array
arguments viewed as :class:`DeviceArray`, whose type says "cupy", so that the
one dispatch rule sends them to the CUDA backend exactly as real CuPy arrays
would go. Not a test module.
"""
import contextlib
import types

import numpy as np


class _Device(contextlib.nullcontext):
    def __init__(self, *args):
        super().__init__()
        self.id = 0


fake_cuda_namespace = types.SimpleNamespace(Device=_Device, get_current_stream=lambda: types.SimpleNamespace(ptr=0))


class DeviceArray(np.ndarray):
    """A NumPy array whose type reads as a CuPy array's (module "cupy", a device id)."""

    device = types.SimpleNamespace(id=0)


DeviceArray.__module__ = "cupy"


def dev(x):
    return x.view(DeviceArray) if type(x) is np.ndarray else x


class on_device:
    """``on_device(emd).fn(*args)``: ``emd.fn`` with the array arguments on the fake device."""

    def __init__(self, module):
        self._module = module

    def __getattr__(self, name):
        fn = getattr(self._module, name)

        def call(*args, **kwargs):
            return fn(*(dev(a) for a in args), **{k: dev(v) for k, v in kwargs.items()})

        return call


def patch_backend():
    """Point the CUDA backend's pointer reads at NumPy memory; returns the backend module."""
    import emd._backend.cuda as cuda_backend

    cuda_backend._device_ptr = lambda a: 0 if a is None else np.asarray(a).ctypes.data
    return cuda_backend
