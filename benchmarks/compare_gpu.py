"""GPU section: emd's CUDA kernels against CuPy and POT on torch CUDA tensors.

    python benchmarks/compare.py gpu            # the issue's sizes (an H100/H200: ~80 GB)
    python benchmarks/compare.py gpu --quick    # smaller sizes, a smoke run

Skips with a message when emd has no usable CUDA device (emd.has_cuda()).
Rows whose reference is missing (torch or POT not installed) say so.
Every timing synchronizes the device inside the timed region.
"""

from __future__ import annotations

import numpy as np

import emd
from _timing import median_time, print_table


def _skip(reason: str) -> None:
    print(f"\n### GPU\n\nskipped: {reason}")


def run(quick: bool) -> None:
    if not emd.has_cuda():
        _skip("emd.has_cuda() is False (emd built without nvcc, or no CUDA device/driver visible)")
        return
    import cupy as cp

    try:
        import torch

        if not torch.cuda.is_available():
            torch = None
    except ImportError:
        torch = None
    try:
        import ot
    except ImportError:
        ot = None

    props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
    name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    # Peak DRAM bandwidth: 2 (DDR) x bus width in bytes x memory clock (kHz).
    peak_gbs = 2 * props["memoryBusWidth"] / 8 * props["memoryClockRate"] * 1e3 / 1e9
    print(f"\ndevice: {name}, {props['totalGlobalMem'] / 2**30:.0f} GiB, peak DRAM ~{peak_gbs:.0f} GB/s")

    def sync() -> None:
        cp.cuda.get_current_stream().synchronize()
        if torch is not None:
            torch.cuda.synchronize()

    rng = cp.random.default_rng(0)
    rows = []
    no_pot = "POT on torch CUDA not available (pip install torch pot)"

    # 1. W1 on 10^8 points: the sort is the floor.
    n = 10**6 if quick else 10**8
    u = rng.standard_normal(n, dtype=cp.float32)
    v = rng.standard_normal(n, dtype=cp.float32) + 0.5
    uw = rng.random(n, dtype=cp.float32)
    vw = rng.random(n, dtype=cp.float32)
    t_emd = median_time(lambda: emd.wasserstein_1d(u[None], v[None], uw[None], vw[None]), sync=sync)
    t_sort = median_time(lambda: (cp.sort(u), cp.sort(v)), sync=sync)
    rows.append((f"W1 n=m={n:.0e} float32, random weights", "cupy.sort of both arrays", t_emd, t_sort,
                 f"target: emd <= 1.5x the sort (ratio {t_emd / t_sort:.2f}x)"))
    del u, v, uw, vw

    # 2. W1 on 10^6 points against POT on torch.
    n = 10**5 if quick else 10**6
    u = rng.standard_normal(n)
    v = rng.standard_normal(n) * 2 + 1
    uw = rng.random(n)
    vw = rng.random(n)
    t_emd = median_time(lambda: emd.wasserstein_1d(u[None], v[None], uw[None], vw[None]), sync=sync)
    if torch is not None and ot is not None:
        tu, tv, tuw, tvw = (torch.from_dlpack(a) for a in (u, v, uw / uw.sum(), vw / vw.sum()))
        t_ref = median_time(lambda: ot.wasserstein_1d(tu, tv, tuw, tvw, p=1), sync=sync)
        rows.append((f"W1 n=m={n:.0e} float64, random weights", "ot.wasserstein_1d (torch CUDA)", t_emd, t_ref, "target >= 5x"))
    else:
        rows.append((f"W1 n=m={n:.0e} float64, random weights", no_pot, t_emd, float("nan"), ""))

    # 3. Batched W1: 10^4 pairs of 10^4 points.
    pairs, n = (1000, 1000) if quick else (10_000, 10_000)
    ub = rng.standard_normal((pairs, n), dtype=cp.float32)
    vb = rng.standard_normal((pairs, n), dtype=cp.float32) + 0.5
    t_emd = median_time(lambda: emd.wasserstein_1d(ub, vb), sync=sync)
    if torch is not None and ot is not None:
        # POT batches along the second axis: (n, pairs).
        tub, tvb = torch.from_dlpack(cp.ascontiguousarray(ub.T)), torch.from_dlpack(cp.ascontiguousarray(vb.T))
        t_ref = median_time(lambda: ot.wasserstein_1d(tub, tvb, p=1), sync=sync)
        rows.append((f"batched W1, {pairs} pairs of n={n} float32", "ot.wasserstein_1d batched (torch CUDA)", t_emd, t_ref, "target >= 5x"))
    else:
        rows.append((f"batched W1, {pairs} pairs of n={n} float32", no_pot, t_emd, float("nan"), ""))
    del ub, vb

    # 4. Sliced SW2: n = m = 10^6, d = 64, 256 projections.
    n, d, L = (10**5, 64, 64) if quick else (10**6, 64, 256)
    x = rng.standard_normal((n, d), dtype=cp.float32)
    y = rng.standard_normal((n, d), dtype=cp.float32) + 0.1
    theta = np.random.default_rng(1).standard_normal((d, L))
    theta_d = cp.asarray(theta)
    t_emd = median_time(lambda: emd.sliced_wasserstein(x, y, p=2, projections=theta_d), sync=sync)
    if torch is not None and ot is not None:
        tx, ty = torch.from_dlpack(x), torch.from_dlpack(y)
        proj = torch.from_numpy((theta / np.linalg.norm(theta, axis=0)).astype(np.float32)).cuda()
        t_ref = median_time(lambda: ot.sliced_wasserstein_distance(tx, ty, projections=proj, p=2), sync=sync)
        rows.append((f"sliced SW2 n=m={n:.0e} d={d} L={L} float32", "ot.sliced_wasserstein_distance (torch CUDA)", t_emd, t_ref, "target >= 5x"))
    else:
        rows.append((f"sliced SW2 n=m={n:.0e} d={d} L={L} float32", no_pot, t_emd, float("nan"), ""))
    del x, y

    # 5. Cost matrix sqeuclidean, 20000 x 20000, d = 64, float32.
    from emd import _gpu

    n, d = (4000, 64) if quick else (20_000, 64)
    x = rng.standard_normal((n, d), dtype=cp.float32)
    y = rng.standard_normal((n, d), dtype=cp.float32)
    cost = getattr(emd, "cost_matrix", _gpu.cost_matrix)
    t_emd = median_time(lambda: cost(x, y, "sqeuclidean"), sync=sync)
    t_ref = median_time(
        lambda: (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2 * (x @ y.T), sync=sync
    )
    out_gb = n * n * 4 / 1e9
    rows.append((f"cost_matrix sqeuclidean {n}x{n} d={d} float32", "cupy x^2 + y^2 - 2 x y^T", t_emd, t_ref,
                 f"emd writes {out_gb / t_emd:.0f} GB/s of output ({100 * out_gb / t_emd / peak_gbs:.0f}% of peak)"))
    print_table(f"GPU ({name})", rows)
