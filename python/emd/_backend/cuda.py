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

import dataclasses
from typing import Any

import cupy
import numpy as np

from .. import _cuda
from .._metrics import METRIC_CODES, SAMPLE_METRICS
from .._problems import Critic, DenseSinkhorn, Exact, ExactSolution, OneD, SampleSinkhorn, SinkhornSolution
from .._validation import as_float_array
from .cpu import CPU_BACKEND
from .base import Backend

__all__ = ["CUDA"]

_DIVERGENCE_KIND = {"tv": 0, "kl": 1, "js": 2}
# 1-D problems up to this many cost entries run on the batched Sinkhorn kernel
# (one block, no host round trips); larger ones on the dense kernels.
_ONE_BLOCK_ENTRIES = 1 << 16


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


def _output_ptrs(out: dict[str, cupy.ndarray], p: int = 0) -> Any:
    """_cuda.SinkhornOutputs: pointers to problem p's slot of every output array."""
    return _cuda.SinkhornOutputs(**{k: _device_ptr(v) + p * (v.strides[0] if v.ndim else 0) for k, v in out.items()})


def _params(problem: DenseSinkhorn | SampleSinkhorn) -> Any:
    """_cuda.SinkhornParams (emd::SinkhornParams, the CPU's) of a problem."""
    return _cuda.SinkhornParams(
        reg=problem.reg, tol=problem.tol, max_iter=problem.max_iter, eps_scaling=problem.eps_scaling
    )


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


class CUDA(Backend):
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
        device = _device_id()
        args = _cuda.OneDProblem(
            itemsize=u.dtype.itemsize, u=_device_ptr(u), u_weights=_device_ptr(uw), u_rows=u_rows, n=n,
            v=_device_ptr(v), v_weights=_device_ptr(vw), v_rows=v_rows, m=m, pair_u=_device_ptr(pair_u),
            pair_v=_device_ptr(pair_v), num_pairs=num_pairs, p=problem.p, assume_sorted=problem.assume_sorted,
        )
        nbytes = _cuda.wasserstein_1d_workspace_bytes(args, device=device)
        workspace = cupy.empty(nbytes, dtype=cupy.uint8)
        out = cupy.empty(num_pairs, dtype=u.dtype)
        _cuda.wasserstein_1d(
            args, out=_device_ptr(out), workspace=_device_ptr(workspace), workspace_bytes=nbytes, device=device,
            stream=_stream(),
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
            itemsize=p.dtype.itemsize, kind=_DIVERGENCE_KIND[kind], p=_device_ptr(rows[0]), q=_device_ptr(rows[1]),
            rows=int(np.prod(batch, dtype=np.int64)), bins=bins, out=_device_ptr(out), device=_device_id(),
            stream=_stream(),
        )
        return out

    def cost_matrix(self, x: Any, y: Any, metric: str, q: float) -> cupy.ndarray:
        (n, d), m = x.shape, y.shape[0]
        out = cupy.empty((n, m), dtype=x.dtype)
        _cuda.cost_matrix(
            itemsize=x.dtype.itemsize, x=_device_ptr(x), n=n, y=_device_ptr(y), m=m, d=d, metric=METRIC_CODES[metric],
            q=q, out=_device_ptr(out), device=_device_id(), stream=_stream(),
        )
        return out

    def network_simplex(self, problem: Exact) -> ExactSolution:
        host = Exact(cupy.asnumpy(problem.a), cupy.asnumpy(problem.b), cupy.asnumpy(problem.M), problem.max_iter)
        sol = CPU_BACKEND.network_simplex(host)
        return dataclasses.replace(sol, **{
            k: cupy.asarray(getattr(sol, k))
            for k in ("cost", "potential_a", "potential_b", "duality_gap", "plan_rows", "plan_cols", "plan_values")
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
                itemsize=itemsize, a=_device_ptr(a2), b=_device_ptr(b2), cost=_device_ptr(MM), shared_cost=shared,
                num_problems=batch, n=n, m=m, params=_params(pr), scale=_device_ptr(scale), f_init=_device_ptr(pr.f0),
                g_init=_device_ptr(pr.g0), outputs=_output_ptrs(out), device=device, stream=stream,
            )
            return _solution(out)
        nbytes = _cuda.sinkhorn_dense_workspace_bytes(itemsize=itemsize, n=n, m=m, device=device)
        workspace = cupy.empty(nbytes, dtype=cupy.uint8)
        scales = None
        if pr.eps_scaling > 0:
            scales = cupy.asnumpy(cupy.abs(MM).reshape(1 if shared else batch, -1).max(axis=1)).astype(np.float64)
        for p in range(batch):
            cost = MM if shared else MM[p]
            _cuda.sinkhorn_dense(
                itemsize=itemsize, a=_device_ptr(a2[p]), b=_device_ptr(b2[p]), cost=_device_ptr(cost), n=n, m=m,
                params=_params(pr), scale=0.0 if scales is None else float(scales[0 if shared else p]),
                mass_a=float(pr.mass_a[p]), f_init=0 if pr.f0 is None else _device_ptr(pr.f0[p]),
                g_init=0 if pr.g0 is None else _device_ptr(pr.g0[p]), outputs=_output_ptrs(out, p),
                workspace=_device_ptr(workspace), workspace_bytes=nbytes, device=device, stream=stream,
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
        nbytes = _cuda.sinkhorn_samples_workspace_bytes(itemsize=dtype.itemsize, n=n, m=m, d=d, device=device)
        workspace = cupy.empty(nbytes, dtype=cupy.uint8)
        scale = self._samples_scale(pr) if pr.eps_scaling > 0 else 0.0
        _cuda.sinkhorn_samples(
            itemsize=dtype.itemsize, x=_device_ptr(pr.x), y=_device_ptr(pr.y), a=_device_ptr(pr.a), b=_device_ptr(pr.b),
            n=n, m=m, d=d, metric=pr.metric, power=pr.power, params=_params(pr), scale=scale, f_init=0, g_init=0,
            outputs=_output_ptrs(out), workspace=_device_ptr(workspace), workspace_bytes=nbytes, device=device,
            stream=_stream(),
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

    def _fused(self, critic: Critic) -> tuple[bool, Any]:
        """Whether the fused kernel takes the network, and the network as _cuda.CriticNet."""
        dims = [int(critic.weights[0].shape[1])] + [int(w.shape[2]) for w in critic.weights]
        itemsize = critic.weights[0].dtype.itemsize
        fits = len(critic.weights) <= 8 and bool(_cuda.critic_fused_fits(itemsize=itemsize, dims=dims, device=_device_id()))
        net = _cuda.CriticNet(
            itemsize=itemsize, dims=dims, weights=[_device_ptr(w) for w in critic.weights],
            biases=[_device_ptr(b) for b in critic.biases], num_critics=critic.num_critics, slope=critic.slope,
        )
        return fits, net

    def critic_forward(self, critic: Critic, x: Any) -> cupy.ndarray:
        fused, net = self._fused(critic)
        K, batch, dtype = critic.num_critics, x.shape[-2], x.dtype
        if fused:
            out = cupy.empty((K, batch), dtype=dtype)
            _cuda.critic_forward(
                net, x=_device_ptr(x), batch=batch, shared_x=x.ndim == 2, out=_device_ptr(out), device=_device_id(),
                stream=_stream(),
            )
            return out
        out = _matmul_forward(critic.weights, critic.biases, critic.slope, x if x.ndim == 3 else x[None])
        return cupy.ascontiguousarray(cupy.broadcast_to(out, (K, batch)))

    def kr_estimate(self, critic: Critic, x_real: Any, x_fake: Any) -> np.ndarray:
        fused, net = self._fused(critic)
        K = critic.num_critics
        if fused:
            out = cupy.empty(K, dtype=cupy.float64)
            nbytes = _cuda.kr_estimate_workspace_bytes(K)
            workspace = cupy.empty(nbytes, dtype=cupy.uint8)
            _cuda.kr_estimate(
                net, x_real=_device_ptr(x_real), n_real=x_real.shape[0], x_fake=_device_ptr(x_fake),
                n_fake=x_fake.shape[0], out=_device_ptr(out), workspace=_device_ptr(workspace), workspace_bytes=nbytes,
                device=_device_id(), stream=_stream(),
            )
        else:
            fr = _matmul_forward(critic.weights, critic.biases, critic.slope, x_real[None]).astype(cupy.float64)
            ff = _matmul_forward(critic.weights, critic.biases, critic.slope, x_fake[None]).astype(cupy.float64)
            out = fr.mean(axis=1) - ff.mean(axis=1)
        return cupy.asnumpy(out)  # K numbers
