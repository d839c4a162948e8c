"""The CUDA implementations behind the public functions, for CuPy arrays.

Reached through ``emd._dispatch.accepts_gpu`` only: each function here takes
the arguments of its public namesake, with CuPy arrays, and runs on CuPy's
current device and stream. Inputs are validated by the same code as on the
CPU (``_validation.py``; its checks run on CuPy arrays through NumPy's
``__array_function__`` protocol, which CuPy implements), so errors read the
same. The data never leaves the device: validation reads back a few scalars
(is it finite, is it nonnegative), and a function that returns a Python
float reads back that float. Temporary buffers come from CuPy's memory pool.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import cupy
import numpy as np

from . import _cuda
from ._dispatch import current_stream_ptr
from ._validation import (
    as_float_array,
    cast,
    check_choice,
    check_finite,
    check_p,
    check_positive_int,
    check_weights,
    result_float_dtype,
)

__all__ = ["wasserstein_1d", "sliced_wasserstein", "tv", "kl", "js", "cost_matrix", "wasserstein"]


def _shadow(arr: cupy.ndarray) -> np.ndarray:
    """A NumPy array of ``arr``'s dtype and shape that owns no memory.

    Lets the metadata checks of ``as_float_array`` (dtype kind, number of
    dimensions, emptiness) run unchanged, with unchanged messages.
    """
    base = np.zeros(1, dtype=arr.dtype)
    return np.lib.stride_tricks.as_strided(base, shape=arr.shape, strides=(0,) * arr.ndim)


def _as_device_array(x: Any, name: str, **kwargs: Any) -> cupy.ndarray:
    if not isinstance(x, cupy.ndarray):
        raise TypeError(f"`{name}` must be a CuPy array like the other arguments, got {type(x).__name__}")
    as_float_array(_shadow(x), name, **kwargs)
    return x


def _device_ptr(arr: cupy.ndarray | None) -> int:
    return 0 if arr is None else int(arr.data.ptr)


def _device_id() -> int:
    return int(cupy.cuda.Device().id)


def _wasserstein_1d_rows(
    u: cupy.ndarray,
    uw: cupy.ndarray | None,
    v: cupy.ndarray,
    vw: cupy.ndarray | None,
    pair_u: cupy.ndarray,
    pair_v: cupy.ndarray,
    p: float,
    assume_sorted: bool,
) -> cupy.ndarray:
    """out[k] = W_p(u[pair_u[k]], v[pair_v[k]]) for contiguous 2-D rows of one float dtype."""
    (u_rows, n), (v_rows, m) = u.shape, v.shape
    num_pairs = int(pair_u.shape[0])
    itemsize = u.dtype.itemsize
    device = _device_id()
    nbytes = _cuda.wasserstein_1d_workspace_bytes(
        itemsize, _device_ptr(u), _device_ptr(uw), u_rows, n, _device_ptr(v), _device_ptr(vw), v_rows, m,
        num_pairs, p, assume_sorted, device,
    )
    workspace = cupy.empty(nbytes, dtype=cupy.uint8)  # from CuPy's memory pool
    out = cupy.empty(num_pairs, dtype=u.dtype)
    _cuda.wasserstein_1d(
        itemsize, _device_ptr(u), _device_ptr(uw), u_rows, n, _device_ptr(v), _device_ptr(vw), v_rows, m,
        _device_ptr(pair_u), _device_ptr(pair_v), num_pairs, p, assume_sorted,
        _device_ptr(out), _device_ptr(workspace), nbytes, device, current_stream_ptr(),
    )
    return out


def wasserstein_1d(
    u_values: Any,
    v_values: Any,
    u_weights: Any = None,
    v_weights: Any = None,
    *,
    p: float = 1.0,
    assume_sorted: bool = False,
) -> Any:
    from .one_d import _leading_pairs

    u = _as_device_array(u_values, "u_values", min_ndim=1)
    v = _as_device_array(v_values, "v_values", min_ndim=1)
    uw = None if u_weights is None else _as_device_array(u_weights, "u_weights", min_ndim=1)
    vw = None if v_weights is None else _as_device_array(v_weights, "v_weights", min_ndim=1)
    pf = check_p(p)
    dtype = result_float_dtype(u, v, uw, vw)
    u, v = cast(u, dtype), cast(v, dtype)
    check_finite(u, "u_values")
    check_finite(v, "v_values")
    if uw is not None:
        uw = cast(uw, dtype)
        check_weights(uw, u.shape, "u_weights", "u_values")
    if vw is not None:
        vw = cast(vw, dtype)
        check_weights(vw, v.shape, "v_weights", "v_values")

    shape, pair_u, pair_v = _leading_pairs(u.shape[:-1], v.shape[:-1])
    n, m = u.shape[-1], v.shape[-1]
    out = _wasserstein_1d_rows(
        u.reshape(-1, n),
        None if uw is None else uw.reshape(-1, n),
        v.reshape(-1, m),
        None if vw is None else vw.reshape(-1, m),
        cupy.asarray(pair_u),  # batch indices, not data: a few bytes per pair
        cupy.asarray(pair_v),
        pf,
        bool(assume_sorted),
    )
    if not shape:
        return float(out[0])  # the API's Python float: the one value read back
    return out.reshape(shape)


def _directions(d: int, n_projections: int, projections: Any, seed: Any, dtype: np.dtype) -> cupy.ndarray:
    if projections is None:
        # The same directions as on the CPU for the same seed: drawn on the host
        # (d x L numbers, not data), normalized there, then copied to the device.
        rng = np.random.default_rng(seed)
        theta = rng.standard_normal((d, n_projections))
        theta = theta / np.linalg.norm(theta, axis=0)
        return cupy.asarray(theta.astype(dtype, copy=False))
    theta = _as_device_array(projections, "projections", min_ndim=2, max_ndim=2)
    if theta.shape[0] != d:
        raise ValueError(
            f"`projections` must have shape (d, L) = ({d}, L) to match the clouds' dimension, got {theta.shape}"
        )
    theta = theta.astype(cupy.float64, copy=False)
    check_finite(theta, "projections")
    norms = cupy.linalg.norm(theta, axis=0)
    if bool(cupy.any(norms == 0)):
        raise ValueError(f"`projections` column {int(cupy.argmin(norms))} is zero; every direction needs a nonzero norm")
    return cupy.ascontiguousarray((theta / norms).astype(dtype, copy=False))


def sliced_wasserstein(
    x: Any,
    y: Any,
    *,
    x_weights: Any = None,
    y_weights: Any = None,
    p: float = 2.0,
    n_projections: int = 128,
    projections: Any = None,
    seed: Any = None,
    reduce: str = "mean",
) -> float:
    xa = _as_device_array(x, "x", min_ndim=2, max_ndim=2)
    ya = _as_device_array(y, "y", min_ndim=2, max_ndim=2)
    if xa.shape[1] != ya.shape[1]:
        raise ValueError(f"`x` and `y` must have the same dimension d, got x {xa.shape} and y {ya.shape}")
    xw = None if x_weights is None else _as_device_array(x_weights, "x_weights", min_ndim=1, max_ndim=1)
    yw = None if y_weights is None else _as_device_array(y_weights, "y_weights", min_ndim=1, max_ndim=1)
    pf = check_p(p)
    check_choice(reduce, "reduce", ("mean", "max"))
    n_proj = check_positive_int(n_projections, "n_projections")
    dtype = result_float_dtype(xa, ya, xw, yw)
    xa, ya = cast(xa, dtype), cast(ya, dtype)
    check_finite(xa, "x")
    check_finite(ya, "y")
    if xw is not None:
        xw = cast(xw, dtype)
        check_weights(xw, xa.shape[:1], "x_weights", "x's first axis")
    if yw is not None:
        yw = cast(yw, dtype)
        check_weights(yw, ya.shape[:1], "y_weights", "y's first axis")
    theta = _directions(xa.shape[1], n_proj, projections, seed, dtype)
    num = theta.shape[1]

    # (L, n) rows from cuBLAS (through CuPy's matmul).
    px = cupy.ascontiguousarray(theta.T @ xa.T)
    py = cupy.ascontiguousarray(theta.T @ ya.T)
    check_finite(px, "x projected on `projections` (overflow)")
    check_finite(py, "y projected on `projections` (overflow)")
    rows = cupy.arange(num, dtype=cupy.int64)
    # The kernel sorts (value, weight) pairs row by row: the shared weight row
    # is laid out once per projection (from the memory pool).
    pxw = None if xw is None else cupy.ascontiguousarray(cupy.broadcast_to(xw, px.shape))
    pyw = None if yw is None else cupy.ascontiguousarray(cupy.broadcast_to(yw, py.shape))
    w = _wasserstein_1d_rows(px, pxw, py, pyw, rows, rows, pf, False).astype(cupy.float64)
    if reduce == "max":
        return float(w.max())
    return float(cupy.mean(w**pf) ** (1.0 / pf))


# --- divergences --------------------------------------------------------------

_DIVERGENCE_KIND = {"tv": 0, "kl": 1, "js": 2}


def _divergence(kind: str, p: Any, q: Any, axis: int) -> Any:
    # The checks of divergences._histograms, on the device, same messages.
    pa = _as_device_array(p, "p", min_ndim=1)
    qa = _as_device_array(q, "q", min_ndim=1)
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"`axis` must be an integer, got {axis!r}")
    for name, arr in (("p", pa), ("q", qa)):
        if not -arr.ndim <= axis < arr.ndim:
            raise ValueError(f"`axis` {axis} is out of range for `{name}` of shape {arr.shape}")
    if pa.shape[axis] != qa.shape[axis]:
        raise ValueError(
            f"`p` and `q` must have the same number of bins along axis {axis}, got {pa.shape[axis]} and {qa.shape[axis]}"
        )
    try:
        shape = np.broadcast_shapes(pa.shape, qa.shape)
    except ValueError:
        raise ValueError(f"the shapes of `p` {pa.shape} and `q` {qa.shape} do not broadcast") from None
    dtype = result_float_dtype(pa, qa)
    arrays = []
    for name, arr in (("p", pa), ("q", qa)):
        arr = arr.astype(dtype, copy=False)
        check_finite(arr, name)
        lowest = arr.min()
        if bool(lowest < 0):
            raise ValueError(f"`{name}` must be nonnegative (a histogram), but its minimum is {lowest}")
        total = arr.sum(axis=axis, keepdims=True, dtype=cupy.float64)
        if bool(cupy.any(total <= 0)):
            raise ValueError(f"`{name}` sums to 0 along axis {axis}; a histogram needs positive total mass")
        arrays.append(arr)
    # Rows of bins, contiguous: the histogram axis last, the batch broadcast.
    ax = axis % len(shape)
    rows = [cupy.ascontiguousarray(cupy.moveaxis(cupy.broadcast_to(a, shape), ax, -1)) for a in arrays]
    batch = rows[0].shape[:-1]
    bins = rows[0].shape[-1]
    out = cupy.empty(batch, dtype=dtype)
    _cuda.divergence(
        dtype.itemsize, _DIVERGENCE_KIND[kind], _device_ptr(rows[0]), _device_ptr(rows[1]),
        int(np.prod(batch, dtype=np.int64)), bins, _device_ptr(out), _device_id(), current_stream_ptr(),
    )
    return float(out) if out.ndim == 0 else out


def tv(p: Any, q: Any, axis: int = -1) -> Any:
    return _divergence("tv", p, q, axis)


def kl(p: Any, q: Any, axis: int = -1) -> Any:
    return _divergence("kl", p, q, axis)


def js(p: Any, q: Any, axis: int = -1) -> Any:
    return _divergence("js", p, q, axis)


# --- cost_matrix --------------------------------------------------------------

# emd::Metric (csrc/include/emd/metrics.hpp)
_METRICS = {"sqeuclidean": 0, "euclidean": 1, "cityblock": 2, "chebyshev": 3, "minkowski": 4}


def cost_matrix(x: Any, y: Any, metric: Any = "sqeuclidean", *, p: Any = None) -> cupy.ndarray:
    """C[i, j] = metric(x_i, y_j) for CuPy point clouds x (n, d), y (m, d).

    The built-in metrics only; a Python callable metric runs on the CPU.
    ``p`` is the Minkowski order (default 2, as scipy's ``cdist``).
    """
    if callable(metric):
        raise TypeError(
            "a callable `metric` runs on the CPU only (compiled with numba); pass NumPy arrays"
            " (cupy.asnumpy(x)) or use one of the built-in metrics " + ", ".join(map(repr, _METRICS))
        )
    check_choice(metric, "metric", tuple(_METRICS))
    q = 2.0 if p is None else check_p(p)
    xa = _as_device_array(x, "x", min_ndim=2, max_ndim=2)
    ya = _as_device_array(y, "y", min_ndim=2, max_ndim=2)
    if xa.shape[1] != ya.shape[1]:
        raise ValueError(f"`x` and `y` must have the same dimension d, got x {xa.shape} and y {ya.shape}")
    dtype = result_float_dtype(xa, ya)
    xa, ya = cast(xa, dtype), cast(ya, dtype)
    check_finite(xa, "x")
    check_finite(ya, "y")
    (n, d), m = xa.shape, ya.shape[0]
    out = cupy.empty((n, m), dtype=dtype)
    _cuda.cost_matrix(
        dtype.itemsize, _device_ptr(xa), n, _device_ptr(ya), m, d, _METRICS[metric], q,
        _device_ptr(out), _device_id(), current_stream_ptr(),
    )
    return out


# --- solvers that stay on the CPU -----------------------------------------------


def _to_host(x: Any) -> Any:
    return cupy.asnumpy(x) if isinstance(x, cupy.ndarray) else x


def _to_device(out: Any) -> Any:
    if isinstance(out, np.ndarray):
        return cupy.asarray(out)
    if dataclasses.is_dataclass(out) and not isinstance(out, type):
        return dataclasses.replace(out, **{f.name: _to_device(getattr(out, f.name)) for f in dataclasses.fields(out) if f.init})
    if isinstance(out, tuple):
        items = [_to_device(o) for o in out]
        return type(out)(*items) if hasattr(out, "_fields") else tuple(items)
    return out


def _on_host(name: str) -> Any:
    """The CPU solver ``emd.<name>`` for CuPy inputs: one copy to the host of
    each array argument, the CPU solve, one copy back of each array in the
    result (arrays, tuples of arrays, and the array fields of OTResult)."""

    def run(*args: Any, **kwargs: Any) -> Any:
        import emd

        cpu = getattr(emd, name).__wrapped__
        return _to_device(cpu(*(_to_host(a) for a in args), **{k: _to_host(v) for k, v in kwargs.items()}))

    run.__name__ = name
    return run


# The exact discrete solver has no CUDA kernel yet: CuPy inputs are copied to
# the host once, solved there, and the results copied back.
_wasserstein_on_host = _on_host("wasserstein")
solve = _on_host("solve")
emd = _on_host("emd")


def wasserstein(x: Any, y: Any, *, x_weights: Any = None, y_weights: Any = None, p: float = 1.0, **kwargs: Any) -> float:
    """Exact 1-D samples on the GPU's 1-D kernel; everything else through the CPU solvers."""
    if kwargs.get("method", "exact") == "exact" and x.ndim in (1, 2) and y.ndim in (1, 2):
        dx = 1 if x.ndim == 1 else x.shape[1]
        dy = 1 if y.ndim == 1 else y.shape[1]
        if dx == dy == 1 and kwargs.get("reg") is None:
            return wasserstein_1d(x.reshape(-1), y.reshape(-1), x_weights, y_weights, p=p)
    return _wasserstein_on_host(x, y, x_weights=x_weights, y_weights=y_weights, p=p, **kwargs)
