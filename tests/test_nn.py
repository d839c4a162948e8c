"""emd.nn: the losses' values and gradients against emd's functions, shapes,
reductions, and the example GAN for a few steps."""

from __future__ import annotations

import pathlib
import sys

import pytest

torch = pytest.importorskip("torch")
import emd  # noqa: E402
import emd.nn  # noqa: E402

F64 = dict(dtype=torch.float64)


def _clouds(seed: int, batch: tuple[int, ...] = ()):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(*batch, 12, 2, generator=g, **F64).requires_grad_(),
            torch.randn(*batch, 9, 2, generator=g, **F64))


def test_wasserstein_loss_is_w2_squared_and_wp_to_the_p():
    x, y = _clouds(0)
    torch.testing.assert_close(emd.nn.WassersteinLoss()(x, y), emd.wasserstein(x, y, p=2) ** 2)
    torch.testing.assert_close(emd.nn.WassersteinLoss(p=1.5)(x, y), emd.wasserstein(x, y, p=1.5) ** 1.5)
    # A translation: W_2^2 = |t|^2.
    t = torch.tensor([0.5, -0.25], **F64)
    torch.testing.assert_close(emd.nn.WassersteinLoss()(x, (x + t).detach()), (t * t).sum())


def test_sliced_loss_with_fixed_projections_and_fresh_ones():
    x, y = _clouds(1)
    th = torch.randn(2, 16, generator=torch.Generator().manual_seed(2), **F64).requires_grad_()
    loss = emd.nn.SlicedWassersteinLoss(projections=th)(x, y)
    torch.testing.assert_close(loss, emd.sliced_wasserstein(x, y, projections=th) ** 2)
    gx, gth = torch.autograd.grad(loss, (x, th))  # learned directions get gradients too
    assert torch.isfinite(gx).all() and torch.isfinite(gth).all()
    torch.manual_seed(3)
    a = emd.nn.SlicedWassersteinLoss(n_projections=8)(x, y)
    torch.manual_seed(3)
    assert emd.nn.SlicedWassersteinLoss(n_projections=8)(x, y) == a


def test_sinkhorn_loss_is_the_divergence_and_zero_on_equal_inputs():
    x, y = _clouds(4)
    torch.testing.assert_close(emd.nn.SinkhornLoss(reg=1.0)(x, y), emd.sinkhorn_divergence(x, y, 1.0, p=2))
    assert emd.nn.SinkhornLoss(reg=1.0)(x, x).item() == 0.0


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_batches_and_reductions(reduction):
    x, y = _clouds(5, (3,))
    fw = torch.softmax(torch.randn(3, 12, **F64), -1).requires_grad_()
    loss_fn = emd.nn.WassersteinLoss(reduction=reduction)
    out = loss_fn(x, y, fake_weights=fw)
    each = torch.stack([emd.nn.WassersteinLoss()(x[k], y[k], fake_weights=fw[k]) for k in range(3)])
    ref = {"mean": each.mean(), "sum": each.sum(), "none": each}[reduction]
    torch.testing.assert_close(out, ref)
    gx, gw = torch.autograd.grad(out.sum(), (x, fw))
    assert gx.shape == x.shape and gw.shape == fw.shape


def test_bad_inputs_name_the_argument():
    x, y = _clouds(6)
    with pytest.raises(ValueError, match="`reduction`"):
        emd.nn.WassersteinLoss(reduction="avg")
    with pytest.raises(TypeError, match="`fake` must be a torch tensor"):
        emd.nn.SinkhornLoss(reg=1.0)(x.detach().numpy(), y)
    with pytest.raises(ValueError, match="both be batched or neither"):
        emd.nn.WassersteinLoss()(x[None], y)
    with pytest.raises(ValueError, match="`reg`"):
        emd.nn.SinkhornLoss(reg=0.0)


@pytest.mark.parametrize("loss", ["sliced", "sinkhorn", "exact"])
def test_the_example_gan_runs_and_evaluates_exact_w1(loss):
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "examples"))
    try:
        import torch_gan
    finally:
        sys.path.pop(0)
    lines = []
    history = torch_gan.train(steps=4, loss=loss, batch=64, eval_every=2, eval_points=200, log=lines.append)
    assert [s for s, _ in history] == [0, 2, 4] and len(lines) == 3
    assert all(0.0 < w < 10.0 for _, w in history)
    # Exact W_1 of the evaluation: the same number emd.wasserstein gives on NumPy arrays.
    assert "exact W1" in lines[0]


def _compiled_and_eager(loss, weights=None, fullgraph=False):
    """A generator step's loss compiled (aot_eager) and eager, and the gradients of
    each with respect to the generator's parameters (and ``weights``, a leaf whose
    softmax weighs the generated points)."""
    torch.manual_seed(0)
    gen = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2)).double()
    z, y = _clouds(8)
    z = z.detach()
    fw = (lambda: None) if weights is None else (lambda: torch.softmax(weights, 0))
    step = lambda: loss(gen(z), y, fake_weights=fw())  # noqa: E731
    if fullgraph:
        assert torch._dynamo.explain(step)().graph_break_count == 0
    compiled = torch.compile(step, backend="aot_eager", fullgraph=fullgraph)
    v, v0 = compiled(), step()
    leaves = list(gen.parameters()) + ([] if weights is None else [weights])
    g, g0 = (torch.autograd.grad(t, leaves) for t in (v, v0))
    return v, v0, g, g0


@pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf:UserWarning")  # dynamo's guards
def test_a_loss_inside_torch_compile_matches_eager():
    # WassersteinLoss under torch.compile is emd's exact-transport custom op (the same
    # solve on the same data): values bit for bit, gradients to rounding
    # (tests/test_torch_compile.py checks both losses with fullgraph=True).
    v, v0, g, g0 = _compiled_and_eager(emd.nn.WassersteinLoss())
    torch.testing.assert_close(v, v0, rtol=0, atol=0)
    for a, b in zip(g, g0):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf:UserWarning")  # dynamo's guards
def test_sliced_loss_compiles_without_a_graph_break():
    # Under torch.compile the sliced loss is torch operations and emd's 1-D custom op
    # (fake implementation and autograd registered): one graph, fullgraph=True holds.
    tw = torch.randn(12, generator=torch.Generator().manual_seed(8), **F64).requires_grad_()
    loss = emd.nn.SlicedWassersteinLoss(projections=torch.randn(2, 8, generator=torch.Generator().manual_seed(7), **F64))
    v, v0, g, g0 = _compiled_and_eager(loss, weights=tw, fullgraph=True)
    # Not bit for bit: the compiled loss averages W_p^p in torch, the eager one in NumPy
    # (emd.sliced_wasserstein's reduction), in a different order.
    torch.testing.assert_close(v, v0, rtol=1e-14, atol=0)
    for a, b in zip(g, g0):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)
