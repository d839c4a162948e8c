"""`python -m emd`: the parallel-lines table of the WGAN paper, with timings.

TV, KL and JS jump as soon as the lines separate; W1 = |theta| moves smoothly.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import emd
from emd._parallel_lines import line_histograms, line_samples


def main(n: int = 1_000_000) -> None:
    print(f"emd {emd.__version__}: P_0 = law of (0, Z), P_theta = law of (theta, Z), Z ~ U[0, 1]")
    print(f"W1 from n = {n:,} samples per side (1-D) and from the exact network simplex (2-D);")
    print("TV/KL/JS from histograms on a grid\n")
    n2 = min(n, 1000)
    header = (f"{'theta':>8} | {'TV':>5} | {'KL':>5} | {'JS':>7} | {'W1 (exact 1-D)':>14} | {'time':>9} | "
              f"{'W1 (sliced, e1)':>15} | {f'W1 (exact 2-D, n={n2})':>22} | {'time':>9}")
    print(header)
    print("-" * len(header))
    real = line_samples(0.0, n, seed=0)
    e1 = np.array([[1.0], [0.0]])
    for theta in (-1.0, -0.1, -0.01, 0.0, 0.01, 0.1, 0.5, 1.0):
        fake = line_samples(theta, n, seed=1)
        p0, pt = line_histograms(theta)
        t0 = time.perf_counter()
        w1 = emd.wasserstein(real[:, :1], fake[:, :1])
        elapsed = time.perf_counter() - t0
        sw = emd.sliced_wasserstein(real, fake, projections=e1, p=1)
        # The same Z on both lines: every cost sqrt(theta^2 + dz^2) >= |theta|, so W1 = |theta| exactly.
        fake2 = line_samples(theta, n2, seed=0)
        t0 = time.perf_counter()
        w2d = emd.wasserstein(real[:n2], fake2)
        elapsed2 = time.perf_counter() - t0
        print(
            f"{theta:8.2f} | {emd.tv(p0, pt):5.2f} | {emd.kl(p0, pt):5.2f} | {emd.js(p0, pt):7.4f} | "
            f"{w1:14.6f} | {elapsed * 1e3:6.1f} ms | {sw:15.6f} | {w2d:22.6f} | {elapsed2 * 1e3:6.1f} ms"
        )
    print(f"\nlog 2 = {np.log(2):.4f}. The same W1 through scipy:", end=" ", flush=True)
    try:
        from scipy.stats import wasserstein_distance
    except ImportError:
        print("(scipy not installed)")
        return
    fake = line_samples(0.5, n, seed=1)
    t0 = time.perf_counter()
    ref = wasserstein_distance(real[:, 0], fake[:, 0])
    t_ref = time.perf_counter() - t0
    t0 = time.perf_counter()
    got = emd.wasserstein(real[:, 0], fake[:, 0])
    t_emd = time.perf_counter() - t0
    print(f"{ref:.6f} in {t_ref * 1e3:.1f} ms (emd: {got:.6f} in {t_emd * 1e3:.1f} ms)")


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m emd",
        description="The parallel-lines table of the WGAN paper (W1, TV, KL, JS as the offset theta varies), with"
        " timings. The WGAN trainer is python -m emd.wgan.",
    )
    parser.add_argument("-n", type=int, default=1_000_000, help="samples per side for the 1-D W1 (default 1,000,000)")
    args = parser.parse_args(argv)
    if args.n < 2:
        parser.error(f"-n must be at least 2, got {args.n}")
    main(args.n)


if __name__ == "__main__":
    cli()
