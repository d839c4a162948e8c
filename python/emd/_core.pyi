"""
emd's C++ kernels. Private: call them through the emd package, which validates inputs.
"""
from __future__ import annotations
import collections.abc
import numpy
import numpy.typing
import typing
__all__: list[str] = ['NetworkSimplexResult', 'SinkhornParams', 'SinkhornResult', 'cost_matrix', 'critic_forward', 'kr_estimate', 'network_simplex', 'sinkhorn_dense', 'sinkhorn_gradient_samples', 'sinkhorn_plan_dense', 'sinkhorn_plan_samples', 'sinkhorn_samples', 'status_names', 'wasserstein_1d', 'wasserstein_1d_gradients', 'wasserstein_1d_pair', 'wasserstein_clouds_pair']
class NetworkSimplexResult:
    """
    The batched outputs of network_simplex (leading axis B), read-only.
    """
    @property
    def cost(self) -> numpy.ndarray:
        """
        (B,) float64: <P, M>
        """
    @property
    def duality_gap(self) -> numpy.ndarray:
        """
        (B,) float64
        """
    @property
    def n_iter(self) -> numpy.ndarray:
        """
        (B,) int64 pivots
        """
    @property
    def num_plan(self) -> numpy.ndarray:
        """
        (B,) int64: plan entries used per row
        """
    @property
    def plan_cols(self) -> numpy.ndarray:
        """
        (B, n + m - 1) int64
        """
    @property
    def plan_rows(self) -> numpy.ndarray:
        """
        (B, n + m - 1) int64
        """
    @property
    def plan_values(self) -> numpy.ndarray:
        """
        (B, n + m - 1), the dtype of a
        """
    @property
    def potential_a(self) -> numpy.ndarray:
        """
        (B, n), the dtype of a
        """
    @property
    def potential_b(self) -> numpy.ndarray:
        """
        (B, m), the dtype of a
        """
    @property
    def status(self) -> numpy.ndarray:
        """
        (B,) int32 codes of status_names()
        """
class SinkhornParams:
    """
    Parameters of a Sinkhorn solve (emd::SinkhornParams); python/emd validated them.
    """
    def __init__(self, *, reg: typing.SupportsFloat | typing.SupportsIndex, tol: typing.SupportsFloat | typing.SupportsIndex, max_iter: typing.SupportsInt | typing.SupportsIndex, eps_scaling: typing.SupportsFloat | typing.SupportsIndex = 0.0, overrelax: bool = True, stage_iters: typing.SupportsInt | typing.SupportsIndex = 0, symmetric: bool = False, rate_probe: typing.SupportsInt | typing.SupportsIndex = 10, objective: bool = True) -> None:
        ...
    @property
    def eps_scaling(self) -> float:
        """
        0: off; in (0, 1): the annealing factor
        """
    @property
    def max_iter(self) -> int:
        """
        iterations over all epsilon stages
        """
    @property
    def objective(self) -> bool:
        """
        compute cost and objective at the end
        """
    @property
    def overrelax(self) -> bool:
        """
        over-relaxed updates (same fixed point)
        """
    @property
    def rate_probe(self) -> int:
        """
        plain iterations per half of the rate probe
        """
    @property
    def reg(self) -> float:
        """
        the final epsilon (absolute, in cost units)
        """
    @property
    def stage_iters(self) -> int:
        """
        0: intermediate stages run to a loose tol; k > 0: exactly k iterations each (CPU loop)
        """
    @property
    def symmetric(self) -> bool:
        """
        C = C^T and a = b: the averaged update f <- (f + T(f)) / 2 (CPU matrix-free loop)
        """
    @property
    def tol(self) -> float:
        """
        stop when ||P 1 - a||_1 < tol
        """
class SinkhornResult:
    """
    The batched outputs of a Sinkhorn solve (leading axis B), read-only.
    """
    @property
    def cost(self) -> numpy.ndarray:
        """
        (B,) float64: <P, C>
        """
    @property
    def f(self) -> numpy.ndarray:
        """
        (B, n): potential_a, the dtype of a
        """
    @property
    def g(self) -> numpy.ndarray:
        """
        (B, m): potential_b, the dtype of a
        """
    @property
    def marginal_error(self) -> numpy.ndarray:
        """
        (B,) float64: ||P 1 - a||_1
        """
    @property
    def n_iter(self) -> numpy.ndarray:
        """
        (B,) int64
        """
    @property
    def objective(self) -> numpy.ndarray:
        """
        (B,) float64: <P, C> + reg KL(P || a x b)
        """
    @property
    def status(self) -> numpy.ndarray:
        """
        (B,) int32 codes of status_names()
        """
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
def network_simplex(a: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], b: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], M: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], max_iter: typing.SupportsInt | typing.SupportsIndex) -> NetworkSimplexResult:
    """
    Exact transport by the network simplex on a batch: a (B, n), b (B, m), M (n, m) or (B, n, m).
    """
@typing.overload
def network_simplex(a: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], b: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], M: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], max_iter: typing.SupportsInt | typing.SupportsIndex) -> NetworkSimplexResult:
    """
    Exact transport by the network simplex on a batch: a (B, n), b (B, m), M (n, m) or (B, n, m).
    """
@typing.overload
def sinkhorn_dense(a: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], b: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], cost: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], params: SinkhornParams, f_init: typing.Annotated[numpy.typing.ArrayLike, numpy.float32] | None = None, g_init: typing.Annotated[numpy.typing.ArrayLike, numpy.float32] | None = None) -> SinkhornResult:
    """
    Log-domain Sinkhorn on a batch of dense problems: a (B, n), b (B, m), cost (n, m) or (B, n, m).
    """
@typing.overload
def sinkhorn_dense(a: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], b: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], cost: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], params: SinkhornParams, f_init: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None = None, g_init: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None = None) -> SinkhornResult:
    """
    Log-domain Sinkhorn on a batch of dense problems: a (B, n), b (B, m), cost (n, m) or (B, n, m).
    """
@typing.overload
def sinkhorn_gradient_samples(x: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], a: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], b: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], metric: typing.SupportsInt | typing.SupportsIndex, power: typing.SupportsFloat | typing.SupportsIndex, f: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], g: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], reg: typing.SupportsFloat | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.float32]:
    """
    sum_j P_ij grad_x c(x_i, y_j) (n, d) of potentials f (n,), g (m,), matrix-free; sqeuclidean/euclidean.
    """
@typing.overload
def sinkhorn_gradient_samples(x: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], y: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], a: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], b: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], metric: typing.SupportsInt | typing.SupportsIndex, power: typing.SupportsFloat | typing.SupportsIndex, f: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], g: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], reg: typing.SupportsFloat | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.float64]:
    """
    sum_j P_ij grad_x c(x_i, y_j) (n, d) of potentials f (n,), g (m,), matrix-free; sqeuclidean/euclidean.
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
def sinkhorn_samples(x: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], a: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], b: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], metric: typing.SupportsInt | typing.SupportsIndex, power: typing.SupportsFloat | typing.SupportsIndex, q: typing.SupportsFloat | typing.SupportsIndex, params: SinkhornParams, f_init: typing.Annotated[numpy.typing.ArrayLike, numpy.float32] | None = None, g_init: typing.Annotated[numpy.typing.ArrayLike, numpy.float32] | None = None) -> SinkhornResult:
    """
    Log-domain Sinkhorn between point clouds x (n, d), y (m, d), cost metric(x, y) ** power on the fly.
    """
@typing.overload
def sinkhorn_samples(x: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], y: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], a: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], b: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], metric: typing.SupportsInt | typing.SupportsIndex, power: typing.SupportsFloat | typing.SupportsIndex, q: typing.SupportsFloat | typing.SupportsIndex, params: SinkhornParams, f_init: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None = None, g_init: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None = None) -> SinkhornResult:
    """
    Log-domain Sinkhorn between point clouds x (n, d), y (m, d), cost metric(x, y) ** power on the fly.
    """
def status_names() -> typing.Annotated[list[str], "FixedSize(6)"]:
    """
    The names of emd::SolveStatus, indexed by the status codes the solvers return.
    """
@typing.overload
def wasserstein_1d(u: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], u_weights: typing.Annotated[numpy.typing.ArrayLike, numpy.float32] | None, v: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], v_weights: typing.Annotated[numpy.typing.ArrayLike, numpy.float32] | None, pair_u: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], pair_v: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], p: typing.SupportsFloat | typing.SupportsIndex, assume_sorted: bool, weighted_sort: str = 'automatic') -> numpy.typing.NDArray[numpy.float32]:
    """
    W_p for each (u[pair_u[k]], v[pair_v[k]]); rows are (num_rows, n) float arrays. weighted_sort ('automatic', 'whole_rows', 'buckets') picks the sort of a single weighted float64 pair (emd::WeightedSort).
    """
@typing.overload
def wasserstein_1d(u: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], u_weights: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None, v: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], v_weights: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None, pair_u: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], pair_v: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], p: typing.SupportsFloat | typing.SupportsIndex, assume_sorted: bool, weighted_sort: str = 'automatic') -> numpy.typing.NDArray[numpy.float64]:
    """
    W_p for each (u[pair_u[k]], v[pair_v[k]]); rows are (num_rows, n) float arrays. weighted_sort ('automatic', 'whole_rows', 'buckets') picks the sort of a single weighted float64 pair (emd::WeightedSort).
    """
@typing.overload
def wasserstein_1d_gradients(u: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], u_weights: typing.Annotated[numpy.typing.ArrayLike, numpy.float32] | None, v: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], v_weights: typing.Annotated[numpy.typing.ArrayLike, numpy.float32] | None, pair_u: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], pair_v: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], p: typing.SupportsFloat | typing.SupportsIndex, gradients: typing.Annotated[collections.abc.Sequence[bool], "FixedSize(4)"], num_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple:
    """
    (W_p, dW/du, dW/dv, dW/du_weights, dW/dv_weights) for each pair, the derivatives per pair in the rows' own order, each None unless `gradients` (u, v, u_weights, v_weights) asks for it; num_threads <= 0: the OpenMP default.
    """
@typing.overload
def wasserstein_1d_gradients(u: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], u_weights: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None, v: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], v_weights: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None, pair_u: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], pair_v: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], p: typing.SupportsFloat | typing.SupportsIndex, gradients: typing.Annotated[collections.abc.Sequence[bool], "FixedSize(4)"], num_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple:
    """
    (W_p, dW/du, dW/dv, dW/du_weights, dW/dv_weights) for each pair, the derivatives per pair in the rows' own order, each None unless `gradients` (u, v, u_weights, v_weights) asks for it; num_threads <= 0: the OpenMP default.
    """
def wasserstein_1d_pair(u: typing.Any, v: typing.Any, u_weights: typing.Any, v_weights: typing.Any, p: typing.Any, assume_sorted: typing.Any) -> typing.Any:
    """
    W_p of one pair of 1-D float arrays, the inputs checked in the kernel's first pass; None when the arguments are not of that kind or a check flags one (then take the full path).
    """
def wasserstein_clouds_pair(x: typing.Any, y: typing.Any, x_weights: typing.Any, y_weights: typing.Any, p: typing.Any, metric: typing.SupportsInt | typing.SupportsIndex) -> typing.Any:
    """
    W_p between two point clouds (n, d), (m, d), d >= 2, by the network simplex, the inputs checked while the cost matrix is built; None when the arguments are not of that kind or a check flags one (then take the full path).
    """
