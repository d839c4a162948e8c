"""The trainer's options: one frozen dataclass, checked in one place, saved as config.json."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from typing import Any

from .._validation import check_choice, check_positive_int, check_real

__all__ = ["Config", "DATASETS", "LOSSES", "LIPSCHITZ", "DEVICES"]

DATASETS = ("8gaussians", "25gaussians", "swissroll", "rings", "parallel_lines")
LOSSES = ("wgan", "gan")
LIPSCHITZ = ("clip", "spectral", "gp")
DEVICES = ("cpu", "cuda")


@dataclass(frozen=True)
class Config:
    """Every option of a run. Defaults: the paper's (alpha, c, m, n_critic, RMSProp).

    Attributes
    ----------
    dataset : one of DATASETS; ignored when ``data`` is given.
    data : path of an (n, d) ``.npy`` array to learn instead of a built-in dataset.
    loss : "wgan" (Algorithm 1) or "gan" (the standard GAN, minimax loss
        log D(x) + log(1 - D(G(z))), the Jensen-Shannon baseline; no Lipschitz
        constraint is applied to its discriminator).
    lipschitz : "clip" (weights clipped to [-clip, clip], the paper), "spectral"
        (every critic layer divided by its spectral norm, Miyato et al. 2018) or
        "gp" (gradient penalty gp_lambda * (|grad f| - 1)^2, Gulrajani et al. 2017).
    lr : alpha, the RMSProp learning rate of both networks, in every mode (the gp
        and gan modes keep Algorithm 1's optimizer and critic schedule).
    clip : c, the clipping bound.
    gp_lambda : the gradient penalty's weight.
    n_critic : critic steps per generator step.
    n_critic_boost : critic steps (instead of n_critic) for the first 25 generator
        iterations and every 500th, as in the paper's code (so the critic is near
        its optimum when its estimate matters most), in every mode; 0 gives
        Algorithm 1 verbatim.
    batch : m, the batch size.
    hidden : width of the three hidden layers of the generator and the critic.
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
    lr: float = 5e-5
    clip: float = 0.01
    gp_lambda: float = 10.0
    n_critic: int = 5
    n_critic_boost: int = 100
    batch: int = 64
    hidden: int = 64
    z_dim: int = 2
    iters: int = 3000
    eval_every: int = 100
    eval_samples: int = 2000
    seed: int = 0
    out: str = "wgan_run"
    device: str = "cpu"

    def __post_init__(self) -> None:
        check_choice(self.dataset, "dataset", DATASETS)
        check_choice(self.loss, "loss", LOSSES)
        check_choice(self.lipschitz, "lipschitz", LIPSCHITZ)
        check_choice(self.device, "device", DEVICES)
        if self.data is not None and not isinstance(self.data, str):
            raise TypeError(f"`data` must be a path string or None, got {type(self.data).__name__}")
        if not isinstance(self.out, str) or not self.out:
            raise ValueError(f"`out` must be a nonempty path string, got {self.out!r}")
        check_real(self.lr, "lr", low=0.0, strict_low=True)
        check_real(self.clip, "clip", low=0.0, strict_low=True)
        check_real(self.gp_lambda, "gp_lambda", low=0.0)
        if isinstance(self.n_critic_boost, bool) or not isinstance(self.n_critic_boost, int) or self.n_critic_boost < 0:
            raise ValueError(f"`n_critic_boost` must be an integer >= 0, got {self.n_critic_boost!r}")
        for name in ("n_critic", "batch", "hidden", "z_dim", "iters", "eval_every", "eval_samples"):
            check_positive_int(getattr(self, name), name)
        # Sizes that only end in a MemoryError (or the kernel's OOM killer): the
        # exact W1 of each evaluation solves an eval_samples^2 transport problem.
        for name, most in (("eval_samples", 20_000), ("batch", 1 << 20), ("hidden", 1 << 14), ("z_dim", 1 << 14)):
            if getattr(self, name) > most:
                raise ValueError(f"`{name}` must be at most {most}, got {getattr(self, name)}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"`seed` must be an integer >= 0, got {self.seed!r}")

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
        return cls(**raw)
