"""
emd's C++ kernels. Private: call them through the emd package, which validates inputs.
"""
from __future__ import annotations
import collections.abc
import numpy
import numpy.typing
import typing
__all__: list[str] = ['cost_matrix', 'critic_forward', 'kr_estimate', 'network_simplex', 'sinkhorn_dense', 'sinkhorn_plan_dense', 'sinkhorn_plan_samples', 'sinkhorn_samples', 'status_names', 'wasserstein_1d']
@typing.overload
def cost_matrix(x: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], metric: typing.SupportsInt | typing.SupportsIndex, q: typing.SupportsFloat | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.float32]:
    """
    out[i, j] = metric(x[i], y[j]); metric codes follow emd::Metric.
    """
@typing.overload
def cost_matrix(x: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], y: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], metric: typing.SupportsInt | typing.SupportsIndex, q: typing.SupportsFloat | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.float64]:
    """
    out[i, j] = metric(x[i], y[j]); metric codes follow emd::Metric.
    """
@typing.overload
def critic_forward(weights: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.float32]], biases: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.float32]], slope: typing.SupportsFloat | typing.SupportsIndex, x: typing.Annotated[numpy.typing.ArrayLike, numpy.float32]) -> numpy.typing.NDArray[numpy.float32]:
    """
    Stacked MLP critics: weights[l] (K, fan_in, fan_out), biases[l] (K, fan_out); -> (K, batch).
    """
@typing.overload
def critic_forward(weights: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.float64]], biases: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.float64]], slope: typing.SupportsFloat | typing.SupportsIndex, x: typing.Annotated[numpy.typing.ArrayLike, numpy.float64]) -> numpy.typing.NDArray[numpy.float64]:
    """
    Stacked MLP critics: weights[l] (K, fan_in, fan_out), biases[l] (K, fan_out); -> (K, batch).
    """
@typing.overload
def kr_estimate(weights: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.float32]], biases: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.float32]], slope: typing.SupportsFloat | typing.SupportsIndex, x_real: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], x_fake: typing.Annotated[numpy.typing.ArrayLike, numpy.float32]) -> float:
    """
    mean f(x_real) - mean f(x_fake) for one critic (K = 1), fused and tiled.
    """
@typing.overload
def kr_estimate(weights: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.float64]], biases: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.float64]], slope: typing.SupportsFloat | typing.SupportsIndex, x_real: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], x_fake: typing.Annotated[numpy.typing.ArrayLike, numpy.float64]) -> float:
    """
    mean f(x_real) - mean f(x_fake) for one critic (K = 1), fused and tiled.
    """
@typing.overload
def network_simplex(a: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], b: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], M: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], max_iter: typing.SupportsInt | typing.SupportsIndex) -> tuple:
    """
    Exact transport by the network simplex: (cost, potential_a, potential_b, duality_gap, status, n_iter, plan_rows, plan_cols, plan_values, num_plan), each with a leading batch axis.
    """
@typing.overload
def network_simplex(a: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], b: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], M: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], max_iter: typing.SupportsInt | typing.SupportsIndex) -> tuple:
    """
    Exact transport by the network simplex: (cost, potential_a, potential_b, duality_gap, status, n_iter, plan_rows, plan_cols, plan_values, num_plan), each with a leading batch axis.
    """
@typing.overload
def sinkhorn_dense(a: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], b: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], cost: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], reg: typing.SupportsFloat | typing.SupportsIndex, tol: typing.SupportsFloat | typing.SupportsIndex, max_iter: typing.SupportsInt | typing.SupportsIndex, eps_scaling: typing.SupportsFloat | typing.SupportsIndex, f_init: typing.Annotated[numpy.typing.ArrayLike, numpy.float32] | None, g_init: typing.Annotated[numpy.typing.ArrayLike, numpy.float32] | None, overrelax: bool = True) -> tuple:
    """
    Log-domain Sinkhorn on a batch of dense problems: a (B, n), b (B, m), cost (n, m) or (B, n, m).
    """
@typing.overload
def sinkhorn_dense(a: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], b: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], cost: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], reg: typing.SupportsFloat | typing.SupportsIndex, tol: typing.SupportsFloat | typing.SupportsIndex, max_iter: typing.SupportsInt | typing.SupportsIndex, eps_scaling: typing.SupportsFloat | typing.SupportsIndex, f_init: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None, g_init: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None, overrelax: bool = True) -> tuple:
    """
    Log-domain Sinkhorn on a batch of dense problems: a (B, n), b (B, m), cost (n, m) or (B, n, m).
    """
@typing.overload
def sinkhorn_plan_dense(a: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], b: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], cost: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], f: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], g: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], reg: typing.SupportsFloat | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.float32]:
    """
    The plan (B, n, m) of potentials f (B, n), g (B, m).
    """
@typing.overload
def sinkhorn_plan_dense(a: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], b: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], cost: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], f: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], g: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], reg: typing.SupportsFloat | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.float64]:
    """
    The plan (B, n, m) of potentials f (B, n), g (B, m).
    """
@typing.overload
def sinkhorn_plan_samples(x: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], a: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], b: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], metric: typing.SupportsInt | typing.SupportsIndex, power: typing.SupportsFloat | typing.SupportsIndex, q: typing.SupportsFloat | typing.SupportsIndex, f: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], g: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], reg: typing.SupportsFloat | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.float32]:
    """
    The plan (n, m) of potentials f (n,), g (m,).
    """
@typing.overload
def sinkhorn_plan_samples(x: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], y: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], a: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], b: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], metric: typing.SupportsInt | typing.SupportsIndex, power: typing.SupportsFloat | typing.SupportsIndex, q: typing.SupportsFloat | typing.SupportsIndex, f: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], g: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], reg: typing.SupportsFloat | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.float64]:
    """
    The plan (n, m) of potentials f (n,), g (m,).
    """
@typing.overload
def sinkhorn_samples(x: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], a: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], b: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], metric: typing.SupportsInt | typing.SupportsIndex, power: typing.SupportsFloat | typing.SupportsIndex, q: typing.SupportsFloat | typing.SupportsIndex, reg: typing.SupportsFloat | typing.SupportsIndex, tol: typing.SupportsFloat | typing.SupportsIndex, max_iter: typing.SupportsInt | typing.SupportsIndex, eps_scaling: typing.SupportsFloat | typing.SupportsIndex, f_init: typing.Annotated[numpy.typing.ArrayLike, numpy.float32] | None, g_init: typing.Annotated[numpy.typing.ArrayLike, numpy.float32] | None, overrelax: bool = True) -> tuple:
    """
    Log-domain Sinkhorn between point clouds x (n, d), y (m, d), cost metric(x, y) ** power on the fly.
    """
@typing.overload
def sinkhorn_samples(x: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], y: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], a: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], b: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], metric: typing.SupportsInt | typing.SupportsIndex, power: typing.SupportsFloat | typing.SupportsIndex, q: typing.SupportsFloat | typing.SupportsIndex, reg: typing.SupportsFloat | typing.SupportsIndex, tol: typing.SupportsFloat | typing.SupportsIndex, max_iter: typing.SupportsInt | typing.SupportsIndex, eps_scaling: typing.SupportsFloat | typing.SupportsIndex, f_init: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None, g_init: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None, overrelax: bool = True) -> tuple:
    """
    Log-domain Sinkhorn between point clouds x (n, d), y (m, d), cost metric(x, y) ** power on the fly.
    """
def status_names() -> typing.Annotated[list[str], "FixedSize(6)"]:
    """
    The names of emd::SolveStatus, indexed by the status codes the solvers return.
    """
@typing.overload
def wasserstein_1d(u: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], u_weights: typing.Annotated[numpy.typing.ArrayLike, numpy.float32] | None, v: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], v_weights: typing.Annotated[numpy.typing.ArrayLike, numpy.float32] | None, pair_u: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], pair_v: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], p: typing.SupportsFloat | typing.SupportsIndex, assume_sorted: bool) -> numpy.typing.NDArray[numpy.float32]:
    """
    W_p for each (u[pair_u[k]], v[pair_v[k]]); rows are (num_rows, n) float arrays.
    """
@typing.overload
def wasserstein_1d(u: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], u_weights: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None, v: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], v_weights: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None, pair_u: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], pair_v: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], p: typing.SupportsFloat | typing.SupportsIndex, assume_sorted: bool) -> numpy.typing.NDArray[numpy.float64]:
    """
    W_p for each (u[pair_u[k]], v[pair_v[k]]); rows are (num_rows, n) float arrays.
    """
