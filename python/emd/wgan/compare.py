r"""``python -m emd.wgan.compare``: every Lipschitz method, and the GAN, on the same data and seed.

Runs the trainer once per method (``--lipschitz clip``, ``spectral``, ``gp``
and ``--loss gan`` for contrast), each with its paper's settings
(:data:`emd.wgan.config.METHOD_DEFAULTS`), on the same dataset, seed,
iteration budget and evaluation samples, and writes one table and one figure:

- the exact W1 between generated and real samples at the start and the end,
  and the first evaluation at which it is half its start or less;
- the modes covered at the end (mixtures);
- the Spearman and Pearson correlations between the critic's estimate and the
  exact W1 over the evaluations after iteration 0;
- for the critics meant to be 1-Lipschitz (gp, spectral), the ratio
  estimate / exact W1: at the end, and its median and range over the run. By
  Kantorovich-Rubinstein duality a 1-Lipschitz critic's estimate on the
  evaluation samples is at most their exact W1 (gp only penalizes slopes
  above 1, so its estimate can exceed it), and equals it at the optimum;
- the exact W1 between two independent real sample sets of the same size:
  the sampling floor below which no generator's W1 can be read.

Files in ``--out``: one run directory per method (metrics.csv, summary.json,
...), ``compare.md`` (the table), ``compare.json`` (its numbers) and, when
matplotlib is installed, ``compare.png`` (exact W1 over the run for every
method, and the estimate / W1 ratio of gp and spectral).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np

from .config import DATASETS, METHOD_DEFAULTS, Config

__all__ = ["METHODS", "MethodResult", "compare", "format_table", "main"]

METHODS = ("clip", "spectral", "gp", "gan")


@dataclass(frozen=True)
class MethodResult:
    """One method's row of the comparison (nan where a quantity does not apply).

    Attributes
    ----------
    method : "clip", "spectral", "gp" or "gan".
    settings : the optimizer settings it ran with (:meth:`Config.describe`).
    w1_start, w1_end : exact W1 at iteration 0 and at the end.
    iters_to_halve : first evaluated iteration with W1 <= w1_start / 2; -1 if none
        (the table says when W1 is above the half again at the end).
    modes_end : modes covered at the end (-1 when the dataset has no modes).
    num_modes : the dataset's modes (0 when it has none).
    spearman, pearson : of the critic's estimate against the exact W1, after iteration 0.
    ratio_end, ratio_median, ratio_min, ratio_max : estimate / exact W1 (gp, spectral only).
    wall_s : the run's wall time.
    """

    method: str
    settings: str
    w1_start: float
    w1_end: float
    iters_to_halve: int
    modes_end: int
    num_modes: int
    spearman: float
    pearson: float
    ratio_end: float
    ratio_median: float
    ratio_min: float
    ratio_max: float
    wall_s: float


def method_config(method: str, **common: Any) -> Config:
    """The Config of one method with its paper's settings and the shared options in ``common``."""
    if method not in METHODS:
        raise ValueError(f"`method` must be one of {', '.join(map(repr, METHODS))}; got {method!r}")
    if method == "gan":
        return Config(loss="gan", **common)
    return Config(loss="wgan", lipschitz=method, **common)


def iterations_to_halve(iters: list[int], w1: list[float]) -> int:
    """The first iteration whose W1 is at most half of the first one's; -1 if there is none."""
    for it, w in zip(iters, w1):
        if w <= 0.5 * w1[0]:
            return it
    return -1


def _result(method: str, config: Config, summary: dict[str, Any], rows: list[dict[str, Any]], num_modes: int) -> MethodResult:
    iters = [int(float(r["iter"])) for r in rows]
    w1 = [float(r["w1_exact"]) for r in rows]
    nan = float("nan")
    lo, hi = summary.get("estimate_ratio_range", (nan, nan))
    modes = rows[-1]["modes_covered"]
    return MethodResult(
        method=method, settings=config.describe(), w1_start=w1[0], w1_end=w1[-1],
        iters_to_halve=iterations_to_halve(iters, w1),
        modes_end=int(modes) if modes != "" else -1, num_modes=num_modes,
        spearman=summary["spearman_estimate_vs_w1"], pearson=summary["pearson_estimate_vs_w1"],
        ratio_end=summary.get("estimate_ratio_final", nan), ratio_median=summary.get("estimate_ratio_median", nan),
        ratio_min=lo, ratio_max=hi, wall_s=summary["wall_s"],
    )


def sampling_floor(dataset: str, n: int, seed: int, w1_fn: Callable[[np.ndarray, np.ndarray], float]) -> float:
    """Exact W1 between two independent n-point samples of the dataset itself.

    The trainer's W1 compares n generated with n real points, so even a perfect
    generator reads about this much: differences below it are sampling noise.
    """
    from .data import make_dataset

    ds = make_dataset(dataset)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5A11]))
    return float(w1_fn(ds.sample(rng, n), ds.sample(rng, n)))


def compare(
    out: str,
    *,
    methods: tuple[str, ...] = METHODS,
    w1_fn: Callable[[np.ndarray, np.ndarray], float] | None = None,
    progress: bool = False,
    log: Callable[[str], None] | None = print,
    **common: Any,
) -> tuple[list[MethodResult], float]:
    """Train every method in ``methods`` with the shared options ``common`` (Config fields).

    Returns the rows of the table and the sampling floor (see :func:`sampling_floor`),
    and writes compare.md, compare.json and compare.png (with matplotlib) in ``out``.
    """
    from .data import make_dataset
    from .train import _default_w1, train

    w1_fn = _default_w1 if w1_fn is None else w1_fn
    os.makedirs(out, exist_ok=True)
    configs = [method_config(m, out=os.path.join(out, m), **common) for m in methods]  # all checked before any run
    results = []
    for method, config in zip(methods, configs):
        if log:
            log(f"[{method}] {config.describe()}")
        summary = train(config, w1_fn=w1_fn, progress=progress, log=None)
        with open(os.path.join(config.out, "metrics.csv"), newline="") as f:
            rows = list(csv.DictReader(f))
        num_modes = make_dataset(config.dataset).num_modes if config.data is None else 0
        results.append(_result(method, config, summary, rows, num_modes))
        if log:
            r = results[-1]
            log(f"[{method}] exact W1 {r.w1_start:.3f} -> {r.w1_end:.3f} in {r.wall_s:.0f} s")
    first = configs[0]
    floor = sampling_floor(first.dataset, first.eval_samples, first.seed, w1_fn) if first.data is None else float("nan")
    table = format_table(results, floor, first)
    with open(os.path.join(out, "compare.md"), "w") as f:
        f.write(table + "\n")
    with open(os.path.join(out, "compare.json"), "w") as f:
        json.dump({"results": [asdict(r) for r in results], "sampling_floor": floor,
                   "shared": {k: v for k, v in json.loads(first.to_json()).items() if k in _SHARED}}, f, indent=2)
    note = _write_figure(out, results, floor)
    if log:
        log(table)
        log(note or f"figure: {os.path.join(out, 'compare.png')}")
    return results, floor


_SHARED = ("dataset", "data", "iters", "seed", "batch", "z_dim", "eval_every", "eval_samples")


def _fmt(x: float, spec: str = ".3f") -> str:
    return "-" if isinstance(x, float) and math.isnan(x) else format(x, spec)


def format_table(results: list[MethodResult], floor: float, config: Config) -> str:
    """The comparison as a Markdown table, with a line saying what was shared."""
    head = ("| method | settings (defaults; docs/critic.md says where they differ from the paper) | exact W1 start -> end | iters to halve | modes | "
            "Spearman | Pearson | estimate / W1: end | median (range) over the run | wall s |")
    lines = [head, "|" + " --- |" * 10]
    for r in results:
        label = "gan (--loss gan)" if r.method == "gan" else r.method
        settings = r.settings.split(": ", 1)[-1]
        modes = f"{r.modes_end}/{r.num_modes}" if r.num_modes else "-"
        if r.iters_to_halve < 0:
            halve = "not reached"
        elif r.w1_end > 0.5 * r.w1_start:
            halve = f"{r.iters_to_halve}, lost by the end"
        else:
            halve = str(r.iters_to_halve)
        if math.isnan(r.ratio_end):
            end, spread = "-", "-"
        else:
            end, spread = _fmt(r.ratio_end), f"{_fmt(r.ratio_median)} ({_fmt(r.ratio_min)} to {_fmt(r.ratio_max)})"
        lines.append(f"| {label} | {settings} | {r.w1_start:.3f} -> {r.w1_end:.3f} | {halve} | {modes} | "
                     f"{_fmt(r.spearman)} | {_fmt(r.pearson)} | {end} | {spread} | {r.wall_s:.0f} |")
    data = config.data or config.dataset
    lines.append("")
    lines.append(f"{data}, seed {config.seed}, {config.iters} generator iterations, batch {config.batch} "
                 f"(hidden width: each method's, in its settings); exact W1 (emd.wasserstein) between {config.eval_samples} generated and "
                 f"{config.eval_samples} held-out real samples every {config.eval_every} iterations; correlations and "
                 f"ratios over the evaluations after iteration 0.")
    if not math.isnan(floor):
        lines.append(f"Sampling floor: the exact W1 between two independent {config.eval_samples}-point samples "
                     f"of {config.dataset} is {floor:.3f}.")
    lines.append("Settings: " + "; ".join(f"{r.method}: {METHOD_DEFAULTS[r.method].source}" for r in results) + ".")
    return "\n".join(lines)


_COLORS = {"clip": "C0", "spectral": "C1", "gp": "C2", "gan": "C3"}  # one colour per method in both panels


def _write_figure(out: str, results: list[MethodResult], floor: float) -> str | None:
    """compare.png in ``out``; returns a note instead when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed: no figure written (pip install 'emd[plot]' to get compare.png)"
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for r in results:
        with open(os.path.join(out, r.method, "metrics.csv"), newline="") as f:
            rows = list(csv.DictReader(f))
        it = np.array([int(float(row["iter"])) for row in rows])
        w1 = np.array([float(row["w1_exact"]) for row in rows])
        est = np.array([float(row["critic_estimate"]) for row in rows])
        ax1.plot(it, w1, color=_COLORS[r.method], label=r.method)
        if not math.isnan(r.ratio_end):
            ax2.plot(it[1:], est[1:] / w1[1:], color=_COLORS[r.method], label=r.method)
    if not math.isnan(floor):
        ax1.axhline(floor, color="gray", lw=0.8, ls=":", label="sampling floor")
    ax1.set_xlabel("generator iteration")
    ax1.set_ylabel("exact W1 (emd), generated vs real")
    ax1.set_yscale("log")
    ax1.legend()
    ax2.axhline(1.0, color="gray", lw=0.8, ls="--")
    ax2.set_xlabel("generator iteration")
    ax2.set_ylabel("critic estimate / exact W1")
    ax2.set_title("1-Lipschitz critics (gp, spectral)")
    if ax2.lines[1:]:
        ax2.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "compare.png"), dpi=120)
    plt.close(fig)
    return None


def build_parser() -> argparse.ArgumentParser:
    from .__main__ import add_evaluation_arguments

    d = Config()
    p = argparse.ArgumentParser(
        prog="python -m emd.wgan.compare",
        description="Train WGANs with weight clipping, spectral normalization and gradient penalty (and a "
        "standard GAN for contrast) on the same data and seed, each with its paper's optimizer settings, and "
        "tabulate the exact W1 against each critic's estimate of it.",
    )
    p.add_argument("--dataset", choices=DATASETS, default=d.dataset, help=f"built-in dataset (default {d.dataset})")
    p.add_argument("--methods", default=",".join(METHODS),
                   help=f"comma-separated subset of {','.join(METHODS)} (default: all)")
    p.add_argument("--iters", type=int, default=d.iters, help=f"generator iterations per method (default {d.iters})")
    add_evaluation_arguments(p, d)  # --seed (shared by every run), --eval-every, --eval-samples
    p.add_argument("--out", default="wgan_compare", help="output directory (default wgan_compare)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


def main(argv: list[str] | None = None) -> int:
    from .__main__ import _check_writable, _option_message

    parser = build_parser()
    args = parser.parse_args(argv)
    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods or len(set(methods)) != len(methods):
        parser.error(f"--methods must list distinct names among {','.join(METHODS)}; got {args.methods!r}")
    common = dict(dataset=args.dataset, iters=args.iters, seed=args.seed, eval_every=args.eval_every,
                  eval_samples=args.eval_samples)
    try:
        for m in methods:
            method_config(m, out=os.path.join(args.out, m), **common)
    except (ValueError, TypeError) as exc:
        parser.error(_option_message(exc))
    reason = _check_writable(args.out)
    if reason:
        parser.error(reason)
    t0 = time.perf_counter()
    progress = False if args.no_progress else sys.stderr.isatty()
    try:
        compare(args.out, methods=methods, progress=progress, **common)
    except FloatingPointError as exc:
        print(f"python -m emd.wgan.compare: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    print(f"{len(methods)} runs in {time.perf_counter() - t0:.0f} s; table in {os.path.join(args.out, 'compare.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
