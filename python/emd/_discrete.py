"""Exact discrete optimal transport (the Earth Mover's Distance): emd.solve and emd.emd."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _core
from ._result import STATUS_NAMES, OTResult
from ._dispatch import accepts_gpu, warn_at_caller
from ._validation import (
    as_float_array,
    cast,
    check_equal_mass,
    check_finite,
    check_histogram,
    check_max_iter,
    largest_abs,
    result_float_dtype,
)

__all__ = ["solve", "emd"]

# Costs are handled exactly up to this magnitude: potentials are sums of up to
# n + m costs and must stay finite in float64.
_MAX_ABS_COST = 1e300


def _prepare(a: Any, b: Any, M: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool, np.dtype]:
    """Validated, contiguous (B, n), (B, m) and (n, m) or (B, n, m) arrays of one float dtype."""
    Ma = as_float_array(M, "M", min_ndim=2, max_ndim=3)
    n, m = Ma.shape[-2:]
    if n == 0 or m == 0:
        raise ValueError(f"`M` is empty (shape {Ma.shape}); it needs at least one row and one column")
    aa = None if a is None else check_histogram(a, "a")
    ba = None if b is None else check_histogram(b, "b")
    if aa is not None and aa.shape[-1] != n:
        raise ValueError(f"`M` must have shape (n, m) = ({aa.shape[-1]}, m) to match `a` {aa.shape}, got {Ma.shape}")
    if ba is not None and ba.shape[-1] != m:
        raise ValueError(f"`M` must have shape (n, m) = (n, {ba.shape[-1]}) to match `b` {ba.shape}, got {Ma.shape}")
    batched = Ma.ndim == 3 or (aa is not None and aa.ndim == 2) or (ba is not None and ba.ndim == 2)
    sizes = {}
    if Ma.ndim == 3:
        sizes["M"] = Ma.shape[0]
    if aa is not None and aa.ndim == 2:
        sizes["a"] = aa.shape[0]
    if ba is not None and ba.ndim == 2:
        sizes["b"] = ba.shape[0]
    if len(set(sizes.values())) > 1:
        desc = ", ".join(f"`{k}` has {v}" for k, v in sizes.items())
        raise ValueError(f"batch sizes do not agree: {desc} problems; give every batched input the same leading size")
    num = next(iter(sizes.values())) if sizes else 1

    dtype = result_float_dtype(aa, ba, Ma)
    Mc = cast(Ma, dtype)
    check_finite(Mc, "M")
    big = largest_abs(Mc)
    if big * (n + m) > _MAX_ABS_COST:
        raise ValueError(
            f"`M` has entries up to {big:.3g} in magnitude; the exact solver handles |M| up to"
            f" {_MAX_ABS_COST / (n + m):.3g} for this size (its potentials must stay finite): rescale `M`"
        )
    ac = np.full((num, n), 1.0 / n, dtype=dtype) if aa is None else cast(aa, dtype).reshape(-1, n)
    bc = np.full((num, m), 1.0 / m, dtype=dtype) if ba is None else cast(ba, dtype).reshape(-1, m)
    if ac.shape[0] != num:
        ac = np.ascontiguousarray(np.broadcast_to(ac, (num, n)))
    if bc.shape[0] != num:
        bc = np.ascontiguousarray(np.broadcast_to(bc, (num, m)))
    # The mass tolerance follows the least precise weights given (float32 sums carry ~1e-7).
    low = any(w is not None and w.dtype.kind == "f" and w.dtype.itemsize <= 4 for w in (aa, ba))
    check_equal_mass(ac, bc, np.dtype(np.float32) if low else dtype)
    mass = float(ac.sum(axis=-1, dtype=np.float64).max())
    if mass * big > _MAX_ABS_COST:
        raise ValueError(
            f"the total mass {mass:.3g} times the largest |M| {big:.3g} leaves the float64 range the cost"
            " <P, M> is computed in: rescale `a` and `b` (only their ratios matter) or `M`"
        )
    return ac, bc, Mc, batched, dtype


@accepts_gpu("a", "b", "M")
def solve(a: Any, b: Any, M: Any, *, max_iter: int | None = None, return_plan: bool | None = None) -> OTResult:
    r"""Exact optimal transport between two histograms (the Earth Mover's Distance).

    Solves the transport linear program and its dual

    .. math::

        \min_{P \ge 0,\; P 1 = a,\; P^\top 1 = b} \langle P, M \rangle
        \;=\; \max_{f_i + g_j \le M_{ij}} \langle a, f \rangle + \langle b, g \rangle

    exactly, with a network simplex (see Notes), and returns the optimal plan
    together with the dual potentials that certify it.

    Parameters
    ----------
    a : array_like, shape (n,) or (B, n), or None
        Nonnegative source weights; ``None`` means uniform :math:`1/n`.
    b : array_like, shape (m,) or (B, m), or None
        Nonnegative target weights with the same total mass as ``a`` (relative
        difference at most 1e-9 in float64, 1e-6 in float32); ``None`` means uniform.
    M : array_like, shape (n, m) or (B, n, m)
        Finite ground costs. A 2-D ``M`` is shared by every problem of a batch.
    max_iter : int or None, default None
        Cap on the number of pivots. ``None`` runs to optimality (the method
        always terminates); a cap that is reached gives ``status ==
        "max_iter_reached"`` and a ``RuntimeWarning``: the result is then a
        feasible plan, not an optimal one.
    return_plan : bool or None, default None
        Keep the plan. ``None`` means yes for one problem (as ``plan_coo``, with
        the dense ``plan`` built on first access) and no for a batch (pass
        ``True`` to get ``plan`` of shape (B, n, m)).

    CuPy arrays are accepted: they are copied to the host once, solved by
    this CPU solver, and the result's arrays are copied back (the exact solver
    has no CUDA kernel yet).

    Returns
    -------
    OTResult
        ``cost``, ``potential_a`` (n,), ``potential_b`` (m,), ``duality_gap``
        :math:`|\langle P, M\rangle - \langle a, f\rangle - \langle b, g\rangle|`,
        ``status`` ("optimal" or "max_iter_reached"), ``n_iter`` (pivots) and
        ``plan_coo`` = (rows, cols, values), a basic solution with at most
        n + m - 1 entries. Batches carry a leading axis (B,) on every array field
        (no ``plan_coo``: with ``return_plan=True`` their ``plan`` is (B, n, m)).
        Float32 inputs give float32 outputs; sums are accumulated in float64.

    Notes
    -----
    The solver is a primal network simplex on the complete bipartite graph,
    with implicit arcs (costs read in place from ``M``), block-search pricing,
    a row-minimum initial basis and strongly feasible trees with Cunningham's
    leaving-arc rule, so degenerate pivots cannot cycle. Problems of 2^19
    arcs or more first pivot on a shortlist of each row's cheapest arcs from
    a greedy basis, and exact pricing passes over all of ``M`` add the
    violating arcs until none is left (the shortlist method), which proves
    the optimum on the whole of ``M``. Zero-weight bins are
    removed before the solve and get feasible potentials afterwards. Batches
    are spread over threads, one problem per thread. Ctrl-C interrupts a solve.

    References: Bonneel, van de Panne, Paris and Heidrich, "Displacement
    interpolation using Lagrangian mass transport", SIGGRAPH Asia 2011;
    Kovács, "Minimum-cost flow algorithms: an experimental evaluation",
    Optimization Methods and Software, 2015; Cunningham, "A network simplex
    method", Mathematical Programming, 1976; Gottschlich and Schuhmacher,
    "The shortlist method for fast computation of the Earth Mover's Distance
    and finding optimal solutions to transportation problems", PLoS ONE, 2014.

    Examples
    --------
    >>> import numpy as np, emd
    >>> M = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> res = emd.solve([0.5, 0.5], [0.5, 0.5], M)
    >>> float(res.cost), res.status
    (0.0, 'optimal')
    """
    ac, bc, Mc, batched, dtype = _prepare(a, b, M)
    iters = check_max_iter(max_iter)
    if return_plan is None:
        return_plan = not batched
    elif not isinstance(return_plan, (bool, np.bool_)):
        raise TypeError(f"`return_plan` must be a bool or None, got {type(return_plan).__name__}")
    r = _core.network_simplex(ac, bc, Mc, iters)
    pot_a, pot_b, n_iter, rows, cols, vals, num_plan = (
        r.potential_a, r.potential_b, r.n_iter, r.plan_rows, r.plan_cols, r.plan_values, r.num_plan
    )
    status_str = STATUS_NAMES[r.status]
    _warn_not_optimal(status_str)
    num, n, m = ac.shape[0], ac.shape[1], bc.shape[1]
    cost = r.cost.astype(dtype)
    gap = r.duality_gap.astype(dtype)
    if not batched:
        k = int(num_plan[0])
        coo = (rows[0, :k].copy(), cols[0, :k].copy(), vals[0, :k].copy()) if return_plan else None
        return OTResult(
            cost=dtype.type(cost[0]),
            potential_a=pot_a[0],
            potential_b=pot_b[0],
            duality_gap=dtype.type(gap[0]),
            status=str(status_str[0]),
            n_iter=int(n_iter[0]),
            plan_coo=coo,
            shape=(n, m),
        )
    dense = None
    if return_plan:
        dense = np.zeros((num, n, m), dtype=dtype)
        for k in range(num):
            c = int(num_plan[k])
            dense[k, rows[k, :c], cols[k, :c]] = vals[k, :c]
    return OTResult(
        cost=cost,
        potential_a=pot_a,
        potential_b=pot_b,
        duality_gap=gap,
        status=status_str,
        n_iter=n_iter,
        plan_coo=None,
        shape=(num, n, m),
        _dense_plan=dense,
    )


def _warn_not_optimal(status: np.ndarray) -> None:
    capped = int(np.count_nonzero(status == "max_iter_reached"))
    if capped:
        what = "the solve" if status.size == 1 else f"{capped} of {status.size} problems"
        warn_at_caller(
            f"emd.solve: {what} reached max_iter before optimality; the plan is feasible but not optimal"
            " (status 'max_iter_reached'). Pass max_iter=None to run to optimality."
        )
    if np.any(status == "infeasible"):
        warn_at_caller("emd.solve: the solver reported an infeasible problem; the result is not valid")


@accepts_gpu("a", "b", "M")
def emd(a: Any, b: Any, M: Any, *, max_iter: int | None = None) -> Any:
    r"""The optimal transport cost :math:`\min_{P \in \Pi(a, b)} \langle P, M \rangle` (POT's ``emd2``).

    Same inputs and solver as :func:`emd.solve` (batched inputs give a (B,)
    array); only the cost is returned, as a float of the inputs' precision.
    """
    res = solve(a, b, M, max_iter=max_iter, return_plan=False)
    return res.cost
