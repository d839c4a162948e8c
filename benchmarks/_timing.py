"""Timing and table helpers shared by every section of compare.py."""

from __future__ import annotations

import gc
import os
import platform
import statistics
import time
from typing import Any, Callable

import numpy as np


def median_time(fn: Callable[[], Any], *, repeats: int = 5, warmup: int = 1, sync: Callable[[], None] | None = None) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeats`` runs after ``warmup`` runs.

    ``sync`` (e.g. a device synchronize) is called after each run, inside the timing.
    """
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
