"""The CPU backend: NumPy arrays through emd's C++ kernels (``emd._core``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _core
from .._metrics import METRIC_CODES
from .._problems import Critic, DenseSinkhorn, Exact, ExactSolution, OneD, SampleSinkhorn, SinkhornSolution
from .._validation import as_float_array
from .base import Backend

__all__ = ["CPU", "CPU_BACKEND", "wasserstein_1d_pair", "wasserstein_clouds_pair"]


def _rel_entr(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x log(x / y) with 0 log(0 / y) = 0 and x log(x / 0) = inf for x > 0.

    log(x / y) where the ratio is a normal number (accurate when x ~ y), else
    log x - log y (x / 1e-320 overflows, though its log is about 737).
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        ratio = x / y
        r = x * np.log(ratio)
        off = (x > 0) & (y > 0) & ~((ratio >= np.finfo(x.dtype).tiny) & (ratio <= np.finfo(x.dtype).max))
        if bool(off.any()):
            r = np.where(off, x * (np.log(x) - np.log(y)), r)
    r = np.where(x == 0, 0.0, r)
    return np.where((x > 0) & (y == 0), np.inf, r).astype(x.dtype, copy=False)


# The metrics whose costs are powers of |x - y|^2: emd::sinkhorn_gradient_samples takes them.
_GRADIENT_METRICS = (METRIC_CODES["sqeuclidean"], METRIC_CODES["euclidean"])


def _params(problem: DenseSinkhorn | SampleSinkhorn) -> Any:
    """The extension's emd::SinkhornParams of a problem."""
    extra = {}
    if isinstance(problem, SampleSinkhorn):
        extra = dict(stage_iters=problem.stage_iters, rate_probe=problem.rate_probe, symmetric=problem.symmetric,
                     objective=problem.objective)
    return _core.SinkhornParams(
        reg=problem.reg, tol=problem.tol, max_iter=problem.max_iter, eps_scaling=problem.eps_scaling, **extra
    )


def _sinkhorn_solution(r: Any) -> SinkhornSolution:
    return SinkhornSolution(
        f=r.f, g=r.g, cost=r.cost, objective=r.objective, marginal_error=r.marginal_error, n_iter=r.n_iter,
        status=r.status,
    )


class CPU(Backend):
    """NumPy arrays; kernels in C++ with OpenMP threads and the GIL released."""

    name = "cpu"
    xp = np

    def asarray(self, x: Any, name: str, **kwargs: Any) -> np.ndarray:
        return as_float_array(x, name, **kwargs)

    def to_host(self, x: Any) -> np.ndarray:
        return np.asarray(x)

    def scalar(self, x: Any) -> Any:
        return x.reshape(())[()]

    # --- kernels ----------------------------------------------------------------------------
    def wasserstein_1d(self, problem: OneD) -> np.ndarray:
        return _core.wasserstein_1d(
            problem.u, problem.u_weights, problem.v, problem.v_weights,
            problem.pair_u, problem.pair_v, problem.p, problem.assume_sorted,
        )

    def divergence(self, kind: str, p: np.ndarray, q: np.ndarray, axis: int) -> np.ndarray:
        # Normalized in float64 (float32 inputs too: the terms and their sums in
        # float64, the result rounded once by the caller).
        pn, qn = (np.asarray(a, dtype=np.float64) for a in (p, q))
        pn = pn / pn.sum(axis=axis, keepdims=True)
        qn = qn / qn.sum(axis=axis, keepdims=True)
        if kind == "tv":
            return 0.5 * np.abs(pn - qn).sum(axis=axis)
        if kind == "kl":
            return _rel_entr(pn, qn).sum(axis=axis)
        m = 0.5 * (pn + qn)
        return 0.5 * (_rel_entr(pn, m).sum(axis=axis) + _rel_entr(qn, m).sum(axis=axis))

    def cost_matrix(self, x: np.ndarray, y: np.ndarray, metric: str, q: float) -> np.ndarray:
        return _core.cost_matrix(x, y, METRIC_CODES[metric], q)

    def network_simplex(self, problem: Exact) -> ExactSolution:
        r = _core.network_simplex(problem.a, problem.b, problem.M, problem.max_iter)
        return ExactSolution(
            cost=r.cost, potential_a=r.potential_a, potential_b=r.potential_b, duality_gap=r.duality_gap,
            status=r.status, n_iter=r.n_iter, plan_rows=r.plan_rows, plan_cols=r.plan_cols,
            plan_values=r.plan_values, num_plan=r.num_plan,
        )

    def sinkhorn_dense(self, problem: DenseSinkhorn) -> SinkhornSolution:
        pr = problem
        return _sinkhorn_solution(_core.sinkhorn_dense(pr.a, pr.b, pr.M, _params(pr), pr.f0, pr.g0))

    def sinkhorn_plan_dense(self, problem: DenseSinkhorn, f: np.ndarray, g: np.ndarray) -> np.ndarray:
        return _core.sinkhorn_plan_dense(problem.a, problem.b, problem.M, f, g, problem.reg)

    def sinkhorn_samples(self, problem: SampleSinkhorn) -> SinkhornSolution:
        pr = problem
        return _sinkhorn_solution(_core.sinkhorn_samples(pr.x, pr.y, pr.a, pr.b, pr.metric, pr.power, 2.0, _params(pr)))

    def sinkhorn_gradient_samples(self, problem: SampleSinkhorn, f: np.ndarray, g: np.ndarray) -> np.ndarray | None:
        pr = problem
        if pr.metric not in _GRADIENT_METRICS:
            return None
        return _core.sinkhorn_gradient_samples(pr.x, pr.y, pr.a, pr.b, pr.metric, pr.power, f, g, pr.reg)

    def sinkhorn_plan_samples(self, problem: SampleSinkhorn, f: np.ndarray, g: np.ndarray) -> np.ndarray:
        pr = problem
        return _core.sinkhorn_plan_samples(pr.x, pr.y, pr.a, pr.b, pr.metric, pr.power, 2.0, f, g, pr.reg)

    def critic_layers(self, critic: Any, dtype: np.dtype) -> Critic:
        if type(critic.weights[0]).__module__.startswith("cupy"):
            raise TypeError(
                "the critic's parameters are CuPy arrays but the samples are not; pass the samples as CuPy arrays"
                " (cupy.asarray(x)) or move the critic to the host (cupy.asnumpy of each array)"
            )
        c = critic.astype(dtype)  # views when the dtype already fits
        if c.is_stacked:
            return Critic(tuple(c.weights), tuple(c.biases), float(c.slope), True)
        return Critic(tuple(w[None] for w in c.weights), tuple(b[None] for b in c.biases), float(c.slope), False)

    def critic_forward(self, critic: Critic, x: np.ndarray) -> np.ndarray:
        return _core.critic_forward(list(critic.weights), list(critic.biases), critic.slope, x)

    def kr_estimate(self, critic: Critic, x_real: np.ndarray, x_fake: np.ndarray) -> np.ndarray:
        ws, bs = critic.weights, critic.biases
        return np.array(
            [_core.kr_estimate([w[k : k + 1] for w in ws], [b[k : k + 1] for b in bs], critic.slope, x_real, x_fake)
             for k in range(critic.num_critics)],
            dtype=np.float64,
        )


CPU_BACKEND = CPU()

# The straight path of the common 1-D call (csrc/bindings/one_d.cpp): one pair
# of 1-D NumPy arrays of one float dtype, checked by the kernel in the pass
# that copies them for the sort. It returns W_p, or None for arguments of any
# other kind and for any input a check flags; the public functions then take
# their full path, whose checks name the argument. Such arrays can only be
# host arrays, so the call is the CPU backend's whatever the dispatch rule.
wasserstein_1d_pair = _core.wasserstein_1d_pair

# The straight path of the common point-cloud call (csrc/cpu/wasserstein_clouds.cpp,
# bound in csrc/bindings/wasserstein.cpp):
# two NumPy clouds (n, d), d >= 2, of one float dtype, weights None or 1-D, a
# metric code, p a Python number. The points, weights and costs are checked
# while the cost matrix is built, and the problem solved in the same call; it
# returns W_p bit for bit as emd.wasserstein's full path computes it, or None
# for arguments of any other kind and for any input a check flags (the full
# path then raises the message that names the argument).
wasserstein_clouds_pair = _core.wasserstein_clouds_pair
