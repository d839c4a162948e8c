"""Run the trainer's small matrix products on one BLAS thread.

The trainer multiplies (64 x 64)-sized matrices thousands of times; OpenBLAS's
threads only add synchronization to products this small (on a busy 2-core
machine a run was 4.7x slower with two threads than with one). The thread
count can only be set by environment variable before numpy loads, so this
asks the loaded OpenBLAS directly: through threadpoolctl when it is
installed, otherwise by the library's own ``*_set_num_threads`` symbol found
in /proc/self/maps (Linux). Anywhere else it does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
from typing import Iterator

_NAMES = ("scipy_openblas_{}_num_threads64_", "openblas_{}_num_threads64_", "openblas_{}_num_threads")


def _openblas_functions():
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.lower() and ".so" in line}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in _NAMES:
            get, set_ = getattr(lib, name.format("get"), None), getattr(lib, name.format("set"), None)
            if get is not None and set_ is not None:
                get.restype = ctypes.c_int
                set_.argtypes = [ctypes.c_int]
                return get, set_
    return None


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-not-found]
    except ImportError:
        threadpool_limits = None
    if threadpool_limits is not None:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
        return
    funcs = _openblas_functions()
    if funcs is None:
        yield
        return
    get, set_ = funcs
    before = get()
    set_(1)
    try:
        yield
    finally:
        set_(before)
