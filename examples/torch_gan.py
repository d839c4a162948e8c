"""A generator trained with emd's optimal-transport losses, in plain PyTorch.

The "8gaussians" toy of the WGAN-GP paper: eight Gaussians of std 0.02 on a
circle of radius 2. A small MLP maps 2-D noise to points; each step draws a
batch of data and of generated points and takes one Adam step on

    emd.nn.SlicedWassersteinLoss   (default; SW_2^2 with fresh directions), or
    emd.nn.SinkhornLoss            (the debiased Sinkhorn divergence), or
    emd.nn.WassersteinLoss         (exact W_2^2 on the batch),

with no critic: the loss itself is the distance. Every ``eval_every`` steps the
exact W_1 between 2,000 generated points and 2,000 data points is computed with
emd.wasserstein (no gradient) and printed. CPU by default; pass --device cuda to
run on a GPU when emd was built with its CUDA kernels.

    python examples/torch_gan.py --steps 2000 --loss sinkhorn

Copy ``train`` into your project: it only needs torch and emd.
"""

from __future__ import annotations

import argparse
import math

import torch
from torch import nn

import emd
import emd.nn


def sample_8gaussians(n: int, generator: torch.Generator, device: str = "cpu") -> torch.Tensor:
    """n points of the 8-Gaussian mixture (radius 2, std 0.02), float32."""
    angles = torch.randint(0, 8, (n,), generator=generator) * (2 * math.pi / 8)
    centers = 2.0 * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    return (centers + 0.02 * torch.randn(n, 2, generator=generator)).to(device)


def make_generator(noise_dim: int = 2, width: int = 128) -> nn.Module:
    return nn.Sequential(
        nn.Linear(noise_dim, width), nn.ReLU(),
        nn.Linear(width, width), nn.ReLU(),
        nn.Linear(width, 2),
    )


def make_loss(name: str) -> nn.Module:
    if name == "sliced":
        return emd.nn.SlicedWassersteinLoss(n_projections=64)
    if name == "sinkhorn":
        return emd.nn.SinkhornLoss(reg=0.05)
    if name == "exact":
        return emd.nn.WassersteinLoss(p=2)
    raise ValueError(f"loss must be 'sliced', 'sinkhorn' or 'exact', got {name!r}")


def train(steps: int = 2000, loss: str = "sliced", batch: int = 256, lr: float = 1e-3, eval_every: int = 200,
          eval_points: int = 2000, seed: int = 0, device: str = "cpu", log=print) -> list[tuple[int, float]]:
    """Train a generator; returns [(step, exact W_1 between generated and data points)]."""
    torch.manual_seed(seed)
    data_rng = torch.Generator().manual_seed(seed + 1)
    eval_rng = torch.Generator().manual_seed(seed + 2)
    gen = make_generator().to(device)
    opt = torch.optim.Adam(gen.parameters(), lr=lr, betas=(0.5, 0.9))
    loss_fn = make_loss(loss)
    x_eval = sample_8gaussians(eval_points, eval_rng, device)
    z_eval = torch.randn(eval_points, 2, generator=eval_rng).to(device)
    history = []

    def evaluate(step: int) -> None:
        with torch.no_grad():
            w1 = float(emd.wasserstein(gen(z_eval), x_eval))  # exact W_1, Euclidean ground metric
        history.append((step, w1))
        log(f"step {step:6d}  exact W1(generated, data) = {w1:.4f}")

    evaluate(0)
    for step in range(1, steps + 1):
        real = sample_8gaussians(batch, data_rng, device)
        fake = gen(torch.randn(batch, 2, device=device))
        value = loss_fn(fake, real)
        opt.zero_grad(set_to_none=True)
        value.backward()
        opt.step()
        if step % eval_every == 0 or step == steps:
            evaluate(step)
    return history


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--loss", choices=("sliced", "sinkhorn", "exact"), default="sliced")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--eval-every", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    train(args.steps, args.loss, args.batch, args.lr, args.eval_every, seed=args.seed, device=args.device)


if __name__ == "__main__":
    main()
