"""Entropic optimal transport: log-domain Sinkhorn, dense, batched and matrix-free."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import numpy as np

from ._backend.base import Backend
from ._dispatch import backend_for
from ._metrics import METRIC_CODES, SAMPLE_METRICS
from ._problems import DenseSinkhorn, SampleSinkhorn, SinkhornSolution
from ._result import OTResult, status_names
from ._warnings import warn_at_caller
from ._validation import (
    cast,
    check_choice,
    check_finite,
    check_open_unit_interval,
    check_p,
    check_positive_int,
    check_positive_real,
    check_weights,
    largest_abs,
    result_float_dtype,
    to_host,
)

__all__ = ["sinkhorn", "sinkhorn_samples", "sinkhorn_divergence", "sinkhorn_wasserstein", "divergence_solutions"]

# sinkhorn_samples builds result.plan (n x m) on request only up to this many entries.
_MAX_SAMPLE_PLAN_ENTRIES = 1 << 26
# Relative mismatch of total masses accepted by `sinkhorn` (b is then rescaled to a's
# mass exactly, else the row marginal error could never fall below the mismatch).
_MASS_RTOL = {np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-6}


# The default tol, per dtype: float64 certifies 1e-9; float32 potentials resolve a
# marginal error of about epsilon_32 (|f| / reg + 1) >= 1.2e-7 at best, so its default
# is 1e-6, and a float32 solve with the default tol that ends at the resolution limit
# above it (small reg) has converged as far as float32 can: no warning then.
DEFAULT_TOL = {np.dtype(np.float32): 1e-6, np.dtype(np.float64): 1e-9}


def _options(reg: Any, max_iter: Any, tol: Any, eps_scaling: Any) -> tuple[float, int, float | None, float]:
    """Checked options; tol None stays None (the dtype's DEFAULT_TOL, once the dtype is known)."""
    reg_f = check_positive_real(reg, "reg")  # against the dtype and the costs: _check_reg_for
    max_iter_i = check_positive_int(max_iter, "max_iter")
    tol_f = None if tol is None else check_positive_real(tol, "tol")
    eps = 0.0 if eps_scaling is None else check_open_unit_interval(eps_scaling, "eps_scaling")
    return reg_f, max_iter_i, tol_f, eps


# With eps_scaling, the matrix-free solves run each intermediate epsilon for
# SAMPLE_STAGE_ITERS iterations, unmeasured, and check tol only at reg
# (emd::SinkhornParams::stage_iters), and probe the rate of the last stage over
# 2 x SAMPLE_RATE_PROBE plain iterations instead of 2 x 10. Measured on the
# divergence benchmark's problem (2000 uniform points a side, reg 0.005 on
# |x - y|^2, float32, eps_scaling 0.25, tol 1e-2, two draws): the symmetric self
# terms in 9 iterations instead of 20-23 (stages to a marginal error of 1e-2);
# OT(x, y) in 19 and 27 instead of 26 and 26 (stages to 1e-2 with the short probe:
# 23 and 24; 2 iterations per stage: 23 and 28).
SAMPLE_STAGE_ITERS = 1
SAMPLE_RATE_PROBE = 2


def _is_same_cloud(problem: SampleSinkhorn) -> bool:
    """Whether y is x and b is a, value for value (O((n + m) d)): the problem is then symmetric."""
    pr = problem
    if pr.x.shape != pr.y.shape:
        return False
    return bool((pr.x == pr.y).all()) and bool((pr.a == pr.b).all())


# reg below this fraction of the largest |cost| is refused: f_i + g_j - C_ij carries a
# rounding error of about the dtype's epsilon times |C|, which divided by reg must stay
# well below 1 for the plan exp((f_i + g_j - C_ij) / reg) to mean anything. 64 epsilons
# (float32 7.6e-6, float64 1.4e-14): the documented range, reg >= 1e-4 x max cost, is inside.
_MIN_REG_OF_COST = {np.dtype(np.float32): 64 * 2.0**-23, np.dtype(np.float64): 64 * 2.0**-52}


def _check_reg_for(reg: float, dtype: Any, largest_cost: float) -> None:
    """reg against the working dtype: its reciprocal finite, and not lost in the
    rounding of the largest cost ``largest_cost`` (an upper bound will do)."""
    dt = np.dtype(dtype)
    hint = "; pass float64 inputs" if dt == np.float32 else ""
    tiny = float(np.finfo(dt).tiny)
    if reg < tiny:
        raise ValueError(
            f"`reg` must be at least {tiny:.3g} for {dt.name} inputs (its reciprocal must be finite), got {reg!r}{hint}"
        )
    ratio = _MIN_REG_OF_COST[dt]
    if reg < ratio * largest_cost:
        raise ValueError(
            f"`reg` = {reg:g} is below {ratio:.3g} x the largest cost {largest_cost:.3g}: in {dt.name} the rounding of"
            f" the potentials (~{float(np.finfo(dt).eps):.1e} x cost) would swamp reg and the plan exp((f + g - C) / reg)"
            f" would be noise; raise reg or rescale the costs{hint}"
        )


def _largest_sample_cost(xa: Any, ya: Any, code: int, power: float, dtype: Any) -> float:
    """An upper bound on metric(x_i, y_j) ** power from the clouds' common bounding box
    (O((n + m) d), never the n x m costs); a ValueError if those costs could overflow dtype."""
    lo = np.minimum(to_host(xa.min(axis=0)), to_host(ya.min(axis=0))).astype(np.float64)
    hi = np.maximum(to_host(xa.max(axis=0)), to_host(ya.max(axis=0))).astype(np.float64)
    half = hi / 2 - lo / 2  # the extent's half: finite even when the extent is not
    s = float(half.max())
    if s == 0.0:
        return 0.0
    r = half / s
    # log of the metric of the extent (2 s r), per metric code (_metrics.METRIC_CODES).
    log_metric = {
        0: 2.0 * (np.log(2.0 * s) + 0.5 * np.log(np.sum(r * r))),
        1: np.log(2.0 * s) + 0.5 * np.log(np.sum(r * r)),
        2: np.log(2.0 * s) + np.log(np.sum(r)),
        3: np.log(2.0 * s),
    }[code]
    log_cost = power * float(log_metric)
    # Room to spare: sums over up to n + m such terms must stay finite too.
    if log_cost > np.log(float(np.finfo(dtype).max)) - np.log(4.0 * (xa.shape[0] + ya.shape[0])):
        raise ValueError(
            f"the costs metric(x_i, y_j) ** p could reach exp({log_cost:.4g}) by the extent of `x` and `y`, beyond"
            f" {np.dtype(dtype).name}'s range: rescale the points" + (" or pass float64 points" if np.dtype(dtype) == np.float32 else "")
        )
    return float(np.exp(log_cost))


def _at_float32_default(tol: Any, dtype: Any) -> bool:
    """A float32 solve at its default tol (DEFAULT_TOL): stopping at the resolution
    limit above it is convergence as far as float32 goes, not a warning. float64
    keeps its warning at the default 1e-9, as before the per-dtype defaults."""
    return tol is None and np.dtype(dtype) == np.float32


def _warn_unconverged(status: np.ndarray, err: np.ndarray, max_iter: int, tol: float, what: str,
                      resolution_is_convergence: bool = False) -> None:
    """A ConvergenceWarning for each way the problems stopped early (``status``: strings);
    with ``resolution_is_convergence`` (``_at_float32_default``) the resolution limit is not one."""
    status = np.asarray(status)
    err = np.asarray(err)
    if resolution_is_convergence:
        status = np.where(status == "resolution_limit", "converged", status)
    for code, advice in (
        ("max_iter_reached", "did not converge within max_iter={max_iter} iterations{where} (marginal error {worst:.3g} > tol {tol:g});"
            " raise max_iter, pass eps_scaling, or use a larger reg"),
        ("resolution_limit", "stopped{where} at marginal error {worst:.3g}, the least its potentials' precision can resolve, above"
            " tol {tol:g} (status 'resolution_limit'); pass tol >= {worst:.2g}, float64 inputs, or a larger reg"),
    ):
        bad = status == code
        if bad.any():
            k = int(bad.sum())
            worst = float(np.max(err[bad]))
            where = "" if status.size == 1 else f" for {k} of {status.size} problems"
            warn_at_caller(f"{what} " + advice.format(max_iter=max_iter, where=where, worst=worst, tol=tol))


def _init_potentials(be: Backend, init: Any, batch: int, n: int, m: int, batched: bool, dtype: np.dtype, M: Any):
    """``init`` as contiguous (B, n), (B, m) potentials, or (None, None).

    (f + c, g - c) is the same problem for any constant c, but not the same
    arithmetic: g shifted by 1e16 leaves potentials whose ulp (2) is far above
    reg, and the solve "converged" on noise. A pair whose g lies further than
    4 max |M| from 0 (by its midrange) is shifted back by that midrange.
    """
    if init is None:
        return None, None
    xp = be.xp
    if not isinstance(init, (tuple, list)) or len(init) != 2:
        raise TypeError(f"`init` must be None or a pair (f, g) of potentials, got {type(init).__name__}")
    out = []
    for arr, name, length in ((init[0], "init[0]", n), (init[1], "init[1]", m)):
        v = cast(be.asarray(arr, name, min_ndim=1, max_ndim=2), dtype)
        want = (batch, length) if batched else (length,)
        if v.shape != want:
            raise ValueError(f"`{name}` must have shape {want}, got {v.shape}")
        check_finite(v, name)
        out.append(xp.ascontiguousarray(v.reshape(batch, length)))
    f0, g0 = out
    g64 = g0.astype(np.float64)
    mid = (g64.max(axis=1) + g64.min(axis=1)) / 2
    shift = mid * (abs(mid) > 4.0 * largest_abs(M))  # (B,): 0 where g0 is in range
    if bool((shift != 0).any()):
        f0 = xp.ascontiguousarray((f0.astype(np.float64) + shift[:, None]).astype(dtype))
        g0 = xp.ascontiguousarray((g64 - shift[:, None]).astype(dtype))
    return f0, g0


def _uniform_weights(a: Any, b: Any, M: Any, xp: Any) -> tuple[Any, Any]:
    """``None`` weights as uniform ones (mass 1) of M's sizes, batched like the
    other weights or M, in M's floating dtype (float64 for integer costs)."""
    n, m = M.shape[-2], M.shape[-1]
    dtype = M.dtype if M.dtype.kind == "f" else np.float64
    batch = M.shape[0] if M.ndim == 3 else None
    for w in (a, b):
        if w is not None and np.ndim(w) == 2:
            batch = np.shape(w)[0]
    lead = () if batch is None else (batch,)
    if a is None:
        a = xp.full(lead + (n,), 1.0 / n, dtype=dtype)
    if b is None:
        b = xp.full(lead + (m,), 1.0 / m, dtype=dtype)
    return a, b


def _prepare_dense(be: Backend, a: Any, b: Any, M: Any, reg: Any, max_iter: Any, tol: Any,
                   eps_scaling: Any) -> tuple[DenseSinkhorn, np.dtype]:
    """The checks and casts of :func:`sinkhorn`: the problem, with contiguous (B, n)
    ``a`` and (B, m) ``b`` rescaled to ``a``'s mass, and the dtype."""
    xp, as_array = be.xp, be.asarray
    MM = as_array(M, "M", min_ndim=2, max_ndim=3)
    if a is None or b is None:
        a, b = _uniform_weights(a, b, MM, xp)
    aa = as_array(a, "a", min_ndim=1, max_ndim=2)
    bb = as_array(b, "b", min_ndim=1, max_ndim=2)
    reg_f, max_iter_i, tol_f, eps = _options(reg, max_iter, tol, eps_scaling)
    dtype = result_float_dtype(aa, bb, MM)
    tol_f = DEFAULT_TOL[dtype] if tol_f is None else tol_f
    # A 1-D `a` or `b` is shared by every problem of a batch (as in emd.solve).
    sizes = {k: v.shape[0] for k, v in (("M", MM), ("a", aa), ("b", bb)) if v.ndim == (3 if k == "M" else 2)}
    if len(set(sizes.values())) > 1:
        desc = ", ".join(f"`{k}` has {v}" for k, v in sizes.items())
        raise ValueError(f"batch sizes do not agree: {desc} problems; give every batched input the same leading size")
    if sizes:
        batch_size = next(iter(sizes.values()))
        aa = aa if aa.ndim == 2 else xp.ascontiguousarray(xp.broadcast_to(aa, (batch_size, aa.shape[0])))
        bb = bb if bb.ndim == 2 else xp.ascontiguousarray(xp.broadcast_to(bb, (batch_size, bb.shape[0])))
    batched = aa.ndim == 2  # batch sizes agree (checked above)
    batch = aa.shape[0] if batched else 1
    n, m = aa.shape[-1], bb.shape[-1]
    if MM.ndim == 2 and MM.shape != (n, m):
        raise ValueError(f"`M` must have shape (n, m) = ({n}, {m}) to match `a` and `b`, got {MM.shape}")
    if MM.ndim == 3 and MM.shape != (batch, n, m):
        raise ValueError(f"`M` must have shape (B, n, m) = ({batch}, {n}, {m}), got {MM.shape}")
    aa, bb, MM = cast(aa, dtype), cast(bb, dtype), cast(MM, dtype)
    check_weights(aa, aa.shape, "a", "a")
    check_weights(bb, bb.shape, "b", "b")
    check_finite(MM, "M")
    _check_reg_for(reg_f, dtype, largest_abs(MM))
    mass_a_x = aa.sum(axis=-1, dtype=np.float64).reshape(batch)
    mass_b_x = bb.sum(axis=-1, dtype=np.float64).reshape(batch)
    # B numbers on the host (a read-back on the GPU path): the check and its message.
    mass_a, mass_b = to_host(mass_a_x), to_host(mass_b_x)
    mismatch = np.abs(mass_a - mass_b) > _MASS_RTOL[dtype] * np.maximum(mass_a, mass_b)
    if mismatch.any():
        k = int(np.argmax(mismatch))
        where = f" (problem {k})" if batched else ""
        raise ValueError(
            f"`b` has total mass {mass_b[k]:.9g} but `a` has {mass_a[k]:.9g}{where}; sinkhorn solves the balanced"
            " problem: pass weights with equal sums, or use emd.sinkhorn_samples, which normalizes them"
        )
    a2 = xp.ascontiguousarray(aa.reshape(batch, n))
    b2 = xp.ascontiguousarray((bb.reshape(batch, m) * (mass_a_x / mass_b_x)[:, None]).astype(dtype, copy=False))
    problem = DenseSinkhorn(a2, b2, xp.ascontiguousarray(MM), mass_a, reg_f, tol_f, max_iter_i, eps, batched)
    return problem, dtype


def sinkhorn(
    a: Any,
    b: Any,
    M: Any,
    reg: float,
    *,
    max_iter: int = 10_000,
    tol: float | None = None,
    eps_scaling: float | None = None,
    init: tuple[Any, Any] | None = None,
) -> OTResult:
    r"""Entropic optimal transport between histograms, by log-domain Sinkhorn.

    Solves, for weights :math:`a, b` of equal mass and a cost :math:`M`,

    .. math::

        \min_{P \ge 0,\; P 1 = a,\; P^\top 1 = b}
        \langle P, M \rangle + \varepsilon \, \mathrm{KL}(P \,\|\, a \otimes b),
        \qquad \varepsilon = \texttt{reg}

    (``reg`` is the absolute epsilon, in cost units, as in POT), whose solution is
    :math:`P_{ij} = a_i b_j \exp((f_i + g_j - M_{ij}) / \varepsilon)` for the dual
    potentials :math:`f, g`, the fixed point of the softmin updates

    .. math::

        f_i = -\varepsilon \log \sum_j b_j e^{(g_j - M_{ij}) / \varepsilon}, \qquad
        g_j = -\varepsilon \log \sum_i a_i e^{(f_i - M_{ij}) / \varepsilon}.

    The updates run in C++ (threads over rows, or over the problems of a batch,
    with the GIL released) in the log domain: each is a log-sum-exp, or, while
    its sums stay in range, the same update through the stabilized kernel
    :math:`K_{ij} = e^{(\hat f_i + \hat g_j - M_{ij})/\varepsilon}` around reference
    potentials (a matrix-vector product; Schmitzer 2019). A batch of small problems
    on one 2-D ``M`` (at most :math:`2^{16}` entries, :math:`(\max M - \min M) / \varepsilon \le 300`,
    no ``eps_scaling``) runs its updates as matrix products with the one kernel
    :math:`e^{-(M - \min M)/\varepsilon}`, each problem shifted so that its sums stay in
    range, stopping on its own criterion (the same decisions as looped solves,
    hence in practice the same iterations; results equal to rounding, not bit for
    bit). So any ``reg`` works in
    float32 and float64 without overflow; zero weights drop out of the sums while
    their own potentials stay finite (defined by the softmin). Memory beside ``M``:
    the n x m kernel per problem in flight, and ``M``'s transpose only if a
    log-domain column update is needed (far from the solution, tiny ``reg``). At the optimum
    :math:`\langle a, f \rangle + \langle b, g \rangle` equals the objective; as
    reg -> 0 the potentials tend to the exact solver's (up to a constant).

    The updates are over-relaxed, :math:`f \leftarrow f + \omega(\mathrm{softmin} - f)`,
    with :math:`\omega = 2 / (1 + \sqrt{1 - \kappa})` (Thibault et al. 2017),
    capped at 1.9, for the linear rate :math:`\kappa` of plain Sinkhorn:
    estimated after the first iteration as :math:`\sigma_2^2` of the
    row/column-normalized plan (Knight 2008; a few Lanczos steps with the kernel)
    when ``M`` has at most :math:`2^{18}` entries and both sides at least 32
    points, else measured over the first
    20 plain iterations; rows and columns whose relaxed step would lower the dual
    objective take the plain one; reset to 1 if the error grows a hundredfold,
    and for good once it stalls at the potentials' rounding floor: the
    same fixed point in several times fewer iterations at small ``reg``. The last
    update is always a plain g-update, so the columns of the returned plan are exact.

    Parameters
    ----------
    a : array_like, shape (n,) or (B, n), or None
        Nonnegative source weights; a 2-D array is a batch of B problems.
        None: uniform, 1 / n each (batched like ``b`` or ``M``).
    b : array_like, shape (m,) or (B, m), or None
        Nonnegative target weights, with the same total mass as ``a`` (per problem).
        None: uniform, 1 / m each.
    M : array_like, shape (n, m) or (B, n, m)
        Cost matrix, shared by the batch when 2-D.
    reg : float
        :math:`\varepsilon > 0`. Stable down to ``1e-4 * M.max()`` and below;
        refused below 64 machine epsilons of ``max |M|`` (float32 7.6e-6,
        float64 1.4e-14), where the rounding of the potentials swamps it.
    max_iter : int, default 10_000
        Most iterations (one f- and one g-update each), over all epsilon stages.
    tol : float or None, default None
        Stop when the row marginal error :math:`\|P 1 - a\|_1` after a g-update
        (when the columns are exact) is below ``tol``; it is checked every iteration.
        None means 1e-9 for float64 inputs and 1e-6 for float32, whose potentials
        cannot resolve much less; a float32 solve with the default that stops at
        that resolution (status "resolution_limit") does not warn.
    eps_scaling : float in (0, 1) or None
        Anneal epsilon geometrically, ``max|M|, max|M| * s, max|M| * s^2, ...``
        down to ``reg``, warm-starting each stage from the last one's potentials
        (intermediate stages stop at a loose marginal error of 1e-2). The
        over-relaxed iteration already makes small ``reg`` fast, so this pays
        only at the smallest: measured on 1000-point clouds, 10-35% less time at
        ``reg = 1e-4 * max|M|``, 0-80% more at ``1e-3`` and above. None (default): off.
    init : pair of array_like or None
        Initial potentials ``(f, g)`` of shapes (n,), (m,) (or (B, n), (B, m));
        None starts from zeros. The first update computes f from g; a g whose
        midrange lies beyond 4 max |M| is shifted back to 0 by it (the same
        problem: (f + c, g - c); potentials of 1e16 could not resolve reg).

    Returns
    -------
    OTResult
        ``cost`` :math:`\langle P, M \rangle` (POT's ``sinkhorn2`` value),
        ``objective`` :math:`\langle P, M \rangle + \varepsilon \mathrm{KL}(P \| a \otimes b)`
        (generalized KL: :math:`\sum P \log \frac{P}{ab} - \sum P + \sum a \sum b`),
        ``potential_a`` f, ``potential_b`` g, ``status`` "converged",
        "max_iter_reached" (with a RuntimeWarning) or "resolution_limit" (with a
        RuntimeWarning: the error fell to what the potentials' precision can
        resolve, still above ``tol``; float32 at tol 1e-9, say), ``n_iter``,
        ``marginal_error`` (an upper bound when below that resolution),
        and ``plan`` (built from the potentials on first access). Floats for one
        problem, arrays of shape (B,) for a batch; float32 only when every input is.

    Raises
    ------
    ValueError, TypeError
        Naming the argument, for non-finite or non-positive ``reg``/``tol``,
        NaN/inf, negative weights, zero or unequal masses, shape mismatches,
        ``eps_scaling`` outside (0, 1).

    References
    ----------
    M. Cuturi, "Sinkhorn distances: lightspeed computation of optimal transport",
    NeurIPS 2013. B. Schmitzer, "Stabilized sparse scaling algorithms for entropy
    regularized transport problems", SIAM J. Sci. Comput. 41(3), 2019.
    G. Peyre, M. Cuturi, "Computational optimal transport", 2019, Section 4.
    A. Thibault, L. Chizat, C. Dossal, N. Papadakis, "Overrelaxed Sinkhorn-Knopp
    algorithm for regularized optimal transport", Algorithms 14(5), 2021 (arXiv 2017).

    Examples
    --------
    >>> import numpy as np, emd
    >>> M = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> r = emd.sinkhorn([0.5, 0.5], [0.5, 0.5], M, reg=0.01)
    >>> round(r.cost, 6), r.status
    (0.0, 'converged')
    """
    be = backend_for("sinkhorn", a=a, b=b, M=M)
    with be.active():
        problem, dtype = _prepare_dense(be, a, b, M, reg, max_iter, tol, eps_scaling)
        batch, n, m = problem.a.shape[0], problem.a.shape[1], problem.b.shape[1]
        f0, g0 = _init_potentials(be, init, batch, n, m, problem.batched, dtype, problem.M)
        problem = dataclasses.replace(problem, f0=f0, g0=g0)
        sol = be.sinkhorn_dense(problem)
        plan = functools.partial(_dense_plan, be, problem, sol)  # a partial pickles; a closure does not
        return be.finish(_make_result(be, sol, problem.max_iter, problem.tol, dtype, problem.batched, (n, m), plan, "sinkhorn",
                                        tol))


def _dense_plan(be: Backend, problem: DenseSinkhorn, sol: SinkhornSolution) -> Any:
    P = be.sinkhorn_plan_dense(problem, sol.f, sol.g)
    return P if problem.batched else P[0]


def _samples_plan(be: Backend, problem: SampleSinkhorn, sol: SinkhornSolution) -> Any:
    n, m = problem.x.shape[0], problem.y.shape[0]
    if n * m > _MAX_SAMPLE_PLAN_ENTRIES:
        raise ValueError(
            f"the plan of this {n} x {m} problem has {n * m} entries; sinkhorn_samples builds plans of at most"
            f" {_MAX_SAMPLE_PLAN_ENTRIES} entries: use the potentials (P_ij = a_i b_j exp((f_i + g_j - C_ij) / reg))"
        )
    return be.sinkhorn_plan_samples(problem, sol.f[0], sol.g[0])


def _make_result(be: Backend, sol: SinkhornSolution, max_iter: int, tol: float, dtype: np.dtype, batched: bool,
                 shape: tuple[int, int], plan_fn: Any, what: str, user_tol: Any) -> OTResult:
    """The OTResult of a solve (after its warning; ``user_tol``: the tol the caller passed): arrays (B,) for a batch,
    scalars of ``dtype`` for one problem."""
    status = status_names(sol.status)
    err = sol.marginal_error.astype(dtype)
    _warn_unconverged(status, be.to_host(sol.marginal_error), max_iter, tol, what, _at_float32_default(user_tol, dtype))
    if batched:
        return OTResult(
            cost=sol.cost.astype(dtype),
            potential_a=sol.f,
            potential_b=sol.g,
            status=status,
            n_iter=sol.n_iter,
            objective=sol.objective.astype(dtype),
            marginal_error=err,
            shape=(sol.f.shape[0], *shape),
            _plan_fn=plan_fn,
        )
    return OTResult(
        cost=be.scalar(sol.cost[:1].astype(dtype)),
        potential_a=sol.f[0],
        potential_b=sol.g[0],
        status=str(status[0]),
        n_iter=int(sol.n_iter[0]),
        objective=be.scalar(sol.objective[:1].astype(dtype)),
        marginal_error=be.scalar(err[:1]),
        shape=shape,
        _plan_fn=plan_fn,
    )


def _prepare_samples(be: Backend, x: Any, y: Any, x_weights: Any, y_weights: Any, p: Any, metric: Any, reg: Any,
                     max_iter: Any, tol: Any, eps_scaling: Any) -> tuple[SampleSinkhorn, np.dtype]:
    """The problem of :func:`sinkhorn_samples`: validated clouds (n, d), (m, d),
    normalized weights, metric code and power, options; and the dtype."""
    reg_f, max_iter_i, tol_f, eps = _options(reg, max_iter, tol, eps_scaling)
    xp, as_array = be.xp, be.asarray
    xa = as_array(x, "x", min_ndim=1, max_ndim=2)
    ya = as_array(y, "y", min_ndim=1, max_ndim=2)
    xw = None if x_weights is None else as_array(x_weights, "x_weights", min_ndim=1, max_ndim=1)
    yw = None if y_weights is None else as_array(y_weights, "y_weights", min_ndim=1, max_ndim=1)
    pf = check_p(p)
    check_choice(metric, "metric", SAMPLE_METRICS)
    dtype = result_float_dtype(xa, ya, xw, yw)
    tol_f = DEFAULT_TOL[dtype] if tol_f is None else tol_f
    xa = xa.reshape(-1, 1) if xa.ndim == 1 else xa
    ya = ya.reshape(-1, 1) if ya.ndim == 1 else ya
    if xa.shape[1] != ya.shape[1]:
        raise ValueError(f"`x` and `y` must have the same dimension d, got x {xa.shape} and y {ya.shape}")
    if xa.shape[1] == 0:
        raise ValueError(f"`x` and `y` have dimension 0 (shapes {xa.shape}, {ya.shape}); points need coordinates")
    xa, ya = xp.ascontiguousarray(cast(xa, dtype)), xp.ascontiguousarray(cast(ya, dtype))
    check_finite(xa, "x")
    check_finite(ya, "y")
    weights = []
    for w, name, pts, pname in ((xw, "x_weights", xa, "x"), (yw, "y_weights", ya, "y")):
        if w is None:
            weights.append(xp.full(pts.shape[0], 1.0 / pts.shape[0], dtype=dtype))
            continue
        w = cast(w, dtype)
        check_weights(w, (pts.shape[0],), name, pname)
        weights.append(xp.ascontiguousarray((w / w.sum(dtype=np.float64)).astype(dtype, copy=False)))
    # metric ** p: the Euclidean distance squared is computed as such (no sqrt then square).
    if metric == "euclidean" and pf == 2.0:
        code, power = METRIC_CODES["sqeuclidean"], 1.0
    else:
        code, power = METRIC_CODES[metric], pf
    _check_reg_for(reg_f, dtype, _largest_sample_cost(xa, ya, code, power, dtype))
    annealed = dict(stage_iters=SAMPLE_STAGE_ITERS, rate_probe=SAMPLE_RATE_PROBE) if eps > 0 else {}
    return SampleSinkhorn(xa, ya, weights[0], weights[1], code, power, reg_f, tol_f, max_iter_i, eps, **annealed), dtype


def sinkhorn_samples(
    x: Any,
    y: Any,
    reg: float,
    *,
    x_weights: Any = None,
    y_weights: Any = None,
    p: float = 2,
    metric: str = "euclidean",
    max_iter: int = 10_000,
    tol: float | None = None,
    eps_scaling: float | None = None,
) -> OTResult:
    r"""Entropic optimal transport between point clouds, without the cost matrix.

    The problem of :func:`sinkhorn` with :math:`M_{ij} = \mathrm{metric}(x_i, y_j)^p`
    and the normalized weights, solved by the same log-domain loop, but each row
    and column of the cost is recomputed inside the log-sum-exp (vectorized over
    points), so memory is :math:`O((n + m) d)` and clouds of 10^5 points and more
    fit. Same conventions (``reg`` absolute epsilon, potentials f, g with
    :math:`P_{ij} = a_i b_j e^{(f_i + g_j - M_{ij})/\varepsilon}`, cost
    :math:`\langle P, M \rangle`, objective with :math:`\varepsilon \mathrm{KL}(P\|a\otimes b)`).

    Parameters
    ----------
    x : array_like, shape (n, d) or (n,)
    y : array_like, shape (m, d) or (m,)
    reg : float
        :math:`\varepsilon > 0`, in units of the cost ``metric ** p``; refused
        below 64 machine epsilons of the largest cost the clouds' bounding box
        allows (see :func:`sinkhorn`), and costs that could overflow are refused.
    x_weights, y_weights : array_like, shape (n,) and (m,), or None
        Nonnegative weights, each normalized to sum 1; None means uniform.
    p : float, default 2
        The cost is ``metric(x, y) ** p``, ``p >= 1``.
    metric : {"euclidean", "sqeuclidean", "cityblock", "chebyshev"}
    max_iter, tol, eps_scaling
        As in :func:`sinkhorn`; eps_scaling starts from an upper bound of the
        cost (the metric across the bounding box of both clouds, to the power p).
        On the CPU each intermediate epsilon then runs one plain iteration,
        unmeasured (an annealing schedule in the manner of GeomLoss), tol is
        checked at ``reg`` only, and the over-relaxation's rate is probed over
        4 plain iterations there instead of 20: the same fixed point in about
        as many iterations as stages run to a marginal error of 1e-2
        (2000-point clouds, reg 0.005, tol 1e-2: 19 and 27 against 26 and 26 on
        two draws), and a symmetric problem in far fewer (9 against 20-23).

    Returns
    -------
    OTResult
        As :func:`sinkhorn`. ``plan`` is computed only when accessed, and only
        for problems of at most 2**26 entries.

    References
    ----------
    J. Feydy, T. Sejourne, F.-X. Vialard, S. Amari, A. Trouve, G. Peyre,
    "Interpolating between optimal transport and MMD using Sinkhorn divergences",
    AISTATS 2019 (the matrix-free softmin).
    """
    be = backend_for("sinkhorn_samples", x=x, y=y, x_weights=x_weights, y_weights=y_weights)
    with be.active():
        problem, dtype = _prepare_samples(be, x, y, x_weights, y_weights, p, metric, reg, max_iter, tol, eps_scaling)
        sol = be.sinkhorn_samples(problem)
        shape = (problem.x.shape[0], problem.y.shape[0])
        plan = functools.partial(_samples_plan, be, problem, sol)
        return be.finish(
            _make_result(be, sol, problem.max_iter, problem.tol, dtype, False, shape, plan, "sinkhorn_samples",
                         tol)
        )


def sinkhorn_divergence(
    x: Any,
    y: Any,
    reg: float,
    *,
    x_weights: Any = None,
    y_weights: Any = None,
    p: float = 2,
    metric: str = "euclidean",
    max_iter: int = 10_000,
    tol: float | None = None,
    eps_scaling: float | None = None,
) -> Any:
    r"""Debiased Sinkhorn divergence between two weighted point clouds.

    .. math::

        S_\varepsilon(\alpha, \beta) = \mathrm{OT}_\varepsilon(\alpha, \beta)
        - \tfrac12 \mathrm{OT}_\varepsilon(\alpha, \alpha) - \tfrac12 \mathrm{OT}_\varepsilon(\beta, \beta),

    with :math:`\mathrm{OT}_\varepsilon` the entropic objective of
    :func:`sinkhorn_samples` evaluated through its dual value
    :math:`\langle a, f \rangle + \langle b, g \rangle`, for the cost
    ``metric(x, y) ** p`` (no factor 1/2: two Diracs at distance t give
    :math:`t^p`). Nonnegative, symmetric, and exactly 0 for identical inputs
    (the three solves are then bit-identical, a single point included).
    Rounding of order ``tol`` can give values just below 0; they are returned as 0.

    The self terms are solved (on the CPU) by the symmetric update
    :math:`f \leftarrow (f + T(f)) / 2`, :math:`T(f)_i = -\varepsilon \log
    \sum_j a_j e^{(f_j - C_{ij}) / \varepsilon}` (Feydy et al. 2019), one
    softmin per iteration and a few iterations at any epsilon; they return
    :math:`(f, T(f))`, whose columns are exact, and stop when the bound
    :math:`2 \|P(f, f) 1 - a\|_1` on its row error is below ``tol``. With
    ``eps_scaling``, see :func:`sinkhorn_samples`; 0.25 is GeomLoss' default
    schedule (blur scaling 0.5 on :math:`\varepsilon = \mathrm{blur}^2`).

    Parameters
    ----------
    x, y, reg, x_weights, y_weights, p, metric, max_iter, tol, eps_scaling
        As in :func:`sinkhorn_samples`.

    Returns
    -------
    scalar
        A NumPy scalar of the inputs' float dtype.

    References
    ----------
    J. Feydy et al., "Interpolating between optimal transport and MMD using
    Sinkhorn divergences", AISTATS 2019. A. Genevay, G. Peyre, M. Cuturi,
    "Learning generative models with Sinkhorn divergences", AISTATS 2018.
    """
    be = backend_for("sinkhorn_divergence", x=x, y=y, x_weights=x_weights, y_weights=y_weights)
    with be.active():
        value, _, _ = _divergence(be, x, y, reg, x_weights, y_weights, p, metric, max_iter, tol, eps_scaling)
        return be.finish(value)


def _divergence(be: Backend, x: Any, y: Any, reg: Any, x_weights: Any, y_weights: Any, p: Any, metric: Any,
                max_iter: Any, tol: Any, eps_scaling: Any) -> tuple[Any, Any, list[tuple[SampleSinkhorn, SinkhornSolution]]]:
    """S_eps of :func:`sinkhorn_divergence` (clamped at 0), the unclamped difference
    of the three dual values, and the three (problem, solution) pairs: OT(x, y),
    OT(x, x), OT(y, y), in that order (the ConvergenceWarning issued here)."""
    xy, dtype = _prepare_samples(be, x, y, x_weights, y_weights, p, metric, reg, max_iter, tol, eps_scaling)
    values, statuses, errors, terms = [], [], [], []
    # The self terms by the symmetric (averaged) update; OT(x, y) too when y is
    # x, so that identical inputs still give three bit-identical solves and 0.
    for problem in (
        dataclasses.replace(xy, symmetric=_is_same_cloud(xy), objective=False),
        dataclasses.replace(xy, y=xy.x, b=xy.a, symmetric=True, objective=False),
        dataclasses.replace(xy, x=xy.y, a=xy.b, symmetric=True, objective=False),
    ):
        sol = be.sinkhorn_samples(problem)
        terms.append((problem, sol))
        values.append(be.sinkhorn_dual(problem, sol))
        statuses.append(status_names(sol.status)[0])
        errors.append(float(be.to_host(sol.marginal_error)[0]))
    _warn_unconverged(np.array(statuses), np.array(errors), xy.max_iter, xy.tol, "sinkhorn_divergence",
                      _at_float32_default(tol, dtype))
    s = values[0] - 0.5 * values[1] - 0.5 * values[2]
    return be.nonnegative_root(s, 1.0, dtype), s, terms


def divergence_solutions(x: np.ndarray, y: np.ndarray, reg: float, *, x_weights: Any = None, y_weights: Any = None,
                         p: float = 2, metric: str = "euclidean", max_iter: int = 10_000, tol: float | None = None,
                         eps_scaling: float | None = None) -> tuple[Any, Any, list[tuple[SampleSinkhorn, SinkhornSolution]]]:
    """:func:`sinkhorn_divergence` of NumPy clouds with the three solves behind it:
    the same checks, solves, warning and value, and each term's problem (its
    normalized weights, metric code and power) with its converged potentials.
    What the ``torch.compile`` op of ``emd.nn.SinkhornLoss`` (``emd._compile_ops``)
    runs on the real tensors."""
    be = backend_for("sinkhorn_divergence", x=x, y=y, x_weights=x_weights, y_weights=y_weights)
    with be.active():
        return _divergence(be, x, y, reg, x_weights, y_weights, p, metric, max_iter, tol, eps_scaling)


def sinkhorn_wasserstein(
    x: Any,
    y: Any,
    reg: float,
    *,
    x_weights: Any = None,
    y_weights: Any = None,
    p: float = 1.0,
    metric: str = "euclidean",
    max_iter: int = 10_000,
    tol: float | None = None,
    eps_scaling: float | None = None,
) -> Any:
    r"""The entropic estimate of :math:`W_p`: :math:`\langle P_\varepsilon, C \rangle^{1/p}`.

    :math:`P_\varepsilon` is the plan of :func:`sinkhorn_samples` for the cost
    :math:`C = \mathrm{metric}^p`; this is ``emd.wasserstein(x, y, method="sinkhorn", reg=...)``.
    It overestimates the exact :math:`W_p` and tends to it as reg -> 0.

    Returns
    -------
    scalar
        A NumPy scalar of the inputs' float dtype.
    """
    be = backend_for("sinkhorn_wasserstein", x=x, y=y, x_weights=x_weights, y_weights=y_weights)
    with be.active():
        # In the backend's arrays, so that the nested solve stays on it (a tensor's graph included).
        x, y, x_weights, y_weights = (
            None if v is None else be.asarray(v, name)
            for v, name in ((x, "x"), (y, "y"), (x_weights, "x_weights"), (y_weights, "y_weights"))
        )
        res = sinkhorn_samples(
            x, y, reg, x_weights=x_weights, y_weights=y_weights, p=p, metric=metric,
            max_iter=max_iter, tol=tol, eps_scaling=eps_scaling,
        )
        return be.finish(be.nonnegative_root(res.cost, check_p(p), res.cost.dtype))
