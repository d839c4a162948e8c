"""Shared fixtures: seeded generators and one tolerance table per dtype."""

from __future__ import annotations

import numpy as np
import pytest

# Relative tolerances against float64 references. float32 inputs are
# accumulated in float64 inside emd, so their error is the inputs' rounding.
RTOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-5}


# Closed forms of W_p where the walk leaves the float range (u, v, u_weights,
# v_weights, p, W_p), for the CPU and GPU 1-D tests alike.
RESCALED_CASES = [  # |d|^p or its sum out of range: the gaps rescaled
    ([0.0], [2.0], None, None, 2000.0, 2.0),  # 2^2000 overflowed: inf
    ([0.0], [0.5], None, None, 2000.0, 0.5),  # 0.5^2000 underflowed: 0
    ([0.0], [1e160], None, None, 2.0, 1e160),  # (1e160)^2 overflowed
    ([0.0, 1.0], [0.0, 1e160], [1.0, 3.0], [2.0, 2.0], 3.0, 0.5 ** (1 / 3) * 1e160),
    ([0.0, 1.0, 1000.0], [0.0, 1.001, 1000.0], None, None, 2000.0, 0.001 * (1 / 3) ** (1 / 2000)),
]
NEAR_RANGE_CASES = [  # the walk's differences and the uniform W1's count-weighted sums overflowed (inf)
    ([-1e308, 0.0, 1e308], [0.0, 1.0], None, None, 1.0, 2 * (1e308 / 3)),
    ([-1e308, 0.0, 1e308], [0.0, 1.0], None, None, 2.0, np.sqrt(2 / 3) * 1e308),
    ([-1e308, 0.0, 1e308], [0.0, 1.0], [1.0, 2.0, 1.0], [1.0, 1.0], 1.0, 5e307),
    ([0.0, 1e308], [-1e308, 0.0], None, None, 1.0, 1e308),
    (np.linspace(-1e300, 1e300, 1000), np.linspace(-1e300, 1e300, 1000)[::-1] * 0.5, None, None, 1.0, 2.5025025025025026e299),
]


# A fresh Python that runs {setup}, then {call} with Ctrl-C (SIGINT) sent 50 ms in.
_CTRL_C = """
import _thread, signal, threading, time
import numpy as np
import emd

{setup}
# A shell that starts a job in the background hands it SIGINT ignored, and then
# Python leaves SIGINT alone: restore the handler that raises KeyboardInterrupt.
signal.signal(signal.SIGINT, signal.default_int_handler)
timer = threading.Timer(0.05, _thread.interrupt_main)
t0 = time.perf_counter()
timer.start()
try:
    {call}
    print("returned after %.2f s" % (time.perf_counter() - t0))
except KeyboardInterrupt:
    print("interrupted after %.2f s" % (time.perf_counter() - t0))
"""


def assert_ctrl_c_interrupts(setup: str, call: str) -> None:
    """`call` (one line, after the lines of `setup`) raises KeyboardInterrupt when
    Ctrl-C comes 50 ms in. In a subprocess with a timeout, so that a lost interrupt
    fails the test rather than hanging the run."""
    import subprocess
    import sys
    import textwrap

    script = _CTRL_C.format(setup=textwrap.dedent(setup), call=call)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("interrupted after"), out.stdout


def rtol(dtype) -> float:
    return RTOL[np.dtype(dtype)]


def exact_w1(u, v, uw, vw) -> float:
    """W_1 of weighted 1-D samples in exact rational arithmetic (float64 inputs
    are dyadic rationals): the integral of |F_u - F_v| over the merged points."""
    from fractions import Fraction

    su, sv = sum(map(Fraction, uw.tolist())), sum(map(Fraction, vw.tolist()))
    points = sorted([(x, Fraction(a) / su) for x, a in zip(u.tolist(), uw.tolist())]
                    + [(x, -Fraction(a) / sv) for x, a in zip(v.tolist(), vw.tolist())])
    F, total = Fraction(0), Fraction(0)
    for (x, dF), (x_next, _) in zip(points, points[1:]):
        F += dF
        total += abs(F) * (Fraction(x_next) - Fraction(x))
    return float(total)


def light_far_points(rng, n):
    """Weighted normal samples (u, v, u_weights, v_weights) with light points far out
    on both sides: between 1e6 and 1e7 both distribution functions are within 1e-15
    of 1, where the walks' tails must keep their digits."""
    u, v = rng.normal(size=n), rng.normal(1.0, 2.0, size=n)
    uw, vw = rng.random(n) + 0.01, rng.random(n) + 0.01
    u[0], uw[0] = 1e6, 1e-12
    v[:2], vw[:2] = [-1e6, 1e7], [1e-12, 1e-13]
    return u, v, uw, vw


def exact_levels(x, w):
    """A weighted sample's sorting order, its sorted values and their cumulative
    levels (weight through each point over the total), as exact rationals; w:
    floats or Fractions."""
    from fractions import Fraction

    order = np.argsort(x, kind="stable")
    w = [Fraction(a) for a in (w.tolist() if isinstance(w, np.ndarray) else w)]
    total, c, levels = sum(w), Fraction(0), []
    for k in order:
        c += w[k]
        levels.append(c / total)
    return order, [Fraction(t) for t in x[order].tolist()], levels


def exact_wpp_rational(u, v, uw, vw, p: int):
    """W_p^p (integer p) of weighted 1-D samples as an exact rational: the
    integral over the merged quantile levels of |F_u^{-1} - F_v^{-1}|^p."""
    from fractions import Fraction

    _, xu, lu = exact_levels(u, uw)
    _, xv, lv = exact_levels(v, vw)
    i = j = 0
    q = total = Fraction(0)
    while i < len(xu) and j < len(xv):
        nxt = min(lu[i], lv[j])
        total += (nxt - q) * abs(xu[i] - xv[j]) ** p
        q = nxt
        i += lu[i] == q
        j += lv[j] == q
    return total


def exact_wpp(u, v, uw, vw, p: int) -> float:
    """W_p^p (integer p) of weighted 1-D samples, rounded from exact_wpp_rational."""
    return float(exact_wpp_rational(u, v, uw, vw, p))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261121)


def _gpu_available() -> bool:
    try:
        import emd

        return emd.has_cuda()
    except Exception:
        return False


def pytest_collection_modifyitems(config, items):
    if _gpu_available():
        return
    skip = pytest.mark.skip(reason="no CUDA device visible or emd built without CUDA kernels")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
