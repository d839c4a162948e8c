"""The interface every backend implements: array conversion and the kernel table."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from .._numerics import power_mean
from .._problems import Critic, DenseSinkhorn, Exact, ExactSolution, OneD, SampleSinkhorn, SinkhornSolution

__all__ = ["Backend", "KERNELS"]

# The kernel table every backend fills (the methods of Backend below the conversions).
KERNELS = (
    "wasserstein_1d", "divergence", "cost_matrix", "network_simplex", "sinkhorn_dense", "sinkhorn_plan_dense",
    "sinkhorn_samples", "sinkhorn_plan_samples", "critic_layers", "critic_forward", "kr_estimate",
)


class Backend:
    """Array conversion and kernels of one array library.

    ``xp`` is the NumPy-like namespace of the problem arrays (numpy or cupy);
    the algorithm modules use it for the little array work they do themselves
    (reshapes, broadcasts, reductions of a few numbers).
    """

    name = "abstract"
    xp: Any = np
    host = True  # arrays in host memory (a callable metric, numba-compiled, can read them)

    def active(self) -> Any:
        """The context a call runs in (the device and stream of the inputs)."""
        return contextlib.nullcontext()

    # --- conversion -------------------------------------------------------------------------
    def asarray(self, x: Any, name: str, **kwargs: Any) -> Any:
        """``x`` as an array of this backend, its dtype and shape checked as
        ``_validation.as_float_array`` does (same messages); not yet cast."""
        raise NotImplementedError

    def to_host(self, x: Any) -> np.ndarray:
        """A (small) array as NumPy, for messages, statuses and warnings."""
        raise NotImplementedError

    def scalar(self, x: Any) -> Any:
        """One result value (a 0-d or 1-element array) as returned to the caller:
        a NumPy scalar of its dtype on the host backends."""
        return self.to_host(x).reshape(())[()]

    def finish(self, out: Any) -> Any:
        """Results (arrays, scalars, OTResult) as the caller's library gives them back."""
        return out

    # --- the last steps of the algorithms, where a differentiating backend keeps its graph ---
    # A few numbers each: the NumPy and CuPy backends compute them on the host, here.
    def slice_reduce(self, w: Any, p: float, reduce: str, dtype: np.dtype) -> Any:
        """The sliced distance of the (L,) 1-D distances ``w``: their max (``reduce="max"``)
        or their power mean (mean_l w_l^p)^(1/p), a scalar of ``dtype`` (in float64 on the host)."""
        wh = self.to_host(w).astype(np.float64)
        value = float(wh.max()) if reduce == "max" else float(power_mean(wh, p))
        return np.dtype(dtype).type(value)

    def nonnegative_root(self, value: Any, p: float, dtype: np.dtype) -> Any:
        """max(value, 0) ** (1 / p) of a computed cost (rounding can leave it just below 0),
        a scalar of ``dtype``."""
        return np.dtype(dtype).type(max(float(value), 0.0) ** (1.0 / p))

    def sinkhorn_dual(self, problem: SampleSinkhorn, sol: SinkhornSolution) -> Any:
        """<a, f> + <b, g> of a solved sample problem (its entropic cost at convergence), float64."""
        f64 = np.float64
        return problem.a.astype(f64) @ sol.f[0].astype(f64) + problem.b.astype(f64) @ sol.g[0].astype(f64)

    # --- kernels ----------------------------------------------------------------------------
    def wasserstein_1d(self, problem: OneD) -> Any:
        """(K,) W_p of the problem's pairs, in its dtype."""
        raise NotImplementedError

    def divergence(self, kind: str, p: Any, q: Any, axis: int) -> Any:
        """TV, KL or JS (``kind``) of histograms p, q (same ndim, broadcasting, not
        normalized) along ``axis``: the batch shape's array, in float64."""
        raise NotImplementedError

    def cost_matrix(self, x: Any, y: Any, metric: str, q: float) -> Any:
        """(n, m) metric(x_i, y_j) for a built-in metric (``q``: the Minkowski order)."""
        raise NotImplementedError

    def network_simplex(self, problem: Exact) -> ExactSolution:
        raise NotImplementedError

    def sinkhorn_dense(self, problem: DenseSinkhorn) -> SinkhornSolution:
        raise NotImplementedError

    def sinkhorn_plan_dense(self, problem: DenseSinkhorn, f: Any, g: Any) -> Any:
        """(B, n, m) plan of potentials f (B, n), g (B, m)."""
        raise NotImplementedError

    def sinkhorn_samples(self, problem: SampleSinkhorn) -> SinkhornSolution:
        raise NotImplementedError

    def sinkhorn_plan_samples(self, problem: SampleSinkhorn, f: Any, g: Any) -> Any:
        """(n, m) plan of potentials f (n,), g (m,)."""
        raise NotImplementedError

    def sinkhorn_gradient_samples(self, problem: SampleSinkhorn, f: Any, g: Any) -> Any:
        """(n, d) sum_j P_ij grad_x c(x_i, y_j) for the plan of potentials f (n,), g (m,),
        matrix-free (the envelope gradient in x; in y: the transposed problem), or None
        where this backend has no such kernel for the problem (the caller rebuilds it)."""
        return None

    def critic_layers(self, critic: Any, dtype: np.dtype) -> Critic:
        """An ``emd.MLPCritic``'s parameters in this backend's arrays, cast to ``dtype``."""
        raise NotImplementedError

    def critic_forward(self, critic: Critic, x: Any) -> Any:
        """(K, B) outputs of x (B, d) (shared) or (K, B, d)."""
        raise NotImplementedError

    def kr_estimate(self, critic: Critic, x_real: Any, x_fake: Any) -> Any:
        """(K,) float64 mean f_k(x_real) - mean f_k(x_fake), on the host."""
        raise NotImplementedError
