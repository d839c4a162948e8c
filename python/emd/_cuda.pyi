"""
emd's CUDA kernels. Private: call them through the emd package, which validates inputs.
"""
from __future__ import annotations
import collections.abc
import typing
__all__: list[str] = ['CriticNet', 'OneDProblem', 'SinkhornOutputs', 'SinkhornParams', 'cost_matrix', 'critic_forward', 'critic_fused_fits', 'device_count', 'divergence', 'kr_estimate', 'kr_estimate_workspace_bytes', 'sinkhorn_batched', 'sinkhorn_batched_fits', 'sinkhorn_dense', 'sinkhorn_dense_workspace_bytes', 'sinkhorn_samples', 'sinkhorn_samples_workspace_bytes', 'status_names', 'wasserstein_1d', 'wasserstein_1d_workspace_bytes']
class OneDProblem:
    """
    A batch of 1-D problems: out[k] = W_p(u[pair_u[k]], v[pair_v[k]]) over (rows, n) device arrays (emd::gpu::OneDProblem).
    """
    def __init__(self, *, itemsize: typing.SupportsInt | typing.SupportsIndex, u: typing.SupportsInt | typing.SupportsIndex, u_weights: typing.SupportsInt | typing.SupportsIndex, u_rows: typing.SupportsInt | typing.SupportsIndex, n: typing.SupportsInt | typing.SupportsIndex, v: typing.SupportsInt | typing.SupportsIndex, v_weights: typing.SupportsInt | typing.SupportsIndex, v_rows: typing.SupportsInt | typing.SupportsIndex, m: typing.SupportsInt | typing.SupportsIndex, pair_u: typing.SupportsInt | typing.SupportsIndex = 0, pair_v: typing.SupportsInt | typing.SupportsIndex = 0, num_pairs: typing.SupportsInt | typing.SupportsIndex, p: typing.SupportsFloat | typing.SupportsIndex, assume_sorted: bool) -> None:
        ...
    @property
    def assume_sorted(self) -> bool:
        ...
    @property
    def itemsize(self) -> int:
        ...
    @property
    def m(self) -> int:
        ...
    @property
    def n(self) -> int:
        ...
    @property
    def num_pairs(self) -> int:
        ...
    @property
    def p(self) -> float:
        ...
    @property
    def pair_u(self) -> int:
        ...
    @property
    def pair_v(self) -> int:
        ...
    @property
    def u(self) -> int:
        ...
    @property
    def u_rows(self) -> int:
        ...
    @property
    def u_weights(self) -> int:
        ...
    @property
    def v(self) -> int:
        ...
    @property
    def v_rows(self) -> int:
        ...
    @property
    def v_weights(self) -> int:
        ...
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
class SinkhornOutputs:
    """
    Device pointers to one problem's output slots, by name.
    """
    def __init__(self, *, f: typing.SupportsInt | typing.SupportsIndex, g: typing.SupportsInt | typing.SupportsIndex, cost: typing.SupportsInt | typing.SupportsIndex, objective: typing.SupportsInt | typing.SupportsIndex, marginal_error: typing.SupportsInt | typing.SupportsIndex, n_iter: typing.SupportsInt | typing.SupportsIndex, status: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def cost(self) -> int:
        ...
    @property
    def f(self) -> int:
        ...
    @property
    def g(self) -> int:
        ...
    @property
    def marginal_error(self) -> int:
        ...
    @property
    def n_iter(self) -> int:
        ...
    @property
    def objective(self) -> int:
        ...
    @property
    def status(self) -> int:
        ...
class CriticNet:
    """
    K stacked MLP critics on the device (emd::gpu::CriticNet).
    """
    def __init__(self, *, itemsize: typing.SupportsInt | typing.SupportsIndex, dims: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], weights: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], biases: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], num_critics: typing.SupportsInt | typing.SupportsIndex, slope: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def biases(self) -> list[int]:
        ...
    @property
    def dims(self) -> list[int]:
        ...
    @property
    def itemsize(self) -> int:
        ...
    @property
    def num_critics(self) -> int:
        ...
    @property
    def slope(self) -> float:
        ...
    @property
    def weights(self) -> list[int]:
        ...
def cost_matrix(*, itemsize: typing.SupportsInt | typing.SupportsIndex, x: typing.SupportsInt | typing.SupportsIndex, n: typing.SupportsInt | typing.SupportsIndex, y: typing.SupportsInt | typing.SupportsIndex, m: typing.SupportsInt | typing.SupportsIndex, d: typing.SupportsInt | typing.SupportsIndex, metric: typing.SupportsInt | typing.SupportsIndex, q: typing.SupportsFloat | typing.SupportsIndex, out: typing.SupportsInt | typing.SupportsIndex, device: typing.SupportsInt | typing.SupportsIndex, stream: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    out (n, m) = metric(x_i, y_j); metric is emd::Metric's code.
    """
def critic_forward(net: CriticNet, *, x: typing.SupportsInt | typing.SupportsIndex, batch: typing.SupportsInt | typing.SupportsIndex, shared_x: bool, out: typing.SupportsInt | typing.SupportsIndex, device: typing.SupportsInt | typing.SupportsIndex, stream: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    out (K, batch) = f_k(x) by the fused kernel.
    """
def critic_fused_fits(*, itemsize: typing.SupportsInt | typing.SupportsIndex, dims: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], device: typing.SupportsInt | typing.SupportsIndex) -> bool:
    """
    Whether the fused kernel takes a network of these widths (d, hidden..., 1).
    """
def device_count() -> int:
    """
    Number of usable CUDA devices (0 when none or no driver).
    """
def divergence(*, itemsize: typing.SupportsInt | typing.SupportsIndex, kind: typing.SupportsInt | typing.SupportsIndex, p: typing.SupportsInt | typing.SupportsIndex, q: typing.SupportsInt | typing.SupportsIndex, rows: typing.SupportsInt | typing.SupportsIndex, bins: typing.SupportsInt | typing.SupportsIndex, out: typing.SupportsInt | typing.SupportsIndex, device: typing.SupportsInt | typing.SupportsIndex, stream: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    out[r] = TV (kind 0), KL (1) or JS (2) of rows p[r], q[r].
    """
def kr_estimate(net: CriticNet, *, x_real: typing.SupportsInt | typing.SupportsIndex, n_real: typing.SupportsInt | typing.SupportsIndex, x_fake: typing.SupportsInt | typing.SupportsIndex, n_fake: typing.SupportsInt | typing.SupportsIndex, out: typing.SupportsInt | typing.SupportsIndex, workspace: typing.SupportsInt | typing.SupportsIndex, workspace_bytes: typing.SupportsInt | typing.SupportsIndex, device: typing.SupportsInt | typing.SupportsIndex, stream: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    out (K,) float64 = mean f_k(x_real) - mean f_k(x_fake), fused.
    """
def kr_estimate_workspace_bytes(num_critics: typing.SupportsInt | typing.SupportsIndex) -> int:
    ...
def sinkhorn_batched(*, itemsize: typing.SupportsInt | typing.SupportsIndex, a: typing.SupportsInt | typing.SupportsIndex, b: typing.SupportsInt | typing.SupportsIndex, cost: typing.SupportsInt | typing.SupportsIndex, shared_cost: bool, num_problems: typing.SupportsInt | typing.SupportsIndex, n: typing.SupportsInt | typing.SupportsIndex, m: typing.SupportsInt | typing.SupportsIndex, params: SinkhornParams, scale: typing.SupportsInt | typing.SupportsIndex, f_init: typing.SupportsInt | typing.SupportsIndex, g_init: typing.SupportsInt | typing.SupportsIndex, outputs: SinkhornOutputs, device: typing.SupportsInt | typing.SupportsIndex, stream: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    Sinkhorn on a batch of small problems, one block each (asynchronous on `stream`); `outputs` points to problem 0's slots of (B,)-long arrays.
    """
def sinkhorn_batched_fits(n: typing.SupportsInt | typing.SupportsIndex, m: typing.SupportsInt | typing.SupportsIndex) -> bool:
    ...
def sinkhorn_dense(*, itemsize: typing.SupportsInt | typing.SupportsIndex, a: typing.SupportsInt | typing.SupportsIndex, b: typing.SupportsInt | typing.SupportsIndex, cost: typing.SupportsInt | typing.SupportsIndex, n: typing.SupportsInt | typing.SupportsIndex, m: typing.SupportsInt | typing.SupportsIndex, params: SinkhornParams, scale: typing.SupportsFloat | typing.SupportsIndex, mass_a: typing.SupportsFloat | typing.SupportsIndex, f_init: typing.SupportsInt | typing.SupportsIndex, g_init: typing.SupportsInt | typing.SupportsIndex, outputs: SinkhornOutputs, workspace: typing.SupportsInt | typing.SupportsIndex, workspace_bytes: typing.SupportsInt | typing.SupportsIndex, device: typing.SupportsInt | typing.SupportsIndex, stream: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    Log-domain Sinkhorn on one dense problem; results into `outputs`.
    """
def sinkhorn_dense_workspace_bytes(*, itemsize: typing.SupportsInt | typing.SupportsIndex, n: typing.SupportsInt | typing.SupportsIndex, m: typing.SupportsInt | typing.SupportsIndex, device: typing.SupportsInt | typing.SupportsIndex) -> int:
    ...
def sinkhorn_samples(*, itemsize: typing.SupportsInt | typing.SupportsIndex, x: typing.SupportsInt | typing.SupportsIndex, y: typing.SupportsInt | typing.SupportsIndex, a: typing.SupportsInt | typing.SupportsIndex, b: typing.SupportsInt | typing.SupportsIndex, n: typing.SupportsInt | typing.SupportsIndex, m: typing.SupportsInt | typing.SupportsIndex, d: typing.SupportsInt | typing.SupportsIndex, metric: typing.SupportsInt | typing.SupportsIndex, power: typing.SupportsFloat | typing.SupportsIndex, params: SinkhornParams, scale: typing.SupportsFloat | typing.SupportsIndex, f_init: typing.SupportsInt | typing.SupportsIndex, g_init: typing.SupportsInt | typing.SupportsIndex, outputs: SinkhornOutputs, workspace: typing.SupportsInt | typing.SupportsIndex, workspace_bytes: typing.SupportsInt | typing.SupportsIndex, device: typing.SupportsInt | typing.SupportsIndex, stream: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    Matrix-free log-domain Sinkhorn between point clouds (weights normalized to 1).
    """
def sinkhorn_samples_workspace_bytes(*, itemsize: typing.SupportsInt | typing.SupportsIndex, n: typing.SupportsInt | typing.SupportsIndex, m: typing.SupportsInt | typing.SupportsIndex, d: typing.SupportsInt | typing.SupportsIndex, device: typing.SupportsInt | typing.SupportsIndex) -> int:
    ...
def status_names() -> typing.Annotated[list[str], "FixedSize(6)"]:
    """
    The names of emd::SolveStatus, indexed by the status codes the kernels write.
    """
def wasserstein_1d(problem: OneDProblem, *, out: typing.SupportsInt | typing.SupportsIndex, workspace: typing.SupportsInt | typing.SupportsIndex, workspace_bytes: typing.SupportsInt | typing.SupportsIndex, device: typing.SupportsInt | typing.SupportsIndex, stream: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    out[k] = W_p(u[pair_u[k]], v[pair_v[k]]) on `stream`.
    """
def wasserstein_1d_workspace_bytes(problem: OneDProblem, *, device: typing.SupportsInt | typing.SupportsIndex) -> int:
    ...
