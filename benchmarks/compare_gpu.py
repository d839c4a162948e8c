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
    ub = vb = None  # rebinding frees the arrays; the closures above share these cells

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
    n, d = (4000, 64) if quick else (20_000, 64)
    x = rng.standard_normal((n, d), dtype=cp.float32)
    y = rng.standard_normal((n, d), dtype=cp.float32)
    cost = emd.cost_matrix
    t_emd = median_time(lambda: cost(x, y, "sqeuclidean"), sync=sync)
    t_ref = median_time(
        lambda: (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2 * (x @ y.T), sync=sync
    )
    out_gb = n * n * 4 / 1e9
    rows.append((f"cost_matrix sqeuclidean {n}x{n} d={d} float32", "cupy x^2 + y^2 - 2 x y^T", t_emd, t_ref,
                 f"emd writes {out_gb / t_emd:.0f} GB/s of output ({100 * out_gb / t_emd / peak_gbs:.0f}% of peak)"))
    print_table(f"GPU ({name})", rows)
    _part2(quick, name, rng, sync, torch, ot)


def _part2(quick: bool, name: str, rng, sync, torch, ot) -> None:
    """Issue 7: Sinkhorn (dense, matrix-free, batched), critic kernels, the trainer."""
    import time
    import warnings

    import cupy as cp

    rows = []
    no_pot = "POT on torch CUDA not available (pip install torch pot)"

    # 6. Dense Sinkhorn, n = m = 10^4, d = 2, reg = 0.01, float32, marginal error 1e-5.
    n = 2000 if quick else 10_000
    x = rng.random((n, 2), dtype=cp.float32)
    y = rng.random((n, 2), dtype=cp.float32)
    a = cp.full(n, 1.0 / n, dtype=cp.float32)
    M = emd.cost_matrix(x, y, "sqeuclidean")
    reg, tol = 0.01, 1e-5
    res = emd.sinkhorn(a, a, M, reg, tol=tol)
    t_emd = median_time(lambda: emd.sinkhorn(a, a, M, reg, tol=tol), sync=sync)
    label = f"dense sinkhorn n=m={n} d=2 reg={reg} f32 tol={tol} ({res.n_iter} it, {res.status})"
    if torch is not None and ot is not None:
        ta, tM = torch.from_dlpack(a), torch.from_dlpack(M)
        ref = float(ot.sinkhorn2(ta, ta, tM, reg, method="sinkhorn_log", stopThr=tol, numItermax=100_000))
        t_ref = median_time(lambda: ot.sinkhorn2(ta, ta, tM, reg, method="sinkhorn_log", stopThr=tol, numItermax=100_000),
                            sync=sync)
        rows.append((label, "ot.sinkhorn2 sinkhorn_log (torch CUDA)", t_emd, t_ref,
                     f"target >= 5x; rel. cost difference {abs(float(res.cost) - ref) / abs(ref):.1e}"))
    else:
        rows.append((label, no_pot, t_emd, float("nan"), ""))
    try:
        from geomloss import SamplesLoss

        # GeomLoss's p = 2 cost is |x - y|^2 / 2 with epsilon = blur^2: the same
        # problem as cost |x - y|^2 with reg when blur = sqrt(reg / 2).
        loss = SamplesLoss("sinkhorn", p=2, blur=(reg / 2) ** 0.5, debias=False, backend="tensorized", scaling=0.9)
        tx, ty = torch.from_dlpack(x), torch.from_dlpack(y)
        t_ref = median_time(lambda: loss(tx, ty), sync=sync)
        # Not the same stopping rule: GeomLoss runs a fixed epsilon schedule (no
        # tolerance), returns the dual value, and builds the costs inside its call.
        rows.append((label, "GeomLoss SamplesLoss tensorized (torch CUDA)", t_emd, t_ref,
                     "target >= 5x; GeomLoss: fixed eps schedule, no tol, costs built in the call"))
    except Exception as exc:  # not installed, or no torch
        rows.append((label, f"GeomLoss not available ({type(exc).__name__})", t_emd, float("nan"), ""))
    M = None  # frees the matrix (the closures above share the cell)

    # 7. Matrix-free, n = m = 10^6, d = 3, reg = 0.01, eps_scaling: time per iteration, pairs per second.
    n = 10**5 if quick else 10**6
    x = rng.random((n, 3), dtype=cp.float32)
    y = rng.random((n, 3), dtype=cp.float32)
    iters = 10
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # max_iter is the point here
        emd.sinkhorn_samples(x[:1000], y[:1000], 0.01, p=2, eps_scaling=0.5, max_iter=2)
        sync()
        t0 = time.perf_counter()
        r = emd.sinkhorn_samples(x, y, 0.01, p=2, eps_scaling=0.5, max_iter=iters)
        sync()
        t = time.perf_counter() - t0
    per_iter = t / r.n_iter
    rows.append((f"matrix-free sinkhorn n=m={n:.0e} d=3 reg=0.01 eps_scaling=0.5 f32", "nothing dense fits", per_iter,
                 float("nan"), f"time per iteration; {2 * n * n / per_iter:.3g} pairs/s ({r.n_iter} iterations timed)"))

    # 8. Batched: 100,000 problems of 64 bins, shared cost, reg = 0.01.
    B, k = (10_000, 64) if quick else (100_000, 64)
    grid = cp.linspace(0, 1, k, dtype=cp.float32)
    Mb = (grid[:, None] - grid[None, :]) ** 2
    A = rng.random((B, k), dtype=cp.float32) + 0.1
    A /= A.sum(1, keepdims=True)
    Bw = rng.random((B, k), dtype=cp.float32) + 0.1
    Bw /= Bw.sum(1, keepdims=True)
    # POT's batched form takes one a against the (k, B) columns of b: both get that shared a.
    a1 = cp.ascontiguousarray(A[0])
    A1 = cp.ascontiguousarray(cp.broadcast_to(a1, (B, k)))
    res = emd.sinkhorn(A1, Bw, Mb, 0.01, tol=1e-5)
    t_emd = median_time(lambda: emd.sinkhorn(A1, Bw, Mb, 0.01, tol=1e-5), sync=sync)
    label = (f"batched sinkhorn {B} x {k} bins, shared cost, reg=0.01 f32 "
             f"(emd {int(res.n_iter.min())}-{int(res.n_iter.max())} it)")
    if torch is not None and ot is not None:
        ta = torch.from_dlpack(a1)
        tB, tM = torch.from_dlpack(cp.ascontiguousarray(Bw.T)), torch.from_dlpack(Mb)
        ref = cp.asarray(ot.sinkhorn2(ta, tB, tM, 0.01, stopThr=1e-5, numItermax=100_000))
        diff = float(cp.max(cp.abs(cp.asarray(res.cost, dtype=cp.float64) - ref) / cp.abs(ref)))
        t_ref = median_time(lambda: ot.sinkhorn2(ta, tB, tM, 0.01, stopThr=1e-5, numItermax=100_000), sync=sync)
        # POT stops when the L2 norm of all B column errors together is below stopThr
        # (stricter than emd's per-problem L1 test as B grows).
        rows.append((label, "ot.sinkhorn2 with b (64, B) (torch CUDA)", t_emd, t_ref,
                     f"target >= 10x; max rel. cost difference {diff:.1e}; POT's stop is batch-wide L2"))
    else:
        rows.append((label, no_pot, t_emd, float("nan"), ""))

    # 9. critic_forward: wide (cuBLAS path) and narrow (fused kernel) against the CuPy matmul chain.
    def chain(ws, bs, h):
        for i, (w, b) in enumerate(zip(ws, bs)):
            h = h @ w + b
            if i < len(ws) - 1:
                h = cp.maximum(h, h * cp.float32(0.2))
        return h[:, 0]

    batch = 10**5 if quick else 10**6
    xb = rng.standard_normal((batch, 2), dtype=cp.float32)
    for layers in ([2, 512, 512, 512, 1], [2, 64, 64, 64, 1]):
        host = emd.MLPCritic.init(layers, seed=0)
        ws = [cp.asarray(w) for w in host.weights]
        bs = [cp.asarray(b) for b in host.biases]
        # The same device-resident parameters for both sides (a NumPy critic is copied on each call).
        critic = emd.MLPCritic(tuple(ws), tuple(bs), slope=host.slope)
        out, ref = emd.critic_forward(critic, xb), chain(ws, bs, xb)
        diff = float(cp.max(cp.abs(out - ref)) / cp.max(cp.abs(ref)))
        t_emd = median_time(lambda: emd.critic_forward(critic, xb), sync=sync)
        t_ref = median_time(lambda: chain(ws, bs, xb), sync=sync)
        rows.append((f"critic_forward {'-'.join(map(str, layers))} batch {batch:.0e} f32", "CuPy matmul chain", t_emd,
                     t_ref, f"target: at least as fast; max abs. difference {diff:.1e} of max |f|"))
        xr, xf = xb[: batch // 2], xb[batch // 2 :]
        t_emd = median_time(lambda: emd.kr_estimate(critic, xr, xf), sync=sync)
        t_ref = median_time(lambda: float(chain(ws, bs, xr).astype(cp.float64).mean() - chain(ws, bs, xf).astype(cp.float64).mean()), sync=sync)
        rows.append((f"kr_estimate {'-'.join(map(str, layers))} {batch:.0e} samples f32", "CuPy chain, means", t_emd, t_ref, ""))

    # 10. 64 stacked critics, batch 4096, against a loop over the critics.
    K, batch = 64, 4096
    xs = rng.standard_normal((K, batch, 2), dtype=cp.float32)
    for layers in ([2, 512, 512, 512, 1], [2, 64, 64, 64, 1]):
        singles = [emd.MLPCritic.init(layers, seed=s) for s in range(K)]
        stacked = emd.MLPCritic.stack(singles)
        t_emd = median_time(lambda: emd.critic_forward(stacked, xs), sync=sync)
        t_ref = median_time(lambda: [emd.critic_forward(c, xs[i]) for i, c in enumerate(singles)], sync=sync)
        rows.append((f"{K} stacked critics {'-'.join(map(str, layers))} batch {batch} f32", "loop of critic_forward",
                     t_emd, t_ref, "target >= 2x"))

    # 11. The trainer, 8gaussians, README defaults: time per generator iteration, GPU vs CPU.
    try:
        import dataclasses
        import tempfile

        from emd.wgan import Config, train

        if "device" not in {f.name for f in dataclasses.fields(Config)}:
            raise ImportError("this emd.wgan has no --device")
        iters = 50 if quick else 300
        times = {}
        for device in ("cpu", "cuda"):
            with tempfile.TemporaryDirectory() as out:
                cfg = Config(iters=iters, eval_every=iters, out=out, device=device)
                t0 = time.perf_counter()
                train(cfg, progress=False, log=None)
                sync()
                times[device] = (time.perf_counter() - t0) / iters
        rows.append((f"wgan trainer 8gaussians, {iters} generator iterations", "the same run on the CPU", times["cuda"],
                     times["cpu"], "time per generator iteration (evaluation included)"))
    except Exception as exc:
        rows.append(("wgan trainer --device cuda", f"not run ({type(exc).__name__}: {exc})", float("nan"), float("nan"), ""))
    print_table(f"GPU part 2 ({name})", rows)
