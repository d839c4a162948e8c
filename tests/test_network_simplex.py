"""emd.solve / emd.emd / emd.wasserstein on point clouds: the exact network simplex.

Every solve goes through `certify`, which checks the LP optimality proof the
result carries (primal feasibility, dual feasibility, complementary
slackness, duality gap), independently of any reference solver.
"""

from __future__ import annotations

import types

import numpy as np
import ot
import pytest
import scipy.optimize
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

import emd

from conftest import assert_ctrl_c_interrupts

# The solver is exact: its cost matches an independent LP solver (HiGHS, LEMON,
# linear_sum_assignment) up to float64 summation order; measured at most 4e-14
# relative (ties and zero costs included), hence 1e-12.
COST_RTOL = 1e-12
# Marginals of the plan are reconstructed from the basis in float64 (one
# rounding per node), hence 1e-12 absolute for unit mass.
MARGINAL_ATOL = 1e-12
# Reduced costs and the duality gap are sums of O(n + m) float64 terms of the
# size of the costs, hence a tolerance relative to max |M| (and total mass);
# measured at most 5e-15.
DUAL_RTOL = 1e-12


def certify(res, a, b, M, *, marginal_atol=MARGINAL_ATOL, dual_rtol=DUAL_RTOL, cost_rtol=1e-12):
    """The optimality certificate of one exact solve, checked in float64."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    M = np.asarray(M, dtype=np.float64)
    n, m = M.shape
    assert res.status == "optimal"
    rows, cols, vals = res.plan_coo
    assert len(vals) <= n + m - 1  # a basic solution
    assert np.all(vals >= 0)
    P = np.asarray(res.plan, dtype=np.float64)
    assert P.shape == (n, m)
    np.testing.assert_allclose(P.sum(axis=1), a, rtol=0, atol=marginal_atol)
    np.testing.assert_allclose(P.sum(axis=0), b, rtol=0, atol=marginal_atol)
    f = np.asarray(res.potential_a, dtype=np.float64)
    g = np.asarray(res.potential_b, dtype=np.float64)
    assert f.shape == (n,) and g.shape == (m,)
    scale = max(float(np.abs(M).max()), 1e-300)
    reduced = M - f[:, None] - g[None, :]
    assert reduced.min() >= -dual_rtol * scale  # dual feasibility
    assert np.abs(reduced[rows, cols]).max(initial=0.0) <= dual_rtol * scale  # complementary slackness
    cost = float(np.sum(P * M))
    np.testing.assert_allclose(float(res.cost), cost, rtol=cost_rtol, atol=1e-15 * scale)
    dual = float(a @ f + b @ g)
    mass = float(a.sum())
    assert abs(cost - dual) <= dual_rtol * scale * mass
    assert float(res.duality_gap) <= dual_rtol * scale * mass
    return P


def linprog_cost(a, b, M):
    n, m = M.shape
    A_eq = np.zeros((n + m, n * m))
    for i in range(n):
        A_eq[i, i * m : (i + 1) * m] = 1.0
    for j in range(m):
        A_eq[n + j, j::m] = 1.0
    r = scipy.optimize.linprog(M.ravel(), A_eq=A_eq, b_eq=np.concatenate([a, b]), bounds=(0, None), method="highs")
    assert r.status == 0
    return r.fun


def random_problem(rng, n, m, *, d=2, dirichlet=False, zeros=False):
    x = rng.random((n, d))
    y = rng.random((m, d))
    M = emd.cost_matrix(x, y)
    a = rng.dirichlet(np.ones(n)) if dirichlet else np.full(n, 1.0 / n)
    b = rng.dirichlet(np.ones(m)) if dirichlet else np.full(m, 1.0 / m)
    if zeros:
        a[rng.random(n) < 0.3] = 0.0
        b[rng.random(m) < 0.3] = 0.0
        if a.sum() == 0:
            a[0] = 1.0
        if b.sum() == 0:
            b[-1] = 1.0
        a /= a.sum()
        b /= b.sum()
    return a, b, M


# --- independent references --------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 12),
    m=st.integers(1, 12),
    seed=st.integers(0, 2**32 - 1),
    kind=st.sampled_from(["random", "ties", "zeros_in_M", "integer"]),
    zero_weights=st.booleans(),
)
def test_against_linprog(n, m, seed, kind, zero_weights):
    rng = np.random.default_rng(seed)
    if kind == "random":
        M = rng.random((n, m))
    elif kind == "ties":
        M = rng.integers(0, 3, size=(n, m)).astype(np.float64)
    elif kind == "zeros_in_M":
        M = rng.random((n, m)) * (rng.random((n, m)) < 0.5)
    else:
        M = rng.integers(-5, 20, size=(n, m)).astype(np.float64)
    a = rng.random(n)
    b = rng.random(m)
    if zero_weights:
        a[rng.random(n) < 0.4] = 0.0
        b[rng.random(m) < 0.4] = 0.0
        a[rng.integers(n)] += 1.0
        b[rng.integers(m)] += 1.0
    a /= a.sum()
    b /= b.sum()
    b *= a.sum() / b.sum()
    res = emd.solve(a, b, M)
    certify(res, a, b, M)
    ref = linprog_cost(a, b, M)
    np.testing.assert_allclose(float(res.cost), ref, rtol=COST_RTOL, atol=1e-12)
    assert float(emd.emd(a, b, M)) == pytest.approx(float(res.cost), rel=1e-15, abs=0)


@pytest.mark.parametrize("n,m", [(1, 1), (1, 7), (7, 1), (2, 2), (3, 5), (5, 3)])
def test_edge_sizes(n, m, rng):
    a, b, M = random_problem(rng, n, m, dirichlet=True)
    res = emd.solve(a, b, M)
    certify(res, a, b, M)
    np.testing.assert_allclose(float(res.cost), linprog_cost(a, b, M), rtol=COST_RTOL)


@pytest.mark.parametrize(
    "n,d,dirichlet",
    [(100, 2, False), (100, 32, True), (333, 2, True), (400, 32, False), (1000, 2, True), (1000, 32, False)],
)
def test_against_pot(n, d, dirichlet, rng):
    a, b, M = random_problem(rng, n, n + (n % 7), d=d, dirichlet=dirichlet)
    res = emd.solve(a, b, M)
    certify(res, a, b, M)
    ref = ot.emd2(a, b, M, numItermax=10**9)
    np.testing.assert_allclose(float(res.cost), ref, rtol=COST_RTOL)


@pytest.mark.parametrize("n", [1, 2, 17, 200])
def test_against_linear_sum_assignment(n, rng):
    M = rng.random((n, n))
    res = emd.solve(None, None, M)
    certify(res, np.full(n, 1 / n), np.full(n, 1 / n), M)
    r, c = scipy.optimize.linear_sum_assignment(M)
    np.testing.assert_allclose(float(res.cost), M[r, c].sum() / n, rtol=COST_RTOL)


# --- known answers -----------------------------------------------------------------------


def test_planted_permutation(rng):
    n = 300
    perm = rng.permutation(n)
    M = 1.0 + rng.random((n, n))  # every other pairing costs >= 1
    M[np.arange(n), perm] = rng.random(n) * 0.5  # the planted matching is strictly cheaper
    res = emd.solve(None, None, M)
    P = certify(res, np.full(n, 1 / n), np.full(n, 1 / n), M)
    assert np.array_equal(np.argmax(P, axis=1), perm)
    np.testing.assert_allclose(P[np.arange(n), perm], 1 / n, rtol=0, atol=MARGINAL_ATOL)


@pytest.mark.parametrize("p", [1.0, 2.0, 3.5])
def test_1d_costs_match_exact_1d_solvers(p, rng):
    x = rng.normal(size=40)
    y = rng.normal(size=55) + 0.3
    wx = rng.random(40)
    wy = rng.random(55)
    M = np.abs(x[:, None] - y[None, :]) ** p
    a, b = wx / wx.sum(), wy / wy.sum()
    res = emd.solve(a, b, M)
    certify(res, a, b, M)
    got = float(res.cost) ** (1 / p)
    # Independent 1-D references: POT's sorting solver at every p, scipy's at p = 1.
    np.testing.assert_allclose(got, ot.wasserstein_1d(x, y, a, b, p=p) ** (1 / p), rtol=1e-12)
    np.testing.assert_allclose(got, emd.wasserstein_1d(x, y, wx, wy, p=p), rtol=1e-12)
    if p == 1.0:
        np.testing.assert_allclose(got, scipy.stats.wasserstein_distance(x, y, wx, wy), rtol=1e-12)


def test_wasserstein_nd_matches_scipy(rng):
    x = rng.normal(size=(30, 3))
    y = rng.normal(size=(25, 3)) + 0.5
    wx = rng.random(30)
    wy = rng.random(25)
    got = emd.wasserstein(x, y, x_weights=wx, y_weights=wy)
    ref = scipy.stats.wasserstein_distance_nd(x, y, wx, wy)
    np.testing.assert_allclose(got, ref, rtol=1e-12)


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
@pytest.mark.parametrize("metric", ["euclidean", "cityblock", "chebyshev"])
def test_translation(p, metric, rng):
    # For these norms translating a cloud by t costs exactly ||t|| at every order p:
    # the identity coupling achieves it and ||E[x - y]|| <= W_1 <= W_p bounds it below.
    x = rng.normal(size=(60, 4))
    t = np.array([0.3, -1.2, 0.5, 2.0])
    norm = {"euclidean": np.linalg.norm(t), "cityblock": np.abs(t).sum(), "chebyshev": np.abs(t).max()}[metric]
    got = emd.wasserstein(x, x + t, p=p, metric=metric)
    np.testing.assert_allclose(got, norm, rtol=1e-12)


@pytest.mark.parametrize("theta", [-1.5, -0.25, 0.0, 0.4, 2.0])
def test_parallel_lines(theta):
    # Arjovsky, Chintala and Bottou (2017), Example 1: (0, Z) against (theta, Z).
    z = np.linspace(0.0, 1.0, 50)
    x = np.stack([np.zeros_like(z), z], axis=1)
    y = np.stack([np.full_like(z, theta), z], axis=1)
    assert emd.wasserstein(x, y) == pytest.approx(abs(theta), rel=1e-12, abs=1e-15)


def test_diracs():
    M = np.array([[2.5]])
    res = emd.solve([3.0], [3.0], M)
    assert float(res.cost) == pytest.approx(7.5, rel=1e-15)
    certify(res, [3.0], [3.0], M)


@pytest.mark.parametrize("p", [1.0, 2.0, 8.0])
@pytest.mark.parametrize("weighted", [False, True])
def test_identical_clouds_are_exactly_zero(p, weighted, rng):
    # W_p(x, x) = 0 exactly: the diagonal coupling costs 0. A plan carrying
    # even ulps of mass off the diagonal shows up magnified by the p-th root
    # (1e-15 ** (1 / 8) = 0.013), so this asks for bitwise 0.
    x = rng.normal(size=(40, 3))
    w = rng.dirichlet(np.ones(40)) if weighted else None
    assert emd.wasserstein(x, x.copy(), x_weights=w, y_weights=w, p=p) == 0.0
    M = emd.cost_matrix(x, x)
    res = emd.solve(w, w, M)
    assert float(res.cost) == 0.0
    certify(res, np.full(40, 1 / 40) if w is None else w, np.full(40, 1 / 40) if w is None else w, M)
    # One bin each side: the mass times the cost, exactly.
    assert emd.emd([1.0], [1.0], [[5.0]]) == 5.0


# --- invariants and features -------------------------------------------------------------


def _batch_item(res, k):
    """Problem k of a batched result, shaped like a single solve's, for `certify`."""
    P = np.asarray(res.plan[k])
    rows, cols = np.nonzero(P)
    return types.SimpleNamespace(
        status=str(res.status[k]),
        plan=P,
        plan_coo=(rows, cols, P[rows, cols]),
        potential_a=res.potential_a[k],
        potential_b=res.potential_b[k],
        cost=res.cost[k],
        duality_gap=res.duality_gap[k],
    )


def test_batched_equals_looped_shared_cost(rng):
    # With a shared M, problems after the first of each chunk start from the
    # previous problem's optimal tree (issue 19): the same optimum, certified,
    # but not necessarily the same basis as a cold solve.
    B, n, m = 12, 20, 15
    M = rng.random((n, m))
    A = rng.dirichlet(np.ones(n), size=B)
    Bw = rng.dirichlet(np.ones(m), size=B)
    A[3, :5] = 0.0
    A[3] /= A[3].sum()
    res = emd.solve(A, Bw, M, return_plan=True)
    assert res.cost.shape == (B,) and res.potential_a.shape == (B, n) and res.potential_b.shape == (B, m)
    assert res.status.shape == (B,) and res.n_iter.shape == (B,) and res.plan.shape == (B, n, m)
    for k in range(B):
        one = emd.solve(A[k], Bw[k], M)
        certify(one, A[k], Bw[k], M)
        certify(_batch_item(res, k), A[k], Bw[k], M)
        np.testing.assert_allclose(res.cost[k], one.cost, rtol=COST_RTOL)
        assert res.status[k] == "optimal"
    # The first problem of a chunk and problems with zero-weight bins are solved cold.
    for k in (0, 3):
        one = emd.solve(A[k], Bw[k], M)
        assert res.cost[k] == one.cost
        np.testing.assert_array_equal(res.plan[k], one.plan)
    np.testing.assert_array_equal(emd.emd(A, Bw, M), res.cost)


def test_batched_equals_looped_bit_for_bit_without_warm_starts(rng):
    # Per-problem costs (B, n, m) and capped solves take no warm start: the
    # batch is then the loop, bit for bit.
    B, n, m = 6, 20, 15
    Ms = rng.random((B, n, m))
    A = rng.dirichlet(np.ones(n), size=B)
    Bw = rng.dirichlet(np.ones(m), size=B)
    res = emd.solve(A, Bw, Ms, return_plan=True)
    capped = emd.solve(A, Bw, Ms[0], max_iter=10**9, return_plan=True)
    for k in range(B):
        one = emd.solve(A[k], Bw[k], Ms[k])
        assert res.cost[k] == one.cost
        np.testing.assert_array_equal(res.plan[k], one.plan)
        one = emd.solve(A[k], Bw[k], Ms[0])
        assert capped.cost[k] == one.cost and capped.n_iter[k] == one.n_iter
        np.testing.assert_array_equal(capped.plan[k], one.plan)


def test_batched_per_problem_costs_and_uniform(rng):
    B, n, m = 7, 9, 11
    M = rng.random((B, n, m))
    res = emd.solve(None, None, M)
    assert getattr(res, "_dense_plan") is None
    with pytest.raises(AttributeError):
        res.plan
    for k in range(B):
        np.testing.assert_allclose(res.cost[k], linprog_cost(np.full(n, 1 / n), np.full(m, 1 / m), M[k]), rtol=COST_RTOL)


def test_two_pricing_threads_match_serial(rng):
    # A single large solve prices on two threads; in a batch each problem is
    # solved by one thread. Both make the same pivots, so the results agree bit for bit.
    a, b, M = random_problem(rng, 1500, 1500, d=2, dirichlet=True)
    single = emd.solve(a, b, M)
    batch = emd.solve(np.stack([a, a]), np.stack([b, b]), M)
    assert single.n_iter == batch.n_iter[0] == batch.n_iter[1]
    assert single.cost == batch.cost[0]
    np.testing.assert_array_equal(single.potential_a, batch.potential_a[0])
    np.testing.assert_array_equal(single.potential_b, batch.potential_b[1])
    certify(single, a, b, M)


def test_batch_is_deterministic(rng):
    M = rng.random((64, 64))
    A = rng.dirichlet(np.ones(64), size=200)
    first = emd.solve(A, None, M)
    second = emd.solve(A, None, M)
    np.testing.assert_array_equal(first.cost, second.cost)
    np.testing.assert_array_equal(first.potential_b, second.potential_b)


def _warm_cases(rng):
    """Batches with a shared M for the warm starts: (name, A, B, M)."""
    n = 64
    M = emd.cost_matrix(rng.random((n, 2)), rng.random((n, 2)))
    yield "dirichlet", rng.dirichlet(np.ones(n), size=70), rng.dirichlet(np.ones(n), size=70), M
    # Zero-weight bins mixed in (those problems are solved cold, the chain goes on), n != m.
    A = rng.dirichlet(np.ones(40), size=70)
    Bw = rng.dirichlet(np.ones(25), size=70)
    A[rng.random(A.shape) < 0.3] = 0.0
    Bw[::3][rng.random(Bw[::3].shape) < 0.5] = 0.0
    A[:, 0] += 0.1
    Bw[:, -1] += 0.1
    A /= A.sum(1, keepdims=True)
    Bw /= Bw.sum(1, keepdims=True)
    yield "zeros, n != m", A, Bw, rng.random((40, 25))
    # Degenerate: ties everywhere, uniform weights with many optimal bases, all-equal costs.
    ties = rng.integers(0, 3, size=(30, 17)).astype(np.float64)
    yield "tied costs", rng.dirichlet(np.ones(30), size=70), rng.dirichlet(np.ones(17), size=70), ties
    yield "tied, uniform", np.full((40, 30), 1 / 30), np.full((40, 17), 1 / 17), ties
    yield "all-equal costs", rng.dirichlet(np.ones(9), size=40), rng.dirichlet(np.ones(11), size=40), np.ones((9, 11))
    # Rows of a pairwise tile: consecutive problems share a (emd.pairwise's layout).
    grid = np.stack(np.meshgrid(np.arange(8.0), np.arange(8.0)), -1).reshape(-1, 2)
    H = rng.random((9, 64))
    H /= H.sum(1, keepdims=True)
    yield "pairwise rows", np.repeat(H, 9, axis=0), np.tile(H, (9, 1)), emd.cost_matrix(grid, grid, "euclidean")


def test_warm_started_batches_against_pot_and_certified(rng):
    # Every problem of a warm-started batch: POT's cost to 1e-12 and the LP
    # certificate (feasible plan, dual feasibility, complementary slackness, gap).
    for name, A, Bw, M in _warm_cases(rng):
        res = emd.solve(A, Bw, M, return_plan=True)
        ref = np.array([ot.emd2(A[k], Bw[k], M, numItermax=10**9) for k in range(len(A))])
        np.testing.assert_allclose(res.cost, ref, rtol=COST_RTOL, atol=1e-15, err_msg=name)
        for k in range(len(A)):
            certify(_batch_item(res, k), A[k], Bw[k], M)


def test_warm_starts_save_pivots(rng):
    # Along the rows of a pairwise tile the previous problem's tree is a far
    # better start than the row-minimum rule: 135 pivots instead of 217 per
    # problem measured at 64 bins (benchmarks/RESULTS.md); the loop is cold.
    *_, (_, A, Bw, M) = _warm_cases(rng)
    batched = emd.solve(A, Bw, M).n_iter
    looped = np.array([emd.solve(A[k], Bw[k], M).n_iter for k in range(len(A))])
    assert batched[0] == looped[0]  # the first of a chunk starts cold
    assert batched.sum() < 0.8 * looped.sum()


_WARM_THREADS = """
import sys
import numpy as np
import emd
rng = np.random.default_rng(5)
M = rng.random((48, 40))
A = rng.dirichlet(np.ones(48), size=300)
B = rng.dirichlet(np.ones(40), size=300)
A[::7, :10] = 0.0
A /= A.sum(1, keepdims=True)
r = emd.solve(A, B, M)
sys.stdout.write(np.concatenate([r.cost, r.potential_a.ravel(), r.potential_b.ravel(), r.n_iter]).tobytes().hex())
"""


def test_warm_started_batches_do_not_depend_on_threads():
    # The chunks, not the threads, fix which tree each problem starts from:
    # one thread and two threads give the same bits, run after run.
    import os
    import subprocess
    import sys

    outs = []
    for threads in ("1", "2", "2"):
        env = dict(os.environ, OMP_NUM_THREADS=threads)
        run = subprocess.run([sys.executable, "-c", _WARM_THREADS], env=env, capture_output=True, text=True, check=True)
        outs.append(run.stdout)
    assert outs[0] and outs[0] == outs[1] == outs[2]


# --- small dense problems (issue 19) ------------------------------------------------------
# Up to 2^16 arcs the pricing reads folded costs c + tol |c| plus tol |pi_j| - pi_j and
# takes blocks of whole rows (~1024 arcs): one vector pass per row where m is a multiple
# of the vector width (rows_min), row segments otherwise; a tree arc that comes out least
# sends the block to an arc-by-arc rescan.


@pytest.mark.parametrize(
    "n,m,zeros",
    [(64, 64, False), (64, 64, True), (48, 64, False), (64, 40, False), (37, 29, False), (8, 16, False),
     (256, 256, False), (257, 256, False)],
)
def test_small_problems_against_pot_and_certified(n, m, zeros, rng):
    # 256 x 256 is the largest size on folded costs, 257 x 256 the first past it.
    a, b, M = random_problem(rng, n, m, d=2, dirichlet=True, zeros=zeros)
    res = emd.solve(a, b, M)
    certify(res, a, b, M)
    np.testing.assert_allclose(res.cost, ot.emd2(a, b, M, numItermax=10**9), rtol=COST_RTOL)


@pytest.mark.parametrize("uniform", [False, True])
def test_small_problems_tied_costs(uniform, rng):
    # Costs in {0, 1, 2}: many arcs price alike, tree arcs among the least of a block.
    n, m = 64, 48
    M = rng.integers(0, 3, size=(n, m)).astype(np.float64)
    a = np.full(n, 1 / n) if uniform else rng.dirichlet(np.ones(n))
    b = np.full(m, 1 / m) if uniform else rng.dirichlet(np.ones(m))
    res = emd.solve(a, b, M)
    certify(res, a, b, M)
    np.testing.assert_allclose(res.cost, linprog_cost(a, b, M), rtol=COST_RTOL, atol=1e-15)


def test_small_batch_float32_against_pot(rng):
    n = 64
    M = emd.cost_matrix(rng.random((n, 2)), rng.random((n, 2))).astype(np.float32)
    A = rng.dirichlet(np.ones(n), size=40).astype(np.float32)
    Bw = rng.dirichlet(np.ones(n), size=40).astype(np.float32)
    res = emd.solve(A, Bw, M, return_plan=True)
    assert res.cost.dtype == np.float32
    M64 = M.astype(np.float64)
    ref = np.array([ot.emd2(A[k].astype(np.float64), Bw[k].astype(np.float64), M64, numItermax=10**9) for k in range(40)])
    # As test_float32: the cost rounded once to float32, plan and potentials too.
    np.testing.assert_allclose(res.cost.astype(np.float64), ref, rtol=2e-7)
    for k in range(40):
        certify(_batch_item(res, k), A[k], Bw[k], M, marginal_atol=1e-7, dual_rtol=3e-7, cost_rtol=1e-6)


def test_small_problems_price_wide_blocks(rng):
    # Blocks of ~1024 arcs instead of sqrt(n m) = 64 at 64 x 64: the benchmark's
    # problems took 231 pivots per cold solve instead of 374, this test's 188 instead of
    # 315 (benchmarks/RESULTS.md,
    # "Issue 19, batched small exact problems"); 64-arc blocks fail this bound.
    n = 64
    M = emd.cost_matrix(rng.random((n, 2)), rng.random((n, 2)))
    A = rng.dirichlet(np.ones(n), size=50)
    Bw = rng.dirichlet(np.ones(n), size=50)
    cold = emd.solve(A, Bw, M, max_iter=10**9)  # a capped batch solves each problem cold
    assert cold.n_iter.mean() < 260


# While m is a multiple of the float vector width (16 on AVX-512, 8 on AVX2), the whole-row
# scan first runs on float32 copies of the folded costs and only screens: a row is taken
# below -2^-20 of the magnitudes and its arc checked in double; a sweep that finds nothing
# hands over to the exact scan, which alone declares optimality.


def test_small_problems_below_the_float_screen(rng):
    # Costs 1e-9 * D beside one unit cost: every reduced cost lies below 2^-20 of the
    # magnitudes, so the float screen finds nothing and the optimum must come from the
    # exact scan (a screen that declared optimality would stop at the start basis).
    # linprog on the rescaled costs (its tolerances are absolute, ~1e-9: unscaled, it came
    # out 5x off; POT, whose tolerance is absolute too, differs by ~2e-16, 5e-6 relative).
    n, m = 64, 32
    M = 1e-9 * emd.cost_matrix(rng.random((n, 2)), rng.random((m, 2)))
    M[0, 0] = 1.0
    A = rng.dirichlet(np.ones(n), size=6)
    Bw = rng.dirichlet(np.ones(m), size=6)
    res = emd.solve(A, Bw, M, return_plan=True)
    for k in range(len(A)):
        certify(_batch_item(res, k), A[k], Bw[k], M)
        np.testing.assert_allclose(res.cost[k], 1e-9 * linprog_cost(A[k], Bw[k], M / 1e-9), rtol=COST_RTOL)


@pytest.mark.parametrize("n,m", [(64, 16), (16, 64), (33, 48), (128, 128)])
def test_small_screened_sizes_tied_and_zero_weights(n, m, rng):
    # Sizes where the float screen applies, with costs in {0, 1, 2} (tree arcs tie with the
    # rows' minima) and zero weights in some problems (those go to the cold solver).
    M = rng.integers(0, 3, size=(n, m)).astype(np.float64)
    A = rng.dirichlet(np.ones(n), size=8)
    Bw = rng.dirichlet(np.ones(m), size=8)
    A[::3, : n // 4] = 0.0
    A /= A.sum(1, keepdims=True)
    res = emd.solve(A, Bw, M, return_plan=True)
    for k in range(len(A)):
        certify(_batch_item(res, k), A[k], Bw[k], M)
        np.testing.assert_allclose(res.cost[k], linprog_cost(A[k], Bw[k], M), rtol=COST_RTOL, atol=1e-15)


@pytest.mark.parametrize("n,m", [(32, 32), (24, 20), (16, 48)])
def test_warm_chain_degenerate_pivots_certified(n, m, rng):
    # Dyadic weights (integers over a power of two: exact in binary) on costs in {0, 1, 2, 3}: many
    # pivots move no flow (delta = 0) and blocking arcs tie, which exercises Cunningham's
    # rule as the join search applies it (each side's least flow kept while climbing) and
    # the flow change done inside the tree update. Problems repeat, so some start from
    # their own optimal tree's arcs. 32 x 32 is screened (whole rows), 24 x 20 scans row
    # segments, 16 x 48 has n != m.
    M = rng.integers(0, 4, size=(n, m)).astype(np.float64)

    def dyadic(k, size):
        w = rng.integers(1, 4, size=(size, k)).astype(np.float64)
        w[:, 0] += 2.0 ** np.ceil(np.log2(w.sum(1))) - w.sum(1)  # each row sums to a power of two
        return w / w.sum(1, keepdims=True)

    A, Bw = dyadic(n, 12), dyadic(m, 12)
    A[6:9], Bw[6:9] = A[5], Bw[5]
    res = emd.solve(A, Bw, M, return_plan=True)
    for k in range(len(A)):
        certify(_batch_item(res, k), A[k], Bw[k], M)
        np.testing.assert_allclose(res.cost[k], linprog_cost(A[k], Bw[k], M), rtol=COST_RTOL, atol=1e-15)
        np.testing.assert_allclose(res.cost[k], emd.solve(A[k], Bw[k], M).cost, rtol=COST_RTOL, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_warm_chain_problems_with_different_supports(dtype, rng):
    # One chain whose problems have different supports: zero-weight bins at other places
    # in each (those go to the cold solver, the chain keeps its tree), full-support ones in
    # between (they start from the last full problem's tree, through the batch's ranking of
    # M and the chain's reused start-basis scratch), n != m.
    n, m, B = 48, 32, 40
    M = emd.cost_matrix(rng.random((n, 2)), rng.random((m, 2)))
    A = rng.dirichlet(np.ones(n), size=B)
    Bw = rng.dirichlet(np.ones(m), size=B)
    for k in range(0, B, 3):
        A[k, rng.choice(n, size=n // 3, replace=False)] = 0.0
    for k in range(1, B, 4):
        Bw[k, rng.choice(m, size=m // 4, replace=False)] = 0.0
    A /= A.sum(1, keepdims=True)
    Bw /= Bw.sum(1, keepdims=True)
    A, Bw, M = A.astype(dtype), Bw.astype(dtype), M.astype(dtype)
    res = emd.solve(A, Bw, M, return_plan=True)
    A64, B64, M64 = A.astype(np.float64), Bw.astype(np.float64), M.astype(np.float64)
    ref = np.array([ot.emd2(A64[k], B64[k], M64, numItermax=10**9) for k in range(B)])
    looped = np.array([emd.solve(A[k], Bw[k], M).cost for k in range(B)])
    if dtype == np.float64:
        np.testing.assert_allclose(res.cost, ref, rtol=COST_RTOL, atol=1e-15)
        np.testing.assert_allclose(res.cost, looped, rtol=COST_RTOL, atol=1e-15)
        for k in range(B):
            certify(_batch_item(res, k), A[k], Bw[k], M)
    else:  # as test_small_batch_float32_against_pot: one float32 rounding of each result
        np.testing.assert_allclose(res.cost.astype(np.float64), ref, rtol=2e-7)
        np.testing.assert_allclose(res.cost, looped, rtol=2e-7)
        for k in range(B):
            certify(_batch_item(res, k), A[k], Bw[k], M, marginal_atol=1e-7, dual_rtol=3e-7, cost_rtol=1e-6)


def test_ctrl_c_interrupts_a_long_solve():
    # ~0.4 s of solve at n = 3000, d = 32 with Dirichlet weights, interrupted after 50 ms.
    setup = """
        rng = np.random.default_rng(3)
        n = 3000
        x, y = rng.random((n, 32)), rng.random((n, 32))
        M = emd.cost_matrix(x, y)
        a, b = rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(n))
    """
    assert_ctrl_c_interrupts(setup, "emd.solve(a, b, M)")


def test_max_iter_warns_and_reports(rng):
    a, b, M = random_problem(rng, 30, 30, dirichlet=True)
    with pytest.warns(RuntimeWarning, match="max_iter"):
        res = emd.solve(a, b, M, max_iter=1)
    assert res.status == "max_iter_reached" and not res.converged
    assert res.n_iter == 1
    P = res.plan  # still a feasible plan
    np.testing.assert_allclose(P.sum(axis=1), a, atol=MARGINAL_ATOL)
    np.testing.assert_allclose(P.sum(axis=0), b, atol=MARGINAL_ATOL)
    assert float(res.cost) >= float(emd.emd(a, b, M)) * (1 - 1e-12)


def test_max_iter_batched_warns(rng):
    M = rng.random((30, 30))
    with pytest.warns(RuntimeWarning, match="problems reached max_iter"):
        res = emd.solve(rng.dirichlet(np.ones(30), size=3), None, M, max_iter=1)
    assert list(res.status) == ["max_iter_reached"] * 3


def test_zero_weight_bins_restored(rng):
    a, b, M = random_problem(rng, 40, 30, dirichlet=True, zeros=True)
    assert (a == 0).any() and (b == 0).any()
    res = emd.solve(a, b, M)
    P = certify(res, a, b, M)
    assert np.all(P[a == 0] == 0) and np.all(P[:, b == 0] == 0)
    keep_a, keep_b = a > 0, b > 0
    sub = emd.solve(a[keep_a], b[keep_b], M[np.ix_(keep_a, keep_b)])
    np.testing.assert_allclose(float(res.cost), float(sub.cost), rtol=1e-14)


def test_float32(rng):
    a, b, M = random_problem(rng, 80, 60, d=3, dirichlet=True)
    a32, b32, M32 = a.astype(np.float32), b.astype(np.float32), M.astype(np.float32)
    res = emd.solve(a32, b32, M32)
    assert res.cost.dtype == np.float32 and res.potential_a.dtype == np.float32
    assert res.plan.dtype == np.float32
    # float32 inputs: the solve itself is exact for the float32 data; compare with
    # the float64 optimum of those same (rounded) inputs.
    ref = ot.emd2(a32.astype(np.float64), b32.astype(np.float64), M32.astype(np.float64), numItermax=10**9)
    # The cost is rounded once to float32 (measured 4e-8 from the float64 optimum).
    np.testing.assert_allclose(float(res.cost), ref, rtol=2e-7)
    # float32 outputs: plan values and potentials are rounded once to float32
    # (measured: marginals 1.5e-9, reduced costs 9e-9 of max |M|).
    certify(res, a32, b32, M32, marginal_atol=1e-7, dual_rtol=3e-7, cost_rtol=1e-6)


def test_mixed_dtypes_promote(rng):
    a, b, M = random_problem(rng, 10, 12)
    res = emd.solve(a.astype(np.float32), b, M.astype(np.float32))
    assert res.potential_a.dtype == np.float64


def test_noncontiguous_and_int_inputs(rng):
    M = np.asfortranarray(rng.random((8, 6)))
    a = np.ones(16)[::2] / 8
    res = emd.solve(a, None, M)
    certify(res, a, np.full(6, 1 / 6), M)
    Mi = rng.integers(0, 10, size=(4, 4))
    res = emd.solve([1, 1, 1, 1], [2, 1, 1, 0], Mi)
    np.testing.assert_allclose(float(res.cost), linprog_cost(np.ones(4), np.array([2.0, 1, 1, 0]), Mi.astype(float)))


def test_degenerate_inputs_terminate(rng):
    n = 120
    for M in (np.zeros((n, n)), np.ones((n, n)), np.tile(np.arange(n, dtype=float), (n, 1))):
        res = emd.solve(None, None, M)
        certify(res, np.full(n, 1 / n), np.full(n, 1 / n), M)
    x = np.repeat(rng.random((10, 2)), 6, axis=0)  # duplicate points
    M = emd.cost_matrix(x, x[::-1].copy())
    res = emd.solve(None, None, M)
    certify(res, np.full(60, 1 / 60), np.full(60, 1 / 60), M)
    assert float(res.cost) == pytest.approx(0.0, abs=1e-15)


def test_cost_differences_below_float32_resolution(rng):
    # Large float64 problems are first priced on a float32 copy of M; here that
    # copy is all ones, and the exact phase alone must find the planted matching.
    n = 600
    perm = rng.permutation(n)
    M = 1.0 + 1e-9 * (1.0 + rng.random((n, n)))
    M[np.arange(n), perm] = 1.0
    assert np.all(M.astype(np.float32) == 1.0)
    res = emd.solve(None, None, M)
    P = certify(res, np.full(n, 1 / n), np.full(n, 1 / n), M)
    assert np.array_equal(np.argmax(P, axis=1), perm)


def test_huge_costs_stay_exact(rng):
    # A few "forbidden" pairs at 1e30 must not blunt the optimality test for the rest.
    n = 40
    M = rng.random((n, n))
    M[rng.random((n, n)) < 0.3] = 1e30
    np.fill_diagonal(M, rng.random(n))  # keeps a cheap feasible plan
    res = emd.solve(None, None, M)
    assert float(res.cost) < 1.0
    r, c = scipy.optimize.linear_sum_assignment(M)
    np.testing.assert_allclose(float(res.cost), M[r, c].sum() / n, rtol=COST_RTOL)
    # and uniformly huge costs are exact too
    big = M * 1e20 + 1e30
    res = emd.solve(None, None, big)
    assert res.status == "optimal"
    r, c = scipy.optimize.linear_sum_assignment(big)
    np.testing.assert_allclose(float(res.cost), big[r, c].sum() / n, rtol=COST_RTOL)


def test_wasserstein_point_clouds(rng):
    x = rng.random((50, 3))
    y = rng.random((40, 3))
    for p in (1.0, 2.0):
        M = emd.cost_matrix(x, y, "euclidean") ** p
        ref = ot.emd2(np.full(50, 1 / 50), np.full(40, 1 / 40), M, numItermax=10**9) ** (1 / p)
        np.testing.assert_allclose(emd.wasserstein(x, y, p=p), ref, rtol=1e-12)
    wx = rng.random(50) * 7.0  # normalized internally
    got = emd.wasserstein(x, y, x_weights=wx, p=2.0, metric="sqeuclidean")
    M = emd.cost_matrix(x, y, "sqeuclidean") ** 2
    ref = ot.emd2(wx / wx.sum(), np.full(40, 1 / 40), M, numItermax=10**9) ** 0.5
    np.testing.assert_allclose(got, ref, rtol=1e-12)


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "a,b,M,exc,match",
    [
        ([np.nan, 1.0], [1.0, 0.0], np.ones((2, 2)), ValueError, "`a` must be finite"),
        ([1.0, 0.0], [1.0, np.inf], np.ones((2, 2)), ValueError, "`b` must be finite"),
        ([0.5, 0.5], [0.5, 0.5], [[0.0, np.nan], [1.0, 0.0]], ValueError, "`M` must be finite"),
        ([1.5, -0.5], [0.5, 0.5], np.ones((2, 2)), ValueError, "`a` must be nonnegative"),
        ([0.0, 0.0], [0.5, 0.5], np.ones((2, 2)), ValueError, "`a` sums to 0"),
        ([0.5, 0.5], [0.6, 0.6], np.ones((2, 2)), ValueError, r"total mass 1\.2 but `a` has 1\.0.*emd\.wasserstein"),
        ([0.5, 0.5], [0.5, 0.5], np.ones((3, 2)), ValueError, "`M` must have shape"),
        ([0.5, 0.5], [0.5, 0.5], np.ones(2), ValueError, "`M` must have at least 2"),
        ([0.5, 0.5], [0.5, 0.5], np.ones((2, 0)), ValueError, "`M` is empty"),
        ([], [1.0], np.ones((0, 1)), ValueError, "is empty"),
        (["a", "b"], [0.5, 0.5], np.ones((2, 2)), TypeError, "`a` must have a real numeric dtype"),
        ([0.5, 0.5], [0.5, 0.5], np.ones((2, 2), dtype=complex), TypeError, "`M` must be real"),
        ([0.5, 0.5], [0.5, 0.5], np.array([[0, 1], [1, None]], dtype=object), TypeError, "`M` must have a real"),
        (np.ones((3, 2)) / 2, np.ones((4, 2)) / 2, np.ones((2, 2)), ValueError, "batch sizes do not agree"),
        (np.ones((3, 2)) / 2, None, np.ones((4, 2, 2)), ValueError, "batch sizes do not agree"),
    ],
)
def test_bad_input(a, b, M, exc, match):
    with pytest.raises(exc, match=match):
        emd.solve(a, b, M)


def test_bad_options():
    M = np.ones((2, 2))
    with pytest.raises(ValueError, match="`max_iter` must be >= 1"):
        emd.solve(None, None, M, max_iter=0)
    with pytest.raises(TypeError, match="`max_iter`"):
        emd.solve(None, None, M, max_iter=2.5)
    with pytest.raises(TypeError, match="`return_plan`"):
        emd.solve(None, None, M, return_plan="yes")
    with pytest.raises(ValueError, match="`M` has entries up to"):
        emd.solve(None, None, np.full((2, 2), 1e306))
    with pytest.raises(ValueError, match="same dimension"):
        emd.wasserstein(np.ones((3, 2)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="`x_weights` must have shape"):
        emd.wasserstein(np.ones((3, 2)), np.ones((3, 2)), x_weights=[1.0, 1.0])


# --- emd.wasserstein(method="sinkhorn") ------------------------------------------


def test_wasserstein_sinkhorn_method_is_the_entropic_estimate(rng):
    x, y = rng.random((60, 2)), rng.random((50, 2))
    exact = emd.wasserstein(x, y, p=2)
    got = emd.wasserstein(x, y, p=2, method="sinkhorn", reg=1e-2)
    assert got == emd.sinkhorn_wasserstein(x, y, 1e-2, p=2)
    # <P_eps, C> >= the exact optimum, and tends to it as reg -> 0: for uniform
    # weights <P_eps, C> - OT <= reg KL(P* || a x b) <= reg log min(n, m).
    assert exact * (1 - 1e-9) <= got <= np.sqrt(exact**2 + 1e-2 * np.log(50)) * (1 + 1e-9)
    coarse = emd.wasserstein(x, y, p=2, method="sinkhorn", reg=1e-1)
    assert got <= coarse


def test_wasserstein_sinkhorn_method_on_the_line(rng):
    x, y = rng.normal(size=40), rng.normal(size=30) + 2.0
    got = emd.wasserstein(x, y, method="sinkhorn", reg=1e-3)
    exact = scipy.stats.wasserstein_distance(x, y)
    # the same bound as above: OT <= <P_eps, C> <= OT + reg log min(n, m)
    assert exact * (1 - 1e-9) <= got <= exact + 1e-3 * np.log(30)


@pytest.mark.parametrize(
    "kwargs,match",
    [({"method": "sinkhorn"}, "reg"), ({"reg": 0.1}, "reg"), ({"method": "greenkhorn"}, "method")],
)
def test_wasserstein_method_arguments(rng, kwargs, match):
    with pytest.raises(ValueError, match=match):
        emd.wasserstein(rng.random((5, 2)), rng.random((4, 2)), **kwargs)


# --- the shortlist phase (problems of >= 2^19 arcs) ----------------------------------------
# From n * m >= 2^19 the solver first pivots on each source's 16 cheapest arcs,
# then prices all of M exactly, adds the violating arcs, and repeats until no
# arc of M prices negative (or hands over to the dense pricing). These sizes
# take that path; every solve is certified on the whole of M.

SHORTLIST_N = 760  # 760 * 760 > 2^19


@pytest.mark.parametrize(
    "n,m,d,dirichlet",
    [
        (SHORTLIST_N, 800, 2, True),
        (800, SHORTLIST_N, 32, False),
        (SHORTLIST_N, SHORTLIST_N, 2, False),
        (SHORTLIST_N, 900, 32, True),
    ],
)
def test_shortlist_against_pot(n, m, d, dirichlet, rng):
    a, b, M = random_problem(rng, n, m, d=d, dirichlet=dirichlet)
    res = emd.solve(a, b, M)
    certify(res, a, b, M)
    ref = ot.emd2(a, b, M, numItermax=10**9)
    np.testing.assert_allclose(float(res.cost), ref, rtol=COST_RTOL)


def test_shortlist_uniform_against_linear_sum_assignment(rng):
    n = SHORTLIST_N
    a, b, M = random_problem(rng, n, n, d=3)
    res = emd.solve(None, None, M)
    certify(res, a, b, M)
    r, c = scipy.optimize.linear_sum_assignment(M)
    np.testing.assert_allclose(float(res.cost), M[r, c].sum() / n, rtol=COST_RTOL)


def test_shortlist_random_costs(rng):
    # Costs without geometry: the cheapest arcs of a row say little about the plan.
    n = SHORTLIST_N
    M = rng.random((n, n))
    a, b = rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(n))
    res = emd.solve(a, b, M)
    certify(res, a, b, M)
    np.testing.assert_allclose(float(res.cost), ot.emd2(a, b, M, numItermax=10**9), rtol=COST_RTOL)


def test_shortlist_hands_over_to_dense_pricing(rng):
    # |x - y| on a line with Dirichlet weights moves mass far past each row's
    # cheapest arcs: the pricing rounds keep finding violations at most
    # sources and the solver goes on with the dense pricing (checked with
    # instrumentation when written). The reference is the exact 1-D W1.
    n = SHORTLIST_N
    x, y = rng.random(n), rng.random(n)
    a, b = rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(n))
    M = np.abs(x[:, None] - y[None, :])
    res = emd.solve(a, b, M)
    certify(res, a, b, M)
    ref = scipy.stats.wasserstein_distance(x, y, a, b)
    np.testing.assert_allclose(float(res.cost), ref, rtol=COST_RTOL)


def test_shortlist_zero_and_tiny_weights(rng):
    # Zero bins are removed before the solve; bins below the supplies'
    # round-off stress the greedy start's leftover bookkeeping.
    n, m = SHORTLIST_N, 820
    a, b, M = random_problem(rng, n, m, d=2, dirichlet=True)
    a[rng.random(n) < 0.1] = 0.0
    a[rng.random(n) < 0.05] = 1e-19
    b[rng.random(m) < 0.05] = 1e-19
    a /= a.sum()
    b /= b.sum()
    res = emd.solve(a, b, M)
    certify(res, a, b, M)
    np.testing.assert_allclose(float(res.cost), ot.emd2(a, b, M, numItermax=10**9), rtol=COST_RTOL)


def test_shortlist_max_iter(rng):
    a, b, M = random_problem(rng, SHORTLIST_N, SHORTLIST_N, d=2, dirichlet=True)
    full = emd.solve(a, b, M)
    with pytest.warns(RuntimeWarning, match="max_iter"):
        res = emd.solve(a, b, M, max_iter=50)
    assert res.status == "max_iter_reached" and res.n_iter == 50
    P = res.plan  # a feasible plan
    np.testing.assert_allclose(P.sum(axis=1), a, atol=MARGINAL_ATOL)
    np.testing.assert_allclose(P.sum(axis=0), b, atol=MARGINAL_ATOL)
    assert float(res.cost) >= float(full.cost) * (1 - 1e-12)
    # A cap equal to the pivots an uncapped solve needs: optimal, no warning.
    exact = emd.solve(a, b, M, max_iter=int(full.n_iter))
    assert exact.status == "optimal" and exact.cost == full.cost
    certify(exact, a, b, M)


def _check_float32(a, b, M):
    """The problem in float32: a float32 result, POT's cost of the same float32 data, a certificate."""
    a32, b32, M32 = a.astype(np.float32), b.astype(np.float32), M.astype(np.float32)
    res = emd.solve(a32, b32, M32)
    assert res.cost.dtype == np.float32
    ref = ot.emd2(a32.astype(np.float64), b32.astype(np.float64), M32.astype(np.float64), numItermax=10**9)
    np.testing.assert_allclose(float(res.cost), ref, rtol=2e-7)
    certify(res, a32, b32, M32, marginal_atol=1e-7, dual_rtol=3e-7, cost_rtol=1e-6)


def _check_deterministic(a, b, M):
    first, second = emd.solve(a, b, M), emd.solve(a, b, M)
    assert first.cost == second.cost and first.n_iter == second.n_iter
    np.testing.assert_array_equal(first.potential_a, second.potential_a)
    np.testing.assert_array_equal(first.plan_coo[2], second.plan_coo[2])


def test_shortlist_float32(rng):
    _check_float32(*random_problem(rng, SHORTLIST_N, 780, d=3, dirichlet=True))


def test_shortlist_deterministic(rng):
    _check_deterministic(*random_problem(rng, SHORTLIST_N, SHORTLIST_N, d=2, dirichlet=True))


@pytest.mark.parametrize("kind", ["integer", "duplicates"])
def test_shortlist_ties_and_duplicates(kind, rng):
    # Many equal costs: the shortlists, the greedy start and the pricing
    # rounds all meet ties (broken by position), and pivots are degenerate.
    n = SHORTLIST_N
    if kind == "integer":
        M = rng.integers(1, 6, (n, n + 40)).astype(np.float64)
    else:
        x = np.repeat(rng.random((n // 8, 2)), 8, axis=0)
        y = np.repeat(rng.random((n // 8 + 5, 2)), 8, axis=0)
        M = emd.cost_matrix(x, y)
    a, b = rng.dirichlet(np.ones(M.shape[0])), rng.dirichlet(np.ones(M.shape[1]))
    res = emd.solve(a, b, M)
    certify(res, a, b, M)
    np.testing.assert_allclose(float(res.cost), ot.emd2(a, b, M, numItermax=10**9), rtol=COST_RTOL)


def test_wasserstein_cost_power_overflow_is_an_error():
    # Found by tests/test_fuzz.py: float32 points 7e12 apart, p = 3, overflow float32 in cost ** p.
    x = np.array([[0.0, 0.0]], dtype=np.float32)
    y = np.array([[6.981464e12, 0.0]], dtype=np.float32)
    with pytest.raises(ValueError, match=r"\*\* p overflow float32.*float64"):
        emd.wasserstein(x, y, p=3)
    # The same points in float64 stay finite: W_3 of two Diracs is their distance.
    np.testing.assert_allclose(emd.wasserstein(x.astype(np.float64), y.astype(np.float64), p=3), 6.981464e12, rtol=1e-7)


# --- the guided shortlist (measures apart) ---------------------------------------------------
# When many sinks are no source's near neighbour (the clouds lie apart), the
# shortlist lists each source's arcs of smallest reduced cost under potentials
# estimated from an exact solve of a stride-2 sample (csrc/cpu/network_simplex/
# sampled_duals.hpp), recursively. Exactness is still proved by the pricing
# passes over all of M; these problems take that path (_takes_guide mirrors the rule).


def _takes_guide(b, M):
    """The solver's rule: over the stride-2 sample, more than 10% of the demand at
    sinks outside every sampled source's 8 cheapest arcs."""
    Ms = M[1::2, 1::2]
    bs = b[1::2] / b[1::2].sum()
    covered = np.zeros(Ms.shape[1], bool)
    covered[np.argpartition(Ms, 8, axis=1)[:, :8].ravel()] = True
    return M.size >= 2**19 and bs[~covered].sum() > 0.1


def _clouds_apart(rng, n, m, *, d=2, shift=1.0, dirichlet=False):
    x = rng.standard_normal((n, d))
    y = rng.standard_normal((m, d)) + shift
    a = rng.dirichlet(np.ones(n)) if dirichlet else np.full(n, 1.0 / n)
    b = rng.dirichlet(np.ones(m)) if dirichlet else np.full(m, 1.0 / m)
    return a, b, emd.cost_matrix(x, y, "sqeuclidean")


@pytest.mark.parametrize(
    "n,m,d,shift,dirichlet",
    [
        (SHORTLIST_N, SHORTLIST_N, 2, 1.0, False),  # the issue-17 benchmark's problem, smaller
        (SHORTLIST_N, 820, 2, 1.5, True),
        (800, SHORTLIST_N, 3, 2.0, False),
        (900, SHORTLIST_N, 2, 3.0, True),
    ],
)
def test_guided_shortlist_against_pot(n, m, d, shift, dirichlet, rng):
    a, b, M = _clouds_apart(rng, n, m, d=d, shift=shift, dirichlet=dirichlet)
    assert _takes_guide(b, M)
    res = emd.solve(a, b, M)
    certify(res, a, b, M)
    np.testing.assert_allclose(float(res.cost), ot.emd2(a, b, M, numItermax=10**9), rtol=COST_RTOL)


def test_guided_shortlist_uniform_against_linear_sum_assignment(rng):
    n = SHORTLIST_N
    a, b, M = _clouds_apart(rng, n, n, shift=1.0)
    assert _takes_guide(b, M)
    res = emd.solve(None, None, M)
    certify(res, a, b, M)
    r, c = scipy.optimize.linear_sum_assignment(M)
    np.testing.assert_allclose(float(res.cost), M[r, c].sum() / n, rtol=COST_RTOL)


def test_guided_shortlist_translation_known_answer(rng):
    # y = x + t: the identity is optimal for the squared distance (a translation
    # is the gradient of a convex function), W_2^2 = |t|^2, with every sink far
    # from all sources but its own.
    n, t = SHORTLIST_N, np.array([3.0, -2.0])
    x = rng.standard_normal((n, 2))
    M = emd.cost_matrix(x, x + t, "sqeuclidean")
    b = np.full(n, 1.0 / n)
    assert _takes_guide(b, M)
    res = emd.solve(None, None, M)
    certify(res, b, b, M)
    np.testing.assert_allclose(float(res.cost), float(t @ t), rtol=COST_RTOL)


def test_guided_shortlist_zero_weights_and_float32(rng):
    a, b, M = _clouds_apart(rng, 840, 860, shift=1.5, dirichlet=True)
    a[rng.random(a.size) < 0.1] = 0.0
    b[rng.random(b.size) < 0.1] = 0.0
    a /= a.sum()
    b /= b.sum()
    assert _takes_guide(b[b > 0], M[a > 0][:, b > 0])
    res = emd.solve(a, b, M)
    certify(res, a, b, M)
    np.testing.assert_allclose(float(res.cost), ot.emd2(a, b, M, numItermax=10**9), rtol=COST_RTOL)
    _check_float32(a, b, M)


def test_guided_shortlist_deterministic(rng):
    a, b, M = _clouds_apart(rng, SHORTLIST_N, SHORTLIST_N, shift=1.0, dirichlet=True)
    assert _takes_guide(b, M)
    _check_deterministic(a, b, M)
