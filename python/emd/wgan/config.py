"""The trainer's options: one frozen dataclass, checked in one place, saved as config.json.

Every Lipschitz method trains, by default, with the optimizer and the
hyper-parameters of the paper that introduced it (:data:`METHOD_DEFAULTS`);
any of them can be overridden, and config.json records the values a run used.
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import operator
import os
from dataclasses import dataclass
from typing import Any

from .optim import OPTIMIZERS

__all__ = ["Config", "MethodDefaults", "METHOD_DEFAULTS", "DATASETS", "LOSSES", "LIPSCHITZ", "DEVICES", "OPTIMIZERS"]

DATASETS = ("8gaussians", "25gaussians", "swissroll", "rings", "parallel_lines")
LOSSES = ("wgan", "gan")
LIPSCHITZ = ("clip", "spectral", "gp")
DEVICES = ("cpu", "cuda")


@dataclass(frozen=True)
class MethodDefaults:
    """The training settings a method was published with.

    Attributes
    ----------
    optimizer : "rmsprop" or "adam", for both networks.
    lr : the learning rate alpha of both networks.
    betas : Adam's (beta_1, beta_2); None for RMSProp.
    n_critic : critic steps per generator step.
    n_critic_boost : critic steps in the first 25 and every 500th generator
        iteration (0: a constant n_critic).
    source : where these numbers come from.
    gen_lr : the generator's learning rate when it differs from the critic's
        (None: lr for both). A Config scales it with its lr, so ``--lr``
        keeps the ratio gen_lr / lr.
    hidden : width of the hidden layers of both networks.
    """

    optimizer: str
    lr: float
    betas: tuple[float, float] | None
    n_critic: int
    n_critic_boost: int
    source: str
    gen_lr: float | None = None
    hidden: int = 64


# One entry per method: the --lipschitz choices of the WGAN loss, and "gan"
# for --loss gan (whose discriminator has no Lipschitz constraint).
METHOD_DEFAULTS: dict[str, MethodDefaults] = {
    "clip": MethodDefaults(
        "rmsprop", 5e-5, None, 5, 100,
        "Arjovsky, Chintala & Bottou 2017, Algorithm 1 (RMSProp, alpha 5e-5, c 0.01, m 64, n_critic 5), "
        "with their code's 100 critic steps in the first 25 and every 500th generator iteration",
    ),
    # The critic's settings are Algorithm 1's. On 8gaussians they do not train
    # with 64-wide networks and one learning rate (docs/critic.md, "Why gp's
    # defaults differ from the paper's"): the critic is too narrow to follow
    # the generator once it nears the data, and the generator outruns it far
    # from the data. So, measured there: networks
    # 128 wide (the authors' toy script uses 512) and a generator learning rate
    # 1/5 of the critic's, the two time-scale rule of Heusel et al. 2017.
    "gp": MethodDefaults(
        "adam", 1e-4, (0.0, 0.9), 5, 0,
        "Gulrajani et al. 2017, Algorithm 1 (Adam, alpha 1e-4, beta1 0, beta2 0.9, lambda 10, m 64, n_critic 5) "
        "for the critic; on toy data: hidden 128 (their gan_toy.py: 512) and generator alpha 2e-5 "
        "(two time-scale update rule, Heusel et al. 2017), measured in docs/critic.md",
        gen_lr=2e-5, hidden=128,
    ),
    "spectral": MethodDefaults(
        "adam", 1e-4, (0.5, 0.9), 5, 0,
        "Miyato et al. 2018, Table 1, setting A (Adam, alpha 1e-4, beta1 0.5, beta2 0.9, n_dis 5; "
        "one power iteration per step)",
    ),
    "gan": MethodDefaults(
        "adam", 2e-4, (0.5, 0.999), 1, 0,
        "Radford, Metz & Chintala 2016, DCGAN (Adam, alpha 2e-4, beta1 0.5, beta2 0.999), "
        "one discriminator step per generator step as in Goodfellow et al. 2014",
    ),
}

_INT64_MAX = 2**63 - 1


def _check_choice(value: Any, name: str, choices: tuple[str, ...]) -> None:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"`{name}` must be one of {', '.join(map(repr, choices))}; got {value!r}")


def _check_real(value: Any, name: str, *, low: float, strict_low: bool = False, below: float | None = None) -> float:
    """A finite real scalar >= low (> low with strict_low), and < below when given."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a real number, got {type(value).__name__} {value!r}"[:160])
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"`{name}` must be finite, got {value!r}")
    if v < low or (strict_low and v == low):
        raise ValueError(f"`{name}` must be {'>' if strict_low else '>='} {low}, got {value!r}")
    if below is not None and v >= below:
        raise ValueError(f"`{name}` must be < {below}, got {value!r}")
    return v


def _check_int(value: Any, name: str, low: int) -> int:
    if isinstance(value, bool):
        raise TypeError(f"`{name}` must be an integer >= {low}, got {value!r}")
    try:
        v = operator.index(value)
    except TypeError:
        raise TypeError(f"`{name}` must be an integer >= {low}, got {type(value).__name__} {value!r}"[:160]) from None
    if v < low:
        raise ValueError(f"`{name}` must be >= {low}, got {v}")
    if v > _INT64_MAX:
        raise ValueError(f"`{name}` must be at most 2**63 - 1, got {v}")
    return v


@dataclass(frozen=True)
class Config:
    """Every option of a run.

    The options left at None (optimizer, lr, gen_lr, betas, n_critic,
    n_critic_boost, hidden) take the published settings of the run's method (:attr:`method`, see
    :data:`METHOD_DEFAULTS`) when the Config is made, so a Config, and the
    config.json saved from it, always holds the values the run uses. (So
    ``dataclasses.replace(cfg, lipschitz=...)`` keeps cfg's optimizer: build a
    new Config to get another method's defaults.)

    Attributes
    ----------
    dataset : one of DATASETS; ignored when ``data`` is given.
    data : path of an (n, d) ``.npy`` array to learn instead of a built-in dataset.
    loss : "wgan" (Algorithm 1) or "gan" (the standard GAN, minimax loss
        log D(x) + log(1 - D(G(z))), the Jensen-Shannon baseline; no Lipschitz
        constraint is applied to its discriminator).
    lipschitz : "clip" (weights clipped to [-clip, clip], Arjovsky et al. 2017),
        "spectral" (every critic layer divided by its spectral norm, Miyato et
        al. 2018) or "gp" (gradient penalty gp_lambda * (|grad f| - 1)^2,
        Gulrajani et al. 2017).
    optimizer : "rmsprop" or "adam", for both networks (default: the method's).
    lr : alpha, the critic's learning rate (default: the method's).
    gen_lr : the generator's learning rate (default: the method's ratio
        gen_lr / lr times lr: lr itself for clip, spectral and the GAN,
        lr / 5 for gp).
    betas : Adam's (beta_1, beta_2) (default: the method's when it uses Adam,
        else Kingma & Ba's (0.9, 0.999)); must be None with RMSProp.
    clip : c, the clipping bound (lipschitz="clip").
    gp_lambda : the gradient penalty's weight (lipschitz="gp").
    n_critic : critic steps per generator step (default: the method's).
    n_critic_boost : critic steps (instead of n_critic) for the first 25 generator
        iterations and every 500th, as in the WGAN paper's code (so the critic
        is near its optimum when its estimate matters most); 0 gives a
        constant n_critic (default: 100 for clip, 0 for the others).
    batch : m, the batch size.
    hidden : width of the three hidden layers of the generator and the critic
        (default: the method's: 128 for gp, 64 for the others).
    z_dim : dimension of the prior z ~ N(0, I).
    iters : total generator iterations (a resumed run continues up to it).
    eval_every : evaluate every this many generator iterations (and at 0 and the end).
    eval_samples : generated and real samples in each evaluation.
    seed : seeds initialization, training samples and evaluation samples.
    out : output directory (metrics.csv, config.json, checkpoint.npz, plots).
    device : "cpu" (NumPy) or "cuda": both networks, their optimizer states and
        every training batch live on the GPU as CuPy arrays (batches are drawn
        from the same NumPy random streams as on the CPU, then copied: a few
        hundred bytes per step), and the evaluation runs there too except the
        exact W1, whose two sample sets are copied to the CPU solver.
    """

    dataset: str = "8gaussians"
    data: str | None = None
    loss: str = "wgan"
    lipschitz: str = "clip"
    optimizer: str | None = None
    lr: float | None = None
    gen_lr: float | None = None
    betas: tuple[float, float] | None = None
    clip: float = 0.01
    gp_lambda: float = 10.0
    n_critic: int | None = None
    n_critic_boost: int | None = None
    batch: int = 64
    hidden: int | None = None
    z_dim: int = 2
    iters: int = 3000
    eval_every: int = 100
    eval_samples: int = 2000
    seed: int = 0
    out: str = "wgan_run"
    device: str = "cpu"

    @property
    def method(self) -> str:
        """"gan" for the GAN loss, else the Lipschitz method: the key of :data:`METHOD_DEFAULTS`."""
        return "gan" if self.loss == "gan" else self.lipschitz

    def describe(self) -> str:
        """One line: the method and the optimizer settings this run uses."""
        name = "GAN (minimax loss)" if self.loss == "gan" else f"WGAN, --lipschitz {self.lipschitz}"
        extra = {"clip": f", c {self.clip:g}", "gp": f", lambda {self.gp_lambda:g}", "spectral": ""}
        opt = f"{'Adam' if self.optimizer == 'adam' else 'RMSProp'} lr {self.lr:g}"
        if self.gen_lr != self.lr:
            opt += f" (generator {self.gen_lr:g})"
        if self.betas is not None:
            opt += f" betas ({self.betas[0]:g}, {self.betas[1]:g})"
        boost = f" ({self.n_critic_boost} early and every 500th)" if self.n_critic_boost else ""
        return (f"{name}: {opt}, n_critic {self.n_critic}{boost}"
                f"{'' if self.loss == 'gan' else extra[self.lipschitz]}, batch {self.batch}, hidden {self.hidden}")

    def __post_init__(self) -> None:
        _check_choice(self.dataset, "dataset", DATASETS)
        _check_choice(self.loss, "loss", LOSSES)
        _check_choice(self.lipschitz, "lipschitz", LIPSCHITZ)
        _check_choice(self.device, "device", DEVICES)
        if self.optimizer is not None:
            _check_choice(self.optimizer, "optimizer", OPTIMIZERS)
        if self.data is not None and not isinstance(self.data, str):
            raise TypeError(f"`data` must be a path string or None, got {type(self.data).__name__}")
        if not isinstance(self.out, str) or not self.out:
            raise ValueError(f"`out` must be a nonempty path string, got {self.out!r}")
        self._resolve_defaults()
        _check_real(self.lr, "lr", low=0.0, strict_low=True)
        _check_real(self.gen_lr, "gen_lr", low=0.0, strict_low=True)
        if self.betas is not None:
            if isinstance(self.betas, (str, bytes)) or not hasattr(self.betas, "__len__") or len(self.betas) != 2:
                raise TypeError(f"`betas` must be two numbers (beta_1, beta_2), got {self.betas!r}"[:160])
            # Adam's moment decays: in [0, 1), as torch.optim.Adam requires.
            betas = tuple(_check_real(b, "betas", low=0.0, below=1.0) for b in self.betas)
            object.__setattr__(self, "betas", betas)
        _check_real(self.clip, "clip", low=0.0, strict_low=True)
        _check_real(self.gp_lambda, "gp_lambda", low=0.0)
        _check_int(self.n_critic_boost, "n_critic_boost", 0)
        for name in ("n_critic", "batch", "hidden", "z_dim", "iters", "eval_every", "eval_samples"):
            _check_int(getattr(self, name), name, 1)
        # Sizes that only end in a MemoryError (or the kernel's OOM killer): the
        # exact W1 of each evaluation solves an eval_samples^2 transport problem.
        for name, most in (("eval_samples", 20_000), ("batch", 1 << 20), ("hidden", 1 << 14), ("z_dim", 1 << 14)):
            if getattr(self, name) > most:
                raise ValueError(f"`{name}` must be at most {most}, got {getattr(self, name)}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"`seed` must be an integer >= 0, got {self.seed!r}")

    def overridden(self) -> list[str]:
        """The training settings that differ from the method's published ones (:data:`METHOD_DEFAULTS`)."""
        d = METHOD_DEFAULTS[self.method]
        # the betas the optimizer gets when none are given (see _resolve_defaults)
        if self.optimizer == d.optimizer:
            implied = d.betas
        else:
            implied = (0.9, 0.999) if self.optimizer == "adam" else None
        published = {"optimizer": d.optimizer, "lr": d.lr, "gen_lr": d.lr if d.gen_lr is None else d.gen_lr,
                     "betas": implied, "n_critic": d.n_critic, "n_critic_boost": d.n_critic_boost, "hidden": d.hidden}
        # the method's own constant, at its paper's value by default (c 0.01, lambda 10)
        own = {"clip": "clip", "gp": "gp_lambda"}.get(self.method)
        if own is not None:
            published[own] = Config.__dataclass_fields__[own].default
        return [n for n, v in published.items() if getattr(self, n) != v]

    def _resolve_defaults(self) -> None:
        # The fields left at None take the method's published values; the frozen
        # dataclass is filled in once, here, so what is saved is what runs.
        d = METHOD_DEFAULTS[self.method]
        optimizer = d.optimizer if self.optimizer is None else self.optimizer
        fill = {"optimizer": optimizer, "lr": d.lr, "n_critic": d.n_critic, "n_critic_boost": d.n_critic_boost,
                "hidden": d.hidden}
        for name, value in fill.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        if self.gen_lr is None and isinstance(self.lr, numbers.Real) and not isinstance(self.lr, bool):
            # the method's ratio gen_lr / lr, kept when lr is overridden (a bad lr is reported below)
            if d.gen_lr is None:
                gen_lr = self.lr
            else:
                gen_lr = d.gen_lr if self.lr == d.lr else self.lr * (d.gen_lr / d.lr)
            object.__setattr__(self, "gen_lr", gen_lr)
        if optimizer == "adam" and self.betas is None:
            # Kingma & Ba's defaults when the method's paper used another optimizer
            object.__setattr__(self, "betas", d.betas if d.optimizer == "adam" else (0.9, 0.999))
        if optimizer == "rmsprop" and self.betas is not None:
            raise ValueError(f"`betas` applies to the adam optimizer only; got {self.betas!r} with optimizer 'rmsprop'")

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    def save(self, directory: str) -> None:
        path = os.path.join(directory, "config.json")
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(self.to_json() + "\n")
        os.replace(tmp, path)

    @classmethod
    def load(cls, directory: str) -> "Config":
        with open(os.path.join(directory, "config.json")) as f:
            raw: dict[str, Any] = json.load(f)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"config.json has unknown keys {unknown}")
        # A config.json written before --optimizer existed: every such run used RMSProp.
        raw.setdefault("optimizer", "rmsprop")
        # ... and, before gen_lr existed, one learning rate for both networks.
        raw.setdefault("gen_lr", raw.get("lr"))
        return cls(**raw)
