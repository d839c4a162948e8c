"""Exact discrete optimal transport (the Earth Mover's Distance): emd.solve and emd.emd."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._backend.base import Backend
from ._dispatch import backend_for
from ._problems import Exact
from ._result import OTResult, status_names
from ._warnings import warn_at_caller
from ._validation import (
    cast,
    check_equal_mass,
    check_finite,
    check_histogram,
    check_max_iter,
    largest_abs,
    result_float_dtype,
)

__all__ = ["solve", "emd", "MAX_ABS_COST"]

# Costs are handled exactly up to this magnitude: potentials are sums of up to
# n + m costs and must stay finite in float64.
MAX_ABS_COST = 1e300


def _prepare(be: Backend, a: Any, b: Any, M: Any) -> tuple[Any, Any, Any, bool, np.dtype]:
    """Validated, contiguous (B, n), (B, m) and (n, m) or (B, n, m) arrays of one float dtype."""
    xp = be.xp
    Ma = be.asarray(M, "M", min_ndim=2, max_ndim=3)
    n, m = Ma.shape[-2:]
    if n == 0 or m == 0:
        raise ValueError(f"`M` is empty (shape {Ma.shape}); it needs at least one row and one column")
    aa = None if a is None else check_histogram(be.asarray(a, "a", min_ndim=1, max_ndim=2), "a")
    ba = None if b is None else check_histogram(be.asarray(b, "b", min_ndim=1, max_ndim=2), "b")
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
    if big * (n + m) > MAX_ABS_COST:
        raise ValueError(
            f"`M` has entries up to {big:.3g} in magnitude; the exact solver handles |M| up to"
            f" {MAX_ABS_COST / (n + m):.3g} for this size (its potentials must stay finite): rescale `M`"
        )
    ac = xp.full((num, n), 1.0 / n, dtype=dtype) if aa is None else cast(aa, dtype).reshape(-1, n)
    bc = xp.full((num, m), 1.0 / m, dtype=dtype) if ba is None else cast(ba, dtype).reshape(-1, m)
    if ac.shape[0] != num:
        ac = xp.ascontiguousarray(xp.broadcast_to(ac, (num, n)))
    if bc.shape[0] != num:
        bc = xp.ascontiguousarray(xp.broadcast_to(bc, (num, m)))
    # The mass tolerance follows the least precise weights given (float32 sums carry ~1e-7).
    low = any(w is not None and w.dtype.kind == "f" and w.dtype.itemsize <= 4 for w in (aa, ba))
    check_equal_mass(ac, bc, np.dtype(np.float32) if low else dtype)
    mass = float(ac.sum(axis=-1, dtype=np.float64).max())
    if mass * big > MAX_ABS_COST:
        raise ValueError(
            f"the total mass {mass:.3g} times the largest |M| {big:.3g} leaves the float64 range the cost"
            " <P, M> is computed in: rescale `a` and `b` (only their ratios matter) or `M`"
        )
    return ac, bc, Mc, batched, dtype


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
    has no CUDA kernel yet). Torch tensors give a result of tensors.

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
    the optimum on the whole of ``M``; between measures that lie apart, the
    arcs are those of least reduced cost under potentials estimated from an
    exact solve of a sample of the problem (a multiscale start). Zero-weight
    bins are removed before the solve and get feasible potentials afterwards. Batches
    are spread over threads, one problem per thread. Ctrl-C interrupts a solve.

    References: Bonneel, van de Panne, Paris and Heidrich, "Displacement
    interpolation using Lagrangian mass transport", SIGGRAPH Asia 2011;
    Kovács, "Minimum-cost flow algorithms: an experimental evaluation",
    Optimization Methods and Software, 2015; Cunningham, "A network simplex
    method", Mathematical Programming, 1976; Gottschlich and Schuhmacher,
    "The shortlist method for fast computation of the Earth Mover's Distance
    and finding optimal solutions to transportation problems", PLoS ONE, 2014;
    Mérigot, "A multiscale approach to optimal transport", Computer Graphics
    Forum, 2011; Schmitzer, "A sparse multiscale algorithm for dense optimal
    transport", Journal of Mathematical Imaging and Vision, 2016.

    Examples
    --------
    >>> import numpy as np, emd
    >>> M = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> res = emd.solve([0.5, 0.5], [0.5, 0.5], M)
    >>> float(res.cost), res.status
    (0.0, 'optimal')
    """
    be = backend_for("solve", a=a, b=b, M=M)
    with be.active():
        return be.finish(_solve(be, a, b, M, max_iter, return_plan))


def _solve(be: Backend, a: Any, b: Any, M: Any, max_iter: Any, return_plan: Any) -> OTResult:
    ac, bc, Mc, batched, dtype = _prepare(be, a, b, M)
    iters = check_max_iter(max_iter)
    if return_plan is None:
        return_plan = not batched
    elif not isinstance(return_plan, (bool, np.bool_)):
        raise TypeError(f"`return_plan` must be a bool or None, got {type(return_plan).__name__}")
    sol = be.network_simplex(Exact(ac, bc, Mc, iters))
    status = status_names(sol.status)
    _warn_not_optimal(status)
    num, n, m = ac.shape[0], ac.shape[1], bc.shape[1]
    cost = sol.cost.astype(dtype)
    gap = sol.duality_gap.astype(dtype)
    rows, cols, vals, num_plan = sol.plan_rows, sol.plan_cols, sol.plan_values, sol.num_plan
    if not batched:
        k = int(num_plan[0])
        coo = (rows[0, :k].copy(), cols[0, :k].copy(), vals[0, :k].copy()) if return_plan else None
        return OTResult(
            cost=be.scalar(cost[0]),
            potential_a=sol.potential_a[0],
            potential_b=sol.potential_b[0],
            duality_gap=be.scalar(gap[0]),
            status=str(status[0]),
            n_iter=int(sol.n_iter[0]),
            plan_coo=coo,
            shape=(n, m),
        )
    dense = None
    if return_plan:
        dense = be.xp.zeros((num, n, m), dtype=dtype)
        for k in range(num):
            c = int(num_plan[k])
            dense[k, rows[k, :c], cols[k, :c]] = vals[k, :c]
    return OTResult(
        cost=cost,
        potential_a=sol.potential_a,
        potential_b=sol.potential_b,
        duality_gap=gap,
        status=status,
        n_iter=sol.n_iter,
        plan_coo=None,
        shape=(num, n, m),
        _dense_plan=dense,
    )


def _warn_not_optimal(status: np.ndarray) -> None:
    if status.size == 1 and status.flat[0] == "optimal":
        return
    capped = int(np.count_nonzero(status == "max_iter_reached"))
    if capped:
        what = "the solve" if status.size == 1 else f"{capped} of {status.size} problems"
        warn_at_caller(
            f"emd.solve: {what} reached max_iter before optimality; the plan is feasible but not optimal"
            " (status 'max_iter_reached'). Pass max_iter=None to run to optimality."
        )
    if np.any(status == "infeasible"):
        warn_at_caller("emd.solve: the solver reported an infeasible problem; the result is not valid")


def emd(a: Any, b: Any, M: Any, *, max_iter: int | None = None) -> Any:
    r"""The optimal transport cost :math:`\min_{P \in \Pi(a, b)} \langle P, M \rangle` (POT's ``emd2``).

    Same inputs and solver as :func:`emd.solve` (batched inputs give a (B,)
    array); only the cost is returned, as a NumPy scalar of the inputs' precision.
    """
    return solve(a, b, M, max_iter=max_iter, return_plan=False).cost
