r"""MLP critics for Wasserstein GANs: fast forward passes and Lipschitz control.

A WGAN estimates the Wasserstein-1 distance through Kantorovich-Rubinstein duality,

.. math::

    W_1(P_r, P_g) = \sup_{\|f\|_L \le 1} \; \mathbb{E}_{x \sim P_r} f(x) - \mathbb{E}_{x \sim P_g} f(x),

with the supremum taken over a family of critics :math:`f_w` kept Lipschitz by
weight clipping, spectral normalization or a gradient penalty. This module holds
the critic's parameters as plain numpy arrays (so numpy code, the trainer in
:mod:`emd.wgan` and later a GPU path share them) and runs its forward pass in
C++: one row tile goes through every layer while it sits in cache, with the
bias and activation fused into a register-tiled matrix product.

Reference: M. Arjovsky, S. Chintala, L. Bottou, "Wasserstein generative
adversarial networks", ICML 2017.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ._backend.base import Backend
from ._dispatch import backend_for, library_of
from ._validation import (
    as_float_array,
    cast,
    check_finite,
    check_positive_int,
    check_real,
    check_seed,
    largest_abs,
    result_float_dtype,
)

__all__ = [
    "MLPCritic",
    "critic_forward",
    "kr_estimate",
    "clip_weights",
    "spectral_norm",
    "lipschitz_bound",
]


def _check_layers(layers: Any) -> tuple[int, ...]:
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence):
        raise TypeError(f"`layers` must be a sequence of widths like [d, 512, 512, 1], got {type(layers).__name__}")
    widths = tuple(check_positive_int(w, f"layers[{i}]") for i, w in enumerate(layers))
    if len(widths) < 2:
        raise ValueError(f"`layers` needs at least an input and an output width, got {list(widths)}")
    if widths[-1] != 1:
        raise ValueError(f"`layers` must end with 1 (a critic outputs one number per sample), got {list(widths)}")
    return widths


def _param_array(x: Any, name: str, **kwargs: Any) -> Any:
    """A parameter array: NumPy, or CuPy for a critic kept on the GPU (checked alike)."""
    return backend_for("MLPCritic", **{name: x}).asarray(x, name, **kwargs)


@dataclass(frozen=True, eq=False)
class MLPCritic:
    r"""An MLP critic :math:`f(x) = W_L^\top \sigma(\dots \sigma(x W_1 + b_1) \dots) + b_L`.

    Hidden layers use the LeakyReLU :math:`\sigma(t) = \max(t, s\,t)` with slope
    :math:`0 \le s \le 1` (``slope=0`` is the ReLU); the last layer is linear with
    one output.

    Attributes
    ----------
    weights : tuple of ndarray
        Layer l has shape (fan_in, fan_out), so a layer is ``h @ W + b``; a
        stacked critic (see :meth:`stack`) has (K, fan_in, fan_out).
    biases : tuple of ndarray
        Shapes (fan_out,), or (K, fan_out) when stacked.
    slope : float
        The LeakyReLU slope.

    The dataclass is frozen (its fields cannot be rebound) but the arrays are
    the parameters themselves: :func:`clip_weights` and an optimizer update
    them in place. All arrays share one dtype, float32 or float64, and are
    C-contiguous.
    """

    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    slope: float = 0.2

    def __post_init__(self) -> None:
        weights, biases = self.weights, self.biases
        if not isinstance(weights, (tuple, list)) or not isinstance(biases, (tuple, list)):
            raise TypeError("`weights` and `biases` must be sequences of arrays, one per layer")
        if len(weights) == 0 or len(weights) != len(biases):
            raise ValueError(
                f"`weights` and `biases` need one array per layer, got {len(weights)} weights and {len(biases)} biases"
            )
        slope = check_real(self.slope, "slope", low=0.0, high=1.0)
        ws = [_param_array(w, f"weights[{i}]", min_ndim=2, max_ndim=3) for i, w in enumerate(weights)]
        bs = [_param_array(b, f"biases[{i}]", min_ndim=1, max_ndim=2) for i, b in enumerate(biases)]
        if len({library_of(a) for a in ws + bs}) > 1:
            raise TypeError("the critic's arrays mix NumPy and CuPy arrays; keep all of them on one device")
        stacked = ws[0].ndim == 3
        dtype = result_float_dtype(*ws, *bs)
        prev = None
        for i, (w, b) in enumerate(zip(ws, bs)):
            if (w.ndim == 3) != stacked or (b.ndim == 2) != stacked:
                raise ValueError(
                    f"layer {i}: every array must be stacked (weights (K, fan_in, fan_out), biases (K, fan_out)) "
                    f"or none; got weights {w.shape} and biases {b.shape}"
                )
            if stacked and (w.shape[0] != ws[0].shape[0] or b.shape[0] != ws[0].shape[0]):
                raise ValueError(f"layer {i}: all stacked arrays need the same K = {ws[0].shape[0]}, got {w.shape}, {b.shape}")
            if prev is not None and w.shape[-2] != prev:
                raise ValueError(f"`weights[{i}]` has fan_in {w.shape[-2]} but the previous layer's fan_out is {prev}")
            if b.shape[-1] != w.shape[-1]:
                raise ValueError(f"`biases[{i}]` has shape {b.shape}; expected fan_out = {w.shape[-1]}")
            prev = w.shape[-1]
        if prev != 1:
            raise ValueError(f"the last layer must have fan_out 1 (one score per sample), got {prev}")
        ws = [cast(w, dtype) for w in ws]
        bs = [cast(b, dtype) for b in bs]
        for i, (w, b) in enumerate(zip(ws, bs)):
            check_finite(w, f"weights[{i}]")
            check_finite(b, f"biases[{i}]")
        object.__setattr__(self, "weights", tuple(ws))
        object.__setattr__(self, "biases", tuple(bs))
        object.__setattr__(self, "slope", slope)

    # -- derived properties -------------------------------------------------
    @property
    def layers(self) -> tuple[int, ...]:
        """The widths (d, hidden..., 1)."""
        return (self.weights[0].shape[-2],) + tuple(w.shape[-1] for w in self.weights)

    @property
    def is_stacked(self) -> bool:
        return self.weights[0].ndim == 3

    @property
    def num_critics(self) -> int:
        """K for a stacked critic, 1 otherwise."""
        return self.weights[0].shape[0] if self.is_stacked else 1

    @property
    def dtype(self) -> np.dtype:
        return self.weights[0].dtype

    # -- construction -------------------------------------------------------
    @classmethod
    def init(cls, layers: Sequence[int], slope: float = 0.2, seed: Any = 0, dtype: Any = np.float32) -> "MLPCritic":
        r"""A fresh critic with PyTorch's default initialization.

        Every weight and bias of a layer with fan_in :math:`n` is drawn from
        :math:`U(-1/\sqrt{n}, 1/\sqrt{n})` by ``numpy.random.default_rng(seed)``.

        Parameters
        ----------
        layers : sequence of int
            Widths ``[d, hidden..., 1]``.
        slope : float, default 0.2
        seed : int, Generator or None, default 0
        dtype : float32 or float64, default float32
        """
        widths = _check_layers(layers)
        dt = _float_dtype(dtype)
        rng = check_seed(seed)
        ws, bs = [], []
        for fan_in, fan_out in zip(widths[:-1], widths[1:]):
            bound = 1.0 / np.sqrt(fan_in)
            ws.append(rng.uniform(-bound, bound, size=(fan_in, fan_out)).astype(dt))
            bs.append(rng.uniform(-bound, bound, size=fan_out).astype(dt))
        return cls(tuple(ws), tuple(bs), slope)

    @classmethod
    def stack(cls, critics: Sequence["MLPCritic"]) -> "MLPCritic":
        """K critics of one architecture as one stacked critic (arrays gain a leading K axis)."""
        if isinstance(critics, MLPCritic):
            raise TypeError("`critics` must be a nonempty sequence of MLPCritic, got one MLPCritic: pass [critic]")
        try:
            critics = list(critics)
        except TypeError:
            raise TypeError(f"`critics` must be a nonempty sequence of MLPCritic, got {type(critics).__name__}") from None
        if not critics or not all(isinstance(c, MLPCritic) for c in critics):
            raise TypeError("`critics` must be a nonempty sequence of MLPCritic")
        first = critics[0]
        for i, c in enumerate(critics):
            if c.is_stacked:
                raise ValueError(f"`critics[{i}]` is already stacked; stack single critics")
            if c.layers != first.layers or c.slope != first.slope or c.dtype != first.dtype:
                raise ValueError(
                    f"`critics[{i}]` has layers {c.layers}, slope {c.slope}, dtype {c.dtype}; "
                    f"critics[0] has {first.layers}, {first.slope}, {first.dtype}: stacked critics share all three"
                )
        ws = tuple(np.stack([c.weights[l] for c in critics]) for l in range(len(first.weights)))
        bs = tuple(np.stack([c.biases[l] for c in critics]) for l in range(len(first.biases)))
        return cls(ws, bs, first.slope)

    def copy(self) -> "MLPCritic":
        return MLPCritic(tuple(w.copy() for w in self.weights), tuple(b.copy() for b in self.biases), self.slope)

    def astype(self, dtype: Any) -> "MLPCritic":
        """The same critic in another float dtype (no copy when it already has it)."""
        dt = _float_dtype(dtype)
        if dt == self.dtype:
            return self
        return MLPCritic(tuple(w.astype(dt) for w in self.weights), tuple(b.astype(dt) for b in self.biases), self.slope)

    # -- persistence --------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write the critic to a ``.npz`` file (plain arrays only; no pickles)."""
        arrays = {f"W{i}": w for i, w in enumerate(self.weights)}
        arrays.update({f"b{i}": b for i, b in enumerate(self.biases)})
        arrays["slope"] = np.asarray(self.slope, dtype=np.float64)
        arrays["num_layers"] = np.asarray(len(self.weights), dtype=np.int64)
        np.savez(path, **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "MLPCritic":
        """Read a critic written by :meth:`save`; never unpickles (``allow_pickle=False``)."""
        where = repr(os.fspath(path))
        # The file is opened here so that it is closed on every path (np.load
        # left a damaged zip's handle open when it raised).
        with open(path, "rb") as fh:
            try:
                archive = np.load(fh, allow_pickle=False)
            except (ValueError, zipfile.BadZipFile, EOFError):  # a pickle, text, a damaged archive: never unpickled
                raise ValueError(
                    f"{where} is not a critic saved by MLPCritic.save (not an .npz archive of plain arrays)"
                ) from None
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise ValueError(f"{where} is not a critic saved by MLPCritic.save (a single array, not an .npz archive)")
            with archive as f:
                keys = set(f.files)
                if "num_layers" not in keys or "slope" not in keys:
                    raise ValueError(f"{where} is not a critic saved by MLPCritic.save (no num_layers/slope)")
                num_layers, slope_arr = f["num_layers"], f["slope"]
                if num_layers.shape != () or num_layers.dtype.kind not in "iu" or int(num_layers) < 1:
                    raise ValueError(f"{where}: num_layers must be a positive integer scalar, got {num_layers!r}")
                if slope_arr.shape != () or slope_arr.dtype.kind != "f":
                    raise ValueError(f"{where}: slope must be a float scalar, got {slope_arr!r}")
                n = int(num_layers)
                if n > len(keys):  # checked before any list of n names is built (10**12 hung)
                    raise ValueError(f"{where}: num_layers = {n} but the archive holds only {len(keys)} arrays")
                missing = [k for i in range(n) for k in (f"W{i}", f"b{i}") if k not in keys]
                if missing:
                    raise ValueError(f"{where} lacks the arrays {missing}")
                ws = tuple(f[f"W{i}"] for i in range(n))
                bs = tuple(f[f"b{i}"] for i in range(n))
                slope = float(slope_arr)
        return cls(ws, bs, slope)


def _check_critic(critic: Any) -> MLPCritic:
    if not isinstance(critic, MLPCritic):
        raise TypeError(f"`critic` must be an emd.MLPCritic, got {type(critic).__name__}")
    return critic


def _check_input(be: Backend, critic: MLPCritic, x: Any) -> tuple[Any, np.dtype]:
    """The checks of :func:`critic_forward`'s ``x``: contiguous, finite, of the
    critic's width and dtype rule. Kept lean: it runs on every forward pass,
    where a batch of 64 takes ~0.3 ms."""
    d = critic.weights[0].shape[-2]
    xa = be.asarray(x, "x", min_ndim=2, max_ndim=3 if critic.is_stacked else 2)
    if xa.shape[-1] != d:
        raise ValueError(f"`x` must have d = {d} columns (the critic's input width), got shape {xa.shape}")
    if xa.ndim == 3 and xa.shape[0] != critic.num_critics:
        raise ValueError(
            f"`x` of shape {xa.shape} must have K = {critic.num_critics} batches, one per stacked critic, or be (B, d)"
        )
    if xa.shape[-2] == 0:
        raise ValueError(f"`x` has no rows (shape {xa.shape})")
    # the promotion rule, short-cut when x already has the critic's dtype (float32 or float64)
    dtype = xa.dtype if xa.dtype == critic.weights[0].dtype else result_float_dtype(xa, critic.weights[0])
    xa = cast(xa, dtype)
    check_finite(xa, "x")
    return xa, dtype


def _check_pair(be: Backend, critic: MLPCritic, x_real: Any, x_fake: Any) -> tuple[Any, Any, np.dtype]:
    """The checks of :func:`kr_estimate`'s samples."""
    d = critic.layers[0]
    xr = be.asarray(x_real, "x_real", min_ndim=2, max_ndim=2)
    xf = be.asarray(x_fake, "x_fake", min_ndim=2, max_ndim=2)
    for name, a in (("x_real", xr), ("x_fake", xf)):
        if a.shape[1] != d:
            raise ValueError(f"`{name}` must be (n, {d}) to match the critic's input width, got {a.shape}")
    dtype = result_float_dtype(xr, xf, critic.weights[0])
    xr, xf = cast(xr, dtype), cast(xf, dtype)
    check_finite(xr, "x_real")
    check_finite(xf, "x_fake")
    return xr, xf, dtype


def critic_forward(critic: MLPCritic, x: Any) -> np.ndarray:
    r"""Evaluate the critic on a batch: :math:`f(x_i)` for every row.

    Parameters
    ----------
    critic : MLPCritic
        A single critic, or K stacked critics (:meth:`MLPCritic.stack`).
    x : array_like
        (B, d) for a single critic. For a stacked critic, (K, B, d) gives critic
        k the batch ``x[k]``, and (B, d) feeds one batch to every critic. All
        critics run in one kernel call.

    Returns
    -------
    ndarray
        (B,) for a single critic, (K, B) for a stacked one; float32 when the
        critic and ``x`` are float32, float64 otherwise.
    """
    be = backend_for("critic_forward", x=x)
    with be.active():
        critic = _check_critic(critic)
        xa, dtype = _check_input(be, critic, x)
        out = be.critic_forward(be.critic_layers(critic, dtype), xa)
        return be.finish(out if critic.is_stacked else out[0])


def kr_estimate(critic: MLPCritic, x_real: Any, x_fake: Any) -> float | np.ndarray:
    r"""The Kantorovich-Rubinstein estimate of :math:`W_1` by a critic.

    .. math::

        \widehat{W}_1 = \frac{1}{n} \sum_{i=1}^{n} f(x^{\mathrm{real}}_i) - \frac{1}{m} \sum_{j=1}^{m} f(x^{\mathrm{fake}}_j),

    a lower bound of :math:`W_1` between the two samples times the critic's
    Lipschitz constant. Fused and tiled: f is never materialized over the
    samples, so the extra memory is constant in n and m; sums are in float64.

    Parameters
    ----------
    critic : MLPCritic
        Single or stacked.
    x_real : array_like, shape (n, d)
    x_fake : array_like, shape (m, d)

    Returns
    -------
    float, or ndarray (K,) float64 for a stacked critic.
    """
    be = backend_for("kr_estimate", x_real=x_real, x_fake=x_fake)
    with be.active():
        critic = _check_critic(critic)
        xr, xf, dtype = _check_pair(be, critic, x_real, x_fake)
        out = be.kr_estimate(be.critic_layers(critic, dtype), xr, xf)  # (K,) float64 on the host
    if not np.all(np.isfinite(out)):  # inf - inf: the means overflowed on finite inputs
        raise ValueError(
            f"kr_estimate: the critic's outputs overflow (the means came out {out}); its weights or the samples are"
            " too large for the forward pass: rescale them"
        )
    return be.finish(out if critic.is_stacked else out[0])


def _float_dtype(dtype: Any) -> np.dtype:
    """float32 or float64, as a numpy dtype; anything else (None included) is a TypeError."""
    try:
        dt = None if dtype is None else np.dtype(dtype)
    except TypeError:
        dt = None
    # `is None` first: np.dtype compares equal to None (None means float64 to numpy).
    if dt is None or dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"`dtype` must be float32 or float64, got {dtype!r}")
    return dt


def clip_weights(critic: MLPCritic, c: float) -> MLPCritic:
    r"""Algorithm 1, line 7 of the WGAN paper: :math:`w \leftarrow \mathrm{clip}(w, -c, c)`, in place.

    The paper's :math:`w` is every parameter of the critic, so biases are
    clipped too. Returns ``critic`` (the same object) for chaining.
    """
    critic = _check_critic(critic)
    cf = check_real(c, "c", low=0.0, strict_low=True)
    if not all(a.flags.writeable for a in critic.weights + critic.biases):
        raise ValueError(
            "`critic` holds read-only arrays and clip_weights clips in place; build it from writable copies"
        )
    for a in critic.weights + critic.biases:
        np.clip(a, -cf, cf, out=a)
    return critic


def spectral_norm(W: Any, n_power_iterations: int = 1, u: Any = None) -> tuple[float, np.ndarray]:
    r"""Largest singular value of W by power iteration (Miyato et al. 2018).

    .. math::

        v \leftarrow W^\top u / \|W^\top u\|, \quad u \leftarrow W v / \|W v\|, \quad \sigma = u^\top W v.

    Each iteration tightens :math:`\sigma` from below towards :math:`\sigma_{\max}(W)`;
    passing the returned ``u`` to the next call (as in spectral normalization
    during training, where W changes little per step) makes one iteration per
    call enough.

    Parameters
    ----------
    W : array_like, shape (m, n)
    n_power_iterations : int, default 1
    u : array_like, shape (m,), optional
        The left vector from the previous call; ``None`` starts from a fixed
        random unit vector (seed 0), so results are reproducible.

    Returns
    -------
    sigma : float
    u : ndarray, shape (m,), float64 unit vector to pass back next time.

    References
    ----------
    T. Miyato, T. Kataoka, M. Koyama, Y. Yoshida, "Spectral normalization for
    generative adversarial networks", ICLR 2018.
    """
    Wa = as_float_array(W, "W", min_ndim=2, max_ndim=2)
    Wa = np.asarray(Wa, dtype=np.float64)
    check_finite(Wa, "W")
    n_it = check_positive_int(n_power_iterations, "n_power_iterations")
    m = Wa.shape[0]
    if u is None:
        ua = np.random.default_rng(0).standard_normal(m)
    else:
        ua = as_float_array(u, "u", min_ndim=1, max_ndim=1)
        if ua.shape != (m,):
            raise ValueError(f"`u` must have shape ({m},) = (W.shape[0],), got {ua.shape}")
        ua = np.array(ua, dtype=np.float64)
        check_finite(ua, "u")
    # W and u are divided by powers of two near their largest entries (exact;
    # sigma scales with W, u is a direction): products and norms of entries
    # like 1e200 or 1e-200 then neither overflow nor underflow.
    big_u = largest_abs(ua)
    if big_u == 0:
        raise ValueError("`u` is the zero vector; pass a nonzero start vector or None")
    ua = ua / 2.0 ** int(np.frexp(big_u)[1])
    ua = ua / np.linalg.norm(ua)
    big_w = largest_abs(Wa)
    if big_w == 0:
        return 0.0, ua
    exponent = int(np.frexp(big_w)[1])
    Ws = Wa / 2.0**exponent
    tiny = np.finfo(np.float64).tiny
    for _ in range(n_it):
        v = Ws.T @ ua
        v /= max(np.linalg.norm(v), tiny)
        wv = Ws @ v
        norm_wv = np.linalg.norm(wv)
        if norm_wv == 0:  # u in W's left null space: sigma estimate 0, u stays a unit vector
            break
        ua = wv / norm_wv
    sigma = float(ua @ (Ws @ v)) * 2.0**exponent
    return sigma, ua


def lipschitz_bound(critic: MLPCritic) -> float | np.ndarray:
    r"""An upper bound of the critic's Lipschitz constant (Euclidean norms).

    .. math::

        \|f\|_L \le \max(1, s)^{L-1} \prod_{l=1}^{L} \sigma_{\max}(W_l),

    since the LeakyReLU with slope :math:`s \in [0, 1]` is 1-Lipschitz. The
    spectral norms are exact (SVD), not power-iteration estimates.

    Returns
    -------
    float, or ndarray (K,) for a stacked critic.
    """
    critic = _check_critic(critic)
    ws = [np.asarray(w, dtype=np.float64) for w in critic.weights]
    if not critic.is_stacked:
        return float(np.prod([np.linalg.norm(w, 2) for w in ws]))
    return np.prod([np.linalg.svd(w, compute_uv=False)[:, 0] for w in ws], axis=0)
