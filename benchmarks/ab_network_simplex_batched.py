"""A/B of two builds of ``emd._core`` in one process: the batched exact solve of issue 19.

    python benchmarks/ab_network_simplex_batched.py DIR [ROUNDS]   # DIR/emd_old/_core*.so: the other build

The workload of ``compare_network_simplex.py --batched`` (1000 problems of 64 x 64, Dirichlet
weights, one shared squared-euclidean cost between 2-D points, seed 1): ``emd.emd(A, B, M)``
with the other build's ``_core`` (copied into ``DIR/emd_old/`` beside an empty ``__init__.py``)
and with the installed one, and the loop of ``ot.emd2``, alternating in rounds (three calls of
each build, one POT loop), so all three face the same machine load. Wall time, or CPU time with
``OMP_NUM_THREADS=1``; prints median and min per side. Its C++ side, for builds of the kernel
alone (no Python, no OpenMP, one thread): ``ab_network_simplex_batched.cpp`` beside it.
"""

import os
import sys
import time

import numpy as np
import ot

sys.path.insert(0, sys.argv[1])
import emd  # noqa: E402
import emd._core as new  # noqa: E402
import emd_old._core as old  # noqa: E402
from emd._backend import cpu  # noqa: E402

rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 7
num, n = 1000, 64
rng = np.random.default_rng(1)
M = emd.cost_matrix(rng.random((n, 2)), rng.random((n, 2)))
A = rng.dirichlet(np.ones(n), size=num)
B = rng.dirichlet(np.ones(n), size=num)


def batched(core):
    cpu._core = core  # the backend looks _core up at each call
    try:
        return emd.emd(A, B, M)
    finally:
        cpu._core = new


def pot_loop():
    return np.array([ot.emd2(A[k], B[k], M, numItermax=10**9) for k in range(num)])


ref = pot_loop()
for name, core in (("old", old), ("new", new)):
    rel = float(np.max(np.abs(batched(core) - ref) / ref))
    print(f"{name}: max rel. diff to the POT loop {rel:.1e}")
one_thread = os.environ.get("OMP_NUM_THREADS") == "1"
clock = time.process_time if one_thread else time.perf_counter
print("load", os.getloadavg(), "| CPU time, one thread" if one_thread else "| wall time")
times = {"old": [], "new": [], "pot": []}
for _ in range(rounds):
    for name, run, calls in (("old", lambda: batched(old), 3), ("new", lambda: batched(new), 3), ("pot", pot_loop, 1)):
        for _ in range(calls):
            start = clock()
            run()
            times[name].append(clock() - start)
med = {k: float(np.median(v)) * 1e3 for k, v in times.items()}
for k, v in times.items():
    print(f"{k}: median {med[k]:8.2f} ms  min {min(v) * 1e3:8.2f} ms  ({len(v)} calls)")
print(f"POT loop / old {med['pot'] / med['old']:.2f}x | POT loop / new {med['pot'] / med['new']:.2f}x | "
      f"old / new {med['old'] / med['new']:.2f}x")
print("load", os.getloadavg())
