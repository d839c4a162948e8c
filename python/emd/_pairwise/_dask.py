"""backend="dask": the tiles as tasks on a dask.distributed cluster.

Following Dask's own best practices:

- tiles sized from a pilot tile timed on a worker, to about 1 s of work each (0.5-5 s);
- input blocks as keys created by tasks (a task prepares a block of rows from its
  raw slice), not scattered: a block lost with its worker is recomputed;
- a bounded window of tile tasks in flight, each result consumed and released;
- deterministic keys from a hash of every parameter, so a rerun of a task is the
  same task, and different parameters never share a key;
- the kernels' thread count set explicitly in every task (the nanny sets
  OMP_NUM_THREADS=1; we set cores per worker thread, through threadpoolctl);
- before any work, a check that every worker has the same emd version and build.

Faults: a task whose worker dies is rerun by the scheduler, and a task may run
twice; the writes are idempotent and tile-aligned (see _store), the client takes
each tile's result once, and checks at the end that every tile arrived.
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from pathlib import Path
from typing import Any

from . import _engine
from ._engine import Grid, Progress, pair_bytes
from ._inputs import Side, Spec
from ._kernels import prepare_block
from ._store import write_tile

# Seconds of work a tile should take (Dask advises 0.5-5 s per task).
TARGET_TILE_SECONDS = 1.0
MIN_TILE_SECONDS = 0.5
# The pilot's largest tile side: 512 x 512 pairs time any kernel well, and the rows
# it ships with the task stay small (4 MiB for 1000 float64 samples each).
_PILOT_ROWS = 512
# Temporaries of one tile stay under this many bytes, whatever the pilot says.
_TILE_BYTES = 1 << 28


def get_client(client: Any) -> Any:
    try:
        import distributed
    except ImportError:
        raise ImportError("backend='dask' needs dask.distributed: pip install 'emd[dask]'") from None
    if client is None:
        try:
            return distributed.default_client()
        except ValueError:
            raise ValueError(
                "backend='dask' needs a distributed.Client: pass client=..., or create one first"
                " (distributed.Client(...) becomes the default)"
            ) from None
    if not isinstance(client, distributed.Client):
        raise TypeError(f"`client` must be a distributed.Client, got {type(client).__name__}")
    return client


def build_identity() -> dict[str, Any]:
    """emd's version and a hash of its compiled extensions, in this process."""
    import emd

    h = hashlib.sha256()
    here = Path(emd.__file__).parent
    for ext in sorted([*here.glob("*.so"), *here.glob("*.pyd")]):
        h.update(ext.name.encode())
        h.update(ext.read_bytes())
    return {"version": emd.__version__, "build": h.hexdigest()[:16], "cpus": os.cpu_count() or 1}


def check_workers(client: Any) -> dict[str, Any]:
    """Every worker imports the same emd (version and build) as this process; else RuntimeError."""
    # Recent versions list only 5 workers unless asked for all.
    info = client.scheduler_info(n_workers=-1) if _takes_n_workers(client) else client.scheduler_info()
    workers = info["workers"]
    if not workers:
        raise RuntimeError("the Dask cluster has no workers; start some (or wait for them) before emd.pairwise")
    found = client.run(build_identity, on_error="return")
    mine = build_identity()
    for addr, ident in sorted(found.items()):
        if isinstance(ident, BaseException):
            raise RuntimeError(
                f"Dask worker {addr} cannot run emd ({type(ident).__name__}: {ident}); install the same emd"
                f" ({mine['version']}, build {mine['build']}) on every worker"
            )
        if (ident["version"], ident["build"]) != (mine["version"], mine["build"]):
            raise RuntimeError(
                f"Dask worker {addr} runs emd {ident['version']} (build {ident['build']}) but this process runs"
                f" emd {mine['version']} (build {mine['build']}); install the same emd build on every worker"
            )
    return {"workers": workers, "identities": found}


def _takes_n_workers(client: Any) -> bool:
    import inspect

    return "n_workers" in inspect.signature(client.scheduler_info).parameters


def kernel_threads(info: dict[str, Any]) -> int:
    """Cores per worker thread on the most crowded host (at least 1): each task's
    kernels use that many threads, so that the tasks running at once fill the cores."""
    per_host: dict[str, int] = {}
    cpus: dict[str, int] = {}
    for addr, w in info["workers"].items():
        host = w.get("host", addr)
        per_host[host] = per_host.get(host, 0) + int(w.get("nthreads", 1))
        ident = info["identities"].get(addr)
        cpus[host] = ident["cpus"] if isinstance(ident, dict) else 1
    return max(1, min(cpus[h] // max(1, n) for h, n in per_host.items()))


def _limits(threads: int) -> Any:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        raise ImportError("backend='dask' needs threadpoolctl: pip install 'emd[dask]'") from None
    return threadpool_limits(limits=threads)


def _prepare_task(spec: Spec, side: Side, threads: int) -> Any:
    with _limits(threads):
        return prepare_block(spec, side)


def _tile_task(spec: Spec, a: Any, b: Any, I: int, J: int, threads: int, store: str | None,
               fingerprint: str, grid: Grid, topk: int | None = None) -> Any:
    with _limits(threads):
        # Looked up at call time: the fault tests wrap it inside the workers.
        tile = _engine.compute_tile_hook(spec, a, b, spec.self_pairs and I == J)
    if store is None:
        # output="topk": the worker keeps each row's candidates only (N x k values
        # reach the client in all, not N^2 / 2).
        return tile if topk is None else _engine.reduce_tile(grid, I, J, tile, topk)
    return write_tile(store, fingerprint, grid, I, J, tile)


def _pilot_task(spec: Spec, xs: Side, ys: Side | None, threads: int) -> float:
    """Pairs per second of the tile kernel on this worker: tiles of growing side
    until one takes 0.1 s (block preparation excluded: it is once per block).
    0.1 s is 25 timer-and-scheduler jitters of a loaded machine, and small beside
    the run it sizes: the other workers wait for it."""
    ys = xs if ys is None else ys
    with _limits(threads):
        side = 8
        while True:
            a = prepare_block(spec, xs.rows(0, min(side, xs.n)))
            b = prepare_block(spec, ys.rows(0, min(side, ys.n)))
            t0 = time.perf_counter()
            _engine.compute_tile(spec, a, b, False)
            elapsed = time.perf_counter() - t0
            pairs = a.values.shape[0] * b.values.shape[0]
            if elapsed >= 0.1 or (side >= xs.n and side >= ys.n) or side >= _PILOT_ROWS:
                return pairs / max(elapsed, 1e-6)
            side *= 2


def pilot_tile(client: Any, spec: Spec, xs: Side, ys: Side | None, threads: int, key: str, n_threads: int) -> int:
    """Tile side from a pilot timed on a worker: TARGET_TILE_SECONDS of work per
    task, less (down to MIN_TILE_SECONDS) when the whole run is short, so that
    every worker thread gets about 3 tiles and none idles through the last one."""
    other = xs if ys is None else ys
    fut = client.submit(_pilot_task, spec, xs.rows(0, min(_PILOT_ROWS, xs.n)),
                        None if ys is None else ys.rows(0, min(_PILOT_ROWS, ys.n)), threads, key=f"emd-pairwise-pilot-{key}")
    rate = float(fut.result())
    del fut
    n_other = xs.n if ys is None else ys.n
    pairs = xs.n * n_other / (2 if ys is None else 1)
    seconds = min(TARGET_TILE_SECONDS, max(MIN_TILE_SECONDS, pairs / rate / (3 * max(1, n_threads))))
    side = int(math.sqrt(seconds * rate))
    side = min(side, int(math.sqrt(_TILE_BYTES / pair_bytes(spec, xs))))
    return max(1, min(side, max(xs.n, other.n)))


def run(client: Any, spec: Spec, xs: Side, ys: Side | None, grid: Grid, todo: list[tuple[int, int]], sink: Any,
        progress: Progress, threads: int, n_threads: int, key: str, store: str | None, fingerprint: str,
        topk: int | None = None) -> None:
    """Submit the tiles ``todo`` through a bounded window and hand each result to ``sink``.

    ``store``: the store's path (tasks write their tiles and return the digest), or
    None (tasks return the tile, which the client adds to ``sink``; with ``topk``,
    output="topk", they return its top-k candidates instead). ``n_threads``:
    worker threads in the cluster, which sizes the window (twice as many tiles, plus 2).
    """
    from distributed import as_completed

    window = 2 * max(1, n_threads) + 2
    # Block futures, created on first use and dropped once no remaining tile needs them.
    uses: dict[str, int] = {}
    for I, J in todo:
        for k in _block_keys(key, ys is None, I, J):
            uses[k] = uses.get(k, 0) + 1
    blocks: dict[str, Any] = {}

    def block(k: str) -> Any:
        if k not in blocks:
            which, b = k.rsplit("-", 2)[-2:]
            side = xs if which == "x" else ys
            lo, hi = grid.rows(int(b)) if which == "x" else grid.cols(int(b))
            blocks[k] = client.submit(_prepare_task, spec, side.rows(lo, hi), threads, key=k)
        return blocks[k]

    def submit(I: int, J: int) -> Any:
        ka, kb = _block_keys(key, ys is None, I, J)
        return client.submit(_tile_task, spec, block(ka), block(kb), I, J, threads, store, fingerprint, grid, topk,
                             key=f"emd-pairwise-tile-{key}-{I}-{J}")

    pending: dict[Any, tuple[int, int]] = {}
    arrived: set[tuple[int, int]] = set()
    it = iter(todo)
    queue = as_completed()
    try:
        for I, J in it:
            fut = submit(I, J)
            pending[fut] = (I, J)
            queue.add(fut)
            if len(pending) >= window:
                break
        for fut in queue:
            I, J = pending.pop(fut)
            result = fut.result()
            del fut  # released: the scheduler forgets the tile once no one holds it
            if (I, J) not in arrived:  # each tile taken once, whoever computed it
                arrived.add((I, J))
                if store is None:
                    sink.add(I, J, result)
                progress.update(grid.n_pairs(I, J))
            for k in _block_keys(key, ys is None, I, J):
                uses[k] -= 1
                if uses[k] == 0:
                    blocks.pop(k, None)
            for I2, J2 in it:
                nxt = submit(I2, J2)
                pending[nxt] = (I2, J2)
                queue.add(nxt)
                break
    finally:
        if pending:
            client.cancel(list(pending))
        pending.clear()
        blocks.clear()
    missing = [t for t in todo if t not in arrived]
    if missing:
        raise RuntimeError(f"emd.pairwise (dask): {len(missing)} tiles never arrived (first: {missing[0]})")


def _block_keys(key: str, self_pairs: bool, I: int, J: int) -> tuple[str, str]:
    return f"emd-pairwise-block-{key}-x-{I}", f"emd-pairwise-block-{key}-{'x' if self_pairs else 'y'}-{J}"


def task_key(fingerprint: str, tile: int, output: str) -> str:
    """The hash in every task key: all parameters (the fingerprint), the tiling and
    where results go (a store task writes, an in-memory one returns)."""
    return hashlib.sha256(f"{fingerprint}/{tile}/{output}".encode()).hexdigest()[:24]
