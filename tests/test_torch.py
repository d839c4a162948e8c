"""torch tensors through every public function: tensors out, autograd, references.

Checks, in the order of STYLE.md: closed forms first (translations, the sorted
1-D formula, an orthonormal frame of slices, a cloud against itself), then
independent references (POT on torch tensors, GeomLoss), then gradcheck /
gradgradcheck in float64 on generic problems (n != m, weights softmax(theta),
no ties), then the autograd contract point by point.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import emd

torch = pytest.importorskip("torch")
from torch.autograd import gradcheck, gradgradcheck  # noqa: E402

F64 = dict(dtype=torch.float64)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _randn(*shape: int, seed: int, grad: bool = True) -> torch.Tensor:
    return torch.randn(*shape, generator=_gen(seed), **F64).requires_grad_(grad)


# --- tensors in, tensors out ---------------------------------------------------------------------
def _public_calls(t):
    """(name, call) for every public function on tensors of dtype t."""
    g = _gen(0)
    x = torch.randn(7, 2, generator=g).to(t)
    y = torch.randn(5, 2, generator=g).to(t)
    u, v = x[:, 0].contiguous(), y[:, 0].contiguous()
    M = emd.cost_matrix(x, y)
    p = torch.rand(4, generator=g).to(t) + 0.1
    q = torch.rand(4, generator=g).to(t) + 0.1
    return [
        ("wasserstein_1d", lambda: emd.wasserstein_1d(u, v)),
        ("wasserstein", lambda: emd.wasserstein(x, y)),
        ("wasserstein sinkhorn", lambda: emd.wasserstein(x, y, method="sinkhorn", reg=0.5)),
        ("sliced_wasserstein", lambda: emd.sliced_wasserstein(x, y, seed=0)),
        ("emd", lambda: emd.emd(None, None, M)),
        ("solve", lambda: emd.solve(None, None, M).cost),
        ("sinkhorn", lambda: emd.sinkhorn(None, None, M, 0.5).cost),
        ("sinkhorn_samples", lambda: emd.sinkhorn_samples(x, y, 0.5).cost),
        ("sinkhorn_divergence", lambda: emd.sinkhorn_divergence(x, y, 0.5)),
        ("sinkhorn_wasserstein", lambda: emd.sinkhorn_wasserstein(x, y, 0.5)),
        ("tv", lambda: emd.tv(p, q)),
        ("kl", lambda: emd.kl(p, q)),
        ("js", lambda: emd.js(p, q)),
    ]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_every_function_returns_0d_tensors_of_the_input_dtype(dtype):
    for name, call in _public_calls(dtype):
        out = call()
        assert isinstance(out, torch.Tensor), name
        assert out.shape == () and out.dtype == dtype and out.device.type == "cpu", name


def test_values_equal_the_numpy_path_bit_for_bit():
    g = np.random.default_rng(1)
    x, y = g.normal(size=(9, 3)), g.normal(size=(6, 3))
    a, b = g.random(9) + 0.1, g.random(6) + 0.1
    tx, ty, ta, tb = (torch.from_numpy(z).requires_grad_() for z in (x, y, a, b))
    pairs = [
        (emd.wasserstein(x, y, x_weights=a, y_weights=b, p=2), emd.wasserstein(tx, ty, x_weights=ta, y_weights=tb, p=2)),
        (emd.wasserstein_1d(x[:, 0], y[:, 0], a, b, p=1.5), emd.wasserstein_1d(tx[:, 0], ty[:, 0], ta, tb, p=1.5)),
        (emd.sliced_wasserstein(x, y, seed=3), emd.sliced_wasserstein(tx, ty, seed=3)),
        (emd.sinkhorn_divergence(x, y, 2.0), emd.sinkhorn_divergence(tx, ty, 2.0)),
        (emd.kl(a[:6], b), emd.kl(ta[:6], tb)),
        (emd.cost_matrix(x, y, "euclidean"), emd.cost_matrix(tx, ty, "euclidean")),
    ]
    for ref, out in pairs:
        assert out.requires_grad
        np.testing.assert_array_equal(out.detach().numpy(), ref)


def test_results_of_solve_are_tensors_and_the_plan_too():
    M = _randn(5, 4, seed=2, grad=False).abs()
    res = emd.solve(None, None, M)
    assert all(isinstance(z, torch.Tensor) for z in (res.cost, res.potential_a, res.potential_b, *res.plan_coo))
    assert isinstance(res.plan, torch.Tensor) and res.plan.shape == (5, 4)
    np.testing.assert_allclose(res.plan.numpy(), emd.solve(None, None, M.numpy()).plan)
    sk = emd.sinkhorn(None, None, M, 0.5)
    assert isinstance(sk.plan, torch.Tensor)


def test_batched_results_are_tensors_of_the_batch_shape():
    u = torch.randn(3, 4, 10, generator=_gen(3), dtype=torch.float32)
    out = emd.wasserstein_1d(u, u + 1.0)
    assert out.shape == (3, 4) and out.dtype == torch.float32
    torch.testing.assert_close(out, torch.ones(3, 4))


def test_bad_input_raises_the_numpy_errors():
    x = torch.randn(4, 2, **F64)
    bad = x.clone()
    bad[1, 0] = float("nan")
    with pytest.raises(ValueError, match=r"`x` must be finite, but x\[\(1, 0\)\] = nan"):
        emd.wasserstein(bad, x)
    with pytest.raises(ValueError, match="`u_weights` must be nonnegative"):
        emd.wasserstein_1d(x[:, 0], x[:, 1], -torch.ones(4, **F64))
    with pytest.raises(TypeError, match="mix libraries"):
        emd.wasserstein(x, x.numpy())
    with pytest.raises(TypeError, match="complex"):
        emd.wasserstein_1d(torch.zeros(3, dtype=torch.complex128), x[:, 0])
    # torch itself refuses integer tensors that require grad, so none can reach emd;
    # integer tensors without grad are data, promoted to float64 as NumPy integers are.
    with pytest.raises(RuntimeError):
        torch.zeros(3, dtype=torch.int64).requires_grad_()
    assert emd.wasserstein_1d(torch.arange(3), torch.arange(3) + 1).dtype == torch.float64


def test_import_emd_imports_neither_torch_nor_emd_nn():
    code = "import sys, emd; print('torch' in sys.modules, 'emd.nn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


# --- gradients: closed forms ------------------------------------------------------------------
def test_translation_w2_squared_and_its_gradient():
    n = 7
    x = _randn(n, 3, seed=4)
    t = torch.tensor([0.3, -1.2, 0.5], **F64)
    loss = emd.wasserstein(x, (x + t).detach(), metric="sqeuclidean")  # W_2^2: p = 1 on squared distances
    torch.testing.assert_close(loss, (t * t).sum())
    loss.backward()
    torch.testing.assert_close(x.grad, (-2 * t / n).expand(n, 3))


def test_one_d_sorted_formula_and_gradient_through_the_permutation():
    u, v = _randn(11, seed=5), _randn(11, seed=6)
    for p in (1.0, 1.5, 2.0, 3.0):
        (gu, gv) = torch.autograd.grad(emd.wasserstein_1d(u, v, p=p) ** p, (u, v))
        ref = ((u.sort().values - v.sort().values).abs() ** p).mean()
        torch.testing.assert_close(emd.wasserstein_1d(u, v, p=p) ** p, ref)
        ru, rv = torch.autograd.grad(ref, (u, v))
        torch.testing.assert_close(gu, ru)
        torch.testing.assert_close(gv, rv)


def test_sliced_with_an_orthonormal_frame_is_the_mean_of_the_marginals():
    x, y = _randn(9, 3, seed=7), _randn(9, 3, seed=8)
    frame = torch.linalg.qr(torch.randn(3, 3, generator=_gen(9), **F64)).Q
    sw = emd.sliced_wasserstein(x, y, projections=frame, p=2)
    px, py = x @ frame, y @ frame
    ref = (((px.sort(0).values - py.sort(0).values) ** 2).mean(0)).mean().sqrt()
    torch.testing.assert_close(sw, ref)
    torch.testing.assert_close(torch.autograd.grad(sw, x)[0], torch.autograd.grad(ref, x)[0])


def test_coincident_points_give_a_zero_subgradient_not_nan():
    x = _randn(6, 2, seed=10)
    for loss in (
        emd.wasserstein(x, x.detach()),  # W_1 Euclidean: |x - y| at 0
        emd.wasserstein(x, x.detach(), p=2),  # the root at 0
        emd.wasserstein_1d(x[:, 0], x[:, 0].detach(), p=2),
        emd.sliced_wasserstein(x, x.detach(), seed=0),
        emd.sliced_wasserstein(x, x.detach(), seed=0, reduce="max"),
    ):
        (g,) = torch.autograd.grad(loss, x)
        assert torch.isfinite(g).all() and (g == 0).all()


# --- gradients: gradcheck on generic problems ----------------------------------------------------
def _weights(theta):
    return torch.softmax(theta, 0)


@pytest.mark.parametrize("p", [1.0, 1.5, 2.0])
def test_gradcheck_wasserstein_1d(p):
    u, v, tu, tv = _randn(7, seed=11), _randn(5, seed=12), _randn(7, seed=13), _randn(5, seed=14)
    f = lambda u, v, tu, tv: emd.wasserstein_1d(u, v, _weights(tu), _weights(tv), p=p)  # noqa: E731
    assert gradcheck(f, (u, v, tu, tv))
    assert gradgradcheck(f, (u, v, tu, tv))


def test_gradcheck_wasserstein_1d_batched_and_broadcast():
    U, V, tv = _randn(3, 6, seed=15), _randn(1, 5, seed=16), _randn(1, 5, seed=17)
    assert gradcheck(lambda U, V, tv: emd.wasserstein_1d(U, V, None, torch.softmax(tv, -1), p=2), (U, V, tv))


@pytest.mark.parametrize("reduce", ["mean", "max"])
def test_gradcheck_sliced(reduce):
    x, y, th = _randn(6, 3, seed=18), _randn(4, 3, seed=19), _randn(3, 10, seed=20)
    tx, ty = _randn(6, seed=21), _randn(4, seed=22)

    def f(x, y, tx, ty, th):
        return emd.sliced_wasserstein(x, y, x_weights=_weights(tx), y_weights=_weights(ty), projections=th,
                                      reduce=reduce)

    assert gradcheck(f, (x, y, tx, ty, th))
    assert gradgradcheck(f, (x, y, tx, ty, th))


@pytest.mark.parametrize("p, metric", [(1, "sqeuclidean"), (2, "euclidean"), (1, "euclidean"), (1, "cityblock")])
def test_gradcheck_exact_wasserstein(p, metric):
    x, y, tx, ty = _randn(6, 3, seed=23), _randn(4, 3, seed=24), _randn(6, seed=25), _randn(4, seed=26)
    f = lambda x, y, tx, ty: emd.wasserstein(x, y, x_weights=_weights(tx), y_weights=_weights(ty), p=p, metric=metric)  # noqa: E731
    assert gradcheck(f, (x, y, tx, ty))
    # Second derivatives in the points (the plan is locally constant in them).
    a, b = _weights(tx).detach(), _weights(ty).detach()
    assert gradgradcheck(lambda x, y: emd.wasserstein(x, y, x_weights=a, y_weights=b, p=p, metric=metric), (x, y))


def test_exact_weights_refuse_double_backward():
    x, tx = _randn(5, 2, seed=27), _randn(5, seed=28)
    loss = emd.wasserstein(x, x.detach() + 1, x_weights=_weights(tx))
    with pytest.raises(RuntimeError, match="second derivatives of an exact transport cost"):
        torch.autograd.grad(loss, tx, create_graph=True)


def test_gradcheck_solve_in_the_costs_and_weights():
    M, ta, tb = _randn(6, 4, seed=29).detach().abs().requires_grad_(), _randn(6, seed=30), _randn(4, seed=31)
    assert gradcheck(lambda M: emd.emd(None, None, M), (M,))
    assert gradgradcheck(lambda M: emd.emd(None, None, M), (M,))
    # Weights that move along sum(da) = sum(db) (equal masses): both normalized.
    assert gradcheck(lambda M, ta, tb: emd.solve(_weights(ta), _weights(tb), M).cost, (M, ta, tb))


@pytest.mark.parametrize("metric", ["sqeuclidean", "euclidean", "cityblock", "chebyshev", "minkowski"])
def test_gradcheck_cost_matrix(metric):
    x, y = _randn(5, 3, seed=32), _randn(4, 3, seed=33)
    kw = {"p": 3.0} if metric == "minkowski" else {}
    f = lambda x, y: emd.cost_matrix(x, y, metric, **kw)  # noqa: E731
    assert gradcheck(f, (x, y))
    assert gradgradcheck(f, (x, y))


@pytest.mark.parametrize("kind", ["tv", "kl", "js"])
def test_gradcheck_divergences(kind):
    p, q = (torch.rand(2, 5, generator=_gen(s), **F64) + 0.1 for s in (34, 35))
    p.requires_grad_(), q.requires_grad_()
    assert gradcheck(getattr(emd, kind), (p, q))
    assert gradgradcheck(getattr(emd, kind), (p, q))


# --- gradients: POT on torch tensors -----------------------------------------------------------
def test_agrees_with_pot_emd2_value_costs_and_centred_weights():
    ot = pytest.importorskip("ot")
    g = np.random.default_rng(36)
    M = torch.from_numpy(g.random((7, 5)))
    a, b = (torch.from_numpy(w / w.sum()) for w in (g.random(7) + 0.1, g.random(5) + 0.1))
    ours = [z.clone().requires_grad_() for z in (a, b, M)]
    theirs = [z.clone().requires_grad_() for z in (a, b, M)]
    v1 = emd.emd(*ours)
    v2 = ot.emd2(*theirs)
    v1.backward()
    v2.backward()
    torch.testing.assert_close(v1, v2)
    torch.testing.assert_close(ours[2].grad, theirs[2].grad)  # d/dM = the plan
    # The potentials are defined up to a constant: equal after projection onto sum(da) = 0.
    for mine, pot in zip(ours[:2], theirs[:2]):
        torch.testing.assert_close(mine.grad - mine.grad.mean(), pot.grad - pot.grad.mean())


@pytest.mark.parametrize("metric, p", [("sqeuclidean", 1), ("euclidean", 2)])
def test_exact_point_cloud_gradient_is_pots_and_keeps_no_dense_array(metric, p):
    # d/dx of W_p^p against POT's ot.emd2 on the dense ot.dist matrix (autograd through
    # all n m costs); emd's graph must hold nothing of n x m size: the backward reads
    # only the plan's <= n + m - 1 entries (issue 17).
    ot = pytest.importorskip("ot")
    n, m = 60, 45
    x, y = _randn(n, 3, seed=70), _randn(m, 3, seed=71, grad=False)
    w = _weights(_randn(n, seed=72, grad=False))
    sizes = []

    def pack(t):
        sizes.append(t.numel())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        ours = emd.wasserstein(x, y, x_weights=w, metric=metric, p=p) ** p
    (g_ours,) = torch.autograd.grad(ours, x)
    assert max(sizes) < n * m, sizes
    xr = x.detach().clone().requires_grad_()
    cost = ot.dist(xr, y, metric=metric) ** (p if metric == "euclidean" else 1)
    theirs = ot.emd2(w, torch.full((m,), 1.0 / m, **F64), cost)
    (g_pot,) = torch.autograd.grad(theirs, xr)
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=0)
    torch.testing.assert_close(g_ours, g_pot, rtol=1e-10, atol=1e-12)


@pytest.mark.filterwarnings("ignore:The use of `x.T` on tensors:UserWarning")  # inside POT's wasserstein_1d
def test_agrees_with_pot_wasserstein_1d_and_sliced():
    ot = pytest.importorskip("ot")
    u, v, tu, tv = _randn(9, seed=37), _randn(6, seed=38), _randn(9, seed=39), _randn(6, seed=40)
    for p in (1, 2):
        mine = emd.wasserstein_1d(u, v, _weights(tu), _weights(tv), p=p) ** p
        pot = ot.wasserstein_1d(u, v, _weights(tu), _weights(tv), p=p)
        torch.testing.assert_close(mine, pot)
        for gm, gp in zip(torch.autograd.grad(mine, (u, v, tu, tv)), torch.autograd.grad(pot, (u, v, tu, tv))):
            torch.testing.assert_close(gm, gp)
    x, y = _randn(20, 3, seed=41), _randn(15, 3, seed=42)
    th = torch.randn(3, 16, generator=_gen(43), **F64)
    th = th / th.norm(dim=0)
    mine = emd.sliced_wasserstein(x, y, projections=th, p=2)
    pot = ot.sliced_wasserstein_distance(x, y, projections=th, p=2)
    torch.testing.assert_close(mine, pot)
    for gm, gp in zip(torch.autograd.grad(mine, (x, y)), torch.autograd.grad(pot, (x, y))):
        torch.testing.assert_close(gm, gp)


# --- Sinkhorn ---------------------------------------------------------------------------------
# sqeuclidean and euclidean take the C++ matrix-free gradient, cityblock the torch
# rebuild; eps_scaling the fixed annealing stages and the symmetric self terms too.
@pytest.mark.parametrize("metric, p, eps_scaling", [("sqeuclidean", 1, None), ("euclidean", 1, None),
                                                    ("euclidean", 3, 0.5), ("sqeuclidean", 1, 0.25),
                                                    ("cityblock", 1, None)])
def test_gradcheck_sinkhorn_divergence(metric, p, eps_scaling):
    x, y, tx, ty = _randn(6, 2, seed=44), _randn(5, 2, seed=45), _randn(6, seed=46), _randn(5, seed=47)

    def f(x, y, tx, ty):
        return emd.sinkhorn_divergence(x, y, 0.5, x_weights=_weights(tx), y_weights=_weights(ty), metric=metric, p=p,
                                       tol=1e-11, max_iter=100_000, eps_scaling=eps_scaling)

    assert gradcheck(f, (x, y, tx, ty))


@pytest.mark.parametrize("metric, power", [("sqeuclidean", 1.0), ("sqeuclidean", 1.5), ("euclidean", 1.0),
                                           ("euclidean", 3.0)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matrix_free_gradient_kernel_matches_the_torch_rebuild(metric, power, dtype):
    # emd._core.sinkhorn_gradient_samples (one pass over the pairs, C++) against the
    # blockwise torch autograd rebuild, at arbitrary potentials, with zero weights
    # and a coincident pair (the zero subgradient of the euclidean cone).
    from emd import _core
    from emd._backend.torch import samples_gradients
    from emd._metrics import METRIC_CODES

    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((37, 3)).astype(dtype), rng.standard_normal((29, 3)).astype(dtype)
    y[0] = x[0]
    a, b = rng.random(37).astype(dtype), rng.random(29).astype(dtype)
    a[3], b[2] = 0, 0
    a, b = a / a.sum(), b / b.sum()
    f, g = ((0.1 * rng.standard_normal(k)).astype(dtype) for k in (37, 29))
    code = METRIC_CODES[metric]
    gx = _core.sinkhorn_gradient_samples(x, y, a, b, code, power, f, g, 0.5)
    gy = _core.sinkhorn_gradient_samples(y, x, b, a, code, power, g, f, 0.5)
    rx, ry = samples_gradients(*(torch.from_numpy(v) for v in (x, y, a, b, f, g)), 0.5, metric, power)
    rtol = 1e-13 if dtype == np.float64 else 2e-6  # float32: the exp and the sums in float32 on the torch side
    for mine, ref in ((gx, rx.numpy()), (gy, ry.numpy())):
        assert mine.dtype == dtype and np.isfinite(mine).all()
        np.testing.assert_allclose(mine, ref, rtol=0, atol=rtol * np.abs(ref).max())
    assert np.abs(gx[3]).max() == 0  # a zero weight: no mass, no gradient


def test_gradcheck_sinkhorn_samples_and_dense_objectives():
    x, y, tx, ty = _randn(6, 2, seed=48), _randn(5, 2, seed=49), _randn(6, seed=50), _randn(5, seed=51)
    f = lambda x, y, tx, ty: emd.sinkhorn_samples(x, y, 0.5, x_weights=_weights(tx), y_weights=_weights(ty), tol=1e-13).objective  # noqa: E731
    assert gradcheck(f, (x, y, tx, ty))
    M = _randn(6, 5, seed=52).detach().abs().requires_grad_()
    f = lambda M, tx, ty: emd.sinkhorn(_weights(tx), _weights(ty), M, 0.3, tol=1e-13).objective  # noqa: E731
    assert gradcheck(f, (M, tx, ty))
    # A batch: one gradient per problem, scaled by its own grad_output.
    Mb = _randn(3, 6, 5, seed=53).detach().abs().requires_grad_()
    assert gradcheck(lambda M: emd.sinkhorn(None, None, M, 0.3, tol=1e-13).objective, (Mb,))


def test_sinkhorn_divergence_of_a_cloud_with_itself_is_zero_with_zero_gradient():
    x = _randn(8, 2, seed=54)
    s = emd.sinkhorn_divergence(x, x, 0.1)
    (g,) = torch.autograd.grad(s, x)
    # The three solves are bit-identical; the gradient is their difference up to
    # the order autograd sums the six contributions in (1e-18 here).
    assert s.item() == 0.0 and g.abs().max() < 1e-15
    s = emd.sinkhorn_divergence(x, x.detach().clone(), 0.1)
    (g,) = torch.autograd.grad(s, x)
    assert s.item() == 0.0 and g.abs().max() < 1e-8


def test_sinkhorn_refuses_create_graph():
    x, y = _randn(5, 2, seed=55), _randn(4, 2, seed=56)
    with pytest.raises(RuntimeError, match=r"backward\(create_graph=True\) through a Sinkhorn value is refused"):
        torch.autograd.grad(emd.sinkhorn_divergence(x, y, 0.5), x, create_graph=True)


def test_sinkhorn_gradients_approach_the_exact_ones_as_reg_goes_to_0():
    x, y = _randn(10, 2, seed=57), _randn(10, 2, seed=58, grad=False) + 1.0
    (exact,) = torch.autograd.grad(emd.wasserstein(x, y, metric="sqeuclidean"), x)
    errors = []
    for reg in (1.0, 0.2, 0.04):
        loss = emd.sinkhorn_samples(x, y, reg, metric="sqeuclidean", p=1, eps_scaling=0.7, tol=1e-5).objective
        (g,) = torch.autograd.grad(loss, x)
        errors.append(float((g - exact).abs().max()))
    assert errors[0] > errors[1] > errors[2] and errors[2] < 0.1 * errors[0], errors


def test_agrees_with_geomloss_samples_loss():
    geomloss = pytest.importorskip("geomloss")
    x, y = _randn(30, 2, seed=59), _randn(25, 2, seed=60)
    blur = 0.5
    # GeomLoss: cost |x - y|^2 / 2 and eps = blur^2; emd: cost |x - y|^2, so reg = 2 blur^2 and a factor 1/2.
    # GeomLoss anneals eps and ends with one extrapolation: its error falls with `scaling`
    # (0.5: 6e-2 relative here, 0.99: 4e-4, 0.999: 5e-6), so the slow annealing is the reference.
    theirs = geomloss.SamplesLoss("sinkhorn", p=2, blur=blur, scaling=0.999, backend="tensorized")(x, y)
    ours = 0.5 * emd.sinkhorn_divergence(x, y, 2 * blur**2, metric="sqeuclidean", p=1, tol=1e-12)
    torch.testing.assert_close(ours, theirs, rtol=2e-5, atol=0)
    # GeomLoss's gradient keeps more of its annealing error (7e-3 of the largest entry
    # here); the exact reference is POT's log-domain Sinkhorn, converged and
    # differentiated through its iterations.
    ot = pytest.importorskip("ot")
    g_ours = torch.autograd.grad(ours, x)[0]
    g_theirs = torch.autograd.grad(theirs, x)[0]
    assert (g_ours - g_theirs).abs().max() < 1e-2 * g_ours.abs().max()

    def entropic(u, v):
        a, b = torch.full((len(u),), 1 / len(u), **F64), torch.full((len(v),), 1 / len(v), **F64)
        M = ot.dist(u, v)
        P = ot.sinkhorn(a, b, M, 2 * blur**2, method="sinkhorn_log", stopThr=1e-13, numItermax=100_000)
        return (P * M).sum() + 2 * blur**2 * (P * torch.log(P / (a[:, None] * b[None]))).sum()

    pot = 0.5 * (entropic(x, y) - 0.5 * entropic(x, x) - 0.5 * entropic(y, y))
    torch.testing.assert_close(ours, pot, rtol=1e-10, atol=0)
    torch.testing.assert_close(g_ours, torch.autograd.grad(pot, x)[0], rtol=1e-8, atol=1e-11)


# --- the autograd contract ---------------------------------------------------------------------
def _losses(x, y):
    return {
        "wasserstein": lambda: emd.wasserstein(x, y, p=2),
        "sliced": lambda: emd.sliced_wasserstein(x, y, seed=0),
        "one_d": lambda: emd.wasserstein_1d(x[:, 0], y[:, 0]),
        "sinkhorn_divergence": lambda: emd.sinkhorn_divergence(x, y, 2.0),
        "sinkhorn_samples": lambda: emd.sinkhorn_samples(x, y, 2.0).cost,
    }


def test_grad_output_is_respected():
    x, y = _randn(6, 2, seed=61), _randn(5, 2, seed=62, grad=False)
    for name, loss in _losses(x, y).items():
        (g,) = torch.autograd.grad(loss(), x)
        (gneg,) = torch.autograd.grad(-loss(), x)
        (g10,) = torch.autograd.grad(10 * loss(), x)
        torch.testing.assert_close(gneg, -g, msg=name)
        torch.testing.assert_close(g10, 10 * g, msg=name)


def test_batched_results_scale_each_item_by_its_grad_output():
    U, V = _randn(4, 6, seed=63), _randn(4, 5, seed=64, grad=False)
    w = torch.tensor([1.0, -2.0, 0.0, 3.0], **F64)
    (g,) = torch.autograd.grad(emd.wasserstein_1d(U, V, p=2), U, grad_outputs=w)
    for k in range(4):
        (gk,) = torch.autograd.grad(emd.wasserstein_1d(U[k], V[k], p=2), U)
        torch.testing.assert_close(g[k], w[k] * gk[k])
    Mb = _randn(3, 5, 4, seed=65).detach().abs().requires_grad_()
    (g,) = torch.autograd.grad(emd.emd(None, None, Mb), Mb, grad_outputs=w[:3])
    for k in range(3):
        torch.testing.assert_close(g[k], w[k] * emd.solve(None, None, Mb[k].detach()).plan)


def test_no_grad_builds_no_graph():
    x, y = _randn(6, 2, seed=66), _randn(5, 2, seed=67)
    with torch.no_grad():
        for name, loss in _losses(x, y).items():
            out = loss()
            assert out.grad_fn is None and not out.requires_grad, name


@pytest.mark.parametrize("half", [torch.float16, torch.bfloat16])
def test_half_precision_is_computed_in_float32(half):
    x = torch.randn(8, 2, generator=_gen(68)).to(half).requires_grad_()
    y = torch.randn(6, 2, generator=_gen(69)).to(half)
    for name, loss in _losses(x, y).items():
        out = loss()
        assert out.dtype == torch.float32, name
        (g,) = torch.autograd.grad(out, x)
        assert g.dtype == half and torch.isfinite(g.float()).all(), name
