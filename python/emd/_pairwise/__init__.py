"""emd.pairwise: the distances between all pairs of many distributions.

A package, not a module named ``pairwise``, so that it never shadows the
function ``emd.pairwise``. Layout: _inputs (checks), _kernels (one tile),
_engine (tiling, in-memory outputs, threads backend), _store (zarr output),
_dask (the Dask backend; imports dask only when used).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .._validation import check_bool, check_positive_int
from ._engine import Grid, MemorySink, Progress, TopK, auto_tile, available_memory, human_bytes, run_threads
from ._inputs import describe, fingerprint
from ._store import PairwiseStore, StoreSink, check_writable, finish, open_store

__all__ = ["pairwise", "PairwiseStore", "TopK"]

OUTPUTS = ("square", "condensed", "topk", "store")
BACKENDS = ("threads", "dask")


def pairwise(
    X: Any,
    Y: Any = None,
    *,
    metric: str = "wasserstein_1d",
    p: float = 1.0,
    weights: Any = None,
    y_weights: Any = None,
    cost: Any = None,
    support: Any = None,
    metric_kwargs: dict[str, Any] | None = None,
    output: str = "square",
    k: int | None = None,
    out: Any = None,
    dtype: Any = None,
    backend: str = "threads",
    client: Any = None,
    tile_size: int | str = "auto",
    progress: bool = False,
    resume: bool = True,
) -> Any:
    r"""Distances between all pairs of distributions: of X with itself, or of X with Y.

    .. math::

        D_{ij} = d(\mu_i, \nu_j), \qquad \nu = \mu \text{ when } Y \text{ is None},

    for the metric ``d`` below. The work that depends on one distribution
    (sorting, projecting, normalizing) is done once per block of rows, not once
    per pair; the pairs are computed tile by tile through emd's batched kernels.
    Equal-size uniform 1-D samples use their structure: with sorted rows
    :math:`u_{(k)}`, :math:`W_p^p(u, v) = \frac1m \sum_k |u_{(k)} - v_{(k)}|^p`, so
    W1 is an l1 distance and W2^2 a squared euclidean one (a matrix product).

    Parameters
    ----------
    X : array_like or tuple
        The distributions, by metric:

        - ``"wasserstein_1d"``: 1-D samples (N, m), or ragged samples as a tuple
          ``(values, offsets)`` or ``(values, offsets, weights)``, distribution i
          being ``values[offsets[i]:offsets[i + 1]]`` (offsets (N + 1,) from 0,
          strictly increasing).
        - ``"sliced"``: equal-size point clouds (N, m, d).
        - ``"exact"``, ``"sinkhorn"``, ``"tv"``, ``"kl"``, ``"js"``: histograms (N, n),
          nonnegative with positive mass; each is normalized to mass 1.
    Y : array_like or tuple, optional
        A second set (M distributions) of the same kind; None compares X with itself.
    metric : str, default "wasserstein_1d"
        ``"wasserstein_1d"`` (exact W_p on the line, :func:`emd.wasserstein_1d`),
        ``"sliced"`` (:func:`emd.sliced_wasserstein` with directions shared by all
        pairs), ``"exact"`` (exact OT cost, network simplex, :func:`emd.emd`),
        ``"sinkhorn"`` (entropic OT cost :math:`\langle P, M\rangle`,
        :func:`emd.sinkhorn`), ``"tv"``, ``"kl"`` (not symmetric: D_ij =
        KL(x_i || y_j)), ``"js"`` (:func:`emd.tv`, :func:`emd.kl`, :func:`emd.js`).
    p : float, default 1.0
        Order of W_p for ``wasserstein_1d`` and ``sliced``; for ``exact`` and
        ``sinkhorn`` with ``support``, the power of the euclidean ground cost.
    weights, y_weights : array_like, optional
        Sample weights of X and Y, shaped like their samples ((N, m); for
        clouds (N, m)); None means uniform.
    cost : array_like, shape (n, n_y), optional
        Ground cost of ``exact`` and ``sinkhorn``, shared by all pairs.
    support : array_like, shape (n, d) or (n,), optional
        Instead of ``cost``: the bins' points; the cost is ``|x - y|_2 ** p``.
    metric_kwargs : dict, optional
        ``sliced``: ``n_projections`` (128), ``projections`` (d, L) or ``seed``
        (the directions are drawn once and shared), ``reduce`` ("mean" or "max").
        ``sinkhorn``: ``reg`` (required), ``max_iter``, ``tol``. ``exact``: ``max_iter``.
    output : {"square", "condensed", "topk", "store"}, default "square"
        ``"square"``: (N, M) array (scikit-learn's ``pairwise_distances``
        convention; with Y None the diagonal is exactly 0, also for
        ``sinkhorn``, whose entropic cost of (x, x) is not 0). ``"condensed"``:
        the N(N-1)/2 distances i < j in scipy's ``pdist`` order (feeds
        ``scipy.cluster.hierarchy.linkage`` and ``squareform``; symmetric
        metrics only). ``"topk"``: a :class:`TopK` of the ``k`` nearest columns of
        each row (self included when Y is None), ties broken by the smaller index.
        ``"store"``: a zarr array in the directory ``out``, written tile by tile
        with a manifest, returned as a :class:`PairwiseStore`.
    k : int, optional
        Neighbours per row for ``output="topk"``.
    out : ndarray or path, optional
        ``square``/``condensed``: an array of the output's shape and dtype to fill.
        ``store``: the directory (required).
    dtype : {None, float32, float64}
        Output dtype; None follows the inputs (float32 only when all are).
    backend : {"threads", "dask"}, default "threads"
        ``"threads"``: this machine's cores. ``"dask"``: the workers of a
        ``distributed.Client`` (``client``, or the current one).
    client : distributed.Client, optional
    tile_size : int or "auto", default "auto"
        Side of the tiles of pairs. "auto": from the memory per pair (threads),
        from a pilot tile timed on a worker, to 0.5-1 s of work per tile (dask).
    progress : bool, default False
        A tqdm progress bar over tiles, with pairs per second and the ETA.
    resume : bool, default True
        ``store`` only: finish a store of the same computation found in ``out``,
        computing only its missing tiles. False refuses a directory that already
        holds a store. A store of another computation is always refused.

    Returns
    -------
    ndarray, TopK or PairwiseStore
        By ``output``. Float32 only when every float input is float32.

    Raises
    ------
    ValueError, TypeError
        Before any work: bad input (ragged offsets that do not match, NaN,
        negative or zero-mass rows, mismatched supports or dimensions), an
        output that would not fit in memory (its size named; use ``topk`` or
        ``store``), an unwritable ``out``, a store of another computation.
    RuntimeError
        Dask workers without emd or with another version or build; a store
        whose tiles did not all arrive.

    Examples
    --------
    >>> import numpy as np, emd
    >>> X = np.array([[0.0, 1.0], [0.0, 3.0], [2.0, 3.0]])
    >>> emd.pairwise(X)
    array([[0., 1., 2.],
           [1., 0., 1.],
           [2., 1., 0.]])
    >>> emd.pairwise(X, output="condensed")
    array([1., 2., 1.])
    """
    spec, xs, ys = describe(X, Y, metric, p, weights, y_weights, cost, support, metric_kwargs, dtype)
    if not isinstance(output, str) or output not in OUTPUTS:
        raise ValueError(f"`output` must be one of {', '.join(map(repr, OUTPUTS))}; got {output!r}")
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise ValueError(f"`backend` must be 'threads' or 'dask'; got {backend!r}")
    if client is not None and backend != "dask":
        raise ValueError("`client` is for backend='dask'; pass backend='dask' too")
    show = check_bool(progress, "progress")
    resume_b = check_bool(resume, "resume")
    n_rows = xs.n
    n_cols = n_rows if ys is None else ys.n
    tile_req = _check_tile_size(tile_size)

    kk = None
    if output == "topk":
        if k is None:
            raise ValueError("output='topk' needs `k`, the number of neighbours per row")
        kk = check_positive_int(k, "k")
        if kk > n_cols:
            raise ValueError(f"`k` = {kk} exceeds the {n_cols} distributions to choose from")
    elif k is not None:
        raise ValueError("`k` is for output='topk'")
    if output == "condensed" and not (ys is None and spec.symmetric):
        raise ValueError(
            "output='condensed' lists d(x_i, x_j) for i < j once, so it needs Y=None and a symmetric metric"
            f" (metric={metric!r}{' with this cost' if metric in ('exact', 'sinkhorn') else ''} is not); use output='square'"
        )
    store_path = None
    if output == "store":
        if out is None:
            raise ValueError("output='store' needs `out`, the directory to write the zarr store in")
        store_path = check_writable(out)
    else:
        _check_memory_output(output, out, n_rows, n_cols, spec.dtype, kk)

    fp = fingerprint(spec, xs, ys) if (output == "store" or backend == "dask") else ""
    grid_symmetric = spec.symmetric

    dask_ctx = None
    if backend == "dask":
        from . import _dask

        dclient = _dask.get_client(client)
        info = _dask.check_workers(dclient)
        threads = _dask.kernel_threads(info)
        n_threads = sum(int(w.get("nthreads", 1)) for w in info["workers"].values())
        dask_ctx = (_dask, dclient, threads, n_threads)

    tile = tile_req
    if store_path is not None and (store_path / "pairwise.json").exists():
        tile = None  # the store's own tiling (open_store checks an explicit one against it)
        tile_for_open = tile_req
    else:
        if tile is None:
            if dask_ctx is not None:
                _dask_mod, dclient, threads, n_threads = dask_ctx
                tile = _dask_mod.pilot_tile(dclient, spec, xs, ys, threads, _dask_mod.task_key(fp, 0, "pilot"), n_threads)
            else:
                tile = auto_tile(spec, xs, n_rows, n_cols)
        tile_for_open = tile

    done: set[tuple[int, int]] = set()
    if store_path is not None:
        tile, done = open_store(store_path, fp, (n_rows, n_cols), tile_for_open, grid_symmetric, spec.self_pairs,
                                spec.dtype, resume_b)
    grid = Grid(n_rows, n_cols, int(tile), grid_symmetric)
    todo = [t for t in grid.tiles() if t not in done]
    sink: Any = StoreSink(store_path, fp, grid) if store_path is not None else MemorySink(output, grid, spec, kk, out)

    bar = Progress(show, grid, done=len(done))
    try:
        if dask_ctx is None:
            run_threads(spec, xs, ys, grid, todo, sink, bar)
        else:
            _dask_mod, dclient, threads, n_threads = dask_ctx
            topk = kk if output == "topk" else None
            key = _dask_mod.task_key(fp, grid.tile, output if topk is None else f"topk{topk}")
            _dask_mod.run(dclient, spec, xs, ys, grid, todo, sink, bar, threads, n_threads, key,
                          None if store_path is None else str(store_path), fp, topk)
    finally:
        bar.close()

    if store_path is None:
        return sink.result()
    finish(store_path, fp, grid)
    return PairwiseStore(str(store_path), (n_rows, n_cols), grid.tile, grid_symmetric, spec.self_pairs,
                         grid.n_tiles, len(todo))


def _check_tile_size(tile_size: Any) -> int | None:
    if isinstance(tile_size, str):
        if tile_size != "auto":
            raise ValueError(f"`tile_size` must be a positive integer or 'auto', got {tile_size!r}")
        return None
    if isinstance(tile_size, bool) or not isinstance(tile_size, numbers.Integral):
        raise TypeError(f"`tile_size` must be a positive integer or 'auto', got {type(tile_size).__name__}")
    return check_positive_int(tile_size, "tile_size")


def _check_memory_output(output: str, out: Any, n: int, m: int, dtype: np.dtype, k: int | None) -> None:
    """Refuse an in-memory output that cannot fit (its size named), or a bad ``out`` array."""
    if output == "square":
        shape: tuple[int, ...] = (n, m)
    elif output == "condensed":
        shape = (n * (n - 1) // 2,)
    else:
        if out is not None:
            raise ValueError("`out` is for output='square', 'condensed' or 'store'; topk returns new arrays")
        shape = (n, k or 1)
    if out is not None:
        if not isinstance(out, np.ndarray):
            raise TypeError(f"`out` must be a NumPy array for output={output!r}, got {type(out).__name__}")
        if out.shape != shape or out.dtype != dtype:
            raise ValueError(f"`out` must have shape {shape} and dtype {dtype}, got {out.shape} and {out.dtype}")
        if not out.flags.writeable or not out.flags.c_contiguous:
            raise ValueError("`out` must be a writable, C-contiguous array")
        return
    need = int(np.prod(shape, dtype=np.float64)) * np.dtype(dtype).itemsize * (2 if output == "topk" else 1)
    have = available_memory()
    if need > have:
        what = " x ".join(str(s) for s in shape)
        raise ValueError(
            f"output={output!r} needs {what} {np.dtype(dtype).name} values = {human_bytes(need)}, more than the"
            f" {human_bytes(have)} of memory available; use output='topk' (the k nearest per row) or"
            " output='store' (a zarr array on disk, written tile by tile)"
        )

