"""Timing and table helpers shared by every section of compare.py."""

from __future__ import annotations

import gc
import os
import platform
import statistics
import time
from typing import Any, Callable

import numpy as np


# Idle worker threads of the previous timing spin before they sleep: OpenBLAS's
# for about 0.1 s after each threaded GEMM (0.10 s of CPU measured during a 0.2 s
# sleep right after one), libgomp's for a few ms after each parallel region. On a
# 2-core machine a spinning worker takes a core from whatever is timed next, so
# every timing starts this long after the previous one's last call.
SETTLE_S = 0.25


def median_time(fn: Callable[[], Any], *, repeats: int = 5, warmup: int = 1, sync: Callable[[], None] | None = None,
                settle: float = SETTLE_S) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeats`` runs after ``warmup`` runs.

    ``sync`` (e.g. a device synchronize) is called after each run, inside the timing.
    The runs start ``settle`` seconds after the call (see SETTLE_S).
    """
    time.sleep(settle)
    for _ in range(warmup):
        fn()
        if sync:
            sync()
    times = []
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            if sync:
                sync()
            times.append(time.perf_counter() - t0)
    finally:
        if gc_was:
            gc.enable()
    return statistics.median(times)


def per_call_times(fns: list[Callable[[], Any]], *, inner: int = 1, repeats: int = 5,
                   clock: Callable[[], float] = time.perf_counter, settle: float = SETTLE_S) -> list[float]:
    """Median time of one call of each of ``fns``, in seconds, over ``repeats`` rounds
    after one warm-up round. Each round runs every function ``inner`` times in turn
    (a call of a few microseconds is timed in runs of many: reading the clock costs
    about as much), so that on a shared machine, whose load drifts within seconds,
    every function gets the same share of it. ``clock``: time.perf_counter (wall) or
    time.process_time (CPU)."""
    time.sleep(settle)
    times: list[list[float]] = [[] for _ in fns]
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for r in range(repeats + 1):
            for k, fn in enumerate(fns):
                t0 = clock()
                for _ in range(inner):
                    fn()
                if r:
                    times[k].append((clock() - t0) / inner)
    finally:
        if gc_was:
            gc.enable()
    return [statistics.median(t) for t in times]


def fmt_time(t: float) -> str:
    if t >= 1:
        return f"{t:8.3f} s "
    if t >= 1e-3:
        return f"{t * 1e3:8.2f} ms"
    return f"{t * 1e6:8.1f} us"


def print_table(title: str, rows: list[tuple[str, str, float, float, str]]) -> None:
    """rows: (workload, reference name, emd seconds, reference seconds, note)."""
    print(f"\n### {title}\n")
    print("| workload | reference | emd | reference | speedup | note |")
    print("| --- | --- | ---: | ---: | ---: | --- |")
    for work, ref, t_emd, t_ref, note in rows:
        ratio = t_ref / t_emd if t_emd > 0 else float("inf")
        print(f"| {work} | {ref} | {fmt_time(t_emd)} | {fmt_time(t_ref)} | {ratio:6.2f}x | {note} |")


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import emd

    versions = [f"python {platform.python_version()}", f"numpy {np.__version__}", f"emd {emd.__version__}"]
    for mod in ("scipy", "ot"):
        try:
            versions.append(f"{mod} {__import__(mod).__version__}")
        except ImportError:
            pass
    return f"{cpu}, {os.cpu_count()} cores; " + ", ".join(versions)
