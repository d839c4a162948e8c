r"""Algorithm 1 of the WGAN paper, measured with emd's exact distances.

The loop, with the paper's symbols (alpha = lr, c = clip, m = batch)::

    while theta has not converged:                       # for t in range(iters)
        for t in 0, ..., n_critic:                       # (n_critic_boost early and every 500th)
            sample {x_i} ~ P_r and {z_i} ~ p(z), i = 1..m
            g_w <- grad_w [1/m sum f_w(x_i) - 1/m sum f_w(g_theta(z_i))]
            w <- w + alpha RMSProp(w, g_w)               # ascent on the KR estimate
            w <- clip(w, -c, c)
        sample {z_i} ~ p(z)
        g_theta <- -grad_theta 1/m sum f_w(g_theta(z_i))
        theta <- theta - alpha RMSProp(theta, g_theta)

The other Lipschitz methods change one line each and their optimizer: "gp"
(Gulrajani et al. 2017, Algorithm 1) adds lambda (|grad f(x_hat)| - 1)^2 to
the critic's loss instead of clipping, "spectral" (Miyato et al. 2018) divides
every critic layer by its spectral norm; each trains by default with the
optimizer, learning rate and n_critic of its paper (config.METHOD_DEFAULTS;
gp's networks are wider and its generator slower than the critic, measured
in docs/critic.md),
and "gan" (--loss gan) is the standard GAN, for contrast.

Every ``eval_every`` generator iterations the run measures, on fixed held-out
samples: the exact W1 between ``eval_samples`` generated and real samples
(``emd.wasserstein``), the sliced W2, the critic's estimate (the KR estimate
by emd's fused kernel; the logged critic loss is its negative on the training
batch in the clip and spectral modes, plus the penalty in the gp mode), and
mode coverage on the mixtures. The summary holds the estimate against the
exact W1 over the run: their Spearman and Pearson correlations and, for the
critics meant to be 1-Lipschitz (gp, spectral), the ratio estimate / W1.
Reference: M. Arjovsky, S. Chintala, L. Bottou, "Wasserstein generative
adversarial networks", ICML 2017, Algorithm 1.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
import zipfile
from typing import Any, Callable

import numpy as np

from .. import clip_weights, critic_forward, kr_estimate, sliced_wasserstein
from ._blas import one_blas_thread
from .config import METHOD_DEFAULTS, Config
from .data import load_npy, make_dataset, user_dataset
from .models import Critic, LineGenerator, MLPGenerator, mlp_backward, to_device
from .optim import make_optimizer

__all__ = ["train", "summarize", "spearman", "pearson", "estimate_ratio_applies", "METRIC_FIELDS"]

# Where the README points for the methods side by side.
COMPARE_HINT = "python -m emd.wgan.compare (table in docs/critic.md)"

METRIC_FIELDS = [
    "iter", "wall_s", "w1_exact", "sliced_w2", "critic_estimate", "critic_loss", "gen_loss",
    "gen_grad_norm", "modes_covered", "high_quality", "theta",
]


def _paired(a: Any, b: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"{name} needs two 1-D arrays of equal length, got {a.shape} and {b.shape}")
    return a, b


def _centred_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """sum(a' b') / sqrt(sum a'^2 sum b'^2) of the centred a', b'; nan when either is constant."""
    da, db = a - a.mean(), b - b.mean()
    den = np.sqrt((da * da).sum() * (db * db).sum())
    return float((da * db).sum() / den) if den > 0 else float("nan")


def spearman(a: Any, b: Any) -> float:
    """Spearman's rank correlation (average ranks for ties), with numpy only; nan if undefined."""
    a, b = _paired(a, b, "spearman")
    if len(a) < 2:
        return float("nan")

    def ranks(x: np.ndarray) -> np.ndarray:
        order = np.argsort(x, kind="stable")
        r = np.empty(len(x))
        r[order] = np.arange(len(x), dtype=np.float64)
        # ties share the mean of their ranks
        _, inv, counts = np.unique(x, return_inverse=True, return_counts=True)
        sums = np.bincount(inv, weights=r)
        return sums[inv] / counts[inv]

    return _centred_cosine(ranks(a), ranks(b))  # Pearson's correlation of the ranks


def pearson(a: Any, b: Any) -> float:
    """Pearson's linear correlation, with numpy only; nan if undefined (fewer than 2 points, or a constant)."""
    a, b = _paired(a, b, "pearson")
    return _centred_cosine(a, b) if len(a) >= 2 else float("nan")


def estimate_ratio_applies(config: Config) -> bool:
    """Whether the critic is meant to be 1-Lipschitz, so that its KR estimate
    should approach the exact W1 itself (gp, spectral), not a multiple of it
    (clip: K-Lipschitz for an unknown K) or another quantity (the GAN)."""
    return config.loss == "wgan" and config.lipschitz in ("gp", "spectral")


def _running_median(x: np.ndarray, k: int) -> np.ndarray:
    h = k // 2
    return np.array([np.median(x[max(0, i - h) : i + h + 1]) for i in range(len(x))])


class _Progress:
    """A one-line progress bar on stderr (iteration, it/s, ETA, last exact W1); quiet when not a terminal."""

    def __init__(self, total: int, start: int, enabled: bool):
        self.total, self.start, self.enabled = total, start, enabled
        self.t0 = time.perf_counter()
        self.last = 0.0

    def update(self, it: int, w1: float, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if not force and now - self.last < 0.2:
            return
        self.last = now
        done = it - self.start
        rate = done / max(now - self.t0, 1e-9)
        eta = (self.total - it) / rate if rate > 0 else float("inf")
        width = 30
        filled = int(width * it / max(self.total, 1))
        bar = "#" * filled + "-" * (width - filled)
        sys.stderr.write(f"\r[{bar}] {it}/{self.total}  {rate:6.1f} it/s  ETA {eta:6.1f} s  W1 {w1:.4f} ")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _prior(rng: np.random.Generator, m: int, config: Config) -> np.ndarray:
    if config.dataset == "parallel_lines" and config.data is None:
        return rng.uniform(size=(m, 1))  # the paper's Z ~ U[0, 1]
    return rng.standard_normal((m, config.z_dim))


class _Run:
    """The state of a run: networks, optimizers, random streams, fixed evaluation samples."""

    def __init__(self, config: Config):
        self.config = config
        init_ss, train_ss, eval_ss, data_ss = np.random.SeedSequence(config.seed).spawn(4)
        init_rng = np.random.default_rng(init_ss)
        self.rng = np.random.default_rng(train_ss)
        eval_rng = np.random.default_rng(eval_ss)
        if config.data is not None:
            self.dataset, held = user_dataset(load_npy(config.data), np.random.default_rng(data_ss))
            if len(held) >= config.eval_samples:
                self.eval_real = held[: config.eval_samples]
            else:  # fewer held-out rows than evaluation samples: draw them with replacement
                self.eval_real = held[eval_rng.integers(0, len(held), size=config.eval_samples)]
        else:
            self.dataset = make_dataset(config.dataset)
            self.eval_real = self.dataset.sample(eval_rng, config.eval_samples)
        self.eval_z = _prior(eval_rng, config.eval_samples, config)
        d = self.dataset.dim
        h = config.hidden
        self.critic = Critic([d, h, h, h, 1], init_rng, lipschitz=config.lipschitz if config.loss == "wgan" else "none")
        if self.dataset.name == "parallel_lines":
            self.generator: Any = LineGenerator(1.0)
        else:
            self.generator = MLPGenerator(config.z_dim, h, d, init_rng)
        # --device cuda: both networks (and below, their optimizer states and
        # every batch) as CuPy arrays; initialized by the same NumPy streams.
        self.xp = np
        if config.device == "cuda":
            import cupy

            self.xp = cupy
            to_device(self.critic, cupy)
            to_device(self.generator, cupy)
        self.eval_real_dev = self.xp.asarray(self.eval_real)
        self.eval_z_dev = self.xp.asarray(self.eval_z)
        # one optimizer of the same kind and settings per network, as in the papers
        self.opt_critic = make_optimizer(config.optimizer, self.critic.params, config.lr, config.betas)
        self.opt_gen = make_optimizer(config.optimizer, self.generator.params, config.gen_lr, config.betas)
        self.iteration = 0
        self.last_critic_loss = float("nan")
        self.last_gen_loss = float("nan")
        self.last_gen_grad = float("nan")

    # -- Algorithm 1 --------------------------------------------------------
    def critic_steps(self) -> int:
        # The paper's code trains the critic longer at the start and every 500
        # generator iterations (Diters = 100 there, whatever n_critic is);
        # n_critic_boost = 0 keeps Algorithm 1's constant n_critic.
        cfg, t = self.config, self.iteration
        if cfg.n_critic_boost and (t < 25 or t % 500 == 0):
            return cfg.n_critic_boost
        return cfg.n_critic

    def critic_step(self) -> None:
        cfg, m = self.config, self.config.batch
        x = self.xp.asarray(self.dataset.sample(self.rng, m))  # {x_i} ~ P_r
        z = self.xp.asarray(_prior(self.rng, m, cfg))  # {z_i} ~ p(z)
        fake, _ = self.generator.forward(z)
        if self.critic.lipschitz == "spectral":
            self.critic.update_spectral()
        loss, grads = self.critic.loss_and_grads(x, fake, loss=cfg.loss, gp_lambda=cfg.gp_lambda, rng=self.rng)
        self._check_finite("critic", loss, grads)
        self.opt_critic.step(self.critic.params, grads)  # w <- w + alpha RMSProp(w, g_w) (or Adam)
        if self.critic.lipschitz == "clip":
            if self.xp is np:
                clip_weights(self.critic.as_view(), cfg.clip)  # w <- clip(w, -c, c)
            else:
                for p in self.critic.params:
                    self.xp.clip(p, -cfg.clip, cfg.clip, out=p)
        self.last_critic_loss = loss

    def _check_finite(self, which: str, loss: float, grads: list[np.ndarray]) -> None:
        if self.xp is np:
            finite = all(np.isfinite(g).all() for g in grads)
        else:  # one device reduction, one value read back
            finite = bool(self.xp.stack([self.xp.isfinite(g).all() for g in grads]).all())
        if not (np.isfinite(loss) and finite):
            raise FloatingPointError(
                f"training diverged at iteration {self.iteration}: the {which} loss or gradient is not finite "
                f"(loss {loss}); {self._advice()}"
            )

    def _advice(self) -> str:
        cfg = self.config
        gp = f" or --gp-lambda (now {cfg.gp_lambda})" if cfg.lipschitz == "gp" else ""
        return f"lower --lr (now {cfg.lr}){gp}"

    def generator_step(self) -> None:
        cfg, m = self.config, self.config.batch
        z = self.xp.asarray(_prior(self.rng, m, cfg))
        fake, gcache = self.generator.forward(z)
        if self.critic.lipschitz == "spectral":
            self.critic.update_spectral()
        f, ccache = self.critic.forward(fake)
        if cfg.loss == "wgan":
            loss = -f.mean()  # descend -1/m sum f_w(g_theta(z_i))
            g = self.xp.full(m, -1.0 / m)
        else:
            # the minimax (Jensen-Shannon) generator loss: mean log(1 - D(g(z))) = -mean softplus(f)
            loss = -np.logaddexp(0.0, f).mean()
            g = -0.5 * (1.0 + np.tanh(0.5 * f)) / m
        _, _, gx = mlp_backward(self.critic.effective_weights(), self.critic.slope, ccache, g[:, None])
        grads = self.generator.backward(gcache, gx)
        self._check_finite("generator", float(loss), grads)
        self.opt_gen.step(self.generator.params, grads)
        self.last_gen_loss = float(loss)
        self.last_gen_grad = float(np.sqrt(sum(float((q * q).sum()) for q in grads)))

    # -- evaluation ---------------------------------------------------------
    def evaluate(self, w1_fn: Callable[[np.ndarray, np.ndarray], float], wall: float) -> dict[str, Any]:
        fake_dev, _ = self.generator.forward(self.eval_z_dev)
        real_dev = self.eval_real_dev
        # The exact W1 runs on the CPU: only the generated samples are copied there (--device cuda).
        fake, real = self._host(fake_dev), self.eval_real
        if not np.isfinite(fake).all():  # an update with finite gradients can still overflow the parameters
            raise FloatingPointError(
                f"training diverged at iteration {self.iteration}: the generator's samples are not finite; "
                f"{self._advice()}"
            )
        w1 = float(w1_fn(fake, real))
        sw2 = sliced_wasserstein(fake_dev, real_dev, p=2.0, n_projections=128, seed=0)
        critic = self.critic.as_mlp_critic()
        if self.config.loss == "wgan":
            estimate = kr_estimate(critic, real_dev, fake_dev)
        else:
            # the discriminator's negated cross-entropy on the evaluation samples
            fr, ff = critic_forward(critic, real_dev), critic_forward(critic, fake_dev)
            estimate = -float(np.logaddexp(0.0, -fr).mean() + np.logaddexp(0.0, ff).mean())
        row: dict[str, Any] = {
            "iter": self.iteration, "wall_s": round(wall, 3), "w1_exact": w1, "sliced_w2": sw2,
            "critic_estimate": estimate, "critic_loss": self.last_critic_loss, "gen_loss": self.last_gen_loss,
            "gen_grad_norm": self.last_gen_grad, "modes_covered": "", "high_quality": "", "theta": "",
        }
        if self.dataset.num_modes:
            covered, hq = self.dataset.mode_coverage(fake)
            row["modes_covered"], row["high_quality"] = covered, hq
        if isinstance(self.generator, LineGenerator):
            row["theta"] = float(self.generator.theta[0])
        return row

    # -- checkpoints --------------------------------------------------------
    def state_arrays(self) -> dict[str, np.ndarray]:
        arrays: dict[str, np.ndarray] = {"iteration": np.asarray(self.iteration)}
        for prefix, net, opt in (("critic", self.critic, self.opt_critic), ("gen", self.generator, self.opt_gen)):
            for i, p in enumerate(net.params):
                arrays[f"{prefix}_p{i}"] = self._host(p)
            for key, bufs in opt.buffers().items():  # RMSProp: v; Adam: m and v
                for i, b in enumerate(bufs):
                    arrays[f"{prefix}_{key}{i}"] = self._host(b)
            arrays[f"{prefix}_t"] = np.asarray(opt.t)
        for i, u in enumerate(self.critic.u):
            if u is not None:
                arrays[f"critic_u{i}"] = self._host(u)
        arrays["rng_state"] = np.asarray(json.dumps(self.rng.bit_generator.state))
        arrays["last"] = np.array([self.last_critic_loss, self.last_gen_loss, self.last_gen_grad])
        return arrays

    def _host(self, a: Any) -> np.ndarray:
        return a if self.xp is np else self.xp.asnumpy(a)

    def load_state(self, path: str) -> None:
        with np.load(path, allow_pickle=False) as f:
            self.iteration = int(f["iteration"])
            for prefix, net, opt in (("critic", self.critic, self.opt_critic), ("gen", self.generator, self.opt_gen)):
                for i, p in enumerate(net.params):
                    p[...] = self.xp.asarray(f[f"{prefix}_p{i}"])
                for key, bufs in opt.buffers().items():
                    for i, b in enumerate(bufs):
                        b[...] = self.xp.asarray(f[f"{prefix}_{key}{i}"])
                # Adam's bias correction needs the step count; checkpoints from
                # before it was saved are RMSProp's, which does not use it.
                opt.t = int(f[f"{prefix}_t"]) if f"{prefix}_t" in f.files else 0
            for i in range(len(self.critic.u)):
                if f"critic_u{i}" in f.files:
                    self.critic.u[i] = self.xp.array(f[f"critic_u{i}"])
            self.rng.bit_generator.state = json.loads(str(f["rng_state"]))
            self.last_critic_loss, self.last_gen_loss, self.last_gen_grad = (float(t) for t in f["last"])
        if self.critic.lipschitz == "spectral" and self.critic.u[0] is not None:
            # sigma and v as they were after the last step: recompute from the saved u without moving it
            for l, W in enumerate(self.critic.weights):
                u = self.critic.u[l]
                wtu = W.T @ u
                self.critic.v[l] = wtu / max(float(self.xp.linalg.norm(wtu)), np.finfo(np.float64).tiny)
                self.critic.sigma[l] = float(u @ W @ self.critic.v[l])

    def save_checkpoint(self, out: str) -> None:
        path = os.path.join(out, "checkpoint.npz")
        tmp = os.path.join(out, "checkpoint.tmp.npz")
        np.savez(tmp, **self.state_arrays())
        os.replace(tmp, path)


class ResumeError(ValueError):
    """A run directory whose checkpoint or metrics cannot be read back."""


def _write_plots(out: str, run: _Run, rows: list[dict[str, Any]]) -> str | None:
    """PNG plots in ``out``; returns a note instead when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed: no plots written (pip install 'emd[plot]' to get them)"
    fake_dev, _ = run.generator.forward(run.eval_z_dev)
    fake = run._host(fake_dev)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(run.eval_real[:, 0], run.eval_real[:, -1], s=3, alpha=0.5, label="real")
    ax.scatter(fake[:, 0], fake[:, -1], s=3, alpha=0.5, label="generated")
    ax.legend()
    ax.set_title(f"iteration {run.iteration}")
    fig.savefig(os.path.join(out, "samples.png"), dpi=120)
    plt.close(fig)
    it = [int(r["iter"]) for r in rows]
    fig, ax = plt.subplots(figsize=(6, 4))
    (l1,) = ax.plot(it, [float(r["w1_exact"]) for r in rows], label="exact W1 (emd)")
    ax2 = ax.twinx()
    # from iteration 1 on: the untrained critic's estimate at 0 would set the scale
    trained = [(i, float(r["critic_estimate"])) for i, r in zip(it, rows) if i > 0]
    (l2,) = ax2.plot([t[0] for t in trained], [t[1] for t in trained], color="C1", label="critic estimate")
    ax.set_xlabel("generator iteration")
    ax.set_ylabel("exact W1")
    ax2.set_ylabel("critic estimate")
    ax.legend(handles=[l1, l2], loc="upper right")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "curves.png"), dpi=120)
    plt.close(fig)
    return None


def _read_metrics(path: str) -> list[dict[str, Any]]:
    # Rows stay as written (strings), so a resumed run rewrites them byte for byte.
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _default_w1(x: np.ndarray, y: np.ndarray) -> float:
    from .. import wasserstein

    return wasserstein(x, y)


def train(
    config: Config,
    *,
    resume: bool = False,
    w1_fn: Callable[[np.ndarray, np.ndarray], float] | None = None,
    progress: bool | None = None,
    log: Callable[[str], None] | None = print,
) -> dict[str, Any]:
    """Train a (W)GAN by Algorithm 1 (or its gp / spectral variant) and evaluate it with exact distances.

    Parameters
    ----------
    config : Config
    resume : bool
        Continue from ``config.out``/checkpoint.npz up to ``config.iters``.
    w1_fn : callable (x, y) -> float, optional
        The exact W1 used in the evaluations; default ``emd.wasserstein``.
    progress : bool, optional
        Show the progress bar; default: when stderr is a terminal.
    log : callable or None
        Where the start and end lines go (default ``print``).

    Returns
    -------
    dict
        The summary also written to ``summary.json`` (see :func:`summarize`):
        the method, initial and final exact W1, the Spearman and Pearson
        correlations between the critic's estimate and the exact W1 over the
        evaluations after iteration 0, for gp and spectral the ratio
        estimate / exact W1 (at the end, median and range over the run), the
        final metrics row, wall time.
    """
    w1_fn = _default_w1 if w1_fn is None else w1_fn
    out = config.out
    os.makedirs(out, exist_ok=True)
    run = _Run(config)
    metrics_path = os.path.join(out, "metrics.csv")
    rows: list[dict[str, Any]] = []
    if resume:
        try:
            run.load_state(os.path.join(out, "checkpoint.npz"))
            if os.path.exists(metrics_path):
                rows = [r for r in _read_metrics(metrics_path) if int(r["iter"]) <= run.iteration]
        except (ValueError, KeyError, TypeError, IndexError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise ResumeError(f"--resume: the run in {out!r} cannot be resumed ({type(exc).__name__}: {exc})") from exc
    config.save(out)
    with open(metrics_path, "w", newline="") as f:  # rewritten from the kept rows, then appended
        writer = csv.DictWriter(f, fieldnames=METRIC_FIELDS)
        writer.writeheader()
        for r in rows:
            writer.writerow(r)
    show = sys.stderr.isatty() if progress is None else progress
    t0 = time.perf_counter()
    wall_offset = float(rows[-1]["wall_s"]) if rows else 0.0

    def record(row: dict[str, Any]) -> None:
        rows.append(row)
        with open(metrics_path, "a", newline="") as f:
            csv.DictWriter(f, fieldnames=METRIC_FIELDS).writerow(row)

    if not rows:
        record(run.evaluate(w1_fn, 0.0))
        if log:
            log(f"method: {config.describe()}")
            log(f"exact W1 at start (iteration 0): {rows[-1]['w1_exact']:.4f}")
    bar = _Progress(config.iters, run.iteration, show)
    blas = one_blas_thread()
    blas.__enter__()
    try:
        while run.iteration < config.iters:
            # Overflow shows up as a non-finite loss or gradient, which the steps
            # check and report themselves (FloatingPointError), not as warnings.
            with np.errstate(over="ignore", invalid="ignore"):
                for _ in range(run.critic_steps()):
                    run.critic_step()
                run.generator_step()
            run.iteration += 1
            if run.iteration % config.eval_every == 0 or run.iteration == config.iters:
                record(run.evaluate(w1_fn, wall_offset + time.perf_counter() - t0))
                run.save_checkpoint(out)
            bar.update(run.iteration, float(rows[-1]["w1_exact"]), force=run.iteration == config.iters)
    finally:
        blas.__exit__(None, None, None)
        bar.close()
    if not os.path.exists(os.path.join(out, "checkpoint.npz")):
        run.save_checkpoint(out)
    summary = summarize(config, rows)
    note = _write_plots(out, run, rows)
    summary["plots"] = note or "samples.png, curves.png"
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2, default=float)
    if log:
        last = rows[-1]
        log(f"exact W1 at end (iteration {run.iteration}): {summary['w1_final']:.4f} "
            f"({summary['w1_ratio']:.2f} of the start)")
        n_trained = summary["evaluations"] - 1
        log(f"critic estimate vs exact W1 over the {n_trained} evaluations after iteration 0: "
            f"Spearman {summary['spearman_estimate_vs_w1']:.3f} "
            f"({summary['spearman_median5']:.3f} after a running median over 5), "
            f"Pearson {summary['pearson_estimate_vs_w1']:.3f}")
        if "estimate_ratio_final" in summary:
            lo, hi = summary["estimate_ratio_range"]
            log(f"critic estimate / exact W1 (1 for a 1-Lipschitz critic at its optimum): "
                f"{summary['estimate_ratio_final']:.3f} at the end, median {summary['estimate_ratio_median']:.3f} "
                f"over the run (range {lo:.3f} to {hi:.3f})")
        if run.dataset.num_modes:
            log(f"modes covered: {last['modes_covered']}/{run.dataset.num_modes}, "
                f"high-quality fraction: {float(last['high_quality']):.3f}")
        if isinstance(run.generator, LineGenerator):
            log(f"theta: {float(last['theta']):.4f}")
        log(f"this run: {config.describe()}")
        changed = config.overridden()
        log(f"  (published settings: {METHOD_DEFAULTS[config.method].source}"
            f"{'; overridden here: ' + ', '.join(changed) if changed else ''})")
        log(f"metrics in {os.path.join(out, 'metrics.csv')}; every method on the same data and seed: {COMPARE_HINT}")
        if note:
            log(note)
    return summary


def summarize(config: Config, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The summary of a run from its metrics rows (dicts as written to metrics.csv).

    The critic at iteration 0 has not been trained: its estimate says nothing
    yet, so the correlations and ratios run over the evaluations after it.
    """
    w1 = np.array([float(r["w1_exact"]) for r in rows])
    trained = np.array([float(r["iter"]) > 0 for r in rows])
    est = np.array([float(r["critic_estimate"]) for r in rows])
    summary: dict[str, Any] = {
        "config": json.loads(config.to_json()),
        "method": config.describe(),
        "evaluations": len(rows),
        "w1_initial": float(w1[0]),
        "w1_final": float(w1[-1]),
        "w1_ratio": float(w1[-1] / w1[0]) if w1[0] > 0 else float("nan"),
        "spearman_estimate_vs_w1": spearman(est[trained], w1[trained]),
        # the same after a running median over 5 evaluations of the estimate,
        # which takes out the critic's step-to-step noise but not its trend
        "spearman_median5": spearman(_running_median(est[trained], 5), w1[trained]),
        "pearson_estimate_vs_w1": pearson(est[trained], w1[trained]),
        "final": rows[-1],
        "wall_s": float(rows[-1]["wall_s"]),
    }
    if estimate_ratio_applies(config) and trained.any():
        ratio = est[trained] / w1[trained]
        summary["estimate_ratio_final"] = float(ratio[-1])
        summary["estimate_ratio_median"] = float(np.median(ratio))
        summary["estimate_ratio_range"] = [float(ratio.min()), float(ratio.max())]
    return summary
