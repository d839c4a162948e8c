"""Every input check of the public API, in one place.

Errors name the argument, say what was expected and what came, and where it
helps, how to fix the input. Checks never use ``assert`` (``python -O`` strips
it). Fast paths: ``isfinite(x.sum())`` proves a whole array finite in one pass
without a temporary; only when it fails do we look for the offending element.
"""

from __future__ import annotations

import numbers
import operator
from typing import Any

import numpy as np

__all__ = [
    "as_float_array",
    "check_finite",
    "check_weights",
    "check_p",
    "check_positive_int",
    "check_choice",
    "result_float_dtype",
    "check_positive_real",
    "check_open_unit_interval",
    "check_bool",
    "check_seed",
    "lift_tiny_weights",
    "largest_abs",
    "to_host",
]

_INT64_MAX = 2**63 - 1

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _describe(x: Any) -> str:
    if isinstance(x, np.ndarray):
        return f"an array of dtype {x.dtype} and shape {x.shape}"
    return f"{type(x).__name__} {x!r}"[:120]


def _to_numpy(x: Any, name: str) -> np.ndarray:
    if isinstance(x, np.ndarray):
        return x
    module = type(x).__module__
    if module.startswith("scipy.sparse"):
        raise TypeError(
            f"`{name}` is a scipy.sparse {type(x).__name__}; emd's solvers take dense arrays (the transport problem is"
            f" dense in the costs): pass `{name}.toarray()`"
        )
    mod = module.split(".")[0]
    if mod in ("cupy", "torch", "jax", "jaxlib", "tensorflow"):
        raise TypeError(
            f"`{name}` is a {mod} array; this function takes NumPy arrays"
            " (GPU arrays are accepted only where emd has CUDA kernels: see emd.has_cuda())"
        )
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"`{name}` must be array-like of real numbers, got {_describe(x)}") from exc
    return arr


def result_float_dtype(*arrays: np.ndarray | None) -> np.dtype:
    """The one promotion rule: float32 only when every float input is float32.

    Integers and booleans count as float64, float16 as float32; the result is
    numpy's promotion of those (so float32 with float64 gives float64).
    """
    first = arrays[0].dtype if arrays and arrays[0] is not None else None
    if first in _FLOAT_DTYPES and all(a is None or a.dtype == first for a in arrays):
        return first  # one float dtype throughout: the common case, without numpy's promotion
    dtypes: list[np.dtype] = []
    for a in arrays:
        if a is None:
            continue
        k = a.dtype.kind
        if k == "f" and a.dtype.itemsize <= 4:
            dtypes.append(np.dtype(np.float32))
        else:
            dtypes.append(np.dtype(np.float64))
    return np.result_type(*dtypes) if dtypes else np.dtype(np.float64)


def as_float_array(
    x: Any,
    name: str,
    *,
    min_ndim: int = 0,
    max_ndim: int | None = None,
    allow_empty: bool = False,
) -> np.ndarray:
    """Convert ``x`` to a numpy array of a real numeric dtype (not yet cast).

    Raises TypeError for complex, object, string, datetime and other non-real
    dtypes, ValueError for a wrong number of dimensions or an empty array.
    """
    arr = _to_numpy(x, name)
    kind = arr.dtype.kind
    if kind == "c":
        raise TypeError(f"`{name}` must be real, got complex dtype {arr.dtype}; pass its real part or modulus")
    if kind not in "biuf":
        raise TypeError(f"`{name}` must have a real numeric dtype, got {arr.dtype}")
    if kind == "f" and arr.dtype.itemsize > 8:
        raise TypeError(
            f"`{name}` has dtype {arr.dtype}; emd computes in float32 or float64, cast it explicitly"
        )
    if arr.ndim < min_ndim:
        raise ValueError(f"`{name}` must have at least {min_ndim} dimension(s), got shape {arr.shape}")
    if max_ndim is not None and arr.ndim > max_ndim:
        raise ValueError(f"`{name}` must have at most {max_ndim} dimension(s), got shape {arr.shape}")
    if not allow_empty and arr.size == 0:
        raise ValueError(f"`{name}` is empty (shape {arr.shape}); it needs at least one value")
    return arr


def cast(arr: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """C-contiguous array of ``dtype``; no copy when ``arr`` already is one.

    NumPy arrays through ``np.ascontiguousarray``; other backends' arrays (the
    torch backend's tensors, CuPy's) through their own ``astype``, which keeps
    them in their library (and a tensor on its autograd graph).
    """
    if isinstance(arr, np.ndarray):
        return np.ascontiguousarray(arr, dtype=dtype)
    return arr.astype(dtype, copy=False, order="C")


def check_finite(arr: np.ndarray, name: str) -> None:
    if arr.dtype.kind not in "fc" or arr.size == 0:
        return
    # Small arrays (a critic's batch of 64 rows, checked on every call): one
    # isfinite pass costs less than entering the errstate context (1 us against
    # 3 us). Large ones: one sum, with no boolean temporary.
    if arr.size <= 65536 and np.isfinite(arr).all():
        return
    with np.errstate(all="ignore"):
        if np.isfinite(arr.sum()):  # a finite sum proves every element finite
            return
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        where = idx[0] if len(idx) == 1 else idx
        raise ValueError(f"`{name}` must be finite, but {name}[{where}] = {arr[idx]}")


def check_weights(weights: np.ndarray, values_shape: tuple[int, ...], name: str, values_name: str) -> None:
    """Nonnegative, finite, positive total along the last axis, shaped like the values."""
    if weights.shape != tuple(values_shape):
        raise ValueError(
            f"`{name}` must have the shape of `{values_name}` {tuple(values_shape)}, got {weights.shape}"
        )
    # One pass gives the totals and, when they are finite, proves every weight
    # finite too; only a non-finite total sends us looking for the culprit.
    with np.errstate(over="ignore", invalid="ignore"):  # huge weights may overflow the total
        totals = weights.sum(axis=-1, dtype=np.float64)
    if not np.all(np.isfinite(totals)):
        check_finite(weights, name)
        raise ValueError(
            f"`{name}` sums to more than the float64 range allows; rescale the weights (only their ratios matter)"
        )
    if weights.size and weights.min() < 0:
        idx = tuple(int(i) for i in np.argwhere(weights < 0)[0])
        where = idx[0] if len(idx) == 1 else idx
        raise ValueError(f"`{name}` must be nonnegative, but {name}[{where}] = {weights[idx]}")
    if np.any(totals <= 0):
        if totals.ndim == 0:
            raise ValueError(f"`{name}` sums to 0; a distribution needs positive total mass")
        idx = tuple(int(i) for i in np.argwhere(totals <= 0)[0])
        raise ValueError(f"`{name}` sums to 0 along its last axis at batch index {idx}; each distribution needs positive total mass")


def check_p(p: Any, name: str = "p", *, allow_inf: bool = False) -> float:
    """An order p >= 1, finite; with ``allow_inf`` also +inf (a Minkowski order:
    inf is the Chebyshev metric, scipy's convention)."""
    also = " or numpy.inf" if allow_inf else ""
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise TypeError(f"`{name}` must be a real number >= 1{also}, got {_describe(p)}")
    pf = float(p)
    if np.isnan(pf) or pf < 1.0 or (pf == np.inf and not allow_inf):
        finite = "" if allow_inf else " finite"
        raise ValueError(f"`{name}` must be a{finite} number >= 1{' (or numpy.inf)' if allow_inf else ''}, got {p!r}")
    return pf


def check_positive_int(k: Any, name: str) -> int:
    if isinstance(k, bool):
        raise TypeError(f"`{name}` must be an integer >= 1, got {k!r}")
    try:
        ki = operator.index(k)
    except TypeError:
        raise TypeError(f"`{name}` must be an integer >= 1, got {_describe(k)}") from None
    if ki < 1:
        raise ValueError(f"`{name}` must be >= 1, got {ki}")
    if ki > _INT64_MAX:  # the kernels count in int64
        raise ValueError(f"`{name}` must be at most 2**63 - 1, got {ki}")
    return ki


def check_bool(value: Any, name: str) -> bool:
    """A bool (numpy's included); anything else, even truthy, is refused."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be True or False, got {_describe(value)}")
    return bool(value)


def check_seed(seed: Any, name: str = "seed") -> np.random.Generator:
    """``numpy.random.default_rng(seed)``, with numpy's complaints about the seed
    turned into errors that name it."""
    if isinstance(seed, bool) or isinstance(seed, (str, bytes, float, np.floating)):
        raise TypeError(f"`{name}` must be None, a nonnegative integer or a numpy Generator, got {_describe(seed)}")
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"`{name}` is not a valid seed for numpy.random.default_rng: {exc}") from None


def to_host(x: Any) -> np.ndarray:
    """A few numbers of a NumPy or CuPy array as NumPy (CuPy refuses implicit copies)."""
    return x.get() if hasattr(x, "get") and not isinstance(x, np.ndarray) else np.asarray(x)


def largest_abs(a: Any) -> float:
    """max |a| without an |a| temporary (a may be a large cost matrix; NumPy or CuPy), 0.0 when empty."""
    return max(abs(float(a.max())), abs(float(a.min()))) if a.size else 0.0


def lift_tiny_weights(w: Any) -> Any:
    """Rows of float64 weights whose total is below 2**-1000, scaled by 2**600.

    Only the ratios of the weights matter, and the kernels divide by each
    row's total through its reciprocal, which overflows for totals in the
    subnormal range (1e-320 gave NaN). Scaling by a power of two is exact.
    Works on numpy and CuPy arrays alike; other rows are left as they are.
    """
    if w is None or w.dtype != np.float64 or w.size == 0:
        return w
    totals = w.sum(axis=-1, keepdims=True)
    small = totals < 2.0**-1000
    if not bool(small.any()):
        return w
    return w * (small * (2.0**600 - 1.0) + 1.0)


def check_choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"`{name}` must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_real(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    strict_low: bool = False,
) -> float:
    """A finite real scalar in [low, high] (or (low, high] with ``strict_low``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a real number, got {_describe(value)}")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"`{name}` must be finite, got {value!r}")
    if low is not None and (v < low or (strict_low and v == low)):
        op = ">" if strict_low else ">="
        raise ValueError(f"`{name}` must be {op} {low}, got {value!r}")
    if high is not None and v > high:
        raise ValueError(f"`{name}` must be <= {high}, got {value!r}")
    return v
def check_histogram(arr: Any, name: str) -> Any:
    """A weight vector (n,) or batch of them (B, n), as ``Backend.asarray(w, name,
    min_ndim=1, max_ndim=2)`` gives it: finite, nonnegative, positive sums."""
    check_weights(arr, arr.shape, name, name)
    return arr


def check_equal_mass(a: np.ndarray, b: np.ndarray, dtype: np.dtype, a_name: str = "a", b_name: str = "b") -> None:
    """Equal total mass per problem: relative difference <= 1e-9 (float64) or 1e-6 (float32).

    The tolerances are the inputs' rounding: weights normalized in float32 do not
    sum to exactly 1, and the solver absorbs that much imbalance exactly.
    """
    tol = 1e-6 if np.dtype(dtype) == np.float32 else 1e-9
    sa = to_host(a.sum(axis=-1, dtype=np.float64))  # B numbers (a read-back on a GPU)
    sb = to_host(b.sum(axis=-1, dtype=np.float64))
    sa, sb = np.broadcast_arrays(sa, sb)
    bad = np.abs(sa - sb) > tol * np.maximum(sa, sb)
    if np.any(bad):
        k = tuple(int(i) for i in np.argwhere(bad)[0]) if bad.ndim else ()
        where = f" (batch index {k[0] if len(k) == 1 else k})" if k else ""
        raise ValueError(
            f"`{b_name}` has total mass {float(sb[k])!r} but `{a_name}` has {float(sa[k])!r}{where}; exact transport needs equal"
            f" masses (relative difference <= {tol:g}): rescale the weights, or use emd.wasserstein, which"
            " normalizes them"
        )


def check_max_iter(max_iter: Any) -> int:
    """None (no cap: run to optimality) -> -1, else an integer >= 1."""
    if max_iter is None:
        return -1
    return check_positive_int(max_iter, "max_iter")
def check_positive_real(value: Any, name: str) -> float:
    """A finite real number > 0 (booleans refused), returned as float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a finite real number > 0, got {_describe(value)}")
    v = float(value)
    if not np.isfinite(v) or v <= 0.0:
        raise ValueError(f"`{name}` must be a finite number > 0, got {value!r}")
    return v


def check_open_unit_interval(value: Any, name: str) -> float:
    """A real number strictly between 0 and 1 (booleans refused), returned as float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a real number in (0, 1), got {_describe(value)}")
    v = float(value)
    if not (0.0 < v < 1.0):
        raise ValueError(f"`{name}` must lie strictly between 0 and 1, got {value!r}")
    return v

