"""Result types shared by the solvers."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

__all__ = ["OTResult", "status_names"]

# emd's status codes, by solver (csrc: network_simplex.hpp SolveStatus, sinkhorn.hpp SinkhornStatus),
# turned into the strings of OTResult.status here and nowhere else.
_STATUS_NAMES = {
    "network_simplex": np.array(["optimal", "max_iter_reached", "infeasible", "interrupted"]),
    "sinkhorn": np.array(["converged", "max_iter_reached", "interrupted", "resolution_limit"]),
}


def status_names(codes: Any, solver: str) -> np.ndarray:
    """The status strings of a solver's integer codes (an array of the codes' shape)."""
    names = _STATUS_NAMES[solver]
    codes = np.asarray(codes, dtype=np.int64)
    if codes.size and (codes.min() < 0 or codes.max() >= names.size):
        raise RuntimeError(f"emd's {solver} kernel returned an unknown status code {codes.tolist()}")
    return names[codes]


@dataclass(frozen=True, eq=False)
class OTResult:
    """The outcome of an optimal-transport solve (exact or entropic).

    Compared and hashed by identity: its fields are arrays. Pickles (the
    Sinkhorn plan is rebuilt from the arrays it keeps).

    Attributes
    ----------
    cost : float or ndarray
        The transport cost :math:`\\langle P, M \\rangle` ((B,) for a batch).
    plan_coo : tuple of ndarray or None
        The plan's nonzero entries as ``(rows, cols, values)``: single exact
        solves only (None for batches, whose plan is ``plan`` (B, n, m) with
        ``return_plan=True``, and for Sinkhorn).
    potential_a, potential_b : ndarray or None
        Dual potentials f (n,) and g (m,) ((B, n) and (B, m) for a batch).
    duality_gap : float or ndarray
        :math:`|\\text{cost} - (\\langle a, f \\rangle + \\langle b, g \\rangle)|` for the
        exact solver; the certificate of optimality is a gap near 0 together with
        dual feasibility :math:`f_i + g_j \\le M_{ij}`.
    status : str or ndarray of str
        "optimal", "converged", "max_iter_reached", "resolution_limit" (Sinkhorn:
        the marginal error reached the potentials' precision above ``tol``) or
        "infeasible".
    n_iter : int or ndarray
        Iterations (pivots for the network simplex, sweeps for Sinkhorn).
    objective : float or ndarray or None
        Entropic objective :math:`\\langle P, M \\rangle + \\varepsilon \\mathrm{KL}(P \\| a \\otimes b)`
        (Sinkhorn only).
    marginal_error : float or ndarray or None
        :math:`\\| P 1 - a \\|_1` after the last iteration (Sinkhorn only), at
        least the resolution the potentials' precision allows.
    """

    cost: Any
    potential_a: Any = None
    potential_b: Any = None
    duality_gap: Any = None
    status: Any = "optimal"
    n_iter: Any = 0
    plan_coo: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    objective: Any = None
    marginal_error: Any = None
    shape: tuple[int, ...] | None = None
    _dense_plan: Any = field(default=None, repr=False, compare=False)
    # Builds the dense plan on first access (Sinkhorn: P from the potentials), so
    # solvers whose plan is a function of the dual need not materialize it.
    _plan_fn: Any = field(default=None, repr=False, compare=False)

    @cached_property
    def plan(self) -> np.ndarray:
        """The dense transport plan (n, m), built on first access from ``plan_coo``."""
        if self._dense_plan is not None:
            return self._dense_plan
        if self._plan_fn is not None:
            return self._plan_fn()
        if self.plan_coo is None or self.shape is None:
            raise AttributeError(
                "this result carries no transport plan: batches keep it only with return_plan=True"
                " (emd.solve(..., return_plan=True)), single solves with return_plan=None or True"
            )
        rows, cols, vals = self.plan_coo
        out = np.zeros(self.shape, dtype=np.asarray(vals).dtype)
        np.add.at(out, (rows, cols), vals)
        return out

    @property
    def converged(self) -> Any:
        """True where the solver reached its optimality or stopping criterion."""
        st = np.asarray(self.status)
        ok = (st == "optimal") | (st == "converged")
        return bool(ok) if ok.ndim == 0 else ok
