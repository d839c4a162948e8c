r"""Numpy MLPs with hand-written backpropagation (the optimizers are in :mod:`.optim`).

A layer is ``h_{l+1} = sigma(h_l W_l + b_l)`` with W_l of shape (fan_in,
fan_out), the layout of :class:`emd.MLPCritic`, so the critic's parameters go
to emd's kernels as they are. Hidden layers use the LeakyReLU
``sigma(t) = max(t, s t)`` (s = 0 is the ReLU); the last layer is linear.
Every gradient here is checked against finite differences in tests/test_wgan.py.
"""

from __future__ import annotations

import numpy as np

from .. import MLPCritic, spectral_norm


def array_module(x):
    """numpy, or cupy for a CuPy array (the trainer's --device cuda): the code
    below is written against NumPy and runs unchanged on CuPy arrays through
    NumPy's dispatch protocols, except where it creates arrays; those ask this."""
    if type(x).__module__.startswith("cupy"):
        import cupy

        return cupy
    return np

__all__ = [
    "mlp_forward",
    "mlp_backward",
    "gradient_penalty",
    "Critic",
    "MLPGenerator",
    "LineGenerator",
    "array_module",
    "to_device",
]


def _init_layers(widths: list[int], rng: np.random.Generator) -> tuple[list[np.ndarray], list[np.ndarray]]:
    # PyTorch's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases.
    ws, bs = [], []
    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        bound = 1.0 / np.sqrt(fan_in)
        ws.append(rng.uniform(-bound, bound, size=(fan_in, fan_out)))
        bs.append(rng.uniform(-bound, bound, size=fan_out))
    return ws, bs


def mlp_forward(weights, biases, slope: float, x: np.ndarray):
    """Output (n, fan_out of the last layer) and the cache for :func:`mlp_backward`."""
    inputs, preacts = [], []
    h = x
    last = len(weights) - 1
    for l, (W, b) in enumerate(zip(weights, biases)):
        inputs.append(h)
        a = h @ W + b
        preacts.append(a)
        h = a if l == last else np.where(a > 0, a, slope * a)
    return h, (inputs, preacts)


def _act_grad(a: np.ndarray, slope: float) -> np.ndarray:
    return np.where(a > 0, 1.0, slope)


def mlp_backward(weights, slope: float, cache, grad_out: np.ndarray):
    """Gradients (dW list, db list, dx) of sum(grad_out * output) by the chain rule, last layer first."""
    inputs, preacts = cache
    L = len(weights)
    gW, gb = [None] * L, [None] * L
    delta = grad_out  # dLoss/d(pre-activation of layer l), rows are samples
    for l in range(L - 1, -1, -1):
        gW[l] = inputs[l].T @ delta
        gb[l] = delta.sum(axis=0)
        g_in = delta @ weights[l].T
        if l > 0:
            delta = g_in * _act_grad(preacts[l - 1], slope)
    return gW, gb, g_in


def gradient_penalty(weights, biases, slope: float, x: np.ndarray, lam: float):
    r"""The penalty :math:`\lambda\,\mathrm{mean}_i (\|\nabla_x f(x_i)\| - 1)^2` and its parameter gradients.

    With D_l the (locally constant) diagonal of sigma' at layer l,
    :math:`g = \nabla_x f = W_1 D_1 W_2 \cdots D_{L-1} W_L`, multilinear in the
    weights. For :math:`r = \partial P / \partial g`, the gradient of
    :math:`r^\top g` in W_l is :math:`t_l \delta_l^\top`, where t_l is r pushed
    forward through the linearized layers before l (t_1 = r,
    t_{l+1} = (t_l W_l) D_l) and delta_l is the usual backpropagated signal.
    Biases only move the kinks of sigma, so their gradient is 0 almost everywhere.

    Returns (penalty, dW list, db list).
    """
    n = x.shape[0]
    out, cache = mlp_forward(weights, biases, slope, x)
    # delta_l for every layer (standard backprop of sum f), and g = grad_x f.
    _, preacts = cache
    L = len(weights)
    deltas = [None] * L
    delta = np.ones_like(out)
    for l in range(L - 1, -1, -1):
        deltas[l] = delta
        g_in = delta @ weights[l].T
        if l > 0:
            delta = g_in * _act_grad(preacts[l - 1], slope)
    g = g_in  # (n, d)
    norm = np.sqrt((g * g).sum(axis=1))
    penalty = lam * np.mean((norm - 1.0) ** 2)
    # r_i = dP/dg_i; guard the norm's derivative at 0 (where it is undefined, take 0).
    r = (2.0 * lam / n) * ((norm - 1.0) / np.where(norm > 0, norm, 1.0))[:, None] * g
    gW = [None] * L
    t = r
    for l in range(L):
        gW[l] = t.T @ deltas[l]
        if l < L - 1:
            t = (t @ weights[l]) * _act_grad(preacts[l], slope)
    gb = [np.zeros_like(b) for b in biases]
    return penalty, gW, gb


def _softplus(t: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, t)


def _sigmoid(t: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * t))


class Critic:
    """The critic f_w (or the GAN's discriminator logit) with its Lipschitz control.

    ``params`` lists the raw parameters (weights, then biases). With
    ``lipschitz == "spectral"`` the network uses W_l / sigma_l, where
    sigma_l = u_l^T W_l v_l comes from one power iteration per step, u_l kept
    across steps and u, v treated as constants in the gradient (Miyato et al. 2018).
    """

    def __init__(self, widths: list[int], rng: np.random.Generator, *, slope: float = 0.2, lipschitz: str = "clip"):
        self.weights, self.biases = _init_layers(widths, rng)
        self.slope = slope
        self.lipschitz = lipschitz
        self.u = [None] * len(self.weights)
        self.v = [None] * len(self.weights)
        self.sigma = [1.0] * len(self.weights)

    @property
    def params(self) -> list[np.ndarray]:
        return self.weights + self.biases

    def update_spectral(self) -> None:
        """One power iteration per layer (u persists), refreshing sigma_l and v_l."""
        xp = array_module(self.weights[0])
        if xp is not np:
            self._update_spectral_device(xp)
            return
        for l, W in enumerate(self.weights):
            _, u = spectral_norm(W, 1, self.u[l])
            wtu = W.T @ u
            v = wtu / max(np.linalg.norm(wtu), np.finfo(np.float64).tiny)
            self.u[l], self.v[l] = u, v
            self.sigma[l] = float(u @ W @ v)

    def _update_spectral_device(self, xp) -> None:
        # spectral_norm's iteration (one step, u kept), on the device; the same
        # start vector (seed 0) as on the CPU.
        tiny = np.finfo(np.float64).tiny
        for l, W in enumerate(self.weights):
            u = self.u[l]
            if u is None:
                u = xp.asarray(np.random.default_rng(0).standard_normal(W.shape[0]))
            u = u / xp.linalg.norm(u)
            v = W.T @ u
            v = v / xp.maximum(xp.linalg.norm(v), tiny)
            wv = W @ v
            u = wv / xp.maximum(xp.linalg.norm(wv), tiny)
            wtu = W.T @ u
            self.u[l], self.v[l] = u, wtu / xp.maximum(xp.linalg.norm(wtu), tiny)
            self.sigma[l] = float(u @ W @ self.v[l])

    def effective_weights(self) -> list[np.ndarray]:
        if self.lipschitz != "spectral":
            return self.weights
        return [W / s for W, s in zip(self.weights, self.sigma)]

    def forward(self, x: np.ndarray):
        out, cache = mlp_forward(self.effective_weights(), self.biases, self.slope, x)
        return out[:, 0], cache

    def _to_raw(self, gW: list[np.ndarray]) -> list[np.ndarray]:
        # d/dW of L(W / sigma) with sigma = u^T W v (u, v held fixed):
        # (G - <G, W / sigma> u v^T) / sigma, G the gradient in the normalized weights.
        if self.lipschitz != "spectral":
            return gW
        out = []
        for G, W, u, v, s in zip(gW, self.weights, self.u, self.v, self.sigma):
            out.append((G - (float((G * W).sum()) / s) * array_module(G).outer(u, v)) / s)
        return out

    def loss_and_grads(self, x_real: np.ndarray, x_fake: np.ndarray, *, loss: str, gp_lambda: float = 0.0,
                       rng: np.random.Generator | None = None):
        """The critic's loss (minimized) and its gradients in the order of ``params``.

        wgan: mean f(fake) - mean f(real), the negative of the KR estimate (plus the
        gradient penalty for lipschitz="gp", on x_hat = eps x_real + (1 - eps) x_fake).
        gan: the discriminator's cross-entropy mean softplus(-f(real)) + mean softplus(f(fake)).
        """
        n_r, n_f = len(x_real), len(x_fake)
        x = np.concatenate([x_real, x_fake])
        f, cache = self.forward(x)
        fr, ff = f[:n_r], f[n_r:]
        xp = array_module(x)
        if loss == "wgan":
            value = ff.mean() - fr.mean()
            g = xp.concatenate([xp.full(n_r, -1.0 / n_r), xp.full(n_f, 1.0 / n_f)])
        else:
            value = _softplus(-fr).mean() + _softplus(ff).mean()
            g = np.concatenate([-_sigmoid(-fr) / n_r, _sigmoid(ff) / n_f])
        gW, gb, _ = mlp_backward(self.effective_weights(), self.slope, cache, g[:, None])
        if loss == "wgan" and self.lipschitz == "gp" and gp_lambda > 0:
            eps = xp.asarray(rng.uniform(size=(min(n_r, n_f), 1)))  # drawn by the run's NumPy stream
            x_hat = eps * x_real[: len(eps)] + (1.0 - eps) * x_fake[: len(eps)]
            pen, pW, pb = gradient_penalty(self.effective_weights(), self.biases, self.slope, x_hat, gp_lambda)
            value = value + pen
            gW = [a + b for a, b in zip(gW, pW)]
            gb = [a + b for a, b in zip(gb, pb)]
        return float(value), self._to_raw(gW) + gb

    def as_view(self) -> MLPCritic:
        """An emd.MLPCritic sharing this critic's raw arrays (so emd.clip_weights acts on them in place)."""
        view = MLPCritic(tuple(self.weights), tuple(self.biases), self.slope)
        if any(a is not b for a, b in zip(view.weights + view.biases, self.params)):
            raise RuntimeError("MLPCritic copied the critic's arrays; clipping would not reach them")
        return view

    def as_mlp_critic(self, dtype=np.float64) -> MLPCritic:
        """The critic as an emd.MLPCritic (effective weights), for emd's kernels."""
        return MLPCritic(tuple(W.astype(dtype) for W in self.effective_weights()),
                         tuple(b.astype(dtype) for b in self.biases), self.slope)


class MLPGenerator:
    """g_theta: R^{z_dim} -> R^d, three ReLU hidden layers and a linear output."""

    def __init__(self, z_dim: int, hidden: int, out_dim: int, rng: np.random.Generator):
        self.weights, self.biases = _init_layers([z_dim, hidden, hidden, hidden, out_dim], rng)
        self.slope = 0.0

    @property
    def params(self) -> list[np.ndarray]:
        return self.weights + self.biases

    def forward(self, z: np.ndarray):
        return mlp_forward(self.weights, self.biases, self.slope, z)

    def backward(self, cache, grad_x: np.ndarray) -> list[np.ndarray]:
        gW, gb, _ = mlp_backward(self.weights, self.slope, cache, grad_x)
        return gW + gb


class LineGenerator:
    """The paper's Example 1: g_theta(z) = (theta, z), one parameter theta (initially 1)."""

    def __init__(self, theta: float = 1.0):
        self.theta = np.array([theta])

    @property
    def params(self) -> list[np.ndarray]:
        return [self.theta]

    def forward(self, z: np.ndarray):
        z1 = z[:, :1]
        xp = array_module(z1)
        first = np.full_like(z1, self.theta[0]) if xp is np else xp.zeros_like(z1) + self.theta[0]
        return xp.concatenate([first, z1], axis=1), None

    def backward(self, cache, grad_x: np.ndarray) -> list[np.ndarray]:
        return [array_module(grad_x).reshape(grad_x[:, 0].sum(), (1,))]


def to_device(net, xp) -> None:
    """Move a network's parameters to the array module ``xp`` (cupy), in place of its lists."""
    for name in ("weights", "biases"):
        if hasattr(net, name):
            setattr(net, name, [xp.asarray(a) for a in getattr(net, name)])
    if hasattr(net, "theta"):
        net.theta = xp.asarray(net.theta)
