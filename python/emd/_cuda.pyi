"""
emd's CUDA kernels. Private: call them through the emd package, which validates inputs.
"""
from __future__ import annotations
import typing
__all__: list[str] = ['cost_matrix', 'device_count', 'divergence', 'wasserstein_1d', 'wasserstein_1d_workspace_bytes']
def cost_matrix(itemsize: typing.SupportsInt | typing.SupportsIndex, x: typing.SupportsInt | typing.SupportsIndex, n: typing.SupportsInt | typing.SupportsIndex, y: typing.SupportsInt | typing.SupportsIndex, m: typing.SupportsInt | typing.SupportsIndex, d: typing.SupportsInt | typing.SupportsIndex, metric: typing.SupportsInt | typing.SupportsIndex, q: typing.SupportsFloat | typing.SupportsIndex, out: typing.SupportsInt | typing.SupportsIndex, device: typing.SupportsInt | typing.SupportsIndex, stream: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    out (n, m) = metric(x_i, y_j); metric is emd::Metric's code.
    """
def device_count() -> int:
    """
    Number of usable CUDA devices (0 when none or no driver).
    """
def divergence(itemsize: typing.SupportsInt | typing.SupportsIndex, kind: typing.SupportsInt | typing.SupportsIndex, p: typing.SupportsInt | typing.SupportsIndex, q: typing.SupportsInt | typing.SupportsIndex, rows: typing.SupportsInt | typing.SupportsIndex, bins: typing.SupportsInt | typing.SupportsIndex, out: typing.SupportsInt | typing.SupportsIndex, device: typing.SupportsInt | typing.SupportsIndex, stream: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    out[r] = TV (kind 0), KL (1) or JS (2) of rows p[r], q[r].
    """
def wasserstein_1d(itemsize: typing.SupportsInt | typing.SupportsIndex, u: typing.SupportsInt | typing.SupportsIndex, u_weights: typing.SupportsInt | typing.SupportsIndex, u_rows: typing.SupportsInt | typing.SupportsIndex, n: typing.SupportsInt | typing.SupportsIndex, v: typing.SupportsInt | typing.SupportsIndex, v_weights: typing.SupportsInt | typing.SupportsIndex, v_rows: typing.SupportsInt | typing.SupportsIndex, m: typing.SupportsInt | typing.SupportsIndex, pair_u: typing.SupportsInt | typing.SupportsIndex, pair_v: typing.SupportsInt | typing.SupportsIndex, num_pairs: typing.SupportsInt | typing.SupportsIndex, p: typing.SupportsFloat | typing.SupportsIndex, assume_sorted: bool, out: typing.SupportsInt | typing.SupportsIndex, workspace: typing.SupportsInt | typing.SupportsIndex, workspace_bytes: typing.SupportsInt | typing.SupportsIndex, device: typing.SupportsInt | typing.SupportsIndex, stream: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    out[k] = W_p(u[pair_u[k]], v[pair_v[k]]) on `stream`; rows are (rows, n) device arrays.
    """
def wasserstein_1d_workspace_bytes(itemsize: typing.SupportsInt | typing.SupportsIndex, u: typing.SupportsInt | typing.SupportsIndex, u_weights: typing.SupportsInt | typing.SupportsIndex, u_rows: typing.SupportsInt | typing.SupportsIndex, n: typing.SupportsInt | typing.SupportsIndex, v: typing.SupportsInt | typing.SupportsIndex, v_weights: typing.SupportsInt | typing.SupportsIndex, v_rows: typing.SupportsInt | typing.SupportsIndex, m: typing.SupportsInt | typing.SupportsIndex, num_pairs: typing.SupportsInt | typing.SupportsIndex, p: typing.SupportsFloat | typing.SupportsIndex, assume_sorted: bool, device: typing.SupportsInt | typing.SupportsIndex) -> int:
    ...
