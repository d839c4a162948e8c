r"""The trainer's two optimizers, RMSProp and Adam, written once for both networks.

Both follow PyTorch's ``torch.optim.RMSprop`` (``centered=False``,
``momentum=0``, ``weight_decay=0``) and ``torch.optim.Adam`` (``amsgrad=False``,
``weight_decay=0``) update for update, so a run's hyper-parameters mean what
they mean in the papers' code; tests/test_wgan_optim.py checks them against
torch.optim on a fixed gradient sequence and against the closed forms below.

RMSProp (Tieleman & Hinton 2012; Algorithm 1 of Arjovsky et al. 2017), with
:math:`v_0 = 0`:

.. math::
    v_t = \rho v_{t-1} + (1 - \rho) g_t^2, \qquad
    p_t = p_{t-1} - \alpha\, g_t / (\sqrt{v_t} + \epsilon)

Adam (Kingma & Ba 2015, Algorithm 1), with :math:`m_0 = v_0 = 0`:

.. math::
    m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \quad
    v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2, \quad
    p_t = p_{t-1} - \alpha\, \frac{m_t / (1 - \beta_1^t)}{\sqrt{v_t / (1 - \beta_2^t)} + \epsilon}

Parameters are updated in place, as arrays of any module that implements
NumPy's ufunc protocol (NumPy, or CuPy for ``--device cuda``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["OPTIMIZERS", "RMSProp", "Adam", "make_optimizer"]

OPTIMIZERS = ("rmsprop", "adam")


class RMSProp:
    """RMSProp as in PyTorch (and the WGAN paper's code).

    Parameters
    ----------
    params : list of arrays
        The parameters it will update (only their shapes and array module are read here).
    lr : float
        alpha, the step size.
    rho : float
        Smoothing of the squared gradient (PyTorch's ``alpha``, default 0.99).
    eps : float
        Added to sqrt(v) in the denominator (PyTorch's default 1e-8).
    """

    name = "rmsprop"

    def __init__(self, params: list[Any], lr: float, rho: float = 0.99, eps: float = 1e-8):
        self.lr, self.rho, self.eps = lr, rho, eps
        self.t = 0
        self.v = [np.zeros_like(p) for p in params]

    def step(self, params: list[Any], grads: list[Any]) -> None:
        """One descent step ``p <- p - lr g / (sqrt(v) + eps)`` on every parameter, in place."""
        self.t += 1
        for p, g, v in zip(params, grads, self.v):
            v *= self.rho
            v += (1.0 - self.rho) * g * g
            p -= self.lr * g / (np.sqrt(v) + self.eps)

    def buffers(self) -> dict[str, list[Any]]:
        """The state arrays by name (for checkpoints): ``v``, one per parameter."""
        return {"v": self.v}


class Adam:
    """Adam as in PyTorch (bias-corrected moments, eps added to sqrt(v_hat)).

    Parameters
    ----------
    params : list of arrays
    lr : float
        alpha, the step size.
    betas : (float, float)
        beta_1, beta_2: the decay rates of the first and second moments.
    eps : float
        Added to sqrt(v_hat) in the denominator (PyTorch's default 1e-8).
    """

    name = "adam"

    def __init__(self, params: list[Any], lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.lr, self.eps = lr, eps
        self.beta1, self.beta2 = float(betas[0]), float(betas[1])
        self.t = 0
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]

    def step(self, params: list[Any], grads: list[Any]) -> None:
        """One descent step on every parameter, in place."""
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        # The bias corrections of Kingma & Ba's Algorithm 1, folded as PyTorch
        # folds them: lr / (1 - b1^t) times m over sqrt(v) / sqrt(1 - b2^t) + eps.
        step_size = self.lr / (1.0 - b1**self.t)
        root_c2 = math.sqrt(1.0 - b2**self.t)
        for p, g, m, v in zip(params, grads, self.m, self.v):
            m *= b1
            m += (1.0 - b1) * g
            v *= b2
            v += (1.0 - b2) * g * g
            p -= step_size * m / (np.sqrt(v) / root_c2 + self.eps)

    def buffers(self) -> dict[str, list[Any]]:
        """The state arrays by name (for checkpoints): ``m`` and ``v``, one of each per parameter."""
        return {"m": self.m, "v": self.v}


def make_optimizer(name: str, params: list[Any], lr: float, betas: tuple[float, float] | None = None):
    """The optimizer ``name`` ("rmsprop" or "adam") over ``params``; ``betas`` only for Adam."""
    if name == "rmsprop":
        if betas is not None:
            raise ValueError("`betas` applies to the adam optimizer only; rmsprop takes none")
        return RMSProp(params, lr)
    if name == "adam":
        return Adam(params, lr, (0.9, 0.999) if betas is None else betas)
    raise ValueError(f"`optimizer` must be one of {', '.join(map(repr, OPTIMIZERS))}; got {name!r}")
