"""A/B of two builds of ``emd._core`` in one process: the single 1-D pair.

    python benchmarks/ab_core.py DIR     # DIR/emd_old/_core*.so: the other build

Build the other commit's ``_core`` with CMake (``cmake -S <worktree> -B build
-DEMD_CUDA=OFF -DCMAKE_BUILD_TYPE=Release``), copy the module into
``DIR/emd_old/`` beside an empty ``__init__.py``, and run this with the current
build installed: both modules load side by side (the init symbol is named by
the last component, ``_core``), so both face the same machine load. Calls
alternate in blocks of 5 after a warm-up; prints median (min) per build.
"""

import os
import sys
import time

import numpy as np

sys.path.insert(0, sys.argv[1])
import emd._core as new
import emd_old._core as old

rng = np.random.default_rng(0)
print("load", os.getloadavg())
print("n, weights: old median (min) | new median (min) in ms")
for n in [20000, 50000, 200000, 1000000]:
    u, v, wu, wv = rng.normal(size=n), rng.normal(size=n), rng.random(n), rng.random(n)
    for weighted in (False, True):
        args = (u, v, wu if weighted else None, wv if weighted else None, 1.0, False)
        assert old.wasserstein_1d_pair(*args) == new.wasserstein_1d_pair(*args)
        for mod in (old, new, old, new):
            mod.wasserstein_1d_pair(*args)
        times = {old: [], new: []}
        for _ in range((25 if n < 10**6 else 10) // 5):
            for mod in (old, new):
                for _ in range(5):
                    start = time.perf_counter()
                    mod.wasserstein_1d_pair(*args)
                    times[mod].append(time.perf_counter() - start)
        o, w = np.array(times[old]) * 1e3, np.array(times[new]) * 1e3
        print(f"{n:>8} {'random ' if weighted else 'uniform'}: old {np.median(o):8.3f} ({o.min():7.3f}) | "
              f"new {np.median(w):8.3f} ({w.min():7.3f})  old/new {np.median(o) / np.median(w):.2f}x")
print("load", os.getloadavg())
