"""``python -m emd.wgan``: train a WGAN (clip, spectral or gp) and measure it with emd's exact W1.

Every input problem (an unknown dataset, a missing or malformed --data file, an
output directory that cannot be written, --resume without a checkpoint) is
reported as argparse does: the usage line, one error line, exit status 2, and
nothing written before the inputs are known to be good.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
import tempfile

from .config import DATASETS, DEVICES, LIPSCHITZ, LOSSES, METHOD_DEFAULTS, OPTIMIZERS, Config
from .data import load_npy


def _defaults_epilog() -> str:
    lines = ["Each method's defaults (--optimizer, --lr, --gen-lr, --betas, --n-critic, --n-critic-boost, --hidden) "
             "are its paper's (gp's networks and generator rate: measured on toy data, see docs/critic.md):"]
    for name, d in METHOD_DEFAULTS.items():
        label = "--loss gan" if name == "gan" else f"--lipschitz {name}"
        betas = f", betas {d.betas[0]:g} {d.betas[1]:g}" if d.betas else ""
        gen = "" if d.gen_lr is None else f" (generator {d.gen_lr:g})"
        lines.append(f"  {label}: {d.optimizer} lr {d.lr:g}{gen}{betas}, n_critic {d.n_critic}, "
                     f"n_critic_boost {d.n_critic_boost}, hidden {d.hidden} ({d.source.split(' (')[0]})")
    lines.append("Compare the methods on the same data and seed: python -m emd.wgan.compare")
    return "\n".join(lines)


def add_evaluation_arguments(p: argparse.ArgumentParser, d: Config) -> None:
    """--seed, --eval-every, --eval-samples: shared with python -m emd.wgan.compare."""
    p.add_argument("--seed", type=int, default=d.seed, help=f"random seed (default {d.seed})")
    p.add_argument("--eval-every", type=int, default=d.eval_every, help=f"evaluation period (default {d.eval_every})")
    p.add_argument("--eval-samples", type=int, default=d.eval_samples,
                   help=f"samples per side in each exact W1 (default {d.eval_samples})")


def build_parser() -> argparse.ArgumentParser:
    d = Config()
    p = argparse.ArgumentParser(
        prog="python -m emd.wgan",
        description="Train a Wasserstein GAN (Arjovsky et al. 2017, Algorithm 1; or its gradient-penalty or "
        "spectral-normalization variant) on a toy dataset and track the exact W1 between generated and real "
        "samples with emd.",
        epilog=_defaults_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--dataset", choices=DATASETS, default=d.dataset, help=f"built-in dataset (default {d.dataset})")
    p.add_argument("--data", metavar="PATH.npy", default=None, help="learn an (n, d) array from a .npy file instead")
    p.add_argument("--loss", choices=LOSSES, default=d.loss, help="wgan (default) or the standard gan baseline")
    p.add_argument("--lipschitz", choices=LIPSCHITZ, default=d.lipschitz,
                   help="clip (weight clipping, the WGAN paper; default), spectral (normalization) or gp (gradient penalty)")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=None,
                   help="optimizer of both networks (default: the method's, see below)")
    p.add_argument("--lr", type=float, default=None, help="the critic's learning rate alpha (default: the method's)")
    p.add_argument("--gen-lr", type=float, default=None,
                   help="the generator's learning rate (default: the method's ratio to --lr: 1, or 1/5 for gp)")
    p.add_argument("--betas", type=float, nargs=2, metavar=("BETA1", "BETA2"), default=None,
                   help="Adam's moment decays (default: the method's; 0.9 0.999 if its paper used RMSProp)")
    p.add_argument("--clip", type=float, default=d.clip, help=f"clipping bound c (default {d.clip})")
    p.add_argument("--gp-lambda", type=float, default=d.gp_lambda, help=f"gradient penalty weight (default {d.gp_lambda})")
    p.add_argument("--iters", type=int, default=None,
                   help=f"total generator iterations (default {d.iters}; with --resume, the saved run's)")
    p.add_argument("--n-critic", type=int, default=None, help="critic steps per generator step (default: the method's)")
    p.add_argument("--n-critic-boost", type=int, default=None,
                   help="critic steps for the first 25 and every 500th generator iteration, as in the WGAN paper's "
                   "code (default: 100 for clip, 0 otherwise; 0: a constant n_critic, Algorithm 1 verbatim)")
    p.add_argument("--batch", type=int, default=d.batch, help=f"batch size m (default {d.batch})")
    p.add_argument("--hidden", type=int, default=None,
                   help="hidden width of both networks (default: the method's, 128 for gp, 64 otherwise)")
    p.add_argument("--z-dim", type=int, default=d.z_dim, help=f"prior dimension (default {d.z_dim})")
    add_evaluation_arguments(p, d)
    p.add_argument("--device", choices=DEVICES, default=d.device,
                   help="cpu (default) or cuda: networks, optimizer states and batches on the GPU (needs CuPy and emd's CUDA kernels)")
    p.add_argument("--out", default=d.out, help=f"output directory (default {d.out})")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its checkpoint up to --iters (its config.json is reused)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _check_writable(out: str) -> str | None:
    """None when ``out`` exists or can be created and written; else the reason."""
    probe_dir = out
    while not os.path.exists(probe_dir):
        parent = os.path.dirname(os.path.abspath(probe_dir))
        if parent == probe_dir:
            break
        probe_dir = parent
    if not os.path.isdir(probe_dir):
        return f"--out {out!r}: {probe_dir!r} is not a directory"
    try:
        with tempfile.TemporaryFile(dir=probe_dir):
            pass
    except OSError as exc:
        return f"--out {out!r} cannot be written ({exc.strerror or exc})"
    return None


def _cuda_unavailable() -> str | None:
    """None when --device cuda can run here; else why not."""
    try:
        import cupy  # noqa: F401
    except ImportError:
        return "--device cuda needs CuPy (pip install cupy-cuda12x or cupy-cuda13x)"
    from .. import has_cuda

    if not has_cuda():
        return "--device cuda: emd's CUDA kernels are not usable here (see emd.has_cuda())"
    return None


def _option_message(exc: Exception) -> str:
    # "`n_critic` must be >= 1" -> "--n-critic must be >= 1"
    return re.sub(r"`(\w+)`", lambda m: "--" + m.group(1).replace("_", "-"), str(exc))


def parse_config(argv: list[str] | None, parser: argparse.ArgumentParser) -> tuple[Config, bool, bool]:
    args = parser.parse_args(argv)
    if args.resume:
        ckpt = os.path.join(args.out, "checkpoint.npz")
        if not os.path.isfile(ckpt) or not os.path.isfile(os.path.join(args.out, "config.json")):
            parser.error(f"--resume: no checkpoint.npz and config.json in {args.out!r}")
        try:
            saved = Config.load(args.out)
        except (ValueError, TypeError, OSError) as exc:
            parser.error(f"--resume: cannot read {args.out}/config.json ({exc})")
        try:
            iters = saved.iters if args.iters is None else args.iters
            config = dataclasses.replace(saved, iters=iters, out=args.out, device=args.device)
        except (ValueError, TypeError) as exc:
            parser.error(_option_message(exc))
    else:
        try:
            config = Config(
                dataset=args.dataset, data=args.data, loss=args.loss, lipschitz=args.lipschitz,
                optimizer=args.optimizer, lr=args.lr, gen_lr=args.gen_lr,
                betas=None if args.betas is None else tuple(args.betas),
                clip=args.clip, gp_lambda=args.gp_lambda, n_critic=args.n_critic, n_critic_boost=args.n_critic_boost, batch=args.batch,
                hidden=args.hidden, z_dim=args.z_dim, iters=Config.iters if args.iters is None else args.iters, eval_every=args.eval_every,
                eval_samples=args.eval_samples, seed=args.seed, out=args.out, device=args.device,
            )
        except (ValueError, TypeError) as exc:
            parser.error(_option_message(exc))
    if config.data is not None:
        try:
            load_npy(config.data)
        except ValueError as exc:
            parser.error(str(exc))
    if config.device == "cuda":
        reason = _cuda_unavailable()
        if reason:
            parser.error(reason)
    reason = _check_writable(config.out)
    if reason:
        parser.error(reason)
    return config, args.resume, args.no_progress


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    config, resume, no_progress = parse_config(argv, parser)
    from .train import ResumeError, train

    try:
        train(config, resume=resume, progress=False if no_progress else None)
    except FloatingPointError as exc:
        print(f"python -m emd.wgan: {exc}", file=sys.stderr)
        return 1
    except ResumeError as exc:
        print(f"python -m emd.wgan: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # --out itself (a name too long, a disk full): what the probe could not foresee
        print(f"python -m emd.wgan: error: cannot write the run to {config.out!r}: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print("python -m emd.wgan: error: out of memory; lower --batch, --hidden, --z-dim or --eval-samples", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted; the last checkpoint is in " + config.out, file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
