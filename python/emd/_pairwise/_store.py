"""output="store": a zarr array on disk written tile by tile, with a manifest.

Layout of the directory ``out``::

    pairwise.json      what is computed: fingerprint of every parameter, shape, tile, dtype
    distances.zarr/    the (N, M) array, one zarr chunk per tile (a symmetric run
                       writes the upper triangle of tiles; reading mirrors it)
    manifest/I-J.json  one entry per finished tile: its place and the sha256 of its bytes
    complete.json      written once the final check found every tile

A tile is one chunk, so writing it again (a task run twice, a retried task)
rewrites the same bytes: the writes are idempotent. Its manifest entry is
written after the chunk, atomically (a temporary file renamed over the entry),
so an entry proves its tile is on disk, and the entry's name is the tile, so
there is one entry per tile however often it is written. ``resume`` computes
only the tiles without an entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._engine import Grid, TopK, TopKSink

FORMAT = 1


def _zarr() -> Any:
    try:
        import zarr
    except ImportError:
        raise ImportError("output='store' needs zarr: pip install 'emd[dask]' (or pip install zarr)") from None
    return zarr


def _write_json_atomic(path: Path, obj: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "w") as f:
        json.dump(obj, f, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def tile_digest(tile: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(tile).data).hexdigest()


def check_writable(out: Any) -> Path:
    """``out`` must name a directory we can create and write in; checked before any work."""
    if not isinstance(out, (str, os.PathLike)):
        raise TypeError(f"`out` must be a directory path (str or os.PathLike) for output='store', got {type(out).__name__}")
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ValueError(f"`out` {str(path)!r} exists and is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{uuid.uuid4().hex}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ValueError(f"`out` {str(path)!r} is not writable: {exc}") from None
    return path


def open_store(path: Path, fingerprint: str, shape: tuple[int, int], tile: int | None, symmetric: bool,
               self_pairs: bool, dtype: np.dtype, resume: bool) -> tuple[int, set[tuple[int, int]]]:
    """Create the store, or reopen one of the same computation. Returns the tile
    side and the tiles already done (their manifest entries).

    A directory holding another computation (another fingerprint) is refused, never
    reused or overwritten; so is an explicit tile side that differs from the stored one.
    """
    zarr = _zarr()
    meta_path = path / "pairwise.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("fingerprint") != fingerprint:
            raise ValueError(
                f"`out` {str(path)!r} holds the distances of another computation (other data or parameters);"
                " its tiles cannot be reused: choose a new directory or delete this one"
            )
        if not resume:
            raise ValueError(
                f"`out` {str(path)!r} already holds this computation; pass resume=True to finish or reuse it,"
                " or choose a new directory"
            )
        if tile is not None and tile != meta["tile"]:
            raise ValueError(f"`tile_size` {tile} differs from the stored run's {meta['tile']}; pass tile_size='auto' to resume it")
        return int(meta["tile"]), read_manifest(path, fingerprint)
    if any(p.name not in (".", "..") for p in path.iterdir()):
        raise ValueError(f"`out` {str(path)!r} is not empty and holds no emd.pairwise store; choose an empty or new directory")
    n, m = shape
    zarr.open_array(store=str(path / "distances.zarr"), mode="w", shape=(n, m), chunks=(tile, tile),
                    dtype=dtype, fill_value=np.nan)
    (path / "manifest").mkdir(exist_ok=True)
    _write_json_atomic(meta_path, {
        "format": FORMAT, "fingerprint": fingerprint, "shape": [n, m], "tile": tile,
        "symmetric": symmetric, "self_pairs": self_pairs, "dtype": np.dtype(dtype).str,
    })
    return tile, set()


def read_manifest(path: Path, fingerprint: str) -> set[tuple[int, int]]:
    done = set()
    for entry in (path / "manifest").glob("*.json"):
        try:
            rec = json.loads(entry.read_text())
        except (OSError, ValueError):
            continue  # unreadable: its tile counts as missing and is recomputed
        if rec.get("fingerprint") == fingerprint:
            done.add((int(rec["tile"][0]), int(rec["tile"][1])))
    return done


def write_tile(path: str, fingerprint: str, grid: Grid, I: int, J: int, tile: np.ndarray) -> str:
    """Write one tile (idempotent), then its manifest entry; returns the tile's digest."""
    zarr = _zarr()
    r0, r1 = grid.rows(I)
    c0, c1 = grid.cols(J)
    arr = zarr.open_array(store=str(Path(path) / "distances.zarr"), mode="r+")
    arr[r0:r1, c0:c1] = tile
    digest = tile_digest(tile)
    _write_json_atomic(Path(path) / "manifest" / f"{I}-{J}.json",
                       {"tile": [I, J], "rows": [r0, r1], "cols": [c0, c1], "sha256": digest, "fingerprint": fingerprint})
    return digest


def finish(path: Path, fingerprint: str, grid: Grid) -> None:
    """The final check: every tile of the grid has its manifest entry. Only then is
    complete.json written; a store without it is never read as complete."""
    done = read_manifest(path, fingerprint)
    missing = [t for t in grid.tiles() if t not in done]
    if missing:
        raise RuntimeError(
            f"emd.pairwise store {str(path)!r}: {len(missing)} of {grid.n_tiles} tiles are missing after the run"
            f" (first: {missing[0]}); run again with resume=True to compute them"
        )
    _write_json_atomic(path / "complete.json", {"fingerprint": fingerprint, "n_tiles": grid.n_tiles})


class StoreSink:
    """The threads backend's sink for output='store': each tile written as it comes."""

    def __init__(self, path: Path, fingerprint: str, grid: Grid) -> None:
        self.path, self.fingerprint, self.grid = path, fingerprint, grid

    def add(self, I: int, J: int, tile: np.ndarray) -> None:
        write_tile(str(self.path), self.fingerprint, self.grid, I, J, tile)


@dataclass(frozen=True)
class PairwiseStore:
    """Pairwise distances on disk (a zarr array), read back in the in-memory forms.

    Attributes
    ----------
    path : str
        The store's directory.
    shape : tuple of int
        (N, M) of the distance matrix.
    tile : int
        Tile side (also the zarr chunk side).
    symmetric : bool
        Only the upper triangle of tiles is stored; reads mirror it.
    n_tiles : int
        Tiles of the grid.
    n_computed : int
        Tiles computed by the call that returned this object (the others were
        found in the store: resumed).
    """

    path: str
    shape: tuple[int, int]
    tile: int
    symmetric: bool
    self_pairs: bool
    n_tiles: int
    n_computed: int

    @classmethod
    def open(cls, path: Any) -> "PairwiseStore":
        """Open a finished store written earlier (``n_computed`` is then 0)."""
        meta = json.loads((Path(path) / "pairwise.json").read_text())
        grid = Grid(meta["shape"][0], meta["shape"][1], meta["tile"], meta["symmetric"])
        return cls(str(path), tuple(meta["shape"]), meta["tile"], meta["symmetric"], meta["self_pairs"], grid.n_tiles, 0)

    @property
    def is_complete(self) -> bool:
        return (Path(self.path) / "complete.json").exists()

    def _array(self) -> Any:
        if not self.is_complete:
            raise RuntimeError(
                f"the store {self.path!r} is incomplete (the run was interrupted or failed); run emd.pairwise"
                " again with the same arguments and resume=True to finish it"
            )
        return _zarr().open_array(store=str(Path(self.path) / "distances.zarr"), mode="r")

    def _rows(self, arr: Any, r0: int, r1: int) -> np.ndarray:
        """Rows r0..r1-1 of the full matrix.

        A symmetric store holds the tiles (I, J >= I), diagonal tiles whole; the
        entry (i, j) with block(j) < block(i) is read as (j, i) from the strip above.
        """
        if not self.symmetric:
            rows = np.asarray(arr[r0:r1, :])
        else:
            rows = np.empty((r1 - r0, self.shape[1]), dtype=arr.dtype)
            t = self.tile
            for b in range(r0 // t, -(-r1 // t)):
                lo, hi, b0 = max(r0, b * t), min(r1, (b + 1) * t), b * t
                rows[lo - r0 : hi - r0, b0:] = arr[lo:hi, b0:]
                if b0:
                    rows[lo - r0 : hi - r0, :b0] = np.asarray(arr[:b0, lo:hi]).T
        if self.self_pairs:
            i = np.arange(r0, r1)
            rows[i - r0, i] = 0.0
        return rows

    def square(self) -> np.ndarray:
        """The full (N, M) matrix in memory."""
        arr = self._array()
        return self._rows(arr, 0, self.shape[0])

    def row(self, i: int) -> np.ndarray:
        """Distances of distribution ``i`` to every column, shape (M,)."""
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < self.shape[0]:
            raise ValueError(f"`i` must be a row index in [0, {self.shape[0]}), got {i!r}")
        return self._rows(self._array(), int(i), int(i) + 1)[0]

    def condensed(self) -> np.ndarray:
        """scipy's ``pdist`` order (i < j), for symmetric stores of X against itself."""
        if not (self.symmetric and self.self_pairs):
            raise ValueError("condensed() needs a symmetric metric of X against itself (Y=None, not kl)")
        arr = self._array()
        n = self.shape[0]
        out = np.empty(n * (n - 1) // 2, dtype=arr.dtype)
        pos = 0
        for r0 in range(0, n, self.tile):
            r1 = min(n, r0 + self.tile)
            rows = self._rows(arr, r0, r1)
            for i in range(r0, r1):
                out[pos : pos + n - i - 1] = rows[i - r0, i + 1 :]
                pos += n - i - 1
        return out

    def topk(self, k: int) -> TopK:
        """The k nearest columns of every row (ties by index), one block of rows at a time."""
        from .._validation import check_positive_int

        k = check_positive_int(k, "k")
        if k > self.shape[1]:
            raise ValueError(f"`k` = {k} exceeds the {self.shape[1]} columns")
        arr = self._array()
        sink = TopKSink(self.shape[0], k, arr.dtype)
        for r0 in range(0, self.shape[0], self.tile):
            r1 = min(self.shape[0], r0 + self.tile)
            sink.merge(r0, 0, self._rows(arr, r0, r1))
        return sink.result()
