"""The CUDA backend: CuPy arrays through emd's CUDA kernels (``emd._cuda``).

Runs on the device of the inputs and CuPy's current stream. Inputs are
validated by the same code as on the CPU (``_validation.py``; its checks run
on CuPy arrays through NumPy's ``__array_function__`` protocol, which CuPy
implements), so errors read the same. The data never leaves the device:
validation reads back a few scalars (is it finite, is it nonnegative), and a
function that returns one number reads back that number. Temporary buffers
come from CuPy's memory pool. The exact solver has no CUDA kernel yet: its
problems are copied to the host once and back.
"""

from __future__ import annotations

from typing import Any

import cupy
import numpy as np

from .. import _cuda
from .._metrics import METRIC_CODES, SAMPLE_METRICS
from .._problems import Critic, DenseSinkhorn, Exact, ExactSolution, OneD, SampleSinkhorn, SinkhornSolution
from .._validation import as_float_array
from .cpu import CPU_BACKEND
from .base import Backend, HostLastSteps

__all__ = ["CUDA"]

_DIVERGENCE_KIND = {"tv": 0, "kl": 1, "js": 2}
# 1-D problems up to this many cost entries run on the batched Sinkhorn kernel
# (one block, no host round trips); larger ones on the dense kernels.
_ONE_BLOCK_ENTRIES = 1 << 16
_SOLUTION_FIELDS = ("f", "g", "cost", "objective", "marginal_error", "n_iter", "status")


def _shadow(arr: cupy.ndarray) -> np.ndarray:
    """A NumPy array of ``arr``'s dtype and shape that owns no memory.

    Lets the metadata checks of ``as_float_array`` (dtype kind, number of
    dimensions, emptiness) run unchanged, with unchanged messages.
    """
    base = np.zeros(1, dtype=arr.dtype)
    return np.lib.stride_tricks.as_strided(base, shape=arr.shape, strides=(0,) * arr.ndim)


def _device_ptr(arr: cupy.ndarray | None) -> int:
    return 0 if arr is None else int(arr.data.ptr)


def _device_id() -> int:
    return int(cupy.cuda.Device().id)


def _stream() -> int:
    """CuPy's current stream on the current device, as the integer the kernels take."""
    return int(cupy.cuda.get_current_stream().ptr)


def _outputs(batch: int, n: int, m: int, dtype: np.dtype) -> dict[str, cupy.ndarray]:
    return {
        "f": cupy.empty((batch, n), dtype=dtype),
        "g": cupy.empty((batch, m), dtype=dtype),
        "cost": cupy.empty(batch, dtype=cupy.float64),
        "objective": cupy.empty(batch, dtype=cupy.float64),
        "marginal_error": cupy.empty(batch, dtype=cupy.float64),
        "n_iter": cupy.empty(batch, dtype=cupy.int64),
        "status": cupy.empty(batch, dtype=cupy.int32),
    }


def _output_ptrs(out: dict[str, cupy.ndarray], p: int = 0) -> tuple[int, ...]:
    """Pointers to problem p's slot of every output array."""
    return tuple(_device_ptr(out[k]) + p * (out[k].strides[0] if out[k].ndim else 0) for k in _SOLUTION_FIELDS)


def _solution(out: dict[str, cupy.ndarray]) -> SinkhornSolution:
    # Statuses and iteration counts are read back (a few bytes: warnings need them).
    return SinkhornSolution(
        f=out["f"], g=out["g"], cost=out["cost"], objective=out["objective"], marginal_error=out["marginal_error"],
        n_iter=cupy.asnumpy(out["n_iter"]), status=cupy.asnumpy(out["status"]),
    )


def _plan(a2: Any, b2: Any, M: Any, f: Any, g: Any, reg: float) -> cupy.ndarray:
    """P = a_i b_j exp((f_i + g_j - M_ij) / reg), (B, n, m), computed in float64 on the device."""
    cost = M.astype(cupy.float64)
    t = (f.astype(cupy.float64)[:, :, None] + g.astype(cupy.float64)[:, None, :] - cost) / reg
    return (a2.astype(cupy.float64)[:, :, None] * b2.astype(cupy.float64)[:, None, :] * cupy.exp(t)).astype(f.dtype)


def _matmul_forward(ws: Any, bs: Any, slope: float, x: cupy.ndarray) -> cupy.ndarray:
    """(K, B) outputs of a chain h @ W + b, LeakyReLU between, x (K, B, d) or (1, B, d) broadcast."""
    h = x
    last = len(ws) - 1
    for l, (w, b) in enumerate(zip(ws, bs)):
        h = cupy.matmul(h, w) + b[:, None, :]
        if l < last:
            h = cupy.maximum(h, h * h.dtype.type(slope))
    return h[..., 0]


class CUDA(HostLastSteps, Backend):
    """CuPy arrays on device ``index``."""

    name = "cuda"
    xp = cupy
    host = False

    def __init__(self, index: int) -> None:
        self.index = index

    def active(self) -> Any:
        return cupy.cuda.Device(self.index)

    def asarray(self, x: Any, name: str, **kwargs: Any) -> cupy.ndarray:
        if not isinstance(x, cupy.ndarray):
            raise TypeError(f"`{name}` must be a CuPy array like the other arguments, got {type(x).__name__}")
        as_float_array(_shadow(x), name, **kwargs)
        return x

    def to_host(self, x: Any) -> np.ndarray:
        return cupy.asnumpy(x) if isinstance(x, cupy.ndarray) else np.asarray(x)

    # --- kernels ----------------------------------------------------------------------------
    def wasserstein_1d(self, problem: OneD) -> cupy.ndarray:
        u, v = problem.u, problem.v
        (u_rows, n), (v_rows, m) = u.shape, v.shape
        # The kernel takes one weight row per value row: a shared row is laid
        # out once per row (from the memory pool).
        uw, vw = problem.u_weights, problem.v_weights
        if uw is not None and uw.ndim == 1:
            uw = cupy.ascontiguousarray(cupy.broadcast_to(uw, u.shape))
        if vw is not None and vw.ndim == 1:
            vw = cupy.ascontiguousarray(cupy.broadcast_to(vw, v.shape))
        pair_u = cupy.asarray(problem.pair_u)  # batch indices, not data: a few bytes per pair
        pair_v = cupy.asarray(problem.pair_v)
        num_pairs = int(pair_u.shape[0])
        itemsize, device, p, srt = u.dtype.itemsize, _device_id(), problem.p, problem.assume_sorted
        nbytes = _cuda.wasserstein_1d_workspace_bytes(
            itemsize, _device_ptr(u), _device_ptr(uw), u_rows, n, _device_ptr(v), _device_ptr(vw), v_rows, m,
            num_pairs, p, srt, device,
        )
        workspace = cupy.empty(nbytes, dtype=cupy.uint8)
        out = cupy.empty(num_pairs, dtype=u.dtype)
        _cuda.wasserstein_1d(
            itemsize, _device_ptr(u), _device_ptr(uw), u_rows, n, _device_ptr(v), _device_ptr(vw), v_rows, m,
            _device_ptr(pair_u), _device_ptr(pair_v), num_pairs, p, srt,
            _device_ptr(out), _device_ptr(workspace), nbytes, device, _stream(),
        )
        return out

    def divergence(self, kind: str, p: Any, q: Any, axis: int) -> cupy.ndarray:
        shape = np.broadcast_shapes(p.shape, q.shape)
        # Rows of bins, contiguous: the histogram axis last, the batch broadcast.
        ax = axis % len(shape)
        rows = [cupy.ascontiguousarray(cupy.moveaxis(cupy.broadcast_to(a, shape), ax, -1)) for a in (p, q)]
        batch, bins = rows[0].shape[:-1], rows[0].shape[-1]
        out = cupy.empty(batch, dtype=p.dtype)
        _cuda.divergence(
            p.dtype.itemsize, _DIVERGENCE_KIND[kind], _device_ptr(rows[0]), _device_ptr(rows[1]),
            int(np.prod(batch, dtype=np.int64)), bins, _device_ptr(out), _device_id(), _stream(),
        )
        return out

    def cost_matrix(self, x: Any, y: Any, metric: str, q: float) -> cupy.ndarray:
        (n, d), m = x.shape, y.shape[0]
        out = cupy.empty((n, m), dtype=x.dtype)
        _cuda.cost_matrix(
            x.dtype.itemsize, _device_ptr(x), n, _device_ptr(y), m, d, METRIC_CODES[metric], q,
            _device_ptr(out), _device_id(), _stream(),
        )
        return out

    def network_simplex(self, problem: Exact) -> ExactSolution:
        host = Exact(cupy.asnumpy(problem.a), cupy.asnumpy(problem.b), cupy.asnumpy(problem.M), problem.max_iter)
        sol = CPU_BACKEND.network_simplex(host)
        keep_on_host = ("status", "n_iter", "num_plan")
        return ExactSolution(**{
            k: (v if k in keep_on_host else cupy.asarray(v)) for k, v in vars(sol).items()
        })

    def sinkhorn_dense(self, problem: DenseSinkhorn) -> SinkhornSolution:
        pr = problem
        a2, b2, MM = pr.a, pr.b, pr.M
        batch, n, m = a2.shape[0], a2.shape[1], b2.shape[1]
        dtype = a2.dtype
        shared = MM.ndim == 2
        out = _outputs(batch, n, m, dtype)
        device, stream, itemsize = _device_id(), _stream(), dtype.itemsize
        if _cuda.sinkhorn_batched_fits(n, m) and (pr.batched or n * m <= _ONE_BLOCK_ENTRIES):
            scale = None
            if pr.eps_scaling > 0:  # eps_scaling starts from max |M| of each problem (the CPU's scale)
                absmax = cupy.abs(MM).reshape(1 if shared else batch, -1).max(axis=1)
                scale = cupy.ascontiguousarray(absmax.astype(cupy.float64))
            _cuda.sinkhorn_batched(
                itemsize, _device_ptr(a2), _device_ptr(b2), _device_ptr(MM), shared, batch, n, m, pr.reg, pr.tol,
                pr.max_iter, pr.eps_scaling, _device_ptr(scale), _device_ptr(pr.f0), _device_ptr(pr.g0),
                _output_ptrs(out), device, stream,
            )
            return _solution(out)
        nbytes = _cuda.sinkhorn_dense_workspace_bytes(itemsize, n, m, device)
        workspace = cupy.empty(nbytes, dtype=cupy.uint8)
        scales = None
        if pr.eps_scaling > 0:
            scales = cupy.asnumpy(cupy.abs(MM).reshape(1 if shared else batch, -1).max(axis=1)).astype(np.float64)
        for p in range(batch):
            cost = MM if shared else MM[p]
            _cuda.sinkhorn_dense(
                itemsize, _device_ptr(a2[p]), _device_ptr(b2[p]), _device_ptr(cost), n, m, pr.reg, pr.tol,
                pr.max_iter, pr.eps_scaling, 0.0 if scales is None else float(scales[0 if shared else p]),
                float(pr.mass_a[p]), 0 if pr.f0 is None else _device_ptr(pr.f0[p]),
                0 if pr.g0 is None else _device_ptr(pr.g0[p]), _output_ptrs(out, p), _device_ptr(workspace), nbytes,
                device, stream,
            )
        return _solution(out)

    def sinkhorn_plan_dense(self, problem: DenseSinkhorn, f: Any, g: Any) -> cupy.ndarray:
        M = problem.M if problem.M.ndim == 3 else problem.M[None]
        return _plan(problem.a, problem.b, M, f, g, problem.reg)

    def sinkhorn_samples(self, problem: SampleSinkhorn) -> SinkhornSolution:
        pr = problem
        (n, d), m = pr.x.shape, pr.y.shape[0]
        dtype = pr.x.dtype
        out = _outputs(1, n, m, dtype)
        device = _device_id()
        nbytes = _cuda.sinkhorn_samples_workspace_bytes(dtype.itemsize, n, m, d, device)
        workspace = cupy.empty(nbytes, dtype=cupy.uint8)
        scale = self._samples_scale(pr) if pr.eps_scaling > 0 else 0.0
        _cuda.sinkhorn_samples(
            dtype.itemsize, _device_ptr(pr.x), _device_ptr(pr.y), _device_ptr(pr.a), _device_ptr(pr.b), n, m, d,
            pr.metric, pr.power, pr.reg, pr.tol, pr.max_iter, pr.eps_scaling, scale, 0, 0, _output_ptrs(out),
            _device_ptr(workspace), nbytes, device, _stream(),
        )
        return _solution(out)

    @staticmethod
    def _samples_scale(pr: SampleSinkhorn) -> float:
        """The CPU's eps_scaling start: the metric across the bounding box of both clouds, to the power."""
        lo = cupy.asnumpy(cupy.minimum(pr.x.min(axis=0), pr.y.min(axis=0))).astype(np.float64)  # d numbers
        hi = cupy.asnumpy(cupy.maximum(pr.x.max(axis=0), pr.y.max(axis=0))).astype(np.float64)
        t = np.abs(hi - lo)
        dist = {0: float((t * t).sum()), 1: float(np.sqrt((t * t).sum())), 2: float(t.sum()), 3: float(t.max())}
        return dist[pr.metric] ** pr.power

    def sinkhorn_plan_samples(self, problem: SampleSinkhorn, f: Any, g: Any) -> cupy.ndarray:
        pr = problem
        C = self.cost_matrix(pr.x, pr.y, SAMPLE_METRICS[pr.metric], 2.0).astype(cupy.float64) ** pr.power
        return _plan(pr.a[None], pr.b[None], C[None], f[None], g[None], pr.reg)[0]

    # --- critic -----------------------------------------------------------------------------
    # Narrow networks (every width <= 64) run emd's fused kernel; wider ones a
    # chain of cuBLAS products through CuPy's matmul (batched over stacked
    # critics), where a tensor-core GEMM beats a hand-written one. The critic's
    # parameters may be NumPy arrays (copied to the device on each call: a few
    # kilobytes for the networks the fused kernel takes) or CuPy arrays.
    def critic_layers(self, critic: Any, dtype: np.dtype) -> Critic:
        ws, bs = [], []
        for w, b in zip(critic.weights, critic.biases):
            w = cupy.ascontiguousarray(cupy.asarray(w, dtype=dtype))
            b = cupy.ascontiguousarray(cupy.asarray(b, dtype=dtype))
            ws.append(w if w.ndim == 3 else w[None])
            bs.append(b if b.ndim == 2 else b[None])
        return Critic(tuple(ws), tuple(bs), float(critic.slope), bool(critic.is_stacked))

    def _fused(self, critic: Critic) -> tuple[bool, list[int]]:
        dims = [int(critic.weights[0].shape[1])] + [int(w.shape[2]) for w in critic.weights]
        itemsize = critic.weights[0].dtype.itemsize
        return len(critic.weights) <= 8 and bool(_cuda.critic_fused_fits(itemsize, dims, _device_id())), dims

    def critic_forward(self, critic: Critic, x: Any) -> cupy.ndarray:
        fused, dims = self._fused(critic)
        K, batch, dtype = critic.num_critics, x.shape[-2], x.dtype
        if fused:
            out = cupy.empty((K, batch), dtype=dtype)
            _cuda.critic_forward(
                dtype.itemsize, dims, [_device_ptr(w) for w in critic.weights], [_device_ptr(b) for b in critic.biases],
                K, critic.slope, _device_ptr(x), batch, x.ndim == 2, _device_ptr(out), _device_id(), _stream(),
            )
            return out
        out = _matmul_forward(critic.weights, critic.biases, critic.slope, x if x.ndim == 3 else x[None])
        return cupy.ascontiguousarray(cupy.broadcast_to(out, (K, batch)))

    def kr_estimate(self, critic: Critic, x_real: Any, x_fake: Any) -> np.ndarray:
        fused, dims = self._fused(critic)
        K, dtype = critic.num_critics, x_real.dtype
        if fused:
            out = cupy.empty(K, dtype=cupy.float64)
            nbytes = _cuda.kr_estimate_workspace_bytes(K)
            workspace = cupy.empty(nbytes, dtype=cupy.uint8)
            _cuda.kr_estimate(
                dtype.itemsize, dims, [_device_ptr(w) for w in critic.weights], [_device_ptr(b) for b in critic.biases],
                K, critic.slope, _device_ptr(x_real), x_real.shape[0], _device_ptr(x_fake), x_fake.shape[0],
                _device_ptr(out), _device_ptr(workspace), nbytes, _device_id(), _stream(),
            )
        else:
            fr = _matmul_forward(critic.weights, critic.biases, critic.slope, x_real[None]).astype(cupy.float64)
            ff = _matmul_forward(critic.weights, critic.biases, critic.slope, x_fake[None]).astype(cupy.float64)
            out = fr.mean(axis=1) - ff.mean(axis=1)
        return cupy.asnumpy(out)  # K numbers
