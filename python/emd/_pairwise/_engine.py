"""The tiling of the pairs, the in-memory outputs, and the threads backend.

Both backends walk the same grid of tiles and hand each finished tile to the
same sink (square, condensed, top-k or store), so that with the same tiling they
give the same bits.
"""

from __future__ import annotations

import math
import os
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from ._inputs import Side, Spec
from ._kernels import Prepared, compute_tile, prepare_block


@dataclass(frozen=True)
class Grid:
    """Tiles of ``tile`` x ``tile`` pairs over an (n_rows, n_cols) matrix; with a
    symmetric spec only the upper triangle of tiles (J >= I)."""

    n_rows: int
    n_cols: int
    tile: int
    symmetric: bool

    @property
    def n_row_blocks(self) -> int:
        return -(-self.n_rows // self.tile)

    @property
    def n_col_blocks(self) -> int:
        return -(-self.n_cols // self.tile)

    def rows(self, I: int) -> tuple[int, int]:
        return I * self.tile, min(self.n_rows, (I + 1) * self.tile)

    def cols(self, J: int) -> tuple[int, int]:
        return J * self.tile, min(self.n_cols, (J + 1) * self.tile)

    def tiles(self) -> Iterator[tuple[int, int]]:
        for I in range(self.n_row_blocks):
            for J in range(I if self.symmetric else 0, self.n_col_blocks):
                yield I, J

    @property
    def n_tiles(self) -> int:
        if self.symmetric:
            return self.n_row_blocks * (self.n_row_blocks + 1) // 2
        return self.n_row_blocks * self.n_col_blocks

    def n_pairs(self, I: int, J: int) -> int:
        r0, r1 = self.rows(I)
        c0, c1 = self.cols(J)
        return (r1 - r0) * (c1 - c0)


@dataclass(frozen=True)
class TopK:
    """The k nearest columns of every row: ``distances`` (N, k) ascending and their
    ``indices`` (N, k), ties broken by the smaller index. Unpacks as a pair."""

    distances: np.ndarray
    indices: np.ndarray

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter((self.distances, self.indices))


def tile_candidates(tile: np.ndarray, c0: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's entries of ``tile`` (its columns start at ``c0``) that can enter the
    row's k smallest: those <= the row's k-th smallest of the tile (all of them, ties
    included, so that the tie-break by index stays exact), packed left into (rows, C)
    with +inf / max-index padding. A partition and a small sort instead of sorting
    the whole tile; on Dask the workers send these instead of their tiles."""
    b, w = tile.shape
    cols = np.arange(c0, c0 + w, dtype=np.int64)
    if w <= k:
        return tile, np.broadcast_to(cols, tile.shape)
    kth = np.partition(tile, k - 1, axis=1)[:, k - 1 : k]
    rows, where = np.nonzero(tile <= kth)  # row-major: columns ascending in each row
    counts = np.bincount(rows, minlength=b)
    width = int(counts.max())
    pos = np.arange(rows.size) - np.repeat(np.cumsum(counts) - counts, counts)
    cand_d = np.full((b, width), np.inf, dtype=tile.dtype)
    cand_i = np.full((b, width), np.iinfo(np.int64).max, dtype=np.int64)
    cand_d[rows, pos] = tile[rows, where]
    cand_i[rows, pos] = cols[where]
    return cand_d, cand_i


@dataclass(frozen=True)
class TileCandidates:
    """A tile reduced to its top-k candidates (``tile_candidates``): those of its
    rows, and of its columns where the grid mirrors the tile (symmetric, off the
    diagonal). What a Dask tile task returns for ``output="topk"``: O(rows x k)
    through the network instead of the tile."""

    rows: tuple[np.ndarray, np.ndarray]
    cols: tuple[np.ndarray, np.ndarray] | None


def reduce_tile(grid: Grid, I: int, J: int, tile: np.ndarray, k: int) -> TileCandidates:
    r0, _ = grid.rows(I)
    c0, _ = grid.cols(J)
    mirror = grid.symmetric and I != J
    return TileCandidates(tile_candidates(tile, c0, k), tile_candidates(tile.T, r0, k) if mirror else None)


class TopKSink:
    """Running k smallest per row over the tiles seen so far (exact, deterministic)."""

    def __init__(self, n_rows: int, k: int, dtype: np.dtype) -> None:
        self.k = k
        self.dist = np.full((n_rows, k), np.inf, dtype=dtype)
        # Slots not yet filled carry the largest index, so any real candidate,
        # even at +inf (KL), sorts before them.
        self.idx = np.full((n_rows, k), np.iinfo(np.int64).max, dtype=np.int64)

    def merge(self, r0: int, c0: int, tile: np.ndarray) -> None:
        self.merge_candidates(r0, *tile_candidates(tile, c0, self.k))

    def merge_candidates(self, r0: int, cand_d: np.ndarray, cand_i: np.ndarray) -> None:
        r1 = r0 + cand_d.shape[0]
        d = np.concatenate([self.dist[r0:r1], cand_d.astype(self.dist.dtype, copy=False)], axis=1)
        i = np.concatenate([self.idx[r0:r1], cand_i], axis=1)
        order = np.lexsort((i, d), axis=-1)[:, : self.k]  # by distance, then index
        self.dist[r0:r1] = np.take_along_axis(d, order, 1)
        self.idx[r0:r1] = np.take_along_axis(i, order, 1)

    def result(self) -> TopK:
        return TopK(self.dist, self.idx)


def condensed_index(n: int, i: int) -> int:
    """Position of the pair (i, i + 1) in scipy's condensed order over n points."""
    return n * i - i * (i + 1) // 2


class MemorySink:
    """Assembles tiles into the square, condensed or top-k output."""

    def __init__(self, output: str, grid: Grid, spec: Spec, k: int | None, out: np.ndarray | None) -> None:
        self.output, self.grid, self.spec = output, grid, spec
        n, m = grid.n_rows, grid.n_cols
        if output == "square":
            self.array = out if out is not None else np.empty((n, m), dtype=spec.dtype)
        elif output == "condensed":
            self.array = out if out is not None else np.empty(n * (n - 1) // 2, dtype=spec.dtype)
        else:
            self.topk = TopKSink(n, k, spec.dtype)

    def add(self, I: int, J: int, tile: np.ndarray) -> None:
        g = self.grid
        r0, r1 = g.rows(I)
        c0, c1 = g.cols(J)
        mirror = g.symmetric and I != J
        if self.output == "square":
            self.array[r0:r1, c0:c1] = tile
            if mirror:
                self.array[c0:c1, r0:r1] = tile.T
        elif self.output == "condensed":
            n = g.n_rows
            for i in range(r0, r1):  # the pairs j > i of row i are contiguous in pdist order
                lo = max(c0, i + 1)
                if lo < c1:
                    base = condensed_index(n, i) - i - 1
                    self.array[base + lo : base + c1] = tile[i - r0, lo - c0 :]
        else:  # top-k: a raw tile is reduced here as a Dask worker reduces its own
            if not isinstance(tile, TileCandidates):
                tile = reduce_tile(g, I, J, tile, self.topk.k)
            self.topk.merge_candidates(r0, *tile.rows)
            if tile.cols is not None:
                self.topk.merge_candidates(c0, *tile.cols)

    def result(self) -> Any:
        if self.output == "topk":
            return self.topk.result()
        if self.output == "square" and self.spec.self_pairs:
            np.fill_diagonal(self.array, 0.0)
        return self.array


def pair_bytes(spec: Spec, xs: Side) -> int:
    """Bytes of temporaries per pair of a tile, to size tiles."""
    if spec.metric in ("exact", "sinkhorn", "kl", "js"):
        return 3 * 8 * xs.values.shape[1]
    if spec.metric == "sliced":
        return 8 * (spec.theta.shape[1] + 4)
    return 32


def auto_tile(spec: Spec, xs: Side, n_rows: int, n_cols: int, budget_bytes: int = 1 << 26) -> int:
    """A tile side for the threads backend: temporaries under ``budget_bytes``
    (64 MiB), and at most 512 so that a row of tiles spreads over the cores."""
    side = int(math.sqrt(budget_bytes / pair_bytes(spec, xs)))
    return max(1, min(512, side, max(n_rows, n_cols)))


def available_memory() -> int:
    """Bytes of memory available now (MemAvailable), else the physical memory."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 1 << 62


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n} B"  # unreachable


class Progress:
    """A tqdm bar over tiles with the pairs per second; tqdm is imported only here."""

    def __init__(self, enabled: bool, grid: Grid, done: int = 0) -> None:
        self.bar = None
        self.pairs = 0
        self.start = time.perf_counter()
        if enabled:
            try:
                from tqdm.auto import tqdm  # an optional dependency: only for progress=True
            except ImportError:
                raise ImportError("progress=True needs tqdm: pip install 'emd[progress]' (or pip install tqdm)") from None

            self.bar = tqdm(total=grid.n_tiles, initial=done, unit="tile", desc="emd.pairwise")

    def update(self, n_pairs: int) -> None:
        self.pairs += n_pairs
        if self.bar is not None:
            rate = self.pairs / max(time.perf_counter() - self.start, 1e-9)
            self.bar.set_postfix_str(f"{rate:,.0f} pairs/s", refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_threads(spec: Spec, xs: Side, ys: Side | None, grid: Grid, todo: list[tuple[int, int]], sink: Any,
                progress: Progress) -> None:
    """The threads backend: every block prepared once, then the tiles.

    Kernels that are emd's batched C++ calls already use every core, so their
    tiles run one after another; the l_p structure (scipy/numpy/BLAS, one core per
    call, GIL released) runs one tile per core. At most 2 tiles per worker are in
    flight, so finished tiles are consumed as they come.
    """
    need_rows = sorted({I for I, _ in todo})
    need_cols = sorted({J for _, J in todo})
    rows = {I: prepare_block(spec, xs.rows(*grid.rows(I))) for I in need_rows}
    if ys is None:
        cols = {J: rows.get(J) or prepare_block(spec, xs.rows(*grid.cols(J))) for J in need_cols}
    else:
        cols = {J: prepare_block(spec, ys.rows(*grid.cols(J))) for J in need_cols}
    structured = all(b.flat is not None for b in (*rows.values(), *cols.values())) or spec.metric == "tv"
    workers = (os.cpu_count() or 1) if structured else 1

    def one(I: int, J: int) -> np.ndarray:
        return compute_tile_hook(spec, rows[I], cols[J], spec.self_pairs and I == J)

    if workers == 1:
        for I, J in todo:
            sink.add(I, J, one(I, J))
            progress.update(grid.n_pairs(I, J))
        return
    with ThreadPoolExecutor(workers) as pool:
        pending: dict[Any, tuple[int, int]] = {}
        it = iter(todo)
        try:
            while True:
                for I, J in it:
                    pending[pool.submit(one, I, J)] = (I, J)
                    if len(pending) >= 2 * workers:
                        break
                if not pending:
                    break
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    I, J = pending.pop(fut)
                    sink.add(I, J, fut.result())
                    progress.update(grid.n_pairs(I, J))
        finally:
            for fut in pending:
                fut.cancel()


def compute_tile_hook(spec: Spec, a: Prepared, b: Prepared, diagonal: bool) -> np.ndarray:
    """The one call every backend makes per tile (a module attribute, looked up at
    call time, so that the fault tests can wrap it in a worker process)."""
    return compute_tile(spec, a, b, diagonal)
