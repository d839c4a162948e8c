"""critic: emd's fused C++ critic forward pass against the same forward pass in numpy (OpenBLAS sgemm).

The numpy reference is the usual layer chain ``h = h @ W; h += b; h = max(h, slope h)``
in float32, the same parameters and inputs. torch is compared when installed.
Peak memory of kr_estimate is measured in fresh processes (peak RSS growth
during the call), so neither side's earlier allocations hide it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
from _timing import median_time, print_table

import emd


def numpy_forward(critic: emd.MLPCritic, x: np.ndarray) -> np.ndarray:
    h = x
    last = len(critic.weights) - 1
    for l, (W, b) in enumerate(zip(critic.weights, critic.biases)):
        h = h @ W
        h += b
        if l < last:
            h = np.maximum(h, critic.slope * h)
    return h[:, 0]


def torch_forward_factory(critic: emd.MLPCritic):
    try:
        import torch
    except ImportError:
        return None
    ws = [torch.from_numpy(w) for w in critic.weights]
    bs = [torch.from_numpy(b) for b in critic.biases]

    def fwd(x):
        with torch.no_grad():
            h = torch.from_numpy(x)
            for l, (W, b) in enumerate(zip(ws, bs)):
                h = torch.addmm(b, h, W)
                if l < len(ws) - 1:
                    h = torch.nn.functional.leaky_relu(h, critic.slope)
            return h[:, 0].numpy()

    return fwd


def _gflops(layers, rows) -> float:
    return 2.0 * rows * sum(a * b for a, b in zip(layers[:-1], layers[1:])) / 1e9


_PEAK_SNIPPET = """
def _hwm_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise OSError("no VmHWM")

def reset_peak():
    # The peak RSS is inherited across fork/exec, so a child of a big process
    # starts with the parent's peak: reset it (Linux >= 4.0), then read it back.
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return _hwm_kb()

def peak_growth_mb(before):
    return (_hwm_kb() - before) / 1024.0
"""


def _peak_rss_mb(method: str, layers: list[int], n: int) -> float:
    """Peak RSS growth (MB) of one kr_estimate, in a fresh process; nan where /proc cannot tell."""
    code = _PEAK_SNIPPET + textwrap.dedent(
        f"""
        import sys, numpy as np, emd
        sys.path.insert(0, {repr(os.path.dirname(os.path.abspath(__file__)))})
        from compare_critic import numpy_forward
        rng = np.random.default_rng(0)
        xr = rng.standard_normal(({n}, {layers[0]})).astype(np.float32)
        xf = rng.standard_normal(({n}, {layers[0]})).astype(np.float32)
        c = emd.MLPCritic.init({layers}, seed=0)
        emd.kr_estimate(c, xr[:100], xf[:100]); numpy_forward(c, xr[:100])
        try:
            before = reset_peak()
        except OSError:
            print("nan"); raise SystemExit
        if {method!r} == "emd":
            emd.kr_estimate(c, xr, xf)
        else:
            float(numpy_forward(c, xr).mean(dtype=np.float64) - numpy_forward(c, xf).mean(dtype=np.float64))
        print(peak_growth_mb(before))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def run(quick: bool) -> None:
    rng = np.random.default_rng(0)
    big = [2, 512, 512, 512, 1]
    critic = emd.MLPCritic.init(big, seed=0)
    rows = []
    for batch in ([4096, 64] if quick else [65536, 64]):
        x = rng.standard_normal((batch, 2)).astype(np.float32)
        repeats = 5 if batch > 1024 else 50
        t_emd = median_time(lambda: emd.critic_forward(critic, x), repeats=repeats)
        t_np = median_time(lambda: numpy_forward(critic, x), repeats=repeats)
        gf = _gflops(big, batch)
        note = f"emd {gf / t_emd:.0f} GFLOP/s, numpy {gf / t_np:.0f} GFLOP/s"
        rows.append((f"critic_forward 2-512-512-512-1, batch {batch}", "numpy", t_emd, t_np, note))
        tf = torch_forward_factory(critic)
        if tf is not None:
            t_t = median_time(lambda: tf(x), repeats=repeats)
            rows.append((f"critic_forward 2-512-512-512-1, batch {batch}", "torch CPU", t_emd, t_t, ""))
    print_table("critic_forward, float32 (numpy: the same layer chain on OpenBLAS)", rows)

    rows = []
    num_k = 16 if quick else 64
    for layers in ([2, 64, 64, 1], [2, 512, 512, 512, 1]):
        critics = [emd.MLPCritic.init(layers, seed=s) for s in range(num_k)]
        stacked = emd.MLPCritic.stack(critics)
        xs = rng.standard_normal((num_k, 256, 2)).astype(np.float32)
        t_emd = median_time(lambda: emd.critic_forward(stacked, xs), repeats=5)
        t_np = median_time(lambda: [numpy_forward(c, xs[k]) for k, c in enumerate(critics)], repeats=5)
        rows.append((f"{num_k} stacked critics {'-'.join(map(str, layers))}, batch 256 each", "numpy loop",
                     t_emd, t_np, "one kernel call"))
    print_table("stacked critics, float32", rows)

    rows = []
    layers = [2, 128, 128, 128, 1]
    n = 100_000 if quick else 1_000_000
    critic = emd.MLPCritic.init(layers, seed=0)
    xr = rng.standard_normal((n, 2)).astype(np.float32)
    xf = rng.standard_normal((n, 2)).astype(np.float32)
    t_emd = median_time(lambda: emd.kr_estimate(critic, xr, xf), repeats=5)
    t_np = median_time(
        lambda: numpy_forward(critic, xr).mean(dtype=np.float64) - numpy_forward(critic, xf).mean(dtype=np.float64),
        repeats=5,
    )
    m_emd = _peak_rss_mb("emd", layers, n)
    m_np = _peak_rss_mb("numpy", layers, n)
    rows.append((f"kr_estimate {'-'.join(map(str, layers))}, {n:.0e} samples per side", "numpy", t_emd, t_np,
                 f"peak memory growth: emd {m_emd:.1f} MB, numpy {m_np:.0f} MB"))
    print_table("kr_estimate, float32 (fused and tiled vs materialized)", rows)


if __name__ == "__main__":
    run("--quick" in sys.argv)
