"""One tile of distances: the per-distribution work of a block, then the per-pair work.

``prepare_block`` does what depends on one distribution only (sorting samples,
projecting and sorting clouds, normalizing histograms), once per block of rows;
``compute_tile`` takes two prepared blocks and returns their (a, b) distances
through emd's batched public functions, or through the structure of equal-size
uniform samples: their sorted rows turn W_p into an l_p distance,

.. math::

    W_p(u, v)^p = \\frac1m \\sum_{k=1}^m |u_{(k)} - v_{(k)}|^p,

so W1 is the l1 distance between sorted rows over m and W2^2 a squared euclidean
distance, which a matrix product gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

import emd
from .._numerics import power_mean

from ._inputs import Side, Spec

# Squared distances below this fraction of |a|^2 + |b|^2 (rows centred) are
# recomputed directly: the matrix-product expansion loses about K * eps * (|a|^2 +
# |b|^2) to rounding, so above the threshold its relative error stays below
# K * 2.2e-16 / 2**-10, 2e-10 for K = 1000 (in practice sqrt(K) times less).
_EXPANSION_FLOOR = 2.0**-10
# Bytes of temporaries one numpy l_p step may allocate.
_CHUNK_BYTES = 1 << 24


@dataclass(frozen=True, eq=False)
class Prepared:
    """A block after its per-distribution work.

    ``values``: sorted samples (b, L) (padded ragged rows: weight 0 on the pad),
    sorted projections (b, L_proj, m), or normalized histograms (b, n).
    ``weights``: None (uniform) or sorted like ``values``. ``flat``: for uniform
    equal-size samples, the rows (b, K) whose l_p distance / K^(1/p) is the metric.
    """

    values: np.ndarray
    weights: np.ndarray | None = None
    flat: np.ndarray | None = None


def prepare_block(spec: Spec, side: Side) -> Prepared:
    """Per-distribution work of one block of rows (see the module docstring)."""
    if spec.metric == "wasserstein_1d":
        if side.offsets is not None:
            return _pad_ragged(side, spec.dtype)
        if side.weights is None:
            s = np.sort(side.values, axis=1)
            return Prepared(s, None, s)
        order = np.argsort(side.values, axis=1, kind="stable")
        return Prepared(np.take_along_axis(side.values, order, 1), np.take_along_axis(side.weights, order, 1))
    if spec.metric == "sliced":
        # (b, m, d) @ (d, L) -> (b, L, m): each projection a row, sorted once here.
        proj = np.ascontiguousarray(np.swapaxes(side.values @ spec.theta, 1, 2))
        if side.weights is None:
            proj.sort(axis=2)
            flat = proj.reshape(proj.shape[0], -1) if spec.option("reduce") == "mean" else None
            return Prepared(proj, None, flat)
        order = np.argsort(proj, axis=2, kind="stable")
        w = np.broadcast_to(side.weights[:, None, :], proj.shape)
        return Prepared(np.take_along_axis(proj, order, 2), np.ascontiguousarray(np.take_along_axis(w, order, 2)))
    # Histograms: normalized in float64 once per block (emd.tv/kl/js normalize in float64 too).
    h = side.values.astype(np.float64)
    return Prepared(h / h.sum(axis=1, keepdims=True))


def _pad_ragged(side: Side, dtype: np.dtype) -> Prepared:
    """Ragged rows sorted and padded to the longest, the pad weighing 0 (it repeats
    the row's largest value, so rows stay sorted); weights normalized per row."""
    offsets = side.offsets
    lengths = np.diff(offsets)
    b, width = lengths.size, int(lengths.max())
    values = np.empty((b, width), dtype=dtype)
    weights = np.zeros((b, width), dtype=dtype)
    for i in range(b):
        lo, hi = int(offsets[i]), int(offsets[i + 1])
        v = side.values[lo:hi]
        if side.weights is None:
            order = np.argsort(v, kind="stable")
            w = np.full(hi - lo, 1.0 / (hi - lo))
        else:
            order = np.argsort(v, kind="stable")
            w = side.weights[lo:hi][order].astype(np.float64)
            w = w / w.sum()
        values[i, : hi - lo] = v[order]
        values[i, hi - lo :] = values[i, hi - lo - 1]
        weights[i, : hi - lo] = w
    return Prepared(values, weights)


def lp_distances(a: np.ndarray, b: np.ndarray, p: float) -> np.ndarray:
    r"""(sum_k |a_ik - b_jk|^p)^(1/p) for all rows i of ``a`` and j of ``b``, float64.

    p = 2 through the matrix product :math:`|a|^2 + |b|^2 - 2 a b^\top` on rows
    centred by their means (the expansion then loses less), with the entries
    where it cancels recomputed directly; other p through scipy's ``cdist`` when
    scipy is installed (compiled, releases the GIL), else numpy in chunks.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if p == 2.0:
        return np.sqrt(_squared_euclidean(a, b))
    try:
        from scipy.spatial.distance import cdist
    except ImportError:  # scipy is optional: numpy, a chunk of rows at a time
        return _lp_numpy(a, b, p)
    if p == 1.0:
        return cdist(a, b, "cityblock")
    return cdist(a, b, "minkowski", p=p)


def _squared_euclidean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    K = a.shape[1]
    ma, mb = a.mean(axis=1), b.mean(axis=1)
    ca, cb = a - ma[:, None], b - mb[:, None]
    sa, sb = ca.sum(axis=1), cb.sum(axis=1)  # 0 up to the rounding of the means
    na, nb = np.einsum("ik,ik->i", ca, ca), np.einsum("ik,ik->i", cb, cb)
    dm = ma[:, None] - mb[None, :]
    # |a - b|^2 = K dm^2 + 2 dm (sum ca - sum cb) + |ca - cb|^2, exactly: a - b = dm + ca - cb.
    scale = na[:, None] + nb[None, :]
    centred = scale - 2.0 * (ca @ cb.T)
    out = K * dm**2 + 2.0 * dm * (sa[:, None] - sb[None, :]) + centred
    for i, j in np.argwhere(centred < _EXPANSION_FLOOR * scale):
        # Cancellation: the direct sum over the original rows (rare for distinct
        # distributions; their differences are exact where the values are close).
        diff = a[i] - b[j]
        out[i, j] = diff @ diff
    return np.maximum(out, 0.0)


def _lp_numpy(a: np.ndarray, b: np.ndarray, p: float) -> np.ndarray:
    out = np.empty((a.shape[0], b.shape[0]))
    step = max(1, _CHUNK_BYTES // (8 * b.size or 1))
    for i in range(0, a.shape[0], step):
        diff = np.abs(a[i : i + step, None, :] - b[None, :, :])
        out[i : i + step] = diff.sum(axis=2) if p == 1.0 else (diff**p).sum(axis=2) ** (1.0 / p)
    return out


def compute_tile(spec: Spec, a: Prepared, b: Prepared, diagonal: bool) -> np.ndarray:
    """Distances (a rows, b rows) of two prepared blocks, in ``spec.dtype``.

    ``diagonal``: the two blocks are the same block of X (Y is None); the tile's
    diagonal is then set to exactly 0 and, for a symmetric metric, its lower
    triangle to the mirror of its upper one, so that every distance d(x_i, x_j),
    i < j, comes from one evaluation wherever it is read.
    """
    if diagonal and spec.symmetric and not _structured(a, b):
        out = _upper_values(spec, a)
    else:
        out = np.asarray(_tile_values(spec, a, b), dtype=np.float64)
    if diagonal:
        if spec.symmetric:
            upper = np.triu(out, 1)
            out = upper + upper.T
        np.fill_diagonal(out, 0.0)
    return np.ascontiguousarray(out, dtype=spec.dtype)


def _structured(a: Prepared, b: Prepared) -> bool:
    return a.flat is not None and b.flat is not None and a.flat.shape[1] == b.flat.shape[1]


def _rows_of(p: Prepared, lo: int, hi: int | None = None) -> Prepared:
    def cut(x: np.ndarray | None) -> np.ndarray | None:
        return None if x is None else x[lo:hi]

    return Prepared(p.values[lo:hi], cut(p.weights), cut(p.flat))


def _upper_values(spec: Spec, a: Prepared) -> np.ndarray:
    """The upper triangle of a diagonal tile (lower part left 0) for the per-pair
    kernels, in 16 strips of rows against the columns from the strip on: about 1/2
    + 1/32 of the pairs instead of all of them, in 16 batched calls."""
    n = a.values.shape[0]
    out = np.zeros((n, n))
    step = max(1, -(-n // 16))
    for r0 in range(0, n, step):
        r1 = min(n, r0 + step)
        out[r0:r1, r0:] = _tile_values(spec, _rows_of(a, r0, r1), _rows_of(a, r0))
    return out


def _tile_values(spec: Spec, a: Prepared, b: Prepared) -> Any:
    m, p = spec.metric, spec.p
    if _structured(a, b):
        # Uniform equal-size samples (or their projections): an l_p distance.
        K = a.flat.shape[1]
        return lp_distances(a.flat, b.flat, p) / K ** (1.0 / p)
    if m == "wasserstein_1d":
        wa = None if a.weights is None else a.weights[:, None, :]
        wb = None if b.weights is None else b.weights[None, :, :]
        return emd.wasserstein_1d(a.values[:, None, :], b.values[None, :, :], wa, wb, p=p, assume_sorted=True)
    if m == "sliced":
        wa = None if a.weights is None else a.weights[:, None]
        wb = None if b.weights is None else b.weights[None, :]
        # One batched 1-D call for all pairs and directions: (a, b, L).
        w = emd.wasserstein_1d(a.values[:, None], b.values[None, :], wa, wb, p=p, assume_sorted=True)
        return w.max(axis=-1) if spec.option("reduce") == "max" else power_mean(w, p, axis=-1)
    if m == "tv":
        return 0.5 * lp_distances(a.values, b.values, 1.0)
    if m in ("kl", "js"):
        fn = emd.kl if m == "kl" else emd.js
        return fn(a.values[:, None, :], b.values[None, :, :])
    # exact / sinkhorn: one batched solve over the a x b pairs, the cost shared.
    na, nb = a.values.shape[0], b.values.shape[0]
    ha = np.repeat(a.values.astype(spec.dtype), nb, axis=0)
    hb = np.tile(b.values.astype(spec.dtype), (na, 1))
    if m == "exact":
        cost = emd.emd(ha, hb, spec.cost, max_iter=spec.option("max_iter"))
    else:
        res = emd.sinkhorn(ha, hb, spec.cost, spec.option("reg"), max_iter=spec.option("max_iter"), tol=spec.option("tol"))
        cost = res.cost
    return np.asarray(cost).reshape(na, nb)
