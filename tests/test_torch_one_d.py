"""The 1-D gradient kernel (``_core.wasserstein_1d_gradients``) and the torch path over it.

The kernel returns W_p and its per-sample derivatives from the walk that
computes the value; the torch backend's backward multiplies them by
grad_output. References, in the order of STYLE.md: closed forms (the sorted
formula's gradient, Diracs), an independent reference (autograd of the torch
rebuild, which sorts and merges with torch operations, and of the plain sorted
formula), then invariants (translation, the weights' scale, threads, float32
against float64) and the autograd contract through the kernel path.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import NEAR_RANGE_CASES, RESCALED_CASES, rtol

import emd
from emd import _core

torch = pytest.importorskip("torch")
from emd._backend.torch import _one_d_rebuilt  # noqa: E402
from emd._problems import OneD  # noqa: E402

F64 = dict(dtype=torch.float64)


def _kernel(u, uw, v, vw, p, pair_u=None, pair_v=None, threads=0):
    pair_u = np.arange(len(u), dtype=np.int64) if pair_u is None else np.asarray(pair_u, dtype=np.int64)
    pair_v = pair_u if pair_v is None else np.asarray(pair_v, dtype=np.int64)
    return _core.wasserstein_1d_gradients(u, uw, v, vw, pair_u, pair_v, p, (True, True, uw is not None, vw is not None),
                                          threads)


def _reference(u, uw, v, vw, p, pair_u, pair_v):
    """W_p and the derivatives {"u", "uw", "v", "vw"} of each pair by autograd of the
    torch rebuild (argsort, cumulative levels, merge by searchsorted), pair by pair."""
    out = []
    for k in range(len(pair_u)):
        rows = {"u": u[pair_u[k]], "v": v[pair_v[k]]}
        if uw is not None:
            rows["uw"] = uw if uw.ndim == 1 else uw[pair_u[k]]
        if vw is not None:
            rows["vw"] = vw if vw.ndim == 1 else vw[pair_v[k]]
        ins = {name: torch.from_numpy(np.array(r)[None]).requires_grad_() for name, r in rows.items()}
        zero = np.zeros(1, dtype=np.int64)
        w = _one_d_rebuilt(ins["u"], ins.get("uw"), ins["v"], ins.get("vw"), OneD(None, None, None, None, zero, zero,
                                                                                      p, False))
        grads = torch.autograd.grad(w.sum(), list(ins.values()))
        out.append((w.item(), {name: g.numpy()[0] for name, g in zip(ins, grads)}))
    return out


# --- an independent reference: autograd of the torch rebuild ------------------------------------
@pytest.mark.parametrize("p", [1.0, 1.5, 2.0, 3.0])
@pytest.mark.parametrize("weights", ["none", "u", "v", "both", "shared"])
@pytest.mark.parametrize("n, m", [(7, 7), (7, 4), (1, 5), (6, 1)])
def test_kernel_matches_autograd_of_the_rebuild(rng, p, weights, n, m):
    K = 3
    u, v = rng.normal(size=(K, n)), rng.normal(size=(K, m)) + 0.3
    uw = {"u": rng.random((K, n)) + 0.1, "both": rng.random((K, n)) + 0.1, "shared": rng.random(n) + 0.1}.get(weights)
    vw = {"v": rng.random((K, m)) + 0.1, "both": rng.random((K, m)) + 0.1, "shared": rng.random(m) + 0.1}.get(weights)
    pairs = np.arange(K, dtype=np.int64)
    value, du, dv, duw, dvw = _kernel(u, uw, v, vw, p)
    # The value is wasserstein_1d's, bit for bit (no ties here).
    np.testing.assert_array_equal(value, _core.wasserstein_1d(u, uw, v, vw, pairs, pairs, p, False))
    for k, (w_ref, g_ref) in enumerate(_reference(u, uw, v, vw, p, pairs, pairs)):
        np.testing.assert_allclose(value[k], w_ref, rtol=1e-13)
        mine = {"u": du[k], "v": dv[k], "uw": None if duw is None else duw[k], "vw": None if dvw is None else dvw[k]}
        assert {name for name, d in mine.items() if d is not None} == set(g_ref)
        for name, ref in g_ref.items():
            np.testing.assert_allclose(mine[name], ref, rtol=1e-10, atol=1e-13, err_msg=name)


def test_broadcast_pairs_sort_shared_rows_once_and_agree(rng):
    # More pairs than rows: the rows are argsorted up front (the other code path).
    u, v = rng.normal(size=(2, 6)), rng.normal(size=(3, 5))
    uw, vw = rng.random((2, 6)) + 0.1, rng.random(5) + 0.1
    pair_u, pair_v = np.array([0, 1, 0, 1, 1, 0]), np.array([0, 0, 1, 1, 2, 2])
    value, du, dv, duw, dvw = _kernel(u, uw, v, vw, 2.0, pair_u, pair_v)
    for k, (w_ref, g_ref) in enumerate(_reference(u, uw, v, vw, 2.0, pair_u, pair_v)):
        np.testing.assert_allclose(value[k], w_ref, rtol=1e-13)
        for a, name in zip((du[k], duw[k], dv[k], dvw[k]), ("u", "uw", "v", "vw")):
            np.testing.assert_allclose(a, g_ref[name], rtol=1e-10, atol=1e-13, err_msg=name)


# --- closed forms -------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
def test_equal_sizes_gradient_is_the_sorted_formula(rng, p):
    # W_p^p = mean |u_(i) - v_(i)|^p: d W_p / d u_(i) = |d_i|^(p-1) sign(d_i) / (n W_p^(p-1)).
    n = 9
    u, v = rng.normal(size=(1, n)), rng.normal(size=(1, n))
    value, du, dv, _, _ = _kernel(u, None, v, None, p)
    iu, iv = np.argsort(u[0]), np.argsort(v[0])
    d = u[0][iu] - v[0][iv]
    w = np.mean(np.abs(d) ** p) ** (1 / p)
    expected = np.abs(d) ** (p - 1) * np.sign(d) / (n * w ** (p - 1))
    np.testing.assert_allclose(value[0], w, rtol=1e-14)
    np.testing.assert_allclose(du[0][iu], expected, rtol=1e-12)
    np.testing.assert_allclose(dv[0][iv], -expected, rtol=1e-12)


@pytest.mark.parametrize("u, v, uw, vw, p, expected", RESCALED_CASES + NEAR_RANGE_CASES)
def test_gradients_stay_finite_where_the_value_is_rescaled(u, v, uw, vw, p, expected):
    # The derivatives are written relative to W (|d| / W), so |d|^p out of range
    # leaves them finite; translating both samples changes nothing.
    u, v = np.atleast_2d(np.asarray(u, float)), np.atleast_2d(np.asarray(v, float))
    uw = None if uw is None else np.atleast_2d(np.asarray(uw, float))
    vw = None if vw is None else np.atleast_2d(np.asarray(vw, float))
    value, du, dv, _, _ = _kernel(u, uw, v, vw, p)
    np.testing.assert_allclose(value[0], expected, rtol=1e-12)
    assert np.isfinite(du).all() and np.isfinite(dv).all()
    scale = np.abs(du).sum() + np.abs(dv).sum()
    assert abs(du.sum() + dv.sum()) <= 1e-12 * scale
    if u.size == 1 and v.size == 1:  # two Diracs: W = |u - v|, dW/du = sign(u - v)
        assert du[0, 0] == np.sign(u[0, 0] - v[0, 0]) == -dv[0, 0]


def test_coincident_points_give_the_zero_subgradient(rng):
    # Identical measures (W = 0): zero, not NaN, for every p and the weights too.
    # (The weighted W_1, integrated over the CDFs, leaves a rounding of 1e-17.)
    u = rng.normal(size=(2, 5))
    w = rng.random((2, 5)) + 0.1
    for p in (1.0, 1.5, 2.0):
        value, du, dv, duw, dvw = _kernel(u, w, u.copy(), w.copy(), p)
        assert (value <= 1e-16).all()
        assert (_kernel(u, None, u.copy(), None, p)[0] == 0).all()
        for d in (du, dv, duw, dvw):
            assert np.isfinite(d).all() and (d == 0).all()
    # Some points coincide: |d| at 0 contributes the zero subgradient (sign(0) = 0 for p = 1).
    u, v = np.array([[0.0, 1.0, 2.0]]), np.array([[0.0, 1.5, 2.0]])
    _, du, dv, _, _ = _kernel(u, None, v, None, 1.0)
    np.testing.assert_array_equal(du[0], [0.0, -1 / 3, 0.0])
    np.testing.assert_array_equal(dv[0], [0.0, 1 / 3, 0.0])


# --- invariants ---------------------------------------------------------------------------------
def test_weight_gradients_are_orthogonal_to_the_weights(rng):
    # Weights are normalized inside: W(c w) = W(w), so sum_i w_i dW/dw_i = 0.
    u, v = rng.normal(size=(4, 8)), rng.normal(size=(4, 5))
    uw, vw = rng.random((4, 8)) + 0.1, rng.random((4, 5)) + 0.1
    for p in (1.0, 2.0, 2.5):
        _, _, _, duw, dvw = _kernel(u, uw, v, vw, p)
        for w, d in ((uw, duw), (vw, dvw)):
            np.testing.assert_allclose((w * d).sum(1), 0.0, atol=1e-14 * np.abs(w * d).sum())


def test_ties_give_a_subgradient_with_the_translation_derivative(rng):
    # Within a row, tied values make the sort order arbitrary, but moving the whole
    # row by t moves W_2^2 = mean (u_(i) - v_(i))^2 by 2 t mean(u - v), whichever order.
    u = np.round(rng.normal(size=(1, 12)), 1)
    u[0, 3:6] = u[0, 0]
    v = np.round(rng.normal(size=(1, 12)), 1)
    value, du, dv, _, _ = _kernel(u, None, v, None, 2.0)
    d_w2sq = 2 * value[0] * du.sum()  # d(W^2)/dt = 2 W dW/dt
    np.testing.assert_allclose(d_w2sq, 2 * (u.mean() - v.mean()), rtol=1e-12)
    np.testing.assert_allclose(du.sum(), -dv.sum(), rtol=1e-12)


def test_results_do_not_depend_on_the_thread_count(rng):
    u, v = rng.normal(size=(64, 600)), rng.normal(size=(64, 700))
    uw = rng.random(600) + 0.1
    one = _kernel(u, uw, v, None, 2.0, threads=1)
    two = _kernel(u, uw, v, None, 2.0, threads=2)
    for a, b in zip(one, two):
        if a is not None:
            np.testing.assert_array_equal(a, b)


def test_float32_gradients_agree_with_float64(rng):
    u, v = rng.normal(size=(5, 40)), rng.normal(size=(5, 30))
    uw, vw = rng.random((5, 40)) + 0.1, rng.random((5, 30)) + 0.1
    f64 = _kernel(u, uw, v, vw, 1.5)
    f32 = _kernel(*(a.astype(np.float32) for a in (u, uw, v, vw)), 1.5)
    for a, b in zip(f32, f64):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=20 * rtol(np.float32), atol=20 * rtol(np.float32) * np.abs(b).max())


def test_bad_arguments_raise_value_errors(rng):
    u = rng.normal(size=(2, 4))
    pairs = np.arange(2, dtype=np.int64)
    with pytest.raises(ValueError, match="pair index out of range"):
        _core.wasserstein_1d_gradients(u, None, u, None, pairs + 1, pairs, 1.0, (True, True, False, False), 0)
    with pytest.raises(ValueError, match="the u_weights gradient needs u_weights"):
        _core.wasserstein_1d_gradients(u, None, u, None, pairs, pairs, 1.0, (True, True, True, False), 0)


def test_only_the_derivatives_asked_for_are_computed(rng):
    u, v, vw = rng.normal(size=(3, 6)), rng.normal(size=(3, 4)), rng.random((3, 4)) + 0.1
    pairs = np.arange(3, dtype=np.int64)
    full = _core.wasserstein_1d_gradients(u, None, v, vw, pairs, pairs, 2.0, (True, True, False, True), 0)
    part = _core.wasserstein_1d_gradients(u, None, v, vw, pairs, pairs, 2.0, (True, False, False, False), 0)
    assert part[2] is None and part[3] is None and part[4] is None and full[3] is None
    np.testing.assert_array_equal(part[0], full[0])
    np.testing.assert_array_equal(part[1], full[1])


# --- the torch path over the kernel -------------------------------------------------------------
def test_broadcast_rows_and_weights_sum_each_items_scaled_gradient():
    g = torch.Generator().manual_seed(70)
    U = torch.randn(1, 6, generator=g, **F64).requires_grad_()  # one row against four
    V = torch.randn(4, 5, generator=g, **F64).requires_grad_()
    tv = torch.randn(5, generator=g, **F64).requires_grad_()  # one weight row for the four
    w = torch.tensor([1.0, -2.0, 0.0, 3.0], **F64)
    out = emd.wasserstein_1d(U, V, None, torch.softmax(tv, 0).expand(4, 5), p=2)
    gU, gV, gtv = torch.autograd.grad(out, (U, V, tv), grad_outputs=w)
    ref = [torch.zeros_like(t) for t in (U, V, tv)]
    for k in range(4):
        parts = torch.autograd.grad(emd.wasserstein_1d(U[0], V[k], None, torch.softmax(tv, 0), p=2), (U, V, tv))
        for r, part in zip(ref, parts):
            r += w[k] * part
    for mine, r in zip((gU, gV, gtv), ref):
        torch.testing.assert_close(mine, r, rtol=1e-12, atol=1e-14)


def test_sliced_gradients_reach_x_and_the_projections_through_the_product():
    # The kernel differentiates the projected rows; x and the directions get theirs
    # from autograd of the matrix product. Reference: torch's sort of the projections.
    g = torch.Generator().manual_seed(71)
    x, y = torch.randn(30, 4, generator=g, **F64).requires_grad_(), torch.randn(30, 4, generator=g, **F64)
    th = torch.randn(4, 16, generator=g, **F64).requires_grad_()
    sw2 = emd.sliced_wasserstein(x, y, projections=th, p=2) ** 2
    unit = th / th.norm(dim=0)
    ref = ((torch.sort(x @ unit, 0).values - torch.sort(y @ unit, 0).values) ** 2).mean()
    torch.testing.assert_close(sw2, ref, rtol=1e-12, atol=0)
    for a, b in zip(torch.autograd.grad(sw2, (x, th)), torch.autograd.grad(ref, (x, th))):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-13)


def test_sliced_shared_weight_row_gets_the_sum_over_directions():
    # One weight row (n,) serves every direction: its gradient sums the L rows' (the
    # kernel's shared-row path), checked against the directions taken one at a time.
    g = torch.Generator().manual_seed(73)
    x, y = torch.randn(9, 3, generator=g, **F64), torch.randn(7, 3, generator=g, **F64)
    tx = torch.randn(9, generator=g, **F64).requires_grad_()
    th = torch.randn(3, 5, generator=g, **F64)
    loss = emd.sliced_wasserstein(x, y, x_weights=torch.softmax(tx, 0), projections=th, p=2) ** 2
    (gt,) = torch.autograd.grad(loss, tx)
    ref = torch.zeros_like(tx)
    for col in range(5):
        one = emd.sliced_wasserstein(x, y, x_weights=torch.softmax(tx, 0), projections=th[:, col:col + 1], p=2) ** 2
        ref += torch.autograd.grad(one, tx)[0] / 5
    torch.testing.assert_close(gt, ref, rtol=1e-12, atol=1e-15)


def test_float32_tensors_take_the_kernel_and_return_float32_gradients():
    g = torch.Generator().manual_seed(72)
    u = torch.randn(3, 50, generator=g).requires_grad_()
    v = torch.randn(3, 40, generator=g)
    (gu,) = torch.autograd.grad(emd.wasserstein_1d(u, v, p=2).sum(), u)
    u64 = u.detach().double().requires_grad_()
    (gu64,) = torch.autograd.grad(emd.wasserstein_1d(u64, v.double(), p=2).sum(), u64)
    assert gu.dtype == torch.float32
    torch.testing.assert_close(gu.double(), gu64, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("weights", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_the_custom_op_passes_opcheck(weights, dtype):
    # Schema, fake (meta) implementation, autograd registration and AOT dispatch.
    g = torch.Generator().manual_seed(74)
    u = torch.randn(3, 7, generator=g, dtype=dtype).requires_grad_()
    v = torch.randn(3, 5, generator=g, dtype=dtype).requires_grad_(not weights)  # a derivative not asked for
    uw = (torch.rand(3, 7, generator=g, dtype=dtype) + 0.1).requires_grad_() if weights else None
    vw = (torch.rand(5, generator=g, dtype=dtype) + 0.1).requires_grad_() if weights else None
    args = (u, uw, v, vw, 1.5, True, not weights, weights, weights)
    result = torch.library.opcheck(torch.ops.emd.wasserstein_1d_gradients.default, args)
    assert set(result.values()) == {"SUCCESS"}, result


def _exact_value_gradients(u, v, uw, vw, p):
    """d(W_p^p)/du and d(W_p^p)/dv (integer p) in exact rational arithmetic: each
    point's share of the merged quantile levels times p |d|^(p-1) sign(d)."""
    from fractions import Fraction

    from conftest import exact_levels

    ou, xu, lu = exact_levels(u, uw)
    ov, xv, lv = exact_levels(v, vw)
    gu, gv = [Fraction(0)] * len(u), [Fraction(0)] * len(v)
    i = j = 0
    q = Fraction(0)
    while i < len(xu) and j < len(xv):
        nxt = min(lu[i], lv[j])
        d = xu[i] - xv[j]
        g = (nxt - q) * p * abs(d) ** (p - 1) * ((d > 0) - (d < 0))
        gu[ou[i]] += g
        gv[ov[j]] -= g
        q = nxt
        i += lu[i] == q
        j += lv[j] == q
    return np.array([float(x) for x in gu]), np.array([float(x) for x in gv])


@pytest.mark.parametrize("p", [1, 2, 3])
def test_gradients_of_light_far_points(rng, p):
    # Light points far out on both sides: between 1e6 and 1e7 every level is
    # within 1e-15 of 1. The walk sums the levels above 1/2 from the right, so
    # each far point's share of them keeps its digits (summed from the left,
    # u's far point got 2900 times its derivative at p = 2). Against exact
    # rational arithmetic, entry by entry.
    from conftest import exact_w1, exact_wpp, light_far_points

    u, v, uw, vw = light_far_points(rng, 700)
    W = exact_w1(u, v, uw, vw) if p == 1 else exact_wpp(u, v, uw, vw, p) ** (1.0 / p)
    gu, gv = _exact_value_gradients(u, v, uw, vw, p)
    gu, gv = gu / (p * W ** (p - 1)), gv / (p * W ** (p - 1))  # dW = d(W^p) / (p W^(p-1))
    tu, tv = torch.tensor(u, requires_grad=True), torch.tensor(v, requires_grad=True)
    value = emd.wasserstein_1d(tu, tv, torch.tensor(uw), torch.tensor(vw), p=p)
    value.backward()
    assert value.item() == pytest.approx(W, rel=rtol(np.float64))
    for got, want in ((tu.grad.numpy(), gu), (tv.grad.numpy(), gv)):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12 * np.abs(want).max())


@pytest.mark.parametrize("p", [1, 2])
def test_weight_gradients_of_light_far_points(rng, p):
    # The weights' derivatives, d W / d w_l = (sum_{i >= l} g_i - sum_i g_i level_i) / S:
    # the level next to a light far point has a huge g_i, which multiplied by a
    # level near 1 cancelled against itself in every other weight's derivative
    # (2e-3 off); levels near 1 enter as 1 - R_i with R_i summed from the right.
    # Against exact difference quotients of W_p^p in rational arithmetic (W_p^p is
    # a rational function of the weights between level crossings: h = 1e-40 crosses none).
    from fractions import Fraction

    from conftest import exact_wpp_rational, light_far_points

    u, v, uw, vw = light_far_points(rng, 300)
    base = exact_wpp_rational(u, v, uw, vw, p)
    W = float(base) ** (1.0 / p)
    tuw, tvw = torch.tensor(uw, requires_grad=True), torch.tensor(vw, requires_grad=True)
    emd.wasserstein_1d(torch.tensor(u), torch.tensor(v), tuw, tvw, p=p).backward()
    h = Fraction(1, 10**40)
    for side, l in (("u", 0), ("u", 1), ("u", 7), ("v", 0), ("v", 1), ("v", 9)):
        w = [Fraction(a) for a in (uw if side == "u" else vw).tolist()]
        w[l] += h
        moved = exact_wpp_rational(u, v, w, vw, p) if side == "u" else exact_wpp_rational(u, v, uw, w, p)
        want = float((moved - base) / h) / (p * W ** (p - 1))  # dW = d(W^p) / (p W^(p-1))
        got = (tuw if side == "u" else tvw).grad[l].item()
        assert got == pytest.approx(want, rel=1e-12), (side, l)
