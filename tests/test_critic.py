"""emd.critic: MLP critic forward passes, the KR estimate and Lipschitz control.

Every kernel is checked against a float64 numpy reference written here,
independently of emd's code (a plain chain of matrix products).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import emd
from conftest import rtol


def reference_forward(critic: emd.MLPCritic, x: np.ndarray) -> np.ndarray:
    """float64 numpy forward pass of a single critic: (B, d) -> (B,)."""
    h = np.asarray(x, dtype=np.float64)
    n = len(critic.weights)
    for l, (W, b) in enumerate(zip(critic.weights, critic.biases)):
        h = h @ W.astype(np.float64) + b.astype(np.float64)
        if l < n - 1:
            h = np.where(h > 0, h, critic.slope * h)
    return h[:, 0]


def assert_close_forward(y: np.ndarray, ref: np.ndarray, dtype) -> None:
    # The output is a sum of terms that cancel; float32 rounding is relative to
    # the size of the outputs over the batch, not to each (possibly ~0) output.
    scale = np.max(np.abs(ref)) + 1e-300
    np.testing.assert_allclose(y, ref, rtol=0, atol=rtol(dtype) * scale)


ARCHS = [
    [2, 512, 512, 512, 1],  # the benchmark's critic
    [2, 64, 64, 1],
    [3, 7, 33, 1],  # widths that are not multiples of the register tile
    [17, 40, 1],
    [1, 5, 1],
    [5, 1],  # a linear critic: no hidden layer
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layers", ARCHS, ids=lambda l: "-".join(map(str, l)))
def test_forward_matches_numpy_reference(rng, layers, dtype):
    critic = emd.MLPCritic.init(layers, slope=0.2, seed=1, dtype=dtype)
    for batch in (1, 2, 7, 64, 130):
        x = rng.standard_normal((batch, layers[0])).astype(dtype)
        y = emd.critic_forward(critic, x)
        assert y.shape == (batch,) and y.dtype == np.dtype(dtype)
        assert_close_forward(y, reference_forward(critic, x), dtype)


@pytest.mark.parametrize("slope", [0.0, 0.5, 1.0])
def test_slopes_relu_and_identity(rng, slope):
    critic = emd.MLPCritic.init([4, 24, 24, 1], slope=slope, seed=3, dtype=np.float64)
    x = rng.standard_normal((50, 4))
    assert_close_forward(emd.critic_forward(critic, x), reference_forward(critic, x), np.float64)
    if slope == 1.0:  # a linear network: f(x) = x W1 W2 W3 + const
        W = critic.weights[0] @ critic.weights[1] @ critic.weights[2]
        b = (critic.biases[0] @ critic.weights[1] + critic.biases[1]) @ critic.weights[2] + critic.biases[2]
        np.testing.assert_allclose(emd.critic_forward(critic, x), (x @ W + b)[:, 0], rtol=1e-12, atol=1e-12)


def test_large_batch_many_tiles(rng):
    critic = emd.MLPCritic.init([2, 96, 96, 1], seed=2)
    x = rng.standard_normal((10_007, 2)).astype(np.float32)
    assert_close_forward(emd.critic_forward(critic, x), reference_forward(critic, x), np.float32)


@settings(max_examples=25, deadline=None)
@given(
    d=st.integers(1, 9),
    hidden=st.lists(st.integers(1, 40), min_size=0, max_size=3),
    batch=st.integers(1, 40),
    slope=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**16),
)
def test_forward_property(d, hidden, batch, slope, seed):
    rng = np.random.default_rng(seed)
    critic = emd.MLPCritic.init([d, *hidden, 1], slope=slope, seed=seed, dtype=np.float64)
    x = rng.standard_normal((batch, d))
    assert_close_forward(emd.critic_forward(critic, x), reference_forward(critic, x), np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stacked_equals_looped(rng, dtype):
    critics = [emd.MLPCritic.init([3, 20, 33, 1], seed=s, dtype=dtype) for s in range(5)]
    stacked = emd.MLPCritic.stack(critics)
    assert stacked.is_stacked and stacked.num_critics == 5 and stacked.weights[0].shape == (5, 3, 20)
    x = rng.standard_normal((5, 37, 3)).astype(dtype)
    y = emd.critic_forward(stacked, x)
    assert y.shape == (5, 37) and y.dtype == np.dtype(dtype)
    for k, c in enumerate(critics):
        # the same kernel on the same rows: identical, not merely close
        np.testing.assert_array_equal(y[k], emd.critic_forward(c, x[k]))
    # one batch shared by every critic
    y_shared = emd.critic_forward(stacked, x[0])
    for k, c in enumerate(critics):
        np.testing.assert_array_equal(y_shared[k], emd.critic_forward(c, x[0]))


def test_deterministic_and_noncontiguous(rng):
    critic = emd.MLPCritic.init([3, 50, 50, 1], seed=4)
    big = rng.standard_normal((400, 6)).astype(np.float32)
    x = big[::2, ::2]  # a non-contiguous view is accepted
    y1 = emd.critic_forward(critic, x)
    y2 = emd.critic_forward(critic, np.ascontiguousarray(x))
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(y1, emd.critic_forward(critic, x))


def test_dtype_promotion(rng):
    critic = emd.MLPCritic.init([2, 8, 1], seed=0, dtype=np.float32)
    x64 = rng.standard_normal((5, 2))
    y = emd.critic_forward(critic, x64)  # float32 critic, float64 input -> float64
    assert y.dtype == np.float64
    assert_close_forward(y, reference_forward(critic, x64), np.float64)
    assert emd.critic_forward(critic, np.ones((3, 2), dtype=np.int64)).dtype == np.float64
    assert emd.critic_forward(critic, x64.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kr_estimate_is_two_means(rng, dtype):
    critic = emd.MLPCritic.init([2, 30, 30, 1], seed=5, dtype=dtype)
    x_real = rng.standard_normal((1001, 2)).astype(dtype)
    x_fake = (rng.standard_normal((77, 2)) + 1.5).astype(dtype)
    est = emd.kr_estimate(critic, x_real, x_fake)
    ref = reference_forward(critic, x_real).mean() - reference_forward(critic, x_fake).mean()
    scale = np.abs(reference_forward(critic, x_real)).max()
    assert isinstance(est, float)
    assert abs(est - ref) <= rtol(dtype) * scale
    assert emd.kr_estimate(critic, x_real, x_fake) == est  # deterministic
    # stacked: one estimate per critic
    st_ = emd.MLPCritic.stack([critic, emd.MLPCritic.init([2, 30, 30, 1], seed=6, dtype=dtype)])
    ests = emd.kr_estimate(st_, x_real, x_fake)
    assert ests.shape == (2,) and ests[0] == est


def test_kr_estimate_translation_of_linear_critic(rng):
    # f(x) = <w, x> with |w| = 1 is 1-Lipschitz and its KR estimate between P
    # and P + t is -<w, t> exactly: the known answer W1 = |t| when w = -t/|t|.
    t = np.array([0.6, -0.8])
    critic = emd.MLPCritic((-t[:, None] / np.linalg.norm(t),), (np.zeros(1),), 0.2)
    x = rng.standard_normal((500, 2))
    np.testing.assert_allclose(emd.kr_estimate(critic, x + t, x), -np.linalg.norm(t), rtol=1e-12)
    np.testing.assert_allclose(emd.kr_estimate(critic, x, x + t), np.linalg.norm(t), rtol=1e-12)


_PEAK = """
def hwm_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise OSError("no VmHWM")

def reset_peak():
    # The peak RSS is inherited across fork/exec (pytest's own peak would hide
    # ours): reset it (Linux >= 4.0), then read it back.
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return hwm_kb()
"""


def _peak_growth_mb(body: str) -> float:
    code = _PEAK + textwrap.dedent(
        """
        import numpy as np, emd
        rng = np.random.default_rng(0)
        xr = rng.standard_normal((1_000_000, 2)).astype(np.float32)
        xf = rng.standard_normal((1_000_000, 2)).astype(np.float32)
        c = emd.MLPCritic.init([2, 64, 64, 1], seed=0)
        emd.kr_estimate(c, xr[:1000], xf[:1000])
        try:
            before = reset_peak()
        except OSError:
            print("nan"); raise SystemExit
        """
    ) + textwrap.dedent(body) + "\nprint((hwm_kb() - before) / 1024.0)\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


def test_kr_estimate_bounded_memory():
    # Peak RSS growth while estimating on 10^6 samples per side, in a fresh
    # process. Materializing one hidden layer would take 10^6 * 64 * 4 B = 256 MB.
    control = _peak_growth_mb("h = xr @ np.ones((2, 64), np.float32)")  # the materializing way
    if np.isnan(control):
        pytest.skip("/proc/self/clear_refs or VmHWM unavailable: peak memory cannot be measured here")
    assert control > 200.0, f"the measurement missed a 256 MB allocation ({control:.1f} MB)"
    growth = _peak_growth_mb("est = emd.kr_estimate(c, xr, xf); assert np.isfinite(est)")
    assert growth < 16.0, f"kr_estimate grew the peak RSS by {growth:.1f} MB on 10^6 samples"


def test_clip_weights_in_place():
    critic = emd.MLPCritic.init([2, 16, 16, 1], seed=0, dtype=np.float64)
    w0 = critic.weights[0]
    same = emd.clip_weights(critic, 0.01)
    assert same is critic and critic.weights[0] is w0
    for a in critic.weights + critic.biases:
        assert a.min() >= -0.01 and a.max() <= 0.01
    assert np.abs(critic.weights[1]).max() == 0.01  # init bound 1/4 > c: some weights sit on the bound
    with pytest.raises(ValueError, match="`c`"):
        emd.clip_weights(critic, 0.0)
    with pytest.raises(TypeError, match="`critic`"):
        emd.clip_weights([np.ones(2)], 0.1)


def test_spectral_norm_matches_svd(rng):
    W = rng.standard_normal((40, 25))
    top = np.linalg.svd(W, compute_uv=False)[0]
    sigma, u = emd.spectral_norm(W, n_power_iterations=200)
    assert sigma == pytest.approx(top, rel=1e-9)
    assert u.shape == (40,) and np.linalg.norm(u) == pytest.approx(1.0)
    # one iteration per call with u carried over converges as well, from below
    s, u = emd.spectral_norm(W, 1)
    assert s <= top * (1 + 1e-12)
    for _ in range(200):
        s, u = emd.spectral_norm(W, 1, u)
    assert s == pytest.approx(top, rel=1e-9)
    # a known answer: diag(3, 2, 1)
    assert emd.spectral_norm(np.diag([3.0, 2.0, 1.0]), 100)[0] == pytest.approx(3.0, rel=1e-12)


def test_lipschitz_bound_dominates_sampled_gradients(rng):
    critic = emd.MLPCritic.init([3, 32, 32, 1], seed=7, dtype=np.float64)
    bound = emd.lipschitz_bound(critic)
    expected = np.prod([np.linalg.svd(W, compute_uv=False)[0] for W in critic.weights])
    assert bound == pytest.approx(expected, rel=1e-12)
    x = rng.standard_normal((2000, 3)) * 3
    h = 1e-6
    grads = np.stack(
        [(reference_forward(critic, x + h * e) - reference_forward(critic, x - h * e)) / (2 * h) for e in np.eye(3)],
        axis=1,
    )
    largest = np.linalg.norm(grads, axis=1).max()
    assert 0 < largest <= bound
    # a linear critic is tight: its gradient is its weight vector
    lin = emd.MLPCritic((np.array([[3.0], [4.0]]),), (np.zeros(1),), 0.2)
    assert emd.lipschitz_bound(lin) == pytest.approx(5.0)
    st_ = emd.MLPCritic.stack([critic, critic])
    np.testing.assert_allclose(emd.lipschitz_bound(st_), [bound, bound], rtol=1e-12)


def test_save_load_roundtrip(tmp_path):
    critic = emd.MLPCritic.init([2, 9, 1], slope=0.1, seed=3)
    path = tmp_path / "c.npz"
    critic.save(path)
    back = emd.MLPCritic.load(path)
    assert back.layers == critic.layers and back.slope == pytest.approx(0.1) and back.dtype == np.float32
    for a, b in zip(critic.weights + critic.biases, back.weights + back.biases):
        np.testing.assert_array_equal(a, b)
    stacked = emd.MLPCritic.stack([critic, critic])
    stacked.save(tmp_path / "s.npz")
    assert emd.MLPCritic.load(tmp_path / "s.npz").num_critics == 2


def test_load_never_unpickles(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, W0=np.array([object()], dtype=object), b0=np.zeros(1), slope=0.2, num_layers=1)
    with pytest.raises(ValueError):
        emd.MLPCritic.load(path)
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="num_layers"):
        emd.MLPCritic.load(tmp_path / "other.npz")


def test_bad_input():
    critic = emd.MLPCritic.init([2, 8, 1], seed=0)
    with pytest.raises(ValueError, match="`x`"):
        emd.critic_forward(critic, np.array([[0.0, np.nan]]))
    with pytest.raises(ValueError, match="d = 2"):
        emd.critic_forward(critic, np.zeros((4, 3)))
    with pytest.raises(ValueError, match="`x`"):
        emd.critic_forward(critic, np.zeros((0, 2)))
    with pytest.raises(ValueError, match="`x`"):
        emd.critic_forward(critic, np.zeros((2, 4, 2)))  # 3-D x needs a stacked critic
    with pytest.raises(TypeError, match="complex"):
        emd.critic_forward(critic, np.zeros((4, 2), dtype=complex))
    with pytest.raises(TypeError, match="`x`"):
        emd.critic_forward(critic, np.array([["a", "b"]], dtype=object))
    with pytest.raises(TypeError, match="`critic`"):
        emd.critic_forward("critic", np.zeros((1, 2)))
    with pytest.raises(ValueError, match="end with 1"):
        emd.MLPCritic.init([2, 8, 2])
    with pytest.raises(ValueError, match="layers"):
        emd.MLPCritic.init([2])
    with pytest.raises(ValueError, match="layers\\[1\\]"):
        emd.MLPCritic.init([2, 0, 1])
    with pytest.raises(ValueError, match="`slope`"):
        emd.MLPCritic.init([2, 8, 1], slope=-0.1)
    with pytest.raises(TypeError, match="dtype"):
        emd.MLPCritic.init([2, 8, 1], dtype=np.int32)
    with pytest.raises(ValueError, match="fan_in"):
        emd.MLPCritic((np.ones((2, 3)), np.ones((4, 1))), (np.ones(3), np.ones(1)))
    with pytest.raises(ValueError, match="biases\\[0\\]"):
        emd.MLPCritic((np.ones((2, 1)),), (np.ones(2),))
    with pytest.raises(ValueError, match="weights\\[0\\]"):
        emd.MLPCritic((np.full((2, 1), np.inf),), (np.ones(1),))
    with pytest.raises(ValueError, match="stacked"):
        emd.MLPCritic.stack([critic, emd.MLPCritic.init([2, 9, 1])])
    with pytest.raises(ValueError, match="`x_fake`"):
        emd.kr_estimate(critic, np.zeros((3, 2)), np.zeros((3, 5)))
    with pytest.raises(ValueError, match="`W`"):
        emd.spectral_norm(np.ones(3))
    with pytest.raises(ValueError, match="`u`"):
        emd.spectral_norm(np.ones((3, 2)), 1, np.ones(2))
    with pytest.raises(ValueError, match="`u`"):
        emd.spectral_norm(np.ones((3, 2)), 1, np.zeros(3))
    with pytest.raises(ValueError, match="n_power_iterations"):
        emd.spectral_norm(np.ones((3, 2)), 0)


def test_frozen_dataclass():
    critic = emd.MLPCritic.init([2, 4, 1])
    with pytest.raises(AttributeError):
        critic.slope = 0.5  # type: ignore[misc]


def test_rows_independent_of_tiling():
    # a row's output never depends on how the batch was split into tiles
    critic = emd.MLPCritic.init([2, 40, 1], seed=0, dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((97, 2))
    full = emd.critic_forward(critic, x)
    for n in (1, 13, 50):
        np.testing.assert_array_equal(emd.critic_forward(critic, x[:n]), full[:n])


# -- the blocking of the forward kernel: row tiles of up to 256 rows, micro-tiles
# of 8 (AVX-512) or 6 rows, column panels of 32 floats / 16 doubles, and the
# prefetch of the next W panel (the next layer's first panel after a layer's
# last one). Sizes below straddle every one of those boundaries.

TILING_ARCHS = [
    [2, 512, 512, 512, 1],  # the benchmark's critic: no partial column panel
    [3, 40, 33, 1],  # partial panels in both hidden layers
    [5, 96, 64, 160, 1],  # panels of different widths: the cross-layer prefetch changes stride
    [7, 17, 1],  # one hidden layer narrower than a panel
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layers", TILING_ARCHS, ids=lambda l: "-".join(map(str, l)))
def test_forward_tile_remainders(rng, layers, dtype):
    critic = emd.MLPCritic.init(layers, slope=0.2, seed=5, dtype=dtype)
    for batch in (1, 5, 63, 65, 255, 256, 257, 600):
        x = rng.standard_normal((batch, layers[0])).astype(dtype)
        y = emd.critic_forward(critic, x)
        assert y.shape == (batch,) and y.dtype == np.dtype(dtype)
        assert_close_forward(y, reference_forward(critic, x), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("num_critics", [1, 3])
def test_stacked_tile_remainders(rng, dtype, num_critics):
    # stacked critics take whole batches as tiles up to 256 rows; K = 1 is a
    # stack of one; batches just below and above the tile size
    critics = [emd.MLPCritic.init([3, 40, 72, 1], seed=s, dtype=dtype) for s in range(num_critics)]
    stacked = emd.MLPCritic.stack(critics)
    for batch in (1, 63, 65, 257):
        x = rng.standard_normal((num_critics, batch, 3)).astype(dtype)
        y = emd.critic_forward(stacked, x)
        assert y.shape == (num_critics, batch)
        for k, c in enumerate(critics):
            assert_close_forward(y[k], reference_forward(c, x[k]), dtype)
            np.testing.assert_array_equal(y[k], emd.critic_forward(c, x[k]))


_THREADS_SCRIPT = """
import sys, numpy as np, emd
rng = np.random.default_rng(7)
out = {}
for dtype in (np.float32, np.float64):
    c = emd.MLPCritic.init([2, 512, 512, 512, 1], seed=1, dtype=dtype)
    for batch in (64, 257):  # enough work for every thread (one per ~2 MFLOP)
        out[f"single_{np.dtype(dtype).name}_{batch}"] = emd.critic_forward(c, rng.standard_normal((batch, 2)).astype(dtype))
s = emd.MLPCritic.stack([emd.MLPCritic.init([2, 96, 80, 1], seed=k) for k in range(5)])
out["stacked"] = emd.critic_forward(s, rng.standard_normal((5, 300, 2)).astype(np.float32))
c = emd.MLPCritic.init([2, 128, 128, 1], seed=2)
out["kr"] = np.array(emd.kr_estimate(c, rng.standard_normal((5000, 2)).astype(np.float32),
                                     rng.standard_normal((3000, 2)).astype(np.float32)))
np.savez(sys.argv[1], **out)
"""


def test_bitwise_identical_for_any_thread_count(tmp_path):
    # Threads split rows (never a sum): every output is computed by the same
    # operations in the same order whatever the number of threads.
    results = []
    for threads in (1, 2, 3):
        path = tmp_path / f"t{threads}.npz"
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        subprocess.run([sys.executable, "-c", _THREADS_SCRIPT, str(path)], env=env, check=True,
                       capture_output=True, text=True)
        with np.load(path) as f:
            results.append({k: f[k] for k in f.files})
    for other in results[1:]:
        assert other.keys() == results[0].keys()
        for k in results[0]:
            np.testing.assert_array_equal(other[k], results[0][k], err_msg=k)


@pytest.mark.parametrize("rows", [3, 40_000])  # below and above check_finite's one-pass size
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_x_named_with_its_index(rows, bad):
    critic = emd.MLPCritic.init([2, 8, 1], seed=0)
    x = np.ones((rows, 2), np.float32)
    x[rows - 1, 1] = bad
    with pytest.raises(ValueError, match=rf"`x` must be finite, but x\[\({rows - 1}, 1\)\]"):
        emd.critic_forward(critic, x)
    # float32 values whose sum overflows are finite: accepted, with no overflow warning
    # (pytest turns warnings into errors)
    big = np.full((rows, 2), 3e38, np.float32)
    assert emd.critic_forward(critic, big).shape == (rows,)


@pytest.mark.parametrize("dtype", ["bogus", None, np.int32, np.complex128])
def test_critic_dtypes_other_than_float_are_refused(dtype):
    with pytest.raises(TypeError, match=r"`dtype` must be float32 or float64"):
        emd.MLPCritic.init([3, 4, 1], dtype=dtype)
    # astype(int32) truncated every weight to 0 without a word.
    with pytest.raises(TypeError, match=r"`dtype` must be float32 or float64"):
        emd.MLPCritic.init([3, 4, 1]).astype(dtype)


def test_clip_weights_refuses_read_only_arrays():
    w = np.ones((3, 1))
    w.flags.writeable = False
    critic = emd.MLPCritic((w,), (np.zeros(1),))
    with pytest.raises(ValueError, match=r"`critic` holds read-only arrays"):
        emd.clip_weights(critic, 0.5)


def test_load_refuses_what_save_did_not_write(tmp_path):
    np.savez(tmp_path / "a.npz", W0=np.ones((3, 1)), b0=np.zeros(1), slope=np.array([0.2, 0.3]), num_layers=np.array(1))
    with pytest.raises(ValueError, match=r"slope must be a float scalar"):
        emd.MLPCritic.load(tmp_path / "a.npz")
    np.savez(tmp_path / "b.npz", W0=np.ones((3, 1)), b0=np.zeros(1), slope=np.array(0.2), num_layers=np.array(1.5))
    with pytest.raises(ValueError, match=r"num_layers must be a positive integer scalar"):
        emd.MLPCritic.load(tmp_path / "b.npz")
    np.save(tmp_path / "c.npy", np.ones(3))
    with pytest.raises(ValueError, match=r"not an \.npz archive"):
        emd.MLPCritic.load(tmp_path / "c.npy")
    (tmp_path / "d.txt").write_text("hello")
    with pytest.raises(ValueError, match=r"not a critic saved by MLPCritic.save \(not an \.npz archive of plain arrays\)"):
        emd.MLPCritic.load(tmp_path / "d.txt")


@pytest.mark.parametrize("scale", [1e200, 1e-200, 1e300])
def test_spectral_norm_of_matrices_far_from_one(scale):
    # Norms of 1e200 entries overflowed (sigma came back 0.0), of 1e-200 underflowed.
    W = np.array([[3.0, 0.0], [0.0, 4.0]]) * scale
    sigma, u = emd.spectral_norm(W, n_power_iterations=50)
    assert sigma == pytest.approx(4.0 * scale, rel=1e-9)
    assert np.linalg.norm(u) == pytest.approx(1.0, rel=1e-14)
    # A start vector of tiny entries is a direction like any other.
    sigma_u, _ = emd.spectral_norm(W, n_power_iterations=50, u=[1e-200, 1e-200])
    assert sigma_u == pytest.approx(4.0 * scale, rel=1e-9)


def test_results_and_critics_compare_by_identity_and_pickle():
    import pickle

    r = emd.solve(None, None, np.eye(3))
    assert r == r and r != emd.solve(None, None, np.eye(3)) and len({r, r}) == 1
    c = emd.MLPCritic.init([3, 8, 1])
    assert c in [c] and c not in [emd.MLPCritic.init([3, 8, 1])]
    # The Sinkhorn plan was a closure: pickling raised.
    s = emd.sinkhorn(None, None, np.eye(3), 0.1)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(s)).plan, s.plan)
    x = np.random.default_rng(0).random((4, 2))
    t = emd.sinkhorn_samples(x, x[::-1] + 1, 0.1)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(t)).plan, t.plan)


def test_load_checks_num_layers_against_the_archive(tmp_path):
    # num_layers = 10**12 built a list of 10**12 names (hang); a damaged zip leaked BadZipFile.
    np.savez(tmp_path / "h.npz", W0=np.zeros((3, 1)), b0=np.zeros(1), slope=np.float64(0.2), num_layers=np.int64(10**12))
    with pytest.raises(ValueError, match=r"num_layers = 1000000000000 but the archive holds only 4 arrays"):
        emd.MLPCritic.load(tmp_path / "h.npz")
    (tmp_path / "z.npz").write_bytes(b"PK\x03\x04garbage" * 10)
    with pytest.raises(ValueError, match=r"not an \.npz archive"):
        emd.MLPCritic.load(tmp_path / "z.npz")


def test_kr_estimate_overflow_is_an_error_not_nan():
    critic = emd.MLPCritic((np.full((3, 3), 1e200), np.full((3, 1), 1e200)), (np.zeros(3), np.zeros(1)))
    with pytest.raises(ValueError, match=r"kr_estimate: the critic's outputs overflow"):
        emd.kr_estimate(critic, np.ones((2, 3)), np.ones((2, 3)))


def test_stack_of_one_critic_names_the_argument():
    with pytest.raises(TypeError, match=r"`critics` must be a nonempty sequence of MLPCritic, got one MLPCritic"):
        emd.MLPCritic.stack(emd.MLPCritic.init([3, 4, 1]))
    # u in the left null space of W: sigma 0 and u still a unit vector (was [0, 0]).
    sigma, u = emd.spectral_norm(np.array([[1.0, 0.0], [0.0, 0.0]]), 1, np.array([0.0, 1.0]))
    assert sigma == 0.0 and np.linalg.norm(u) == 1.0
