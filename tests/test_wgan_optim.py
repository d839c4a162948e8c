"""emd.wgan.optim: RMSProp and Adam against closed forms and against torch.optim.

The closed forms do not run the recurrences: with a zero initial state the
moments are geometric sums of the gradients,
m_t = (1 - beta1) sum_s beta1^(t-s) g_s and v_t = (1 - beta2) sum_s beta2^(t-s) g_s^2,
so the parameter after T steps is p_0 minus the sum of the T steps computed
from them. torch.optim (when torch is importable) is the reference
implementation, run in float64 on the same fixed gradient sequence.
"""

from __future__ import annotations

import numpy as np
import pytest

from emd.wgan.optim import Adam, RMSProp, make_optimizer

# float64 throughout; a step is a handful of roundings, and the gradient
# sequence is fixed (it does not depend on the parameters), so errors add up
# without feedback: after T = 50 steps at most ~T * 1e-16 relative to the
# total displacement. Measured at most 4e-15 (RMSProp against torch), 8.5e-16 (Adam, closed form).
RTOL = 1e-12


def gradient_sequence(rng, steps=50, shape=(3, 4)):
    # magnitudes spread over six decades and changing signs: every regime of
    # g / sqrt(v), including eps mattering for the tiny ones
    scale = 10.0 ** rng.uniform(-6, 0, size=shape)
    return [scale * rng.standard_normal(shape) for _ in range(steps)]


def geometric_moment(values, decay):
    """(1 - decay) sum_s decay^(t-s) values[s], for t = 1..T, without a recurrence."""
    T = len(values)
    out = []
    for t in range(1, T + 1):
        w = (1.0 - decay) * decay ** (t - np.arange(1, t + 1))
        out.append(np.tensordot(w, np.stack(values[:t]), axes=1))
    return out


def run(opt, p0, grads):
    p = [p0.copy()]
    path = []
    for g in grads:
        opt.step(p, [g])
        path.append(p[0].copy())
    return path


def test_rmsprop_closed_form(rng):
    grads = gradient_sequence(rng)
    p0 = rng.standard_normal(grads[0].shape)
    lr, rho, eps = 3e-3, 0.99, 1e-8
    path = run(RMSProp([p0], lr, rho=rho, eps=eps), p0, grads)
    v = geometric_moment([g * g for g in grads], rho)
    expected = p0 - np.cumsum([lr * g / (np.sqrt(vt) + eps) for g, vt in zip(grads, v)], axis=0)
    np.testing.assert_allclose(np.stack(path), expected, rtol=RTOL, atol=1e-15)


@pytest.mark.parametrize("betas", [(0.0, 0.9), (0.5, 0.9), (0.5, 0.999), (0.9, 0.999)])
def test_adam_closed_form(rng, betas):
    grads = gradient_sequence(rng)
    p0 = rng.standard_normal(grads[0].shape)
    lr, eps = 1e-3, 1e-8
    b1, b2 = betas
    path = run(Adam([p0], lr, betas=betas, eps=eps), p0, grads)
    m = geometric_moment(grads, b1)
    v = geometric_moment([g * g for g in grads], b2)
    steps = [lr * (mt / (1 - b1**t)) / (np.sqrt(vt / (1 - b2**t)) + eps) for t, (mt, vt) in enumerate(zip(m, v), 1)]
    np.testing.assert_allclose(np.stack(path), p0 - np.cumsum(steps, axis=0), rtol=RTOL, atol=1e-15)


def test_adam_constant_gradient_moves_lr_per_step():
    # Bias correction makes m_hat = g and v_hat = g^2 exactly for a constant g,
    # so every step is lr g / (|g| + eps): about lr whatever |g| (Kingma & Ba, Sec. 2.1).
    g = np.array([5.0, -1e-3, 2e-7])
    p = [np.zeros(3)]
    opt = Adam(p, 0.01, betas=(0.5, 0.9))
    for _ in range(7):
        opt.step(p, [g])
    np.testing.assert_allclose(p[0], -7 * 0.01 * g / (np.abs(g) + 1e-8), rtol=1e-13)
    assert opt.t == 7


def test_rmsprop_first_step_is_about_ten_lr():
    # v_1 = (1 - rho) g^2 = 0.01 g^2, so the first step is lr g / (0.1 |g| + eps), about 10 lr
    p = [np.array([1.0, -1.0])]
    g = np.array([5.0, -0.001])
    RMSProp(p, lr=0.01).step(p, [g])
    np.testing.assert_allclose(p[0], [1.0, -1.0] - 0.01 * g / (0.1 * np.abs(g) + 1e-8), rtol=1e-15)
    assert np.allclose(np.abs(p[0] - [1.0, -1.0]), 0.1, rtol=1e-3)


def test_broken_updates_fail_the_closed_form(rng):
    # The closed-form test can fail: an Adam without bias correction (a classic
    # slip) misses it by far more than RTOL.
    grads = gradient_sequence(rng, steps=5)
    p0 = np.zeros(grads[0].shape)

    class NoBiasCorrection(Adam):
        def step(self, params, grads):
            self.t += 1
            for p, g, m, v in zip(params, grads, self.m, self.v):
                m *= self.beta1
                m += (1 - self.beta1) * g
                v *= self.beta2
                v += (1 - self.beta2) * g * g
                p -= self.lr * m / (np.sqrt(v) + self.eps)

    good = run(Adam([p0], 1e-3, betas=(0.5, 0.9)), p0, grads)[-1]
    bad = run(NoBiasCorrection([p0], 1e-3, betas=(0.5, 0.9)), p0, grads)[-1]
    assert not np.allclose(good, bad, rtol=1e-3)


def test_make_optimizer_and_its_errors():
    p = [np.zeros(2)]
    assert isinstance(make_optimizer("rmsprop", p, 1e-3), RMSProp)
    adam = make_optimizer("adam", p, 1e-3, (0.0, 0.9))
    assert isinstance(adam, Adam) and (adam.beta1, adam.beta2) == (0.0, 0.9)
    assert (make_optimizer("adam", p, 1e-3).beta1, make_optimizer("adam", p, 1e-3).beta2) == (0.9, 0.999)
    with pytest.raises(ValueError, match="betas"):
        make_optimizer("rmsprop", p, 1e-3, (0.5, 0.9))
    with pytest.raises(ValueError, match="optimizer"):
        make_optimizer("sgd", p, 1e-3)


# -- torch.optim as the reference --------------------------------------------


def torch_path(torch, make, p0, grads):
    p = torch.tensor(p0, dtype=torch.float64, requires_grad=True)
    opt = make([p])
    path = []
    for g in grads:
        opt.zero_grad()
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        path.append(p.detach().numpy().copy())
    return np.stack(path)


def test_rmsprop_matches_torch(rng):
    torch = pytest.importorskip("torch")
    grads = gradient_sequence(rng)
    p0 = rng.standard_normal(grads[0].shape)
    ours = np.stack(run(RMSProp([p0], 5e-3), p0, grads))
    ref = torch_path(torch, lambda ps: torch.optim.RMSprop(ps, lr=5e-3, alpha=0.99, eps=1e-8), p0, grads)
    np.testing.assert_allclose(ours, ref, rtol=RTOL, atol=1e-15)


@pytest.mark.parametrize("betas", [(0.0, 0.9), (0.5, 0.9), (0.5, 0.999)])
def test_adam_matches_torch(rng, betas):
    torch = pytest.importorskip("torch")
    grads = gradient_sequence(rng)
    p0 = rng.standard_normal(grads[0].shape)
    ours = np.stack(run(Adam([p0], 1e-3, betas=betas), p0, grads))
    ref = torch_path(torch, lambda ps: torch.optim.Adam(ps, lr=1e-3, betas=betas, eps=1e-8, foreach=False), p0, grads)
    np.testing.assert_allclose(ours, ref, rtol=RTOL, atol=1e-15)
