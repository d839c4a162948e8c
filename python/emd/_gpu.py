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
    check_bool,
    check_choice,
    check_finite,
    check_p,
    result_float_dtype,
)

__all__ = [
    "wasserstein_1d", "sliced_wasserstein", "tv", "kl", "js", "cost_matrix", "wasserstein",
    "sinkhorn", "sinkhorn_samples", "sinkhorn_divergence", "sinkhorn_wasserstein", "critic_forward", "kr_estimate",
]


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
    problem = _cuda.OneDProblem(
        itemsize=itemsize, u=_device_ptr(u), u_weights=_device_ptr(uw), u_rows=u_rows, n=n, v=_device_ptr(v),
        v_weights=_device_ptr(vw), v_rows=v_rows, m=m, pair_u=_device_ptr(pair_u), pair_v=_device_ptr(pair_v),
        num_pairs=num_pairs, p=p, assume_sorted=assume_sorted,
    )
    nbytes = _cuda.wasserstein_1d_workspace_bytes(problem, device=device)
    workspace = cupy.empty(nbytes, dtype=cupy.uint8)  # from CuPy's memory pool
    out = cupy.empty(num_pairs, dtype=u.dtype)
    _cuda.wasserstein_1d(
        problem, out=_device_ptr(out), workspace=_device_ptr(workspace), workspace_bytes=nbytes, device=device,
        stream=current_stream_ptr(),
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
    from ._one_d import _leading_pairs, _prepare

    u, v, uw, vw, pf = _prepare(u_values, v_values, u_weights, v_weights, p, as_array=_as_device_array)

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
        check_bool(assume_sorted, "assume_sorted"),
    )
    if not shape:
        return float(out[0])  # the API's Python float: the one value read back
    return out.reshape(shape)


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
    from ._sliced import _directions, _power_mean, _prepare

    xa, ya, xw, yw, pf, n_proj = _prepare(x, y, x_weights, y_weights, p, n_projections, reduce, as_array=_as_device_array)
    theta = _directions(xa.shape[1], n_proj, projections, seed, xa.dtype, as_array=_as_device_array, xp=cupy)
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
    return _power_mean(cupy.asnumpy(w).astype(np.float64), pf)  # L numbers read back


# --- divergences --------------------------------------------------------------

_DIVERGENCE_KIND = {"tv": 0, "kl": 1, "js": 2}


def _divergence(kind: str, p: Any, q: Any, axis: int) -> Any:
    from ._divergences import _check_histograms

    pa, qa, dtype = _check_histograms(p, q, axis, as_array=_as_device_array)
    arrays = [pa, qa]
    shape = np.broadcast_shapes(pa.shape, qa.shape)
    # Rows of bins, contiguous: the histogram axis last, the batch broadcast.
    ax = axis % len(shape)
    rows = [cupy.ascontiguousarray(cupy.moveaxis(cupy.broadcast_to(a, shape), ax, -1)) for a in arrays]
    batch = rows[0].shape[:-1]
    bins = rows[0].shape[-1]
    out = cupy.empty(batch, dtype=dtype)
    _cuda.divergence(
        itemsize=dtype.itemsize, kind=_DIVERGENCE_KIND[kind], p=_device_ptr(rows[0]), q=_device_ptr(rows[1]),
        rows=int(np.prod(batch, dtype=np.int64)), bins=bins, out=_device_ptr(out), device=_device_id(),
        stream=current_stream_ptr(),
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
    from ._cost_matrix import homogeneous_costs

    def compute(xs: cupy.ndarray, ys: cupy.ndarray) -> cupy.ndarray:
        (n, d), m = xs.shape, ys.shape[0]
        out = cupy.empty((n, m), dtype=dtype)
        _cuda.cost_matrix(
            itemsize=dtype.itemsize, x=_device_ptr(xs), n=n, y=_device_ptr(ys), m=m, d=d, metric=_METRICS[metric],
            q=q, out=_device_ptr(out), device=_device_id(), stream=current_stream_ptr(),
        )
        return out

    # The CPU's range handling (coordinates beyond 2^+-300, costs that overflow).
    return homogeneous_costs(xa, ya, metric, compute)


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
    """Exact 1-D samples on the GPU's 1-D kernel, method="sinkhorn" on the GPU
    Sinkhorn (matrix-free); exact point clouds through the CPU solver."""
    if kwargs.get("method") == "sinkhorn" and set(kwargs) <= {"method", "reg", "metric"}:
        # emd.wasserstein's checks (python/emd/_wasserstein.py), same messages
        xa = _as_device_array(x, "x", min_ndim=1, max_ndim=2)
        ya = _as_device_array(y, "y", min_ndim=1, max_ndim=2)
        dx = 1 if xa.ndim == 1 else xa.shape[1]
        dy = 1 if ya.ndim == 1 else ya.shape[1]
        if dx != dy:
            raise ValueError(f"`x` and `y` must have the same dimension, got x {xa.shape} and y {ya.shape}")
        reg = kwargs.get("reg")
        if reg is None:
            raise ValueError("`reg` is required with method='sinkhorn' (the absolute entropic regularization epsilon)")
        return sinkhorn_wasserstein(
            xa.reshape(xa.shape[0], dx), ya.reshape(ya.shape[0], dy), reg, x_weights=x_weights, y_weights=y_weights,
            p=p, metric=kwargs.get("metric", "euclidean"),
        )
    if kwargs.get("method", "exact") == "exact" and x.ndim in (1, 2) and y.ndim in (1, 2):
        dx = 1 if x.ndim == 1 else x.shape[1]
        dy = 1 if y.ndim == 1 else y.shape[1]
        if dx == dy == 1 and kwargs.get("reg") is None:
            return wasserstein_1d(x.reshape(-1), y.reshape(-1), x_weights, y_weights, p=p)
    return _wasserstein_on_host(x, y, x_weights=x_weights, y_weights=y_weights, p=p, **kwargs)


# --- sinkhorn -----------------------------------------------------------------
# The CPU functions' checks and conventions (python/emd/_sinkhorn.py), on CuPy
# arrays: same messages, same result layout (OTResult with potentials on the
# device; floats for one problem, CuPy arrays of shape (B,) for a batch;
# status and n_iter as NumPy arrays: a few bytes read back for the warning).

# emd::Metric codes of the metrics sinkhorn_samples takes.
# 1-D problems up to this many cost entries run on the batched kernel (one
# block, no host round trips); larger ones on the dense kernels.
_ONE_BLOCK_ENTRIES = 1 << 16


def _sinkhorn_outputs(batch: int, n: int, m: int, dtype: np.dtype) -> dict[str, cupy.ndarray]:
    return {
        "f": cupy.empty((batch, n), dtype=dtype),
        "g": cupy.empty((batch, m), dtype=dtype),
        "cost": cupy.empty(batch, dtype=cupy.float64),
        "objective": cupy.empty(batch, dtype=cupy.float64),
        "marginal_error": cupy.empty(batch, dtype=cupy.float64),
        "n_iter": cupy.empty(batch, dtype=cupy.int64),
        "status": cupy.empty(batch, dtype=cupy.int32),
    }


def _output_ptrs(out: dict[str, cupy.ndarray], p: int = 0) -> Any:
    """_cuda.SinkhornOutputs: pointers to problem p's slot of every output array."""
    return _cuda.SinkhornOutputs(**{k: _device_ptr(v) + p * (v.strides[0] if v.ndim else 0) for k, v in out.items()})


def _params(reg: float, tol: float, max_iter: int, eps_scaling: float) -> Any:
    """_cuda.SinkhornParams (emd::SinkhornParams, the CPU's)."""
    return _cuda.SinkhornParams(reg=reg, tol=tol, max_iter=max_iter, eps_scaling=eps_scaling)


def _sinkhorn_result(out, dtype, batched, shape, plan_fn, max_iter, tol, what):
    from ._result import OTResult
    from ._sinkhorn import _STATUS, _warn_unconverged

    status = cupy.asnumpy(out["status"])
    n_iter = cupy.asnumpy(out["n_iter"])
    err_host = cupy.asnumpy(out["marginal_error"])
    _warn_unconverged(status, err_host, max_iter, tol, what)
    if batched:
        return OTResult(
            cost=out["cost"].astype(dtype), potential_a=out["f"], potential_b=out["g"], status=_STATUS[status],
            n_iter=n_iter, objective=out["objective"].astype(dtype), marginal_error=out["marginal_error"].astype(dtype),
            shape=(out["f"].shape[0], *shape), _plan_fn=plan_fn,
        )
    return OTResult(
        cost=float(out["cost"][0]), potential_a=out["f"][0], potential_b=out["g"][0], status=str(_STATUS[status[0]]),
        n_iter=int(n_iter[0]), objective=float(out["objective"][0]), marginal_error=float(err_host[0]),
        shape=shape, _plan_fn=plan_fn,
    )


def _dense_plan(a2, b2, M, f, g, reg):
    """P = a_i b_j exp((f_i + g_j - M_ij) / reg), (B, n, m), computed in float64 on the device."""
    cost = M.astype(cupy.float64)
    t = (f.astype(cupy.float64)[:, :, None] + g.astype(cupy.float64)[:, None, :] - cost) / reg
    return (a2.astype(cupy.float64)[:, :, None] * b2.astype(cupy.float64)[:, None, :] * cupy.exp(t)).astype(f.dtype)


def sinkhorn(a: Any, b: Any, M: Any, reg: float, *, max_iter: int = 10_000, tol: float = 1e-9,
             eps_scaling: float | None = None, init: tuple[Any, Any] | None = None) -> Any:
    from ._sinkhorn import _init_potentials, _prepare_dense

    a2, b2, MM, mass_a, dtype, batched, batch, n, m, reg_f, max_iter_i, tol_f, eps = _prepare_dense(
        a, b, M, reg, max_iter, tol, eps_scaling, as_array=_as_device_array, xp=cupy
    )
    f0, g0 = _init_potentials(init, batch, n, m, batched, dtype, MM, as_array=_as_device_array, xp=cupy)
    shared = MM.ndim == 2
    out = _sinkhorn_outputs(batch, n, m, dtype)
    device, stream = _device_id(), current_stream_ptr()
    itemsize = dtype.itemsize
    one_block = _cuda.sinkhorn_batched_fits(n, m) and (batched or n * m <= _ONE_BLOCK_ENTRIES)
    if one_block:
        scale = None
        if eps > 0:  # eps_scaling starts from max |M| of each problem (the CPU's scale)
            absmax = cupy.abs(MM).reshape(1 if shared else batch, -1).max(axis=1)
            scale = cupy.ascontiguousarray(absmax.astype(cupy.float64))
        _cuda.sinkhorn_batched(
            itemsize=itemsize, a=_device_ptr(a2), b=_device_ptr(b2), cost=_device_ptr(MM), shared_cost=shared,
            num_problems=batch, n=n, m=m, params=_params(reg_f, tol_f, max_iter_i, eps), scale=_device_ptr(scale),
            f_init=_device_ptr(f0), g_init=_device_ptr(g0), outputs=_output_ptrs(out), device=device, stream=stream,
        )
    else:
        nbytes = _cuda.sinkhorn_dense_workspace_bytes(itemsize=itemsize, n=n, m=m, device=device)
        workspace = cupy.empty(nbytes, dtype=cupy.uint8)
        scales = None
        if eps > 0:
            scales = cupy.asnumpy(cupy.abs(MM).reshape(1 if shared else batch, -1).max(axis=1)).astype(np.float64)
        for p in range(batch):
            cost = MM if shared else MM[p]
            _cuda.sinkhorn_dense(
                itemsize=itemsize, a=_device_ptr(a2[p]), b=_device_ptr(b2[p]), cost=_device_ptr(cost), n=n, m=m,
                params=_params(reg_f, tol_f, max_iter_i, eps),
                scale=0.0 if scales is None else float(scales[0 if shared else p]), mass_a=float(mass_a[p]),
                f_init=0 if f0 is None else _device_ptr(f0[p]), g_init=0 if g0 is None else _device_ptr(g0[p]),
                outputs=_output_ptrs(out, p), workspace=_device_ptr(workspace), workspace_bytes=nbytes,
                device=device, stream=stream,
            )

    def plan() -> cupy.ndarray:
        P = _dense_plan(a2, b2, MM if not shared else MM[None], out["f"], out["g"], reg_f)
        return P if batched else P[0]

    return _sinkhorn_result(out, dtype, batched, (n, m), plan, max_iter_i, tol_f, "sinkhorn")


def _sinkhorn_metrics() -> dict[str, int]:
    from ._sinkhorn import _METRICS

    return _METRICS


def _prepare_device_samples(x, y, x_weights, y_weights, p, metric):
    from ._sinkhorn import _prepare_samples

    return _prepare_samples(x, y, x_weights, y_weights, p, metric, as_array=_as_device_array, xp=cupy)


def _samples_scale(xa, ya, code, power) -> float:
    """The CPU's eps_scaling start: the metric across the bounding box of both clouds, to the power."""
    lo = cupy.asnumpy(cupy.minimum(xa.min(axis=0), ya.min(axis=0))).astype(np.float64)  # d numbers
    hi = cupy.asnumpy(cupy.maximum(xa.max(axis=0), ya.max(axis=0))).astype(np.float64)
    t = np.abs(hi - lo)
    dist = {0: float((t * t).sum()), 1: float(np.sqrt((t * t).sum())), 2: float(t.sum()), 3: float(t.max())}[code]
    return dist**power


def _solve_device_samples(xa, ya, a, b, code, power, reg, max_iter, tol, eps):
    (n, d), m = xa.shape, ya.shape[0]
    dtype = xa.dtype
    out = _sinkhorn_outputs(1, n, m, dtype)
    device = _device_id()
    nbytes = _cuda.sinkhorn_samples_workspace_bytes(itemsize=dtype.itemsize, n=n, m=m, d=d, device=device)
    workspace = cupy.empty(nbytes, dtype=cupy.uint8)
    scale = _samples_scale(xa, ya, code, power) if eps > 0 else 0.0
    _cuda.sinkhorn_samples(
        itemsize=dtype.itemsize, x=_device_ptr(xa), y=_device_ptr(ya), a=_device_ptr(a), b=_device_ptr(b), n=n, m=m,
        d=d, metric=code, power=power, params=_params(reg, tol, max_iter, eps), scale=scale, f_init=0, g_init=0,
        outputs=_output_ptrs(out), workspace=_device_ptr(workspace), workspace_bytes=nbytes, device=device,
        stream=current_stream_ptr(),
    )
    return out


def sinkhorn_samples(x: Any, y: Any, reg: float, *, x_weights: Any = None, y_weights: Any = None, p: float = 2,
                     metric: str = "euclidean", max_iter: int = 10_000, tol: float = 1e-9,
                     eps_scaling: float | None = None) -> Any:
    from ._sinkhorn import _MAX_SAMPLE_PLAN_ENTRIES, _check_reg_for, _largest_sample_cost, _options

    reg_f, max_iter_i, tol_f, eps = _options(reg, max_iter, tol, eps_scaling)
    xa, ya, a, b, code, power, dtype = _prepare_device_samples(x, y, x_weights, y_weights, p, metric)
    _check_reg_for(reg_f, dtype, _largest_sample_cost(xa, ya, code, power, dtype))
    out = _solve_device_samples(xa, ya, a, b, code, power, reg_f, max_iter_i, tol_f, eps)
    n, m = xa.shape[0], ya.shape[0]

    def plan() -> cupy.ndarray:
        if n * m > _MAX_SAMPLE_PLAN_ENTRIES:
            raise ValueError(
                f"the plan of this {n} x {m} problem has {n * m} entries; sinkhorn_samples builds plans of at most"
                f" {_MAX_SAMPLE_PLAN_ENTRIES} entries: use the potentials (P_ij = a_i b_j exp((f_i + g_j - C_ij) / reg))"
            )
        names = {v: k for k, v in _sinkhorn_metrics().items()}
        C = cost_matrix(xa, ya, names[code]).astype(cupy.float64) ** power
        return _dense_plan(a[None], b[None], C[None], out["f"], out["g"], reg_f)[0]

    return _sinkhorn_result(out, dtype, False, (n, m), plan, max_iter_i, tol_f, "sinkhorn_samples")


def sinkhorn_divergence(x: Any, y: Any, reg: float, *, x_weights: Any = None, y_weights: Any = None, p: float = 2,
                        metric: str = "euclidean", max_iter: int = 10_000, tol: float = 1e-9,
                        eps_scaling: float | None = None) -> float:
    from ._sinkhorn import _check_reg_for, _largest_sample_cost, _options, _warn_unconverged

    reg_f, max_iter_i, tol_f, eps = _options(reg, max_iter, tol, eps_scaling)
    xa, ya, a, b, code, power, dtype = _prepare_device_samples(x, y, x_weights, y_weights, p, metric)
    _check_reg_for(reg_f, dtype, _largest_sample_cost(xa, ya, code, power, dtype))
    values, statuses, errors = [], [], []
    for u, v, wu, wv in ((xa, ya, a, b), (xa, xa, a, a), (ya, ya, b, b)):
        out = _solve_device_samples(u, v, wu, wv, code, power, reg_f, max_iter_i, tol_f, eps)
        dual = wu.astype(cupy.float64) @ out["f"][0].astype(cupy.float64) + wv.astype(cupy.float64) @ out["g"][0].astype(
            cupy.float64
        )
        values.append(float(dual))
        statuses.append(int(out["status"][0]))
        errors.append(float(out["marginal_error"][0]))
    _warn_unconverged(np.array(statuses), np.array(errors), max_iter_i, tol_f, "sinkhorn_divergence")
    return max(values[0] - 0.5 * values[1] - 0.5 * values[2], 0.0)


def sinkhorn_wasserstein(x: Any, y: Any, reg: float, *, x_weights: Any = None, y_weights: Any = None, p: float = 1.0,
                         metric: str = "euclidean", max_iter: int = 10_000, tol: float = 1e-9,
                         eps_scaling: float | None = None) -> float:
    res = sinkhorn_samples(x, y, reg, x_weights=x_weights, y_weights=y_weights, p=p, metric=metric,
                           max_iter=max_iter, tol=tol, eps_scaling=eps_scaling)
    return float(max(res.cost, 0.0) ** (1.0 / check_p(p)))


# --- critic -------------------------------------------------------------------
# Narrow networks (every width <= 64) run emd's fused kernel; wider ones a
# chain of cuBLAS products through CuPy's matmul (batched over stacked
# critics), where a tensor-core GEMM beats a hand-written one. The critic's
# parameters may be NumPy arrays (copied to the device on each call: a few
# kilobytes for the networks the fused kernel takes) or CuPy arrays.


def _critic_layers(critic: Any, dtype: np.dtype) -> tuple[list[cupy.ndarray], list[cupy.ndarray]]:
    """(K, fan_in, fan_out) weights and (K, fan_out) biases on the device, contiguous, of `dtype`."""
    ws, bs = [], []
    for w, b in zip(critic.weights, critic.biases):
        w = cupy.ascontiguousarray(cupy.asarray(w, dtype=dtype))
        b = cupy.ascontiguousarray(cupy.asarray(b, dtype=dtype))
        ws.append(w if w.ndim == 3 else w[None])
        bs.append(b if b.ndim == 2 else b[None])
    return ws, bs


def _matmul_forward(ws, bs, slope: float, x: cupy.ndarray) -> cupy.ndarray:
    """(K, B) outputs of a chain h @ W + b, LeakyReLU between, x (K, B, d) or (1, B, d) broadcast."""
    h = x
    last = len(ws) - 1
    for l, (w, b) in enumerate(zip(ws, bs)):
        h = cupy.matmul(h, w) + b[:, None, :]
        if l < last:
            h = cupy.maximum(h, h * h.dtype.type(slope))
    return h[..., 0]


def _critic_net(dtype: np.dtype, dims: list[int], ws: list, bs: list, K: int, slope: float) -> Any:
    """_cuda.CriticNet: the layers' device pointers with their widths."""
    return _cuda.CriticNet(
        itemsize=dtype.itemsize, dims=dims, weights=[_device_ptr(w) for w in ws], biases=[_device_ptr(b) for b in bs],
        num_critics=K, slope=float(slope),
    )


def _critic_call(critic: Any, dtype: np.dtype):
    from ._critic import _check_critic

    critic = _check_critic(critic)
    ws, bs = _critic_layers(critic, dtype)
    dims = [int(d) for d in critic.layers]
    fused = len(ws) <= 8 and bool(_cuda.critic_fused_fits(itemsize=dtype.itemsize, dims=dims, device=_device_id()))
    return critic, ws, bs, dims, fused


def critic_forward(critic: Any, x: Any) -> cupy.ndarray:
    from ._critic import _check_critic, _check_input

    critic = _check_critic(critic)
    xa, dtype = _check_input(critic, x, as_array=_as_device_array)
    critic, ws, bs, dims, fused = _critic_call(critic, dtype)
    K, batch = critic.num_critics, xa.shape[-2]
    if fused:
        out = cupy.empty((K, batch), dtype=dtype)
        _cuda.critic_forward(
            _critic_net(dtype, dims, ws, bs, K, critic.slope), x=_device_ptr(xa), batch=batch, shared_x=xa.ndim == 2,
            out=_device_ptr(out), device=_device_id(), stream=current_stream_ptr(),
        )
    else:
        out = _matmul_forward(ws, bs, critic.slope, xa if xa.ndim == 3 else xa[None])
        out = cupy.ascontiguousarray(cupy.broadcast_to(out, (K, batch)))
    return out if critic.is_stacked else out[0]


def kr_estimate(critic: Any, x_real: Any, x_fake: Any) -> Any:
    from ._critic import _check_critic, _check_pair

    critic = _check_critic(critic)
    xr, xf, dtype = _check_pair(critic, x_real, x_fake, as_array=_as_device_array)
    critic, ws, bs, dims, fused = _critic_call(critic, dtype)
    K = critic.num_critics
    if fused:
        out = cupy.empty(K, dtype=cupy.float64)
        nbytes = _cuda.kr_estimate_workspace_bytes(K)
        workspace = cupy.empty(nbytes, dtype=cupy.uint8)
        _cuda.kr_estimate(
            _critic_net(dtype, dims, ws, bs, K, critic.slope), x_real=_device_ptr(xr), n_real=xr.shape[0],
            x_fake=_device_ptr(xf), n_fake=xf.shape[0], out=_device_ptr(out), workspace=_device_ptr(workspace),
            workspace_bytes=nbytes, device=_device_id(), stream=current_stream_ptr(),
        )
    else:
        fr = _matmul_forward(ws, bs, critic.slope, xr[None]).astype(cupy.float64)
        ff = _matmul_forward(ws, bs, critic.slope, xf[None]).astype(cupy.float64)
        out = fr.mean(axis=1) - ff.mean(axis=1)
    return float(out[0]) if not critic.is_stacked else out
