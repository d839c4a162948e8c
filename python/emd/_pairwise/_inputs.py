"""The checks of emd.pairwise: the distributions of each side and the metric's parameters.

Everything here runs before any work starts, so that bad input is refused with
an error naming the argument and nothing is half-written. The checks are those of
emd._validation, plus the few pairwise needs of its own (ragged offsets, the
metric's keyword arguments, the shapes that must agree between X, Y and the cost).
"""

from __future__ import annotations

import hashlib
import json
import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import emd

from .._validation import (
    as_float_array,
    cast,
    check_finite,
    check_histogram,
    check_p,
    check_positive_int,
    check_positive_real,
    check_seed,
    check_weights,
    result_float_dtype,
)

METRICS = ("wasserstein_1d", "sliced", "exact", "sinkhorn", "tv", "kl", "js")
# The metrics between histograms on one support (the rest take samples).
HISTOGRAM_METRICS = ("exact", "sinkhorn", "tv", "kl", "js")
# Keyword arguments each metric accepts through `metric_kwargs`, with defaults.
_METRIC_KWARGS: dict[str, dict[str, Any]] = {
    "wasserstein_1d": {},
    "sliced": {"n_projections": 128, "projections": None, "seed": None, "reduce": "mean"},
    "exact": {"max_iter": None},
    "sinkhorn": {"reg": None, "max_iter": 10_000, "tol": 1e-9},
    "tv": {},
    "kl": {},
    "js": {},
}


@dataclass(frozen=True, eq=False)
class Side:
    """The distributions of one side (X or Y), validated and cast.

    ``values``: (N, m) samples, (N, m, d) clouds or (N, n) histograms; for ragged
    1-D samples the concatenated (total,) values with ``offsets`` (N + 1,).
    ``weights``: None (uniform) or of the shape of ``values`` (ragged: (total,)).
    """

    values: np.ndarray
    weights: np.ndarray | None = None
    offsets: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.offsets.size - 1) if self.offsets is not None else int(self.values.shape[0])

    def rows(self, start: int, stop: int) -> "Side":
        """The distributions start..stop-1 (views, no copy), the raw input of one block."""
        if self.offsets is None:
            w = None if self.weights is None else self.weights[start:stop]
            return Side(self.values[start:stop], w)
        lo, hi = int(self.offsets[start]), int(self.offsets[stop])
        w = None if self.weights is None else self.weights[lo:hi]
        return Side(self.values[lo:hi], w, self.offsets[start : stop + 1] - lo)

    def digest(self, h: "hashlib._Hash") -> None:
        for name, a in (("values", self.values), ("weights", self.weights), ("offsets", self.offsets)):
            h.update(name.encode())
            if a is None:
                h.update(b"none")
            else:
                h.update(f"{a.dtype.str}{a.shape}".encode())
                h.update(np.ascontiguousarray(a).data)


@dataclass(frozen=True, eq=False)
class Spec:
    """Everything about the metric except the distributions: what every tile needs.

    ``cost`` is the ground cost of exact/sinkhorn; ``theta`` the shared unit
    directions (d, L) of sliced; ``options`` the metric's other keyword arguments.
    ``symmetric``: d(x_i, x_j) = d(x_j, x_i) is used (Y is None and the metric
    and cost are symmetric), so only the upper triangle of tiles is computed.
    """

    metric: str
    p: float
    dtype: np.dtype
    symmetric: bool
    self_pairs: bool  # Y is None: the diagonal d(x_i, x_i) is set to exactly 0
    cost: np.ndarray | None = None
    theta: np.ndarray | None = None
    options: tuple[tuple[str, Any], ...] = field(default_factory=tuple)

    def option(self, name: str) -> Any:
        return dict(self.options)[name]


def _check_offsets(offsets: Any, total: int, name: str) -> np.ndarray:
    """Ragged offsets: integers, (N + 1,), from 0 to ``total``, strictly increasing
    (every distribution has at least one sample). A check emd._validation lacks."""
    arr = np.asarray(offsets)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"`{name}` must be an integer array of offsets, got dtype {arr.dtype}")
    if arr.ndim != 1 or arr.size < 2:
        raise ValueError(f"`{name}` must have shape (N + 1,) with N >= 1, got shape {arr.shape}")
    arr = arr.astype(np.int64)
    if arr[0] != 0 or arr[-1] != total:
        raise ValueError(
            f"`{name}` must start at 0 and end at the number of values {total}, got {int(arr[0])} ... {int(arr[-1])}"
        )
    gaps = np.diff(arr)
    if np.any(gaps <= 0):
        i = int(np.argmax(gaps <= 0))
        raise ValueError(
            f"`{name}` must be strictly increasing (each distribution needs a sample), but {name}[{i}] = {int(arr[i])}"
            f" and {name}[{i + 1}] = {int(arr[i + 1])}"
        )
    return arr


def _side(x: Any, w: Any, name: str, wname: str, metric: str) -> Side:
    """Validate one side for ``metric``; cast later, once the common dtype is known."""
    if isinstance(x, tuple):
        if metric != "wasserstein_1d":
            raise TypeError(f"`{name}` as a tuple (values, offsets[, weights]) means ragged 1-D samples, for metric='wasserstein_1d' only")
        if len(x) not in (2, 3):
            raise ValueError(f"`{name}` as ragged samples must be (values, offsets) or (values, offsets, weights), got {len(x)} items")
        if len(x) == 3 and w is not None:
            raise ValueError(f"weights given twice: in `{name}` and as `{wname}`; pass one")
        values = as_float_array(x[0], f"{name}[0] (values)", min_ndim=1, max_ndim=1)
        offsets = _check_offsets(x[1], values.size, f"{name}[1] (offsets)")
        weights = x[2] if len(x) == 3 else w
        wa = None if weights is None else as_float_array(weights, wname, min_ndim=1, max_ndim=1)
        return Side(values, wa, offsets)
    want = {"sliced": 3}.get(metric, 2)
    what = {
        "wasserstein_1d": "(N, m) 1-D samples, or a tuple (values, offsets[, weights]) of ragged ones",
        "sliced": "(N, m, d) point clouds",
    }.get(metric, "(N, n) histograms")
    values = as_float_array(x, name, min_ndim=want, max_ndim=want)
    if values.shape[0] == 0 or values.size == 0:
        raise ValueError(f"`{name}` is empty (shape {values.shape}); it needs {what}")
    if metric in HISTOGRAM_METRICS:
        if w is not None:
            raise ValueError(f"`{wname}` is for samples; histograms carry their masses in `{name}` itself")
        check_histogram(values, name)
        return Side(values)
    wa = None if w is None else as_float_array(w, wname, min_ndim=2, max_ndim=2)
    return Side(values, wa)


def _cast_side(s: Side, dtype: np.dtype, name: str, wname: str, metric: str) -> Side:
    values = cast(s.values, dtype)
    check_finite(values, name)
    weights = s.weights
    if metric in HISTOGRAM_METRICS:
        return Side(values)
    if weights is not None:
        weights = cast(weights, dtype)
        shape = values.shape[:2] if metric == "sliced" else values.shape
        check_weights(weights, shape, wname, name if metric != "sliced" else f"{name}'s first two axes")
        if s.offsets is not None:  # a zero-mass ragged distribution: check per segment
            totals = np.add.reduceat(weights.astype(np.float64), s.offsets[:-1])
            if np.any(totals <= 0):
                i = int(np.argmax(totals <= 0))
                raise ValueError(f"`{wname}` sums to 0 over distribution {i}; each distribution needs positive total mass")
    return Side(values, weights, s.offsets)


def _metric_options(metric: str, metric_kwargs: Any) -> dict[str, Any]:
    if metric_kwargs is None:
        metric_kwargs = {}
    if not isinstance(metric_kwargs, dict):
        raise TypeError(f"`metric_kwargs` must be a dict or None, got {type(metric_kwargs).__name__}")
    allowed = _METRIC_KWARGS[metric]
    unknown = sorted(set(metric_kwargs) - set(allowed))
    if unknown:
        takes = ", ".join(allowed) if allowed else "none"
        raise ValueError(f"`metric_kwargs` has {unknown}, which metric={metric!r} does not take (it takes: {takes})")
    opts = {**allowed, **metric_kwargs}
    if metric == "sinkhorn":
        if opts["reg"] is None:
            raise ValueError("metric='sinkhorn' needs the regularization: metric_kwargs={'reg': ...}")
        opts["reg"] = check_positive_real(opts["reg"], "metric_kwargs['reg']")
        opts["max_iter"] = check_positive_int(opts["max_iter"], "metric_kwargs['max_iter']")
        opts["tol"] = check_positive_real(opts["tol"], "metric_kwargs['tol']")
    if metric == "exact" and opts["max_iter"] is not None:
        opts["max_iter"] = check_positive_int(opts["max_iter"], "metric_kwargs['max_iter']")
    if metric == "sliced":
        opts["n_projections"] = check_positive_int(opts["n_projections"], "metric_kwargs['n_projections']")
        if opts["reduce"] not in ("mean", "max"):
            raise ValueError(f"`metric_kwargs['reduce']` must be 'mean' or 'max', got {opts['reduce']!r}")
    return opts


def _directions(d: int, opts: dict[str, Any], dtype: np.dtype) -> np.ndarray:
    """Shared unit directions (d, L) as columns, normalized as emd.sliced_wasserstein
    normalizes them (each column scaled by its largest entry, then by its norm), so
    that passing them to emd.sliced_wasserstein gives the same directions."""
    if opts["projections"] is None:
        theta = check_seed(opts["seed"], "metric_kwargs['seed']").standard_normal((d, opts["n_projections"]))
    else:
        theta = as_float_array(opts["projections"], "metric_kwargs['projections']", min_ndim=2, max_ndim=2)
        if theta.shape[0] != d:
            raise ValueError(
                f"`metric_kwargs['projections']` must have shape (d, L) = ({d}, L) to match the clouds, got {theta.shape}"
            )
        theta = theta.astype(np.float64)
        check_finite(theta, "metric_kwargs['projections']")
    scale = np.abs(theta).max(axis=0)
    if np.any(scale == 0):
        raise ValueError(f"`metric_kwargs['projections']` column {int(np.argmin(scale))} is zero; every direction needs a nonzero norm")
    theta = theta / scale
    return np.ascontiguousarray((theta / np.linalg.norm(theta, axis=0)).astype(dtype))


def _ground_cost(cost: Any, support: Any, p: float, n_x: int, n_y: int, metric: str) -> np.ndarray:
    if (cost is None) == (support is None):
        raise ValueError(f"metric={metric!r} needs the ground cost: pass exactly one of `cost` (n, n) or `support` (n, d) points")
    if cost is not None:
        M = as_float_array(cost, "cost", min_ndim=2, max_ndim=2)
        if M.shape != (n_x, n_y):
            raise ValueError(f"`cost` must have shape (n_x, n_y) = ({n_x}, {n_y}) to match the histograms' bins, got {M.shape}")
        check_finite(M, "cost")
        return M
    pts = as_float_array(support, "support", min_ndim=1, max_ndim=2)
    if pts.shape[0] != n_x or n_x != n_y:
        raise ValueError(
            f"`support` must list one point per bin, shared by X and Y: {n_x} bins in X and {n_y} in Y,"
            f" got {pts.shape[0]} points; pass `cost` (n_x, n_y) for different supports"
        )
    check_finite(pts, "support")
    # The ground cost of W_p: the euclidean distance to the power p.
    return emd.cost_matrix(pts, pts, "euclidean") ** p


def describe(X: Any, Y: Any, metric: Any, p: Any, weights: Any, y_weights: Any, cost: Any, support: Any,
             metric_kwargs: Any, dtype: Any) -> tuple[Spec, Side, Side | None]:
    """All the checks of emd.pairwise's inputs: (spec, X side, Y side or None)."""
    if not isinstance(metric, str) or metric not in METRICS:
        raise ValueError(f"`metric` must be one of {', '.join(map(repr, METRICS))}; got {metric!r}")
    pf = check_p(p)
    opts = _metric_options(metric, metric_kwargs)
    xs = _side(X, weights, "X", "weights", metric)
    ys = None if Y is None else _side(Y, y_weights, "Y", "y_weights", metric)
    if Y is None and y_weights is not None:
        raise ValueError("`y_weights` given without `Y`; pass Y, or put the weights in `weights`")
    arrays = [xs.values, xs.weights] + ([] if ys is None else [ys.values, ys.weights])
    if dtype is None:
        dt = result_float_dtype(*arrays)
    else:
        dt = np.dtype(dtype)
        if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise TypeError(f"`dtype` must be float32 or float64 (or None: follow the inputs), got {dt}")
    xs = _cast_side(xs, dt, "X", "weights", metric)
    ys = None if ys is None else _cast_side(ys, dt, "Y", "y_weights", metric)

    theta = M = None
    symmetric = Y is None and metric != "kl"
    if metric == "sliced":
        d = xs.values.shape[2]
        if ys is not None and ys.values.shape[2] != d:
            raise ValueError(f"`X` and `Y` clouds must have the same dimension d, got X {xs.values.shape} and Y {ys.values.shape}")
        theta = _directions(d, opts, dt)
    if metric in HISTOGRAM_METRICS:
        n_x = xs.values.shape[1]
        n_y = n_x if ys is None else ys.values.shape[1]
        if metric in ("exact", "sinkhorn"):
            M = cast(_ground_cost(cost, support, pf, n_x, n_y, metric), dt)
            symmetric = symmetric and M.shape[0] == M.shape[1] and bool(np.array_equal(M, M.T))
        else:
            if cost is not None or support is not None:
                raise ValueError(f"metric={metric!r} compares histograms bin by bin; it takes no `cost` or `support`")
            if n_x != n_y:
                raise ValueError(f"`X` and `Y` must have the same number of bins for metric={metric!r}, got {n_x} and {n_y}")
    elif cost is not None or support is not None:
        raise ValueError(f"`cost` and `support` are for histograms (metric 'exact' or 'sinkhorn'), not metric={metric!r}")
    keep = {k: v for k, v in opts.items() if k not in ("projections", "seed", "n_projections")}
    spec = Spec(metric, pf, dt, symmetric, Y is None, M, theta, tuple(sorted(keep.items())))
    return spec, xs, ys


def fingerprint(spec: Spec, xs: Side, ys: Side | None) -> str:
    """A hash of every parameter of the computation (data, metric, options, dtype,
    emd's version): equal fingerprints give equal distances, tile for tile."""
    h = hashlib.sha256()
    head = {
        "emd": emd.__version__, "metric": spec.metric, "p": spec.p, "dtype": spec.dtype.str,
        "symmetric": spec.symmetric, "self_pairs": spec.self_pairs,
        "options": [[k, v if isinstance(v, (numbers.Real, str, type(None))) else repr(v)] for k, v in spec.options],
    }
    h.update(json.dumps(head, sort_keys=True).encode())
    for a in (spec.cost, spec.theta):
        h.update(b"none" if a is None else f"{a.dtype.str}{a.shape}".encode() + np.ascontiguousarray(a).data)
    xs.digest(h)
    if ys is None:
        h.update(b"Y=None")
    else:
        ys.digest(h)
    return h.hexdigest()
