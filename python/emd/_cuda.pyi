"""
emd's CUDA kernels. Private: call them through the emd package, which validates inputs.
"""
from __future__ import annotations
import collections.abc
import typing
__all__: list[str] = ['cost_matrix', 'critic_forward', 'critic_fused_fits', 'device_count', 'divergence', 'kr_estimate', 'kr_estimate_workspace_bytes', 'sinkhorn_batched', 'sinkhorn_batched_fits', 'sinkhorn_dense', 'sinkhorn_dense_workspace_bytes', 'sinkhorn_samples', 'sinkhorn_samples_workspace_bytes', 'wasserstein_1d', 'wasserstein_1d_workspace_bytes']
def cost_matrix(itemsize: typing.SupportsInt | typing.SupportsIndex, x: typing.SupportsInt | typing.SupportsIndex, n: typing.SupportsInt | typing.SupportsIndex, y: typing.SupportsInt | typing.SupportsIndex, m: typing.SupportsInt | typing.SupportsIndex, d: typing.SupportsInt | typing.SupportsIndex, metric: typing.SupportsInt | typing.SupportsIndex, q: typing.SupportsFloat | typing.SupportsIndex, out: typing.SupportsInt | typing.SupportsIndex, device: typing.SupportsInt | typing.SupportsIndex, stream: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    out (n, m) = metric(x_i, y_j); metric is emd::Metric's code.
    """
def critic_forward(itemsize: typing.SupportsInt | typing.SupportsIndex, dims: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], weights: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], biases: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], num_critics: typing.SupportsInt | typing.SupportsIndex, slope: typing.SupportsFloat | typing.SupportsIndex, x: typing.SupportsInt | typing.SupportsIndex, batch: typing.SupportsInt | typing.SupportsIndex, shared_x: bool, out: typing.SupportsInt | typing.SupportsIndex, device: typing.SupportsInt | typing.SupportsIndex, stream: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    out (K, batch) = f_k(x) by the fused kernel.
    """
def critic_fused_fits(itemsize: typing.SupportsInt | typing.SupportsIndex, dims: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], device: typing.SupportsInt | typing.SupportsIndex) -> bool:
    """
    Whether the fused kernel takes a network of these widths (d, hidden..., 1).
    """
def device_count() -> int:
    """
    Number of usable CUDA devices (0 when none or no driver).
    """
def divergence(itemsize: typing.SupportsInt | typing.SupportsIndex, kind: typing.SupportsInt | typing.SupportsIndex, p: typing.SupportsInt | typing.SupportsIndex, q: typing.SupportsInt | typing.SupportsIndex, rows: typing.SupportsInt | typing.SupportsIndex, bins: typing.SupportsInt | typing.SupportsIndex, out: typing.SupportsInt | typing.SupportsIndex, device: typing.SupportsInt | typing.SupportsIndex, stream: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    out[r] = TV (kind 0), KL (1) or JS (2) of rows p[r], q[r].
    """
def kr_estimate(itemsize: typing.SupportsInt | typing.SupportsIndex, dims: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], weights: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], biases: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], num_critics: typing.SupportsInt | typing.SupportsIndex, slope: typing.SupportsFloat | typing.SupportsIndex, x_real: typing.SupportsInt | typing.SupportsIndex, n_real: typing.SupportsInt | typing.SupportsIndex, x_fake: typing.SupportsInt | typing.SupportsIndex, n_fake: typing.SupportsInt | typing.SupportsIndex, out: typing.SupportsInt | typing.SupportsIndex, workspace: typing.SupportsInt | typing.SupportsIndex, workspace_bytes: typing.SupportsInt | typing.SupportsIndex, device: typing.SupportsInt | typing.SupportsIndex, stream: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    out (K,) float64 = mean f_k(x_real) - mean f_k(x_fake), fused.
    """
def kr_estimate_workspace_bytes(num_critics: typing.SupportsInt | typing.SupportsIndex) -> int:
    ...
def sinkhorn_batched(itemsize: typing.SupportsInt | typing.SupportsIndex, a: typing.SupportsInt | typing.SupportsIndex, b: typing.SupportsInt | typing.SupportsIndex, cost: typing.SupportsInt | typing.SupportsIndex, shared_cost: bool, num_problems: typing.SupportsInt | typing.SupportsIndex, n: typing.SupportsInt | typing.SupportsIndex, m: typing.SupportsInt | typing.SupportsIndex, reg: typing.SupportsFloat | typing.SupportsIndex, tol: typing.SupportsFloat | typing.SupportsIndex, max_iter: typing.SupportsInt | typing.SupportsIndex, eps_scaling: typing.SupportsFloat | typing.SupportsIndex, scale: typing.SupportsInt | typing.SupportsIndex, f_init: typing.SupportsInt | typing.SupportsIndex, g_init: typing.SupportsInt | typing.SupportsIndex, outputs: tuple, device: typing.SupportsInt | typing.SupportsIndex, stream: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    Sinkhorn on a batch of small problems, one block each (asynchronous on `stream`).
    """
def sinkhorn_batched_fits(n: typing.SupportsInt | typing.SupportsIndex, m: typing.SupportsInt | typing.SupportsIndex) -> bool:
    ...
def sinkhorn_dense(itemsize: typing.SupportsInt | typing.SupportsIndex, a: typing.SupportsInt | typing.SupportsIndex, b: typing.SupportsInt | typing.SupportsIndex, cost: typing.SupportsInt | typing.SupportsIndex, n: typing.SupportsInt | typing.SupportsIndex, m: typing.SupportsInt | typing.SupportsIndex, reg: typing.SupportsFloat | typing.SupportsIndex, tol: typing.SupportsFloat | typing.SupportsIndex, max_iter: typing.SupportsInt | typing.SupportsIndex, eps_scaling: typing.SupportsFloat | typing.SupportsIndex, scale: typing.SupportsFloat | typing.SupportsIndex, mass_a: typing.SupportsFloat | typing.SupportsIndex, f_init: typing.SupportsInt | typing.SupportsIndex, g_init: typing.SupportsInt | typing.SupportsIndex, outputs: tuple, workspace: typing.SupportsInt | typing.SupportsIndex, workspace_bytes: typing.SupportsInt | typing.SupportsIndex, device: typing.SupportsInt | typing.SupportsIndex, stream: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    Log-domain Sinkhorn on one dense problem; results into the 7 output pointers.
    """
def sinkhorn_dense_workspace_bytes(itemsize: typing.SupportsInt | typing.SupportsIndex, n: typing.SupportsInt | typing.SupportsIndex, m: typing.SupportsInt | typing.SupportsIndex, device: typing.SupportsInt | typing.SupportsIndex) -> int:
    ...
def sinkhorn_samples(itemsize: typing.SupportsInt | typing.SupportsIndex, x: typing.SupportsInt | typing.SupportsIndex, y: typing.SupportsInt | typing.SupportsIndex, a: typing.SupportsInt | typing.SupportsIndex, b: typing.SupportsInt | typing.SupportsIndex, n: typing.SupportsInt | typing.SupportsIndex, m: typing.SupportsInt | typing.SupportsIndex, d: typing.SupportsInt | typing.SupportsIndex, metric: typing.SupportsInt | typing.SupportsIndex, power: typing.SupportsFloat | typing.SupportsIndex, reg: typing.SupportsFloat | typing.SupportsIndex, tol: typing.SupportsFloat | typing.SupportsIndex, max_iter: typing.SupportsInt | typing.SupportsIndex, eps_scaling: typing.SupportsFloat | typing.SupportsIndex, scale: typing.SupportsFloat | typing.SupportsIndex, f_init: typing.SupportsInt | typing.SupportsIndex, g_init: typing.SupportsInt | typing.SupportsIndex, outputs: tuple, workspace: typing.SupportsInt | typing.SupportsIndex, workspace_bytes: typing.SupportsInt | typing.SupportsIndex, device: typing.SupportsInt | typing.SupportsIndex, stream: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    Matrix-free log-domain Sinkhorn between point clouds (weights normalized to 1).
    """
def sinkhorn_samples_workspace_bytes(itemsize: typing.SupportsInt | typing.SupportsIndex, n: typing.SupportsInt | typing.SupportsIndex, m: typing.SupportsInt | typing.SupportsIndex, d: typing.SupportsInt | typing.SupportsIndex, device: typing.SupportsInt | typing.SupportsIndex) -> int:
    ...
def wasserstein_1d(itemsize: typing.SupportsInt | typing.SupportsIndex, u: typing.SupportsInt | typing.SupportsIndex, u_weights: typing.SupportsInt | typing.SupportsIndex, u_rows: typing.SupportsInt | typing.SupportsIndex, n: typing.SupportsInt | typing.SupportsIndex, v: typing.SupportsInt | typing.SupportsIndex, v_weights: typing.SupportsInt | typing.SupportsIndex, v_rows: typing.SupportsInt | typing.SupportsIndex, m: typing.SupportsInt | typing.SupportsIndex, pair_u: typing.SupportsInt | typing.SupportsIndex, pair_v: typing.SupportsInt | typing.SupportsIndex, num_pairs: typing.SupportsInt | typing.SupportsIndex, p: typing.SupportsFloat | typing.SupportsIndex, assume_sorted: bool, out: typing.SupportsInt | typing.SupportsIndex, workspace: typing.SupportsInt | typing.SupportsIndex, workspace_bytes: typing.SupportsInt | typing.SupportsIndex, device: typing.SupportsInt | typing.SupportsIndex, stream: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    out[k] = W_p(u[pair_u[k]], v[pair_v[k]]) on `stream`; rows are (rows, n) device arrays.
    """
def wasserstein_1d_workspace_bytes(itemsize: typing.SupportsInt | typing.SupportsIndex, u: typing.SupportsInt | typing.SupportsIndex, u_weights: typing.SupportsInt | typing.SupportsIndex, u_rows: typing.SupportsInt | typing.SupportsIndex, n: typing.SupportsInt | typing.SupportsIndex, v: typing.SupportsInt | typing.SupportsIndex, v_weights: typing.SupportsInt | typing.SupportsIndex, v_rows: typing.SupportsInt | typing.SupportsIndex, m: typing.SupportsInt | typing.SupportsIndex, num_pairs: typing.SupportsInt | typing.SupportsIndex, p: typing.SupportsFloat | typing.SupportsIndex, assume_sorted: bool, device: typing.SupportsInt | typing.SupportsIndex) -> int:
    ...
