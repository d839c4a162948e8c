"""The torch backend: tensors in, tensors out, differentiable.

"Solve opaque, rebuild differentiable" (GeomLoss, OTT-JAX's ``hungarian``):

- ``asarray`` validates a tensor through a detached NumPy (CPU) or CuPy (CUDA)
  view, with the NumPy path's checks and messages, and hands the algorithm
  module a :class:`TArray`: the tensor (graph and all) together with that view.
  The modules' array work (casts, reshapes, products, normalizations) runs on
  the tensor, so the graph follows the inputs; their checks read the view.
- each kernel runs the inner backend's kernel (CPU over ``_core``, CUDA over
  ``_cuda``) on the detached views, so values are those of the NumPy/CuPy path
  bit for bit; when an input requires grad (and grad mode is on) a few torch
  operations rebuild the value from what the optimum is made of (sort
  permutations and quantile breakpoints, the plan's n + m - 1 flows and the
  potentials, the converged Sinkhorn potentials) and :class:`_Attach` puts the
  kernel's value on that graph. Autograd then supplies grad_output scaling,
  dtypes, devices and, where the rebuild is exact almost everywhere (1-D,
  sliced, exact transport, divergences, costs), second derivatives.
- the 1-D kernel on CPU tensors is the exception: its C++ kernel returns each
  sample's derivative with the value, as the custom op of ``torch_ops.py``
  (no rebuild unless a backward builds a graph), which also lets
  ``torch.compile`` trace it.
- ``finish`` turns the results back into tensors on the input's device.

float16 and bfloat16 tensors are computed in float32 (NumPy has no bfloat16,
and float32 is the precision emd's kernels compute in at least); the result
is float32, as for float16 NumPy arrays.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any

import numpy as np
import torch

from .._problems import Critic, DenseSinkhorn, Exact, ExactSolution, OneD, SampleSinkhorn, SinkhornSolution
from .._metrics import METRIC_CODES
from .base import Backend
from .torch_ops import one_d_rebuild, paired_rows, paired_wasserstein_1d, safe_root

__all__ = ["Torch", "TArray"]

_TORCH_DTYPES = {
    np.dtype(np.float32): torch.float32,
    np.dtype(np.float64): torch.float64,
    np.dtype(np.float16): torch.float16,
    np.dtype(np.int64): torch.int64,
    np.dtype(np.int32): torch.int32,
    np.dtype(np.int16): torch.int16,
    np.dtype(np.int8): torch.int8,
    np.dtype(np.uint8): torch.uint8,
    np.dtype(np.bool_): torch.bool,
    np.dtype(np.complex64): torch.complex64,
    np.dtype(np.complex128): torch.complex128,
}


def torch_dtype(dtype: Any) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    return _TORCH_DTYPES[np.dtype(dtype)]


def _view(t: torch.Tensor) -> Any:
    """A detached tensor as a NumPy (CPU) or CuPy (CUDA) array sharing its memory."""
    t = t.detach()
    if t.device.type == "cpu":
        return np.from_dlpack(t.resolve_conj().resolve_neg())
    import cupy

    return cupy.from_dlpack(t)


def _from_array(x: Any, device: torch.device) -> torch.Tensor:
    """A NumPy/CuPy array (or scalar) as a tensor on ``device`` (no copy where it already lives there)."""
    if isinstance(x, np.ndarray):
        if x.dtype.kind in "biufc":
            return torch.from_numpy(x if x.flags.writeable else x.copy()).to(device)
        raise TypeError(f"cannot make a tensor of a {x.dtype} array")
    if isinstance(x, np.generic):
        return torch.tensor(x.item(), dtype=torch_dtype(x.dtype), device=device)
    if type(x).__module__.startswith("cupy"):
        return torch.from_dlpack(x)
    return torch.as_tensor(x, device=device)


def _tensor(x: Any, device: torch.device) -> Any:
    """An operand of an arithmetic operation as torch sees it (Python scalars stay scalars)."""
    if isinstance(x, TArray):
        return x.t
    if isinstance(x, (bool, int, float)):
        return x
    if isinstance(x, np.generic):
        return x.item()
    return _from_array(x, device)


def _unwrap(x: Any) -> Any:
    """TArrays replaced by their views, through lists, tuples and dicts (for NumPy fallbacks)."""
    if isinstance(x, TArray):
        return x.v
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(i) for i in x)
    if isinstance(x, dict):
        return {k: _unwrap(v) for k, v in x.items()}
    return x


def _index(idx: Any, device: torch.device) -> Any:
    if isinstance(idx, tuple):
        return tuple(_index(i, device) for i in idx)
    if isinstance(idx, TArray):
        return idx.t
    if isinstance(idx, np.ndarray):
        return torch.from_numpy(idx).to(device)
    return idx


class TArray:
    """A tensor as the algorithm modules see it: NumPy-like metadata (``dtype`` a
    NumPy dtype, ``shape``, ``size``) and NumPy semantics for anything that only
    reads values (checks, comparisons: computed on the detached view), while
    arithmetic, casts, reshapes, sums and products stay on the tensor's graph.

    The tensor may be built lazily (``make``): a cost matrix's differentiable
    rebuild costs O(n m d) and is only needed when the matrix itself is
    differentiated; ``recipe`` keeps how its entries were made (the points,
    the metric, a power and a scale) so the exact solver can differentiate the
    n + m - 1 entries it uses without it.
    """

    __slots__ = ("_t", "_v", "_make", "recipe", "device", "_make_requires_grad")
    __array_priority__ = 1000  # NumPy's binary operators defer to ours

    def __init__(self, t: Any = None, v: Any = None, make: Any = None, recipe: Any = None, device: Any = None,
                 make_requires_grad: bool = False) -> None:
        self._t, self._v, self._make, self.recipe = t, v, make, recipe
        self.device = t.device if t is not None else device
        self._make_requires_grad = make_requires_grad

    @property
    def t(self) -> torch.Tensor:
        if self._t is None:
            self._t = self._make()
        return self._t

    @property
    def v(self) -> Any:
        if self._v is None:
            self._v = _view(self._t)
        return self._v

    @property
    def requires_grad(self) -> bool:
        if self._t is None:
            return self.recipe is not None or self._make_requires_grad
        return self._t.requires_grad

    # --- metadata ---------------------------------------------------------------------------
    @property
    def dtype(self) -> np.dtype:
        return self.v.dtype

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.v.shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(self.v.size)

    @property
    def T(self) -> TArray:
        return TArray(self.t.permute(*reversed(range(self.ndim))))

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"TArray({self.t!r})"

    def __str__(self) -> str:  # messages print values as NumPy does
        return str(self.v)

    def __format__(self, spec: str) -> str:
        return format(self.v, spec) if self.ndim else format(self.v[()], spec)

    def __getattr__(self, name: str) -> Any:
        # Anything not defined here reads the detached view (argmin, any, flat, ...).
        return getattr(self.v, name)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self.v, dtype=dtype)

    def __float__(self) -> float:
        return float(self.v)

    def __int__(self) -> int:
        return int(self.v)

    def __bool__(self) -> bool:
        return bool(self.v)

    def item(self) -> Any:
        return self.v.item()

    # --- operations on the graph ------------------------------------------------------------
    def reshape(self, *shape: Any, order: str = "C") -> TArray:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return TArray(self.t.reshape(shape))

    def ravel(self) -> TArray:
        return self.reshape(-1)

    def astype(self, dtype: Any, copy: bool = True, order: str = "K") -> TArray:
        if self._t is None and not copy and self._v.dtype == np.dtype(dtype) and (
                order != "C" or self._v.flags.c_contiguous):
            # A lazy cost matrix that already fits stays lazy: building its tensor here
            # (emd.solve's cast of M) rebuilt all n x m costs on the graph, O(n m d) in
            # the forward and again in the backward, where the exact solver needs only
            # the plan's n + m - 1 entries (CostRecipe.entries).
            return self
        dt = torch_dtype(dtype)
        t = self.t
        if t.dtype == dt and not copy:
            return self if order != "C" or t.is_contiguous() else TArray(t.contiguous())
        out = t.to(dt)
        return TArray(out.contiguous() if order == "C" else out)

    def copy(self) -> TArray:
        return TArray(self.t.clone())

    def _reduction(self, name: str, axis: Any, dtype: Any, keepdims: bool) -> TArray:
        # The value is NumPy's (its pairwise summation order: results equal the NumPy
        # path's bit for bit); torch's sum only carries the gradient.
        # The graph is built on first use of the result's tensor only: checks that read
        # the value (check_finite's sum of a million projections) pay no torch reduction.
        value = np.asarray(getattr(self.v, name)(axis=axis, dtype=dtype, keepdims=keepdims))
        if not (self.requires_grad and torch.is_grad_enabled()):
            return TArray(_from_array(value, self.device), value)

        def make() -> torch.Tensor:
            t = self.t if dtype is None else self.t.to(torch_dtype(dtype))
            dims = tuple(range(t.ndim)) if axis is None else axis
            return attach(_from_array(value, self.device), getattr(torch, name)(t, dim=dims, keepdim=keepdims))

        return TArray(None, value, make=make, device=self.device, make_requires_grad=True)

    def sum(self, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> TArray:
        return self._reduction("sum", axis, dtype, keepdims)

    def mean(self, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> TArray:
        return self._reduction("mean", axis, dtype, keepdims)

    def __getitem__(self, idx: Any) -> TArray:
        return TArray(self.t[_index(idx, self.device)])

    def __setitem__(self, idx: Any, value: Any) -> None:
        self.t[_index(idx, self.device)] = _tensor(value, self.device)
        self._v = None

    def _binary(self, other: Any, op: Any, reverse: bool = False) -> TArray:
        o = _tensor(other, self.device)
        return TArray(op(o, self.t) if reverse else op(self.t, o))

    def __add__(self, o: Any) -> TArray:
        return self._binary(o, torch.add)

    def __radd__(self, o: Any) -> TArray:
        return self._binary(o, torch.add, True)

    def __sub__(self, o: Any) -> TArray:
        return self._binary(o, torch.sub)

    def __rsub__(self, o: Any) -> TArray:
        return self._binary(o, torch.sub, True)

    def __mul__(self, o: Any) -> TArray:
        return self._binary(o, torch.mul)

    def __rmul__(self, o: Any) -> TArray:
        return self._binary(o, torch.mul, True)

    def __truediv__(self, o: Any) -> TArray:
        return self._binary(o, torch.div)

    def __rtruediv__(self, o: Any) -> TArray:
        return self._binary(o, torch.div, True)

    def __pow__(self, o: Any) -> TArray:
        return self._binary(o, torch.pow)

    def __rpow__(self, o: Any) -> TArray:
        return self._binary(o, torch.pow, True)

    def __matmul__(self, o: Any) -> TArray:
        return self._binary(o, torch.matmul)

    def __rmatmul__(self, o: Any) -> TArray:
        return self._binary(o, torch.matmul, True)

    def __neg__(self) -> TArray:
        return TArray(-self.t)

    def __abs__(self) -> TArray:
        return TArray(self.t.abs())

    def _inplace(self, o: Any, op: Any, recipe: Any = None) -> TArray:
        # In-place on the caller's name, not on the tensor: a new graph node, and the
        # view re-read. A lazy cost matrix stays lazy (its recipe absorbs the scalar).
        if self._t is None and recipe is not None:
            self._v = op(self._v, o)
            self.recipe = recipe
            return self
        self._t = op(self.t, _tensor(o, self.device))
        self._v, self.recipe = None, None
        return self

    def __ipow__(self, o: Any) -> TArray:
        r = self.recipe
        new = None if r is None or not isinstance(o, (int, float)) else r.powered(float(o))
        return self._inplace(o, lambda a, b: a**b, new)

    def __imul__(self, o: Any) -> TArray:
        r = self.recipe
        new = None if r is None or not isinstance(o, (int, float)) else r.scaled(float(o))
        return self._inplace(o, lambda a, b: a * b, new)

    def __iadd__(self, o: Any) -> TArray:
        return self._inplace(o, lambda a, b: a + b)

    def __isub__(self, o: Any) -> TArray:
        return self._inplace(o, lambda a, b: a - b)

    def __itruediv__(self, o: Any) -> TArray:
        return self._inplace(o, lambda a, b: a / b)

    # Comparisons only read values: NumPy booleans of the view.
    def __lt__(self, o: Any) -> Any:
        return self.v < _unwrap(o)

    def __le__(self, o: Any) -> Any:
        return self.v <= _unwrap(o)

    def __gt__(self, o: Any) -> Any:
        return self.v > _unwrap(o)

    def __ge__(self, o: Any) -> Any:
        return self.v >= _unwrap(o)

    def __eq__(self, o: Any) -> Any:  # type: ignore[override]
        return self.v == _unwrap(o)

    def __ne__(self, o: Any) -> Any:  # type: ignore[override]
        return self.v != _unwrap(o)

    __hash__ = None  # type: ignore[assignment]

    # --- NumPy protocols: arithmetic on the graph, everything else on the view --------------
    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        op = _GRAPH_UFUNCS.get(ufunc.__name__)
        if method == "__call__" and op is not None and "out" not in kwargs and "where" not in kwargs:
            dev = self.device
            args = [_tensor(i, dev) for i in inputs]
            if ufunc.nin == 2 and not any(isinstance(a, torch.Tensor) for a in args[:1]):
                args[0] = torch.as_tensor(args[0], device=dev)
            out = op(*args)
            dtype = kwargs.get("dtype")
            return TArray(out if dtype is None else out.to(torch_dtype(dtype)))
        return getattr(ufunc, method)(*_unwrap(inputs), **_unwrap(kwargs))

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        graph = _GRAPH_FUNCTIONS.get(func.__name__)
        if graph is not None:
            return graph(*args, **kwargs)
        return func(*_unwrap(args), **_unwrap(kwargs))


_GRAPH_UFUNCS = {
    "add": torch.add, "subtract": torch.sub, "multiply": torch.mul, "true_divide": torch.div,
    "divide": torch.div, "power": torch.pow, "negative": torch.neg, "absolute": torch.abs,
    "sqrt": torch.sqrt, "exp": torch.exp, "log": torch.log, "maximum": torch.maximum, "minimum": torch.minimum,
    "square": torch.square, "matmul": torch.matmul,
}


def _t_of(x: Any, device: Any = None) -> torch.Tensor:
    return x.t if isinstance(x, TArray) else _from_array(np.asarray(x), device)


def _np_mean(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False, **_: Any) -> TArray:
    return a.mean(axis=axis, dtype=dtype, keepdims=keepdims)


def _np_sum(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False, **_: Any) -> TArray:
    return a.sum(axis=axis, dtype=dtype, keepdims=keepdims)


def _np_broadcast_to(a: Any, shape: Any, **_: Any) -> TArray:
    return TArray(a.t.expand(*shape))


def _np_reshape(a: Any, shape: Any, **_: Any) -> TArray:
    return a.reshape(shape)


_GRAPH_FUNCTIONS = {"mean": _np_mean, "sum": _np_sum, "broadcast_to": _np_broadcast_to, "reshape": _np_reshape}


class _Linalg:
    @staticmethod
    def norm(x: TArray, axis: Any = None) -> TArray:
        return TArray(torch.linalg.vector_norm(x.t, dim=axis))


class TorchNamespace:
    """``be.xp`` of the torch backend: the NumPy functions the algorithm modules
    call, on TArrays, keeping the graph; any other name falls back to the inner
    library's function on the detached views."""

    linalg = _Linalg()

    def __init__(self, inner_xp: Any, device: torch.device) -> None:
        self._inner = inner_xp
        self._device = device

    def __getattr__(self, name: str) -> Any:
        f = getattr(self._inner, name)
        if not callable(f):
            return f
        return lambda *a, **k: f(*_unwrap(a), **_unwrap(k))

    def _dt(self, dtype: Any) -> Any:
        return torch.float64 if dtype is None else torch_dtype(dtype)

    def asarray(self, x: Any, dtype: Any = None) -> TArray:
        if isinstance(x, TArray):
            return x if dtype is None else x.astype(dtype, copy=False)
        t = _from_array(x if not isinstance(x, (list, tuple)) else np.asarray(x), self._device)
        return TArray(t if dtype is None else t.to(torch_dtype(dtype)))

    def ascontiguousarray(self, x: Any, dtype: Any = None) -> TArray:
        x = self.asarray(x)
        t = x.t if dtype is None else x.t.to(torch_dtype(dtype))
        return TArray(t.contiguous())

    def full(self, shape: Any, fill: Any, dtype: Any = None) -> TArray:
        return TArray(torch.full(shape if isinstance(shape, tuple) else (shape,), fill, dtype=self._dt(dtype), device=self._device))

    def zeros(self, shape: Any, dtype: Any = None) -> TArray:
        return TArray(torch.zeros(shape, dtype=self._dt(dtype), device=self._device))

    def broadcast_to(self, x: Any, shape: Any) -> TArray:
        return TArray(_t_of(x, self._device).expand(*shape))

    def abs(self, x: Any) -> TArray:
        return TArray(_t_of(x, self._device).abs())

    def sqrt(self, x: Any) -> TArray:
        return TArray(_t_of(x, self._device).sqrt())

    def maximum(self, x: Any, y: Any) -> TArray:
        return TArray(torch.clamp_min(_t_of(x, self._device), float(y))) if np.isscalar(y) else TArray(
            torch.maximum(_t_of(x, self._device), _t_of(y, self._device)))

    def clip(self, x: Any, lo: Any, hi: Any) -> TArray:
        return TArray(torch.clamp(_t_of(x, self._device), float(lo), float(hi)))

    def mean(self, x: Any, axis: Any = None) -> TArray:
        return self.asarray(x).mean(axis=axis)


class _Attach(torch.autograd.Function):
    """``value`` (the kernel's, exact) carrying the gradient of ``rebuilt`` (the same
    quantity as torch operations): forward returns value, backward passes the
    incoming gradient to rebuilt unchanged (so double backward works through it)."""

    @staticmethod
    def forward(ctx: Any, value: torch.Tensor, rebuilt: torch.Tensor) -> torch.Tensor:
        return value.clone()

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[None, torch.Tensor]:
        return None, grad


class _ExactWeights(torch.autograd.Function):
    """The weights' part of the exact cost's gradient: zero in value, d/da = f and
    d/db = g in the backward (the envelope theorem, with the solver's potentials).

    Its second derivatives are not those of a fixed plan (the flows move with
    the weights, the potentials with the costs), so a backward that builds a
    graph (``create_graph=True``) through it is refused instead of returning
    wrong numbers.
    """

    @staticmethod
    def forward(ctx: Any, a: torch.Tensor, b: torch.Tensor, f: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(f, g)
        ctx.dtypes = (a.dtype, b.dtype)
        return torch.zeros(f.shape[0], dtype=f.dtype, device=f.device)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
        if torch.is_grad_enabled():
            raise RuntimeError(_EXACT_WEIGHTS_REFUSED)
        f, g = ctx.saved_tensors
        da, db = ctx.dtypes
        return (grad[:, None] * f).to(da), (grad[:, None] * g).to(db), None, None


_METRIC_NAMES = {code: name for name, code in METRIC_CODES.items()}

_EXACT_WEIGHTS_REFUSED = (
    "emd: second derivatives of an exact transport cost with respect to the weights are not"
    " available (the optimal plan moves with the weights); call backward without"
    " create_graph=True, or detach the weights (second derivatives in the points and costs work)"
)

_CREATE_GRAPH_REFUSED = (
    "emd: the Sinkhorn gradients are envelope gradients (the converged potentials held fixed), exact"
    " to first order only; second derivatives would be wrong, so backward(create_graph=True) through"
    " a Sinkhorn value is refused. Use emd.wasserstein, emd.sliced_wasserstein or emd.wasserstein_1d"
    " for losses that need double backward (gradient penalties)."
)


def _t_or_none(x: Any) -> Any:
    return x.t if isinstance(x, TArray) else None


class _DenseEnvelope(torch.autograd.Function):
    """Zero in value; the backward of the entropic objective of B dense problems
    (Danskin / the envelope theorem at the converged potentials): d/dM = P,
    d/da = f, d/db = g. The plan is built only in the backward (one kernel call)."""

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any, M: Any, f: torch.Tensor, g: torch.Tensor, plan: Any) -> torch.Tensor:
        ctx.save_for_backward(f, g)
        ctx.plan, ctx.M_shape = plan, None if M is None else M.shape
        ctx.dtypes = tuple(None if x is None else x.dtype for x in (a, b, M))
        return torch.zeros(f.shape[0], dtype=torch.float64, device=f.device)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
        if torch.is_grad_enabled():
            raise RuntimeError(_CREATE_GRAPH_REFUSED)
        f, g = ctx.saved_tensors
        da, db, dM = ctx.dtypes
        ga = (grad[:, None] * f).to(da) if da is not None and ctx.needs_input_grad[0] else None
        gb = (grad[:, None] * g).to(db) if db is not None and ctx.needs_input_grad[1] else None
        gM = None
        if dM is not None and ctx.needs_input_grad[2]:
            P = ctx.plan()
            gM = grad.to(P.dtype)[:, None, None] * P
            gM = (gM.sum(0) if len(ctx.M_shape) == 2 else gM).to(dM)
        return ga, gb, gM, None, None, None


def samples_gradients(x: torch.Tensor, y: torch.Tensor, a: torch.Tensor, b: torch.Tensor, f: torch.Tensor,
                      g: torch.Tensor, reg: float, metric: str, power: float) -> tuple[torch.Tensor, torch.Tensor]:
    """sum_j P_ij grad_x c(x_i, y_j) and sum_i P_ij grad_y c(x_i, y_j) for the plan
    P_ij = a_i b_j exp((f_i + g_j - c(x_i, y_j)) / reg), computed over blocks of rows so
    that no more than about 2^22 pairs (times d) are held at once: the memory is
    O((n + m) d) plus one block, never the n x m plan."""
    x, y = x.detach(), y.detach()
    n, m, d = x.shape[0], y.shape[0], x.shape[1]
    gx = torch.empty_like(x)
    gy = torch.zeros_like(y)
    la, lb = torch.log(a.detach().to(x.dtype)), torch.log(b.detach().to(x.dtype))
    rows = max(1, (1 << 22) // max(1, m * d))
    yv = y.requires_grad_(True)
    for s in range(0, n, rows):
        xc = x[s : s + rows].detach().requires_grad_(True)
        with torch.enable_grad():
            c = metric_of_differences(xc[:, None, :] - yv[None, :, :], metric, 2.0)
            if power != 1.0:
                c = c**power
            logp = (f[s : s + rows, None] + g[None, :] - c.detach()) / reg + la[s : s + rows, None] + lb[None, :]
            gxc, gyc = torch.autograd.grad((torch.exp(logp) * c).sum(), (xc, yv))
        gx[s : s + rows] = gxc
        gy += gyc
    return gx, gy


class _SamplesEnvelope(torch.autograd.Function):
    """Zero in value; the envelope gradient of OT_eps between two clouds at the
    converged potentials: d/dx_i = sum_j P_ij grad_x c(x_i, y_j) (likewise y),
    d/da = f, d/db = g, matrix-free (:func:`samples_gradients`)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, y: torch.Tensor, a: torch.Tensor, b: torch.Tensor, f: torch.Tensor,
                g: torch.Tensor, options: tuple) -> torch.Tensor:
        ctx.save_for_backward(x, y, a, b, f, g)
        ctx.options = options
        return torch.zeros((), dtype=torch.float64, device=f.device)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
        if torch.is_grad_enabled():
            raise RuntimeError(_CREATE_GRAPH_REFUSED)
        x, y, a, b, f, g = ctx.saved_tensors
        reg, metric, power, kernel = ctx.options
        gx = gy = None
        if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
            # The inner backend's matrix-free kernel (one pass over the pairs per side
            # that requires grad), else the blockwise torch rebuild.
            fast = kernel(ctx.needs_input_grad[0], ctx.needs_input_grad[1])
            gx, gy = fast if fast is not None else samples_gradients(x, y, a, b, f, g, reg, metric, power)
            gx = None if gx is None else grad.to(gx.dtype) * gx
            gy = None if gy is None else grad.to(gy.dtype) * gy
        ga = (grad * f).to(a.dtype) if ctx.needs_input_grad[2] else None
        gb = (grad * g).to(b.dtype) if ctx.needs_input_grad[3] else None
        return gx, gy, ga, gb, None, None, None


def attach(value: torch.Tensor, rebuilt: torch.Tensor) -> torch.Tensor:
    return _Attach.apply(value.to(rebuilt.dtype), rebuilt).to(value.dtype)


def _safe_norm(diff: torch.Tensor, q: float = 2.0) -> torch.Tensor:
    """||diff||_q along the last axis with a zero gradient at diff = 0 (coincident points)."""
    s = (diff * diff).sum(-1) if q == 2.0 else (diff.abs() ** q).sum(-1)
    pos = s > 0
    return torch.where(pos, torch.where(pos, s, 1.0) ** (1.0 / q), 0.0)


def metric_of_differences(diff: torch.Tensor, metric: str, q: float) -> torch.Tensor:
    """metric(x - y) of differences (..., d), differentiable (zero gradient at 0)."""
    if metric == "sqeuclidean":
        return (diff * diff).sum(-1)
    if metric == "euclidean":
        return _safe_norm(diff)
    if metric == "cityblock":
        return diff.abs().sum(-1)
    if metric == "chebyshev":
        return diff.abs().amax(-1)
    return _safe_norm(diff, q)  # minkowski


@dataclasses.dataclass(frozen=True)
class CostRecipe:
    """How a cost matrix was made: scale * metric(x_i - y_j) ** power."""

    x: torch.Tensor
    y: torch.Tensor
    metric: str
    q: float
    power: float = 1.0
    scale: float = 1.0

    def powered(self, p: float) -> CostRecipe:
        return dataclasses.replace(self, power=self.power * p, scale=self.scale**p)

    def scaled(self, c: float) -> CostRecipe:
        return dataclasses.replace(self, scale=self.scale * c)

    def entries(self, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
        # index_select, not x[rows]: torch's advanced indexing hands a few thousand
        # indices to the intra-op thread pool, which cost 20 ms a call on a busy
        # 2-core machine (index_select: 0.03 ms).
        diff = self.x.index_select(0, rows) - self.y.index_select(0, cols)
        c = metric_of_differences(diff, self.metric, self.q)
        return self.scale * (c if self.power == 1.0 else c**self.power)

    def dense(self) -> torch.Tensor:
        c = metric_of_differences(self.x[:, None, :] - self.y[None, :, :], self.metric, self.q)
        return self.scale * (c if self.power == 1.0 else c**self.power)


def _tracks(*arrays: Any) -> bool:
    """Whether the graph needs building: grad mode on and an input that requires grad."""
    return torch.is_grad_enabled() and any(isinstance(a, TArray) and a.requires_grad for a in arrays)


def _views(problem: Any) -> Any:
    """The problem with its TArrays replaced by their detached views (what the inner kernels take)."""
    changes = {f.name: getattr(problem, f.name).v for f in dataclasses.fields(problem)
               if isinstance(getattr(problem, f.name), TArray)}
    return dataclasses.replace(problem, **changes) if changes else problem


def _one_d_rebuilt(u: torch.Tensor, uw: Any, v: torch.Tensor, vw: Any, pr: OneD) -> torch.Tensor:
    """W_p of the problem's pairs as torch operations on the rows u (U, n), v (V, m)
    and their weights ((U, n), (n,) shared, or None): :func:`one_d_rebuild` of the
    paired rows, then the root with a zero subgradient at 0."""
    k = len(pr.pair_u)
    u, uw = (paired_rows(a, pr.pair_u, k, True) for a in (u, uw))
    v, vw = (paired_rows(a, pr.pair_v, k, True) for a in (v, vw))
    return safe_root(one_d_rebuild(u, uw, v, vw, pr.p), pr.p)


class Torch(Backend):
    name = "torch"

    def __init__(self, inner: Backend, device: str) -> None:
        self.inner = inner
        self.device = torch.device(device)
        self.xp = TorchNamespace(inner.xp, self.device)
        self.host = inner.host
        # finish() gives tensors back to the user, and TArrays back to an emd function
        # that called another (emd.wasserstein calls emd.solve): set by the first raw
        # tensor asarray sees.
        self._outer = False

    def active(self) -> Any:
        if self.inner.host:
            return contextlib.nullcontext()
        import cupy

        index = self.device.index or 0
        stream = torch.cuda.current_stream(index)
        stack = contextlib.ExitStack()
        stack.enter_context(self.inner.active())
        stack.enter_context(cupy.cuda.ExternalStream(stream.cuda_stream, index))
        return stack

    # --- conversion -------------------------------------------------------------------------
    def asarray(self, x: Any, name: str, **kwargs: Any) -> TArray:
        if isinstance(x, TArray):
            self.inner.asarray(x.v, name, **kwargs)
            return x
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"`{name}` must be a torch tensor like the other arguments, got {type(x).__name__}")
        self._outer = True
        if x.dtype in (torch.float16, torch.bfloat16):
            x = x.float()  # computed in float32 (the gradient flows back in the input's dtype)
        v = self.inner.asarray(_view(x), name, **kwargs)
        return TArray(x, v)

    def to_host(self, x: Any) -> np.ndarray:
        return self.inner.to_host(x.v if isinstance(x, TArray) else x)

    def scalar(self, x: Any) -> Any:
        if isinstance(x, TArray):
            return x.reshape(())
        return self.inner.scalar(x)

    def finish(self, out: Any) -> Any:
        if not self._outer:
            return out
        if isinstance(out, TArray):
            return out.t
        if isinstance(out, np.generic) and out.dtype.kind == "f":
            return torch.tensor(out.item(), dtype=torch_dtype(out.dtype), device=self.device)
        if isinstance(out, np.ndarray):
            return torch.from_numpy(out).to(self.device) if out.dtype.kind != "U" else out
        if type(out).__module__.startswith("cupy"):
            return torch.from_dlpack(out)
        if dataclasses.is_dataclass(out) and not isinstance(out, type):
            res = dataclasses.replace(
                out, **{f.name: self.finish(getattr(out, f.name)) for f in dataclasses.fields(out) if f.init}
            )
            coo = getattr(res, "plan_coo", None)
            if coo is not None and res._plan_fn is None and res._dense_plan is None:
                # An exact solve's dense plan, built on first access as a tensor.
                rows, cols, vals = coo
                shape = res.shape
                res = dataclasses.replace(res, _plan_fn=lambda: torch.zeros(shape, dtype=vals.dtype, device=vals.device)
                                          .index_put_((rows.long(), cols.long()), vals))
            return res
        if isinstance(out, tuple):
            items = [self.finish(o) for o in out]
            return type(out)(*items) if hasattr(out, "_fields") else tuple(items)
        if callable(out) and not isinstance(out, type):
            return lambda: self.finish(out())  # a result's lazily built plan
        return out

    def _wrap(self, out: Any) -> Any:
        """A kernel's array output as a TArray (host statuses and counts stay NumPy)."""
        if out is None or (isinstance(out, np.ndarray) and out.dtype.kind not in "f"):
            return out
        return TArray(_from_array(out, self.device), out)

    # --- the last steps of the algorithms -----------------------------------------------------
    def slice_reduce(self, w: Any, p: float, reduce: str, dtype: np.dtype) -> Any:
        value = self.inner.slice_reduce(_unwrap(w), p, reduce, dtype)  # the NumPy path's value, bit for bit
        if not (isinstance(w, TArray) and w.requires_grad):
            return value
        t = w.t.to(torch.float64)
        if reduce == "max":
            rebuilt = t.max()
        else:
            # (mean_l w_l^p)^(1/p), the w divided by their largest first so that w^p stays
            # in range; the scale is a constant of the graph (the expression is homogeneous).
            s = t.detach().max()
            s = torch.where(s > 0, s, torch.ones_like(s))
            rebuilt = s * safe_root(((t / s) ** p).mean(), p)
        return TArray(attach(_from_array(value, self.device), rebuilt))

    def nonnegative_root(self, value: Any, p: float, dtype: np.dtype) -> Any:
        out = self.inner.nonnegative_root(_unwrap(value), p, dtype)
        if not (isinstance(value, TArray) and value.requires_grad):
            return out
        rebuilt = safe_root(value.t.to(torch.float64).clamp_min(0.0), p).reshape(())
        return TArray(attach(_from_array(out, self.device), rebuilt))

    def sinkhorn_dual(self, problem: SampleSinkhorn, sol: SinkhornSolution) -> Any:
        value = self.inner.sinkhorn_dual(_views(problem), _views(sol))
        if not _tracks(problem.x, problem.y, problem.a, problem.b):
            return value
        return TArray(attach(_from_array(np.asarray(value), self.device), self._samples_envelope(problem, sol)))

    # --- kernels ----------------------------------------------------------------------------
    def wasserstein_1d(self, problem: OneD) -> Any:
        pr = problem
        if not _tracks(pr.u, pr.v, pr.u_weights, pr.v_weights):
            return self._wrap(self.inner.wasserstein_1d(_views(pr)))
        if self.inner.host:
            # The kernel's gradients, from the walk that computes the value (torch_ops.py):
            # rows paired k with k, so broadcast rows are gathered first; a weight row
            # (n,) shared by every pair stays one.
            u, uw, v, vw = (_t_or_none(a) for a in (pr.u, pr.u_weights, pr.v, pr.v_weights))
            k = len(pr.pair_u)
            u, uw = (paired_rows(a, pr.pair_u, k, False) for a in (u, uw))
            v, vw = (paired_rows(a, pr.pair_v, k, False) for a in (v, vw))
            return TArray(paired_wasserstein_1d(u, uw, v, vw, pr.p))
        value = self._wrap(self.inner.wasserstein_1d(_views(pr)))
        return TArray(attach(value.t, _one_d_rebuilt(pr.u.t, _t_or_none(pr.u_weights), pr.v.t,
                                                     _t_or_none(pr.v_weights), pr)))

    def divergence(self, kind: str, p: Any, q: Any, axis: int) -> Any:
        value = self._wrap(self.inner.divergence(kind, _unwrap(p), _unwrap(q), axis))
        if not _tracks(p, q):
            return value
        pn, qn = p.t.to(torch.float64), q.t.to(torch.float64)
        pn = pn / pn.sum(dim=axis, keepdim=True)
        qn = qn / qn.sum(dim=axis, keepdim=True)
        if kind == "tv":
            rebuilt = 0.5 * (pn - qn).abs().sum(dim=axis)
        elif kind == "kl":
            rebuilt = _rel_entr(pn, qn).sum(dim=axis)
        else:
            mid = 0.5 * (pn + qn)
            rebuilt = 0.5 * (_rel_entr(pn, mid).sum(dim=axis) + _rel_entr(qn, mid).sum(dim=axis))
        return TArray(attach(value.t, rebuilt))

    def cost_matrix(self, x: Any, y: Any, metric: str, q: float) -> Any:
        out = self.inner.cost_matrix(x.v, y.v, metric, q)
        if not _tracks(x, y):
            return self._wrap(out)
        recipe = CostRecipe(x.t, y.t, metric, q)
        holder: list[TArray] = []

        def make() -> torch.Tensor:
            arr = holder[0]
            return attach(_from_array(arr._v, self.device), arr.recipe.dense())

        arr = TArray(None, out, make=make, recipe=recipe, device=self.device)
        holder.append(arr)
        return arr

    def network_simplex(self, problem: Exact) -> ExactSolution:
        pr = problem
        sol = self.inner.network_simplex(_views(pr))
        cost = self._wrap(sol.cost)
        if _tracks(pr.a, pr.b, pr.M):
            cost = TArray(attach(cost.t, self._exact_rebuild(pr, sol)))
        return dataclasses.replace(sol, cost=cost)

    def _exact_rebuild(self, pr: Exact, sol: ExactSolution) -> torch.Tensor:
        """The optimal cost as a function of a, b, M with the optimal basis held fixed:
        sum_k P_k M[r_k, c_k] over the plan's (at most n + m - 1 per problem) flows,
        plus <a, f> + <b, g> on the tangent directions (the envelope theorem:
        d cost/d a = f, d cost/d b = g, the potentials as the solver returns them)."""
        dev = self.device
        host = self.inner.to_host
        num_plan = np.asarray(sol.num_plan)
        rows, cols, vals = (host(x) for x in (sol.plan_rows, sol.plan_cols, sol.plan_values))
        keep = np.arange(rows.shape[1])[None, :] < num_plan[:, None]
        batch = torch.from_numpy(np.nonzero(keep)[0]).to(dev)
        r = torch.from_numpy(np.ascontiguousarray(rows[keep], dtype=np.int64)).to(dev)
        c = torch.from_numpy(np.ascontiguousarray(cols[keep], dtype=np.int64)).to(dev)
        M = pr.M
        if isinstance(M, TArray) and M._t is None and M.recipe is not None:
            entries = M.recipe.entries(r, c)
        else:
            Mt = M.t
            n, m = Mt.shape[-2:]
            flat = (r * m + c) if Mt.ndim == 2 else ((batch * n + r) * m + c)
            entries = Mt.reshape(-1).index_select(0, flat)  # see CostRecipe.entries
        dtype = entries.dtype
        flows = torch.from_numpy(np.ascontiguousarray(vals[keep])).to(device=dev, dtype=dtype)
        num = num_plan.shape[0]
        total = torch.zeros(num, dtype=dtype, device=dev).index_add(0, batch, flows * entries)
        f = _from_array(host(sol.potential_a), dev).to(dtype)
        g = _from_array(host(sol.potential_b), dev).to(dtype)
        a, b = pr.a.t, pr.b.t
        if a.requires_grad or b.requires_grad:
            total = total + _ExactWeights.apply(a, b, f, g).to(dtype)
        return total.to(torch.float64)

    def _sinkhorn_outputs(self, sol: SinkhornSolution, rebuilt: Any) -> SinkhornSolution:
        """The solution as TArrays; cost and objective carry the envelope gradient ``rebuilt``."""
        cost, objective = self._wrap(sol.cost), self._wrap(sol.objective)
        if rebuilt is not None:
            cost, objective = TArray(attach(cost.t, rebuilt)), TArray(attach(objective.t, rebuilt))
        return dataclasses.replace(sol, f=self._wrap(sol.f), g=self._wrap(sol.g), cost=cost, objective=objective)

    def sinkhorn_dense(self, problem: DenseSinkhorn) -> SinkhornSolution:
        pr = problem
        views = _views(pr)
        sol = self.inner.sinkhorn_dense(views)
        rebuilt = None
        if _tracks(pr.a, pr.b, pr.M):
            f, g = (_from_array(x, self.device) for x in (sol.f, sol.g))
            plan = lambda: _from_array(self.inner.sinkhorn_plan_dense(views, sol.f, sol.g), self.device)  # noqa: E731
            rebuilt = _DenseEnvelope.apply(_t_or_none(pr.a), _t_or_none(pr.b), _t_or_none(pr.M), f, g, plan)
        return self._sinkhorn_outputs(sol, rebuilt)

    def sinkhorn_plan_dense(self, problem: DenseSinkhorn, f: Any, g: Any) -> Any:
        return self._wrap(self.inner.sinkhorn_plan_dense(_views(problem), _unwrap(f), _unwrap(g)))

    def sinkhorn_samples(self, problem: SampleSinkhorn) -> SinkhornSolution:
        sol = self.inner.sinkhorn_samples(_views(problem))
        rebuilt = None
        if _tracks(problem.x, problem.y, problem.a, problem.b):
            rebuilt = self._samples_envelope(problem, sol)[None]
        return self._sinkhorn_outputs(sol, rebuilt)

    def _samples_envelope(self, pr: SampleSinkhorn, sol: SinkhornSolution) -> torch.Tensor:
        fv, gv = (_unwrap(x)[0] for x in (sol.f, sol.g))
        f, g = (_from_array(v, self.device) for v in (fv, gv))
        metric = _METRIC_NAMES[pr.metric]
        views = _views(pr)
        inner = self.inner

        def kernel(want_x: bool, want_y: bool) -> tuple[Any, Any] | None:
            """(d/dx, d/dy) from the inner backend's kernel (None for a side not wanted),
            or None where it has none for this metric (then before any work)."""
            flipped = dataclasses.replace(views, x=views.y, y=views.x, a=views.b, b=views.a)
            out = []
            for want, problem, p_f, p_g in ((want_x, views, fv, gv), (want_y, flipped, gv, fv)):
                grad = inner.sinkhorn_gradient_samples(problem, p_f, p_g) if want else None
                if want and grad is None:
                    return None
                out.append(None if grad is None else _from_array(grad, self.device))
            return out[0], out[1]

        return _SamplesEnvelope.apply(pr.x.t, pr.y.t, pr.a.t, pr.b.t, f, g, (pr.reg, metric, pr.power, kernel))

    def sinkhorn_plan_samples(self, problem: SampleSinkhorn, f: Any, g: Any) -> Any:
        return self._wrap(self.inner.sinkhorn_plan_samples(_views(problem), _unwrap(f), _unwrap(g)))

    def critic_layers(self, critic: Any, dtype: np.dtype) -> Critic:
        return self.inner.critic_layers(critic, dtype)

    def critic_forward(self, critic: Critic, x: Any) -> Any:
        return self._wrap(self.inner.critic_forward(critic, _unwrap(x)))

    def kr_estimate(self, critic: Critic, x_real: Any, x_fake: Any) -> Any:
        return self.inner.kr_estimate(critic, _unwrap(x_real), _unwrap(x_fake))


def _rel_entr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """x log(x / y), 0 where x = 0, with finite gradients there (the masked branch's
    logarithm reads 1): the value itself comes from the kernel."""
    pos = x > 0
    ys = torch.where(y > 0, y, 1.0)
    xs = torch.where(pos, x, 1.0)
    return torch.where(pos, x * (torch.log(xs) - torch.log(ys)), 0.0)
