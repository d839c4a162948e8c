"""What a kernel is asked to compute: validated problems and raw solutions.

The public functions check their inputs (``_validation.py``), describe the
problem in one of these frozen records, hand it to the backend chosen by
``_dispatch.backend_for`` and wrap what comes back. Arrays in a problem are
of the backend's array library (NumPy for the CPU, CuPy for CUDA), contiguous
and of one float dtype, so a backend only converts pointers: every decision
(dtype promotion, batching, normalization) is taken before it is called.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["OneD", "Exact", "ExactSolution", "DenseSinkhorn", "SampleSinkhorn", "SinkhornSolution", "Critic"]


@dataclass(frozen=True, eq=False)
class OneD:
    """``W_p(u[pair_u[k]], v[pair_v[k]])`` for every k: the exact 1-D kernel.

    u (U, n) and v (V, m) rows of values; u_weights and v_weights of the same
    shapes, or (n,) / (m,) shared by every row, or None (uniform); pair_u and
    pair_v (K,) int64 host arrays of row indices.
    """

    u: Any
    u_weights: Any
    v: Any
    v_weights: Any
    pair_u: np.ndarray
    pair_v: np.ndarray
    p: float
    assume_sorted: bool


@dataclass(frozen=True, eq=False)
class Exact:
    """B exact transport problems: a (B, n), b (B, m) of equal masses, M (n, m) shared or (B, n, m)."""

    a: Any
    b: Any
    M: Any
    max_iter: int  # -1: run to optimality


@dataclass(frozen=True, eq=False)
class ExactSolution:
    """The network simplex's answer, every array with a leading batch axis (B,).

    ``plan_rows/cols/values[k, :num_plan[k]]`` are problem k's basic flows;
    status codes follow emd::SolveStatus (``_result.status_names``).
    """

    cost: Any
    potential_a: Any
    potential_b: Any
    duality_gap: Any
    status: np.ndarray
    n_iter: np.ndarray
    plan_rows: Any
    plan_cols: Any
    plan_values: Any
    num_plan: np.ndarray


@dataclass(frozen=True, eq=False)
class DenseSinkhorn:
    """B entropic problems on dense costs: a (B, n), b (B, m) rescaled to a's mass
    (mass_a (B,) float64 on the host), M (n, m) shared or (B, n, m); f0, g0 (B, n),
    (B, m) initial potentials or None; eps_scaling 0 means off."""

    a: Any
    b: Any
    M: Any
    mass_a: np.ndarray
    reg: float
    tol: float
    max_iter: int
    eps_scaling: float
    batched: bool  # the caller passed a batch (results keep the batch axis)
    f0: Any = None
    g0: Any = None


@dataclass(frozen=True, eq=False)
class SampleSinkhorn:
    """One entropic problem between clouds x (n, d), y (m, d) with weights a (n,),
    b (m,) summing to 1, cost metric(x_i, y_j) ** power with metric an
    emd::Metric code (``_metrics.METRIC_CODES``), never materialized.
    ``stage_iters``: iterations per intermediate epsilon of eps_scaling (0: to a
    loose tol), ``rate_probe``: plain iterations per half of the over-relaxation's
    rate probe; ``symmetric``: y is x and b is a (the averaged update; the
    backends that lack it solve the same problem by alternating updates);
    ``objective``: False when only the potentials are needed (cost, objective NaN)."""

    x: Any
    y: Any
    a: Any
    b: Any
    metric: int
    power: float
    reg: float
    tol: float
    max_iter: int
    eps_scaling: float
    stage_iters: int = 0
    rate_probe: int = 10
    symmetric: bool = False
    objective: bool = True


@dataclass(frozen=True, eq=False)
class SinkhornSolution:
    """Potentials f (B, n), g (B, m) in the problem's dtype; cost, objective and
    marginal_error (B,) float64; n_iter (B,) int64; status (B,) emd::SolveStatus codes."""

    f: Any
    g: Any
    cost: Any
    objective: Any
    marginal_error: Any
    n_iter: np.ndarray
    status: np.ndarray


@dataclass(frozen=True, eq=False)
class Critic:
    """K MLP critics as the kernels take them: weights[l] (K, fan_in, fan_out),
    biases[l] (K, fan_out), LeakyReLU ``slope`` between layers; ``stacked``
    says whether the caller gets (K, ...) results or the single critic's."""

    weights: tuple
    biases: tuple
    slope: float
    stacked: bool

    @property
    def num_critics(self) -> int:
        return int(self.weights[0].shape[0])
