"""Issue 19: the weighted float64 pair, whole-row sort against bucketed sort (emd::WeightedSort).

Builds the inputs once and times, in one process and alternating, today's path
(`weighted_sort="whole_rows"`), the bucketed path (`"buckets"`) and the floor
(`np.sort(u); np.sort(v)`); median of `--repeats` runs after a warm-up, wall
(perf_counter) and CPU (process_time, all threads). Run:
`python benchmarks/ab_weighted_buckets.py [--sizes 1000000 100000] [--repeats 9]`.
"""
import argparse
import os
import time

import numpy as np

from emd import _core


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w, time.process_time() - c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10**6, 10**5, 10**4, 10**3])
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--data", default="normal", choices=["normal", "uniform", "outlier"])
    args = ap.parse_args()
    z = np.zeros(1, np.int64)
    print("threads", os.environ.get("OMP_NUM_THREADS"), "load", os.getloadavg(), "data", args.data)
    for n in args.sizes:
        rng = np.random.default_rng(0)
        if args.data == "uniform":
            u, v = rng.random(n), rng.random(n) * 1.2 + 0.1
        else:
            u, v = rng.normal(size=n), rng.normal(0.3, 1.2, size=n)
        if args.data == "outlier":
            u[n // 2] = 1e300
        wu, wv = rng.random(n), rng.random(n)
        U, V, WU, WV = u[None], v[None], wu[None], wv[None]
        calls = {
            "floor": lambda: (np.sort(u), np.sort(v)),
            "whole_rows": lambda: _core.wasserstein_1d(U, WU, V, WV, z, z, 1.0, False, "whole_rows"),
            "buckets": lambda: _core.wasserstein_1d(U, WU, V, WV, z, z, 1.0, False, "buckets"),
        }
        a = calls["whole_rows"]()[0]
        b = calls["buckets"]()[0]
        assert abs(a - b) <= 1e-12 * abs(a), (a, b)
        reps = args.repeats if n >= 10**5 else args.repeats * 20
        times = {k: [] for k in calls}
        for _ in range(reps):
            for k, fn in calls.items():
                times[k].append(timed(fn))
        med = {k: np.median(np.array(t), axis=0) * 1e3 for k, t in times.items()}
        line = " ".join(f"{k} {w:.3f}/{c:.3f}" for k, (w, c) in med.items())
        f, o, bk = med["floor"], med["whole_rows"], med["buckets"]
        print(f"n=m={n} median of {reps}, wall/CPU ms: {line}; whole_rows/buckets {o[0] / bk[0]:.2f}x wall "
              f"{o[1] / bk[1]:.2f}x CPU; floor/buckets {f[0] / bk[0]:.2f}x wall; floor/whole_rows {f[0] / o[0]:.2f}x wall")
    print("load", os.getloadavg())


if __name__ == "__main__":
    main()
