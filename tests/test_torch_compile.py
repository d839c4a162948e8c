"""torch.compile of emd.nn.WassersteinLoss and SinkhornLoss: the custom ops of
emd._compile_ops (opcheck), a generator step compiled with fullgraph=True (no
graph break) against eager mode, closed forms and finite differences, and the
checks and warnings that run inside the ops on the real tensors."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
import emd  # noqa: E402
import emd.nn  # noqa: E402
from emd._compile_ops import exact_transport_cost  # noqa: E402

from conftest import rtol  # noqa: E402

DTYPES = [torch.float64, torch.float32]
# Guards dynamo installs read .grad of non-leaf tensors (as in tests/test_nn.py).
pytestmark = pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf:UserWarning")


def _inputs(dtype, n=7, m=5, d=2, seed=0, weights=True):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=dtype).requires_grad_()
    y = torch.randn(m, d, generator=g, dtype=dtype).requires_grad_()
    if not weights:
        return x, y, None, None
    # Non-uniform, not summing to 1 (normalized inside): the normalization's gradient is tested too.
    xw = (torch.rand(n, generator=g, dtype=dtype) + 0.5).requires_grad_()
    yw = (torch.rand(m, generator=g, dtype=dtype) + 0.5).requires_grad_()
    return x, y, xw, yw


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [2.0, 1.5])
@pytest.mark.parametrize("weights", [False, True])
def test_the_exact_op_passes_opcheck(dtype, p, weights):
    # Schema, fake implementation, autograd registration and AOT dispatch.
    x, y, xw, yw = _inputs(dtype, weights=weights)
    result = torch.library.opcheck(torch.ops.emd.exact_transport.default, (x, y, xw, yw, p))
    assert set(result.values()) == {"SUCCESS"}, result


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weights", [False, True])
def test_the_sinkhorn_ops_pass_opcheck(dtype, weights):
    x, y, xw, yw = _inputs(dtype, weights=weights)
    result = torch.library.opcheck(torch.ops.emd.sinkhorn_divergence.default, (x, y, xw, yw, 0.5, 2.0, 10_000, None))
    assert set(result.values()) == {"SUCCESS"}, result
    with torch.no_grad():
        _, _, a, b, f, g = torch.ops.emd.sinkhorn_divergence(x, y, xw, yw, 0.5, 2.0, 10_000, None)[:6]
    args = (x.detach(), y.detach(), a, b, f, g, 0.5, 1.5)  # p = 1.5: the kernel's euclidean ** p
    result = torch.library.opcheck(torch.ops.emd.sinkhorn_samples_gradient.default, args)
    assert set(result.values()) == {"SUCCESS"}, result


def _step(loss, dtype, weights):
    """A generator step: the loss of a small generator's points (weighted by a softmax
    when ``weights``) against data, and the leaves whose gradients are compared."""
    torch.manual_seed(0)
    gen = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2)).to(dtype)
    g = torch.Generator().manual_seed(1)
    z, real = torch.randn(10, 2, generator=g, dtype=dtype), torch.randn(8, 2, generator=g, dtype=dtype)
    theta = torch.randn(10, generator=g, dtype=dtype).requires_grad_()
    fw = (lambda: torch.softmax(theta, 0)) if weights else (lambda: None)
    leaves = list(gen.parameters()) + ([theta] if weights else [])
    return (lambda: loss(gen(z), real, fake_weights=fw())), leaves


LOSSES = {
    "exact_w2": lambda: emd.nn.WassersteinLoss(),
    "exact_p1.5": lambda: emd.nn.WassersteinLoss(p=1.5),
    "sinkhorn_p2": lambda: emd.nn.SinkhornLoss(reg=0.1),
    "sinkhorn_p1": lambda: emd.nn.SinkhornLoss(reg=0.1, p=1.0),  # the kernel's euclidean metric
}


@pytest.mark.parametrize("dtype, weights", [(torch.float64, True), (torch.float32, True), (torch.float64, False)])
@pytest.mark.parametrize("name", list(LOSSES))
def test_a_generator_step_compiles_without_a_graph_break_and_matches_eager(name, dtype, weights):
    step, leaves = _step(LOSSES[name](), dtype, weights)
    assert torch._dynamo.explain(step)().graph_break_count == 0
    compiled = torch.compile(step, backend="aot_eager", fullgraph=True)
    v, v0 = compiled(), step()
    assert v.dtype == v0.dtype == dtype
    # The same solve on the same data: the value is the eager one up to the eager path's
    # root and power (p = 1.5: W_p ** p) in the last bits.
    torch.testing.assert_close(v, v0, rtol=4 * torch.finfo(dtype).eps, atol=0)
    g, g0 = (torch.autograd.grad(t, leaves) for t in (v, v0))
    # The same envelope gradients, summed in another order (the eager path adds the
    # divergence's three terms and the plan's flows through autograd): the tolerance
    # table's per-dtype rtol, atol for entries that cancel to about 0.
    tol = rtol(str(dtype).removeprefix("torch."))
    for a, b in zip(g, g0):
        torch.testing.assert_close(a, b, rtol=tol, atol=tol * float(b.abs().max()))


def test_a_batched_loss_compiles_and_matches_eager():
    g = torch.Generator().manual_seed(3)
    fake = torch.randn(3, 6, 2, generator=g, dtype=torch.float64).requires_grad_()
    real = torch.randn(3, 5, 2, generator=g, dtype=torch.float64)
    for loss in (emd.nn.WassersteinLoss(reduction="sum"), emd.nn.SinkhornLoss(reg=0.2, reduction="none")):
        v = torch.compile(loss, backend="aot_eager", fullgraph=True)(fake, real)
        v0 = loss(fake, real)
        torch.testing.assert_close(v, v0, rtol=1e-15, atol=0)
        torch.testing.assert_close(torch.autograd.grad(v.sum(), fake)[0], torch.autograd.grad(v0.sum(), fake)[0],
                                   rtol=1e-12, atol=1e-15)


def test_compiled_exact_loss_of_a_translation_is_the_closed_form():
    # y = x + t: W_2^2 = |t|^2 and d/dx_i = -2 t / n (the identity plan), independent of eager mode.
    x = torch.randn(9, 3, generator=torch.Generator().manual_seed(4), dtype=torch.float64).requires_grad_()
    t = torch.tensor([0.3, -0.2, 0.1], dtype=torch.float64)
    loss = torch.compile(emd.nn.WassersteinLoss(), backend="aot_eager", fullgraph=True)
    v = loss(x, (x + t).detach())
    torch.testing.assert_close(v, (t * t).sum(), rtol=1e-14, atol=0)
    torch.testing.assert_close(torch.autograd.grad(v, x)[0], (-2 * t / 9).expand(9, 3), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("p", [2.0, 1.5, 1.0])
def test_the_exact_op_gradients_against_finite_differences(p):
    # Generic points and weights: the optimal basis is locally constant, so the envelope
    # gradient (support and potentials) is the derivative; central differences agree.
    x, y, xw, yw = _inputs(torch.float64, n=6, m=4, seed=5)
    assert torch.autograd.gradcheck(lambda *a: exact_transport_cost(*a, p), (x, y, xw, yw), eps=1e-6, atol=1e-7)


def test_the_sinkhorn_op_gradients_against_finite_differences():
    # Envelope gradients at potentials converged to tol 1e-12 (float64): the divergence's
    # derivative to about that tol (first order in the potentials' error vanishes).
    x, y, xw, yw = _inputs(torch.float64, n=6, m=4, seed=6)
    fn = lambda *a: torch.ops.emd.sinkhorn_divergence(*a, 0.5, 2.0, 10_000, 1e-12)[0]  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x, y, xw, yw), eps=1e-6, atol=1e-7)


def test_convergence_warning_under_compile():
    # The solves run in the op's real implementation, on real data: a solve stopped at
    # max_iter warns under torch.compile as in eager mode.
    x, y, _, _ = _inputs(torch.float64, n=30, m=20, seed=7)
    loss = emd.nn.SinkhornLoss(reg=0.01, max_iter=2)
    compiled = torch.compile(loss, backend="aot_eager", fullgraph=True)
    for fn in (loss, compiled):
        with pytest.warns(emd.ConvergenceWarning, match="max_iter=2"):
            fn(x, y)


@pytest.mark.parametrize("name", ["exact_w2", "sinkhorn_p2"])
def test_bad_values_raise_the_eager_errors_under_compile(name):
    x, y, xw, _ = _inputs(torch.float64, seed=8)
    y = y.detach().clone()
    y[2, 1] = float("nan")
    negative = xw.detach().clone()
    negative[0] = -1.0
    loss = LOSSES[name]()
    compiled = torch.compile(loss, backend="aot_eager", fullgraph=True)
    for args, kwargs in (((x, y), {}), ((x, y.nan_to_num()), {"fake_weights": negative})):
        with pytest.raises(ValueError) as eager:
            loss(*args, **kwargs)
        with pytest.raises(ValueError) as under_compile:
            compiled(*args, **kwargs)
        assert str(under_compile.value) == str(eager.value)


def test_shapes_are_checked_at_trace_time():
    x, y, _, _ = _inputs(torch.float64)
    compiled = torch.compile(emd.nn.WassersteinLoss(), backend="aot_eager", fullgraph=True)
    with pytest.raises(Exception, match="fake_weights"):
        compiled(x, y, fake_weights=torch.ones(3, dtype=torch.float64))


def test_sinkhorn_op_refuses_second_derivatives():
    x, y, _, _ = _inputs(torch.float64)
    v = torch.ops.emd.sinkhorn_divergence(x, y, None, None, 0.5, 2.0, 10_000, None)[0]
    with pytest.raises(RuntimeError, match="create_graph"):
        torch.autograd.grad(v, x, create_graph=True)


@pytest.mark.parametrize("p", [2.0, 1.5])
def test_the_exact_op_differentiates_twice_in_the_points(p):
    # Its backward is torch operations of the points (the plan held fixed, exact almost
    # everywhere), so double backward works as in eager mode.
    x, y, _, _ = _inputs(torch.float64, n=6, m=4, seed=9, weights=False)
    assert torch.autograd.gradgradcheck(lambda a, b: exact_transport_cost(a, b, None, None, p), (x, y))
