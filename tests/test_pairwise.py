"""emd.pairwise against loops of emd's single-pair functions, scipy and POT;
the outputs against each other; the store's manifest and resume; the Dask
backend on a loopback LocalCluster, with a worker that dies on purpose."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.distance import squareform
from scipy.stats import wasserstein_distance

import emd
from emd._pairwise import PairwiseStore, _engine
from emd._pairwise._inputs import _directions

RTOL = 1e-12


def loop(f, X, Y=None, diag_zero=True):
    """The reference: f on every pair, in Python."""
    Ys = X if Y is None else Y
    D = np.array([[f(a, b) for b in Ys] for a in X], dtype=np.float64)
    if Y is None and diag_zero:
        np.fill_diagonal(D, 0.0)
    return D


def hists(rng, n, bins):
    H = rng.random((n, bins))
    H[:, rng.integers(0, bins, size=n)] = 0.0  # zero bins on purpose
    H[0, :] = 0.0
    H[0, 1] = 3.0  # a Dirac
    return H


# -------------------------------------------------------------- wasserstein_1d

@pytest.mark.parametrize("tile", [1, 4, "auto"])
def test_w1_equal_size_matches_scipy_pair_by_pair(rng, tile):
    X = rng.normal(size=(9, 7)) * rng.uniform(0.5, 3, size=(9, 1)) + rng.normal(size=(9, 1))
    D = emd.pairwise(X, tile_size=tile)
    ref = loop(wasserstein_distance, X)
    np.testing.assert_allclose(D, ref, rtol=RTOL, atol=1e-15)
    assert np.all(np.diag(D) == 0.0) and np.array_equal(D, D.T)
    np.testing.assert_allclose(D, loop(emd.wasserstein_1d, X), rtol=RTOL, atol=1e-15)


def test_w1_known_answer_translations():
    # W_p(mu, mu + t) = |t| for every p: rows that are shifts of one sample.
    base = np.array([0.0, 0.5, 2.0, 7.0])
    shifts = np.array([0.0, 1.0, -2.5, 10.0])
    X = base[None, :] + shifts[:, None]
    for p in (1.0, 2.0, 3.0):
        np.testing.assert_allclose(emd.pairwise(X, p=p), np.abs(shifts[:, None] - shifts[None, :]), rtol=1e-13, atol=1e-13)


def test_w1_x_against_y_different_sizes_and_weights(rng):
    X, Y = rng.normal(size=(5, 6)), rng.normal(size=(4, 9)) + 0.3
    wx, wy = rng.random((5, 6)), rng.random((4, 9))
    wx[0, :3] = 0.0
    D = emd.pairwise(X, Y, weights=wx, y_weights=wy, tile_size=3)
    ref = np.array([[wasserstein_distance(a, b, u, v) for b, v in zip(Y, wy)] for a, u in zip(X, wx)])
    assert D.shape == (5, 4)
    np.testing.assert_allclose(D, ref, rtol=RTOL, atol=1e-15)


def test_w1_ragged_samples_match_scipy(rng):
    lengths = np.array([1, 5, 2, 8, 3])
    values = rng.normal(size=lengths.sum())
    weights = rng.random(lengths.sum())
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    seg = [slice(offsets[i], offsets[i + 1]) for i in range(5)]
    D = emd.pairwise((values, offsets), tile_size=2)
    np.testing.assert_allclose(D, loop(lambda a, b: wasserstein_distance(values[a], values[b]), seg), rtol=RTOL, atol=1e-15)
    Dw = emd.pairwise((values, offsets, weights), tile_size=3, p=2)
    ref = loop(lambda a, b: emd.wasserstein_1d(values[a], values[b], weights[a], weights[b], p=2), seg)
    np.testing.assert_allclose(Dw, ref, rtol=RTOL, atol=1e-15)


@pytest.mark.parametrize("p", [2.0, 3.0, 1.5])
def test_wp_equal_size_matches_loop(rng, p):
    X = rng.normal(size=(8, 11))
    X[3] = X[1]  # a duplicate: exactly 0 (the matrix product would leave rounding)
    D = emd.pairwise(X, p=p, tile_size=3)
    np.testing.assert_allclose(D, loop(lambda a, b: emd.wasserstein_1d(a, b, p=p), X), rtol=1e-10, atol=0)
    assert D[1, 3] == 0.0


def test_w2_expansion_cancellation_recomputed(rng):
    # Far from 0 and close together: |a|^2 + |b|^2 - 2ab would lose everything.
    base = np.sort(rng.normal(size=50))
    X = 1e6 + base[None, :] + 1e-7 * rng.normal(size=(6, 50))
    D = emd.pairwise(X, p=2)
    np.testing.assert_allclose(D, loop(lambda a, b: emd.wasserstein_1d(a, b, p=2), X), rtol=1e-6)


def test_structure_and_once_per_block(rng, monkeypatch):
    # Equal-size uniform samples never reach the merge walk (the l_p structure
    # does the work), and each block of rows is prepared (sorted) exactly once.
    X = rng.normal(size=(10, 6))
    ref = loop(wasserstein_distance, X)
    calls = []
    real_prepare = _engine.prepare_block
    monkeypatch.setattr(_engine, "prepare_block", lambda spec, side: (calls.append(side.n), real_prepare(spec, side))[1])

    def refuse(*args, **kwargs):
        raise AssertionError("the 1-D kernel was called for equal-size uniform samples")

    monkeypatch.setattr(emd, "wasserstein_1d", refuse)
    for p in (1.0, 2.0):
        calls.clear()
        assert emd.pairwise(X, p=p, tile_size=3).shape == (10, 10)
        assert calls == [3, 3, 3, 1]
    np.testing.assert_allclose(emd.pairwise(X, tile_size=3), ref, rtol=RTOL, atol=1e-15)


def test_float32_in_float32_out(rng):
    X = rng.normal(size=(6, 10))
    D32 = emd.pairwise(X.astype(np.float32))
    assert D32.dtype == np.float32
    np.testing.assert_allclose(D32, emd.pairwise(X), rtol=1e-5, atol=1e-6)
    assert emd.pairwise(X.astype(np.float32), dtype=np.float64).dtype == np.float64


# ---------------------------------------------------------------------- sliced

@pytest.mark.parametrize("p,reduce,weighted", [(2.0, "mean", False), (1.0, "mean", False), (2.0, "max", False), (1.5, "mean", True)])
def test_sliced_matches_single_pair_function(rng, p, reduce, weighted):
    C = rng.normal(size=(5, 12, 3))
    W = rng.random((5, 12)) if weighted else None
    kw = {"seed": 3, "n_projections": 20, "reduce": reduce}
    D = emd.pairwise(C, metric="sliced", p=p, weights=W, metric_kwargs=kw, tile_size=2)
    theta = _directions(3, {"projections": None, "seed": 3, "n_projections": 20}, np.dtype(np.float64))

    def ref(i, j):
        return emd.sliced_wasserstein(C[i], C[j], x_weights=None if W is None else W[i], y_weights=None if W is None else W[j],
                                      p=p, projections=theta, reduce=reduce)

    np.testing.assert_allclose(D, loop(ref, range(5)), rtol=1e-11, atol=1e-14)


def test_sliced_explicit_projections_and_y(rng):
    C, E = rng.normal(size=(4, 9, 2)), rng.normal(size=(3, 7, 2)) + 1.0
    theta = rng.normal(size=(2, 6))
    D = emd.pairwise(C, E, metric="sliced", p=2, metric_kwargs={"projections": theta})
    ref = np.array([[emd.sliced_wasserstein(a, b, p=2, projections=theta) for b in E] for a in C])
    np.testing.assert_allclose(D, ref, rtol=1e-12)


# ------------------------------------------------------------ histogram metrics

def test_exact_matches_loop_and_pot(rng):
    import ot

    H = hists(rng, 7, 6)
    pts = rng.normal(size=(6, 2))
    M = emd.cost_matrix(pts, pts, "euclidean")
    D = emd.pairwise(H, metric="exact", cost=M, tile_size=3)
    Hn = H / H.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(D, loop(lambda a, b: emd.emd(a, b, M), Hn), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(D, loop(lambda a, b: ot.emd2(a, b, M), Hn), rtol=1e-9, atol=1e-12)
    # The same through `support` (ground cost |x - y|^p, here p = 1).
    np.testing.assert_allclose(emd.pairwise(H, metric="exact", support=pts, tile_size=3), D, rtol=1e-12, atol=1e-14)


def test_exact_asymmetric_cost_and_y(rng):
    H, G = hists(rng, 4, 5), rng.random((3, 6))
    M = rng.random((5, 6))
    D = emd.pairwise(H, G, metric="exact", cost=M, tile_size=2)
    ref = np.array([[emd.emd(a / a.sum(), b / b.sum(), M) for b in G] for a in H])
    np.testing.assert_allclose(D, ref, rtol=1e-12, atol=1e-14)
    A = rng.random((5, 5))  # not symmetric: the full square, no mirroring
    Ds = emd.pairwise(H, metric="exact", cost=A, tile_size=3)
    Hn = H / H.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(Ds, loop(lambda a, b: emd.emd(a, b, A), Hn), rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="symmetric"):
        emd.pairwise(H, metric="exact", cost=A, output="condensed")


def test_sinkhorn_matches_loop(rng):
    H = rng.random((5, 6)) + 0.1
    M = np.abs(np.subtract.outer(np.arange(6.0), np.arange(6.0)))
    kw = {"reg": 0.5, "tol": 1e-12}
    D = emd.pairwise(H, metric="sinkhorn", cost=M, metric_kwargs=kw, tile_size=2)
    Hn = H / H.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(D, loop(lambda a, b: emd.sinkhorn(a, b, M, 0.5, tol=1e-12).cost, Hn), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("metric", ["tv", "kl", "js"])
def test_divergences_match_loop(rng, metric):
    H = hists(rng, 6, 7)
    f = {"tv": emd.tv, "kl": emd.kl, "js": emd.js}[metric]
    D = emd.pairwise(H, metric=metric, tile_size=4)
    ref = loop(f, H)
    np.testing.assert_allclose(D, ref, rtol=RTOL, atol=1e-15)  # kl's +inf entries compare equal
    if metric == "kl":
        assert not np.allclose(D, D.T)
    G = rng.random((3, 7))
    np.testing.assert_allclose(emd.pairwise(H, G, metric=metric), loop(f, H, G), rtol=RTOL, atol=1e-15)


# --------------------------------------------------------------------- outputs

def test_condensed_round_trips_through_squareform(rng):
    X = rng.normal(size=(11, 5))
    square = emd.pairwise(X, tile_size=4)
    c = emd.pairwise(X, output="condensed", tile_size=4)
    assert c.shape == (55,)
    np.testing.assert_array_equal(squareform(c), square)
    np.testing.assert_array_equal(squareform(square), c)
    from scipy.cluster.hierarchy import linkage

    assert linkage(c, "average").shape == (10, 4)


@pytest.mark.parametrize("tile", [1, 3, 20])
def test_topk_is_the_argsort_of_square_ties_by_index(rng, tile):
    X = rng.integers(0, 3, size=(12, 2)).astype(float)  # many equal distances: ties
    square = emd.pairwise(X)
    top = emd.pairwise(X, output="topk", k=5, tile_size=tile)
    order = np.argsort(square, axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(top.indices, order)
    np.testing.assert_array_equal(top.distances, np.take_along_axis(square, order, 1))
    d, i = top  # unpacks
    assert d.shape == i.shape == (12, 5)


@pytest.mark.parametrize("k,tile", [(6, 2), (2, 6), (4, 5)])
def test_topk_with_y_and_infinite_kl(rng, k, tile):
    H = hists(rng, 5, 4)
    G = rng.random((6, 4))
    G[:, 0] = 0.0  # KL(H_i || G_j) = +inf for every H_i with mass in bin 0: ties at inf
    G[2] = G[4]  # and ties at finite distances
    square = emd.pairwise(H, G, metric="kl")
    assert np.isinf(square).any()
    top = emd.pairwise(H, G, metric="kl", output="topk", k=k, tile_size=tile)
    order = np.argsort(square, axis=1, kind="stable")[:, :k]
    np.testing.assert_array_equal(top.indices, order)
    np.testing.assert_array_equal(top.distances, np.take_along_axis(square, order, 1))


def test_out_array_is_filled(rng):
    X = rng.normal(size=(5, 4))
    buf = np.empty((5, 5))
    res = emd.pairwise(X, out=buf)
    assert res is buf
    np.testing.assert_array_equal(buf, emd.pairwise(X))


def test_lp_numpy_fallback_matches_cdist(rng):
    # Without scipy the l_p structure runs in numpy: the same distances.
    from scipy.spatial.distance import cdist

    from emd._pairwise._kernels import _lp_numpy

    a, b = rng.normal(size=(7, 9)), rng.normal(size=(5, 9))
    np.testing.assert_allclose(_lp_numpy(a, b, 1.0), cdist(a, b, "cityblock"), rtol=1e-13)
    np.testing.assert_allclose(_lp_numpy(a, b, 3.0), cdist(a, b, "minkowski", p=3.0), rtol=1e-13)


def test_dask_kernel_threads_are_cores_per_worker_thread():
    from emd._pairwise._dask import kernel_threads

    def info(workers):
        return {"workers": {a: {"host": h, "nthreads": t} for a, (h, t, _) in workers.items()},
                "identities": {a: {"cpus": c} for a, (_, _, c) in workers.items()}}

    assert kernel_threads(info({"w1": ("h", 1, 2), "w2": ("h", 1, 2)})) == 1  # 2 x 1 on 2 cores
    assert kernel_threads(info({"w1": ("h", 1, 16)})) == 16  # the nanny's OMP_NUM_THREADS=1 overridden
    assert kernel_threads(info({"w1": ("a", 2, 16), "w2": ("b", 4, 8)})) == 2  # the most crowded host
    assert kernel_threads(info({"w1": ("h", 8, 2)})) == 1


# ---------------------------------------------------------------- bad input

def test_bad_input_is_refused_before_work(rng, tmp_path):
    X = rng.normal(size=(4, 3))
    vals = rng.normal(size=6)
    with pytest.raises(ValueError, match="offsets"):
        emd.pairwise((vals, np.array([0, 2, 2, 6])))  # an empty distribution
    with pytest.raises(ValueError, match="end at the number of values 6"):
        emd.pairwise((vals, np.array([0, 2, 5])))
    with pytest.raises(TypeError, match="offsets"):
        emd.pairwise((vals, np.array([0.0, 2.0, 6.0])))
    bad = X.copy()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"`X` must be finite.*X\[\(2, 1\)\]"):
        emd.pairwise(bad)
    H = rng.random((3, 4))
    H[1] = 0.0
    with pytest.raises(ValueError, match="sums to 0"):
        emd.pairwise(H, metric="tv")
    H[1] = [1.0, -1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="nonnegative"):
        emd.pairwise(H, metric="js")
    with pytest.raises(ValueError, match="shape"):
        emd.pairwise(rng.random((3, 4)), metric="exact", cost=np.ones((5, 5)))
    with pytest.raises(ValueError, match="support"):
        emd.pairwise(rng.random((3, 4)), rng.random((2, 5)), metric="exact", support=np.ones((4, 2)))
    with pytest.raises(ValueError, match="same number of bins"):
        emd.pairwise(rng.random((3, 4)), rng.random((2, 5)), metric="tv")
    with pytest.raises(ValueError, match="reg"):
        emd.pairwise(rng.random((3, 4)), metric="sinkhorn", cost=np.ones((4, 4)))
    with pytest.raises(ValueError, match="does not take"):
        emd.pairwise(X, metric_kwargs={"reg": 1.0})
    with pytest.raises(ValueError, match="metric"):
        emd.pairwise(X, metric="euclidean")
    with pytest.raises(ValueError, match="weights"):
        emd.pairwise(X, weights=-np.ones((4, 3)))
    with pytest.raises(ValueError, match="`k`"):
        emd.pairwise(X, output="topk")
    with pytest.raises(ValueError, match="exceeds"):
        emd.pairwise(X, output="topk", k=5)
    ro = np.empty((4, 4))
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writable"):
        emd.pairwise(X, out=ro)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="not a directory|not writable"):
        emd.pairwise(X, output="store", out=blocker / "sub")
    with pytest.raises(ValueError, match="needs `out`"):
        emd.pairwise(X, output="store")
    with pytest.raises(ValueError, match="tile_size"):
        emd.pairwise(X, tile_size="big")


def test_output_too_large_is_refused_naming_its_size():
    X = np.zeros((10**6, 1))
    with pytest.raises(ValueError, match=r"1000000 x 1000000 float64 values = 7\.3 TiB.*topk.*store"):
        emd.pairwise(X)
    with pytest.raises(ValueError, match=r"499999500000 float64 values = 3\.6 TiB"):
        emd.pairwise(X, output="condensed")


def test_import_emd_imports_no_optional_library():
    code = "import sys, emd; bad = [m for m in ('dask', 'distributed', 'zarr', 'tqdm', 'scipy') if m in sys.modules]; print(bad)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_progress_bar(rng, capsys):
    pytest.importorskip("tqdm")
    X = rng.normal(size=(6, 4))
    np.testing.assert_array_equal(emd.pairwise(X, progress=True, tile_size=2), emd.pairwise(X))
    err = capsys.readouterr().err
    assert "6/6" in err and "pairs/s" in err


# ----------------------------------------------------------------------- store

def _entries(path):
    return sorted(p.name for p in (Path(path) / "manifest").glob("*.json"))


@pytest.mark.parametrize("metric", ["wasserstein_1d", "kl"])
def test_store_reads_back_every_output(rng, tmp_path, metric):
    pytest.importorskip("zarr")
    X = rng.random((10, 6)) + (0.0 if metric == "kl" else rng.normal(size=(10, 1)))
    st = emd.pairwise(X, metric=metric, output="store", out=tmp_path / "s", tile_size=3)
    square = emd.pairwise(X, metric=metric, tile_size=3)
    assert st.is_complete and st.n_computed == st.n_tiles == (10 if metric == "wasserstein_1d" else 16)
    np.testing.assert_array_equal(st.square(), square)
    np.testing.assert_array_equal(st.row(7), square[7])
    top = st.topk(4)
    np.testing.assert_array_equal(top.indices, np.argsort(square, axis=1, kind="stable")[:, :4])
    if metric == "wasserstein_1d":
        np.testing.assert_array_equal(st.condensed(), squareform(square))
    else:
        with pytest.raises(ValueError, match="symmetric"):
            st.condensed()
    assert len(_entries(tmp_path / "s")) == st.n_tiles
    again = PairwiseStore.open(tmp_path / "s")
    np.testing.assert_array_equal(again.square(), square)


def test_store_resume_computes_only_missing_tiles(rng, tmp_path, monkeypatch):
    pytest.importorskip("zarr")
    X = rng.normal(size=(12, 5))
    W = rng.random((12, 5))  # weighted: the one-tile-at-a-time path
    out = tmp_path / "s"
    calls = []
    original = _engine.compute_tile_hook

    def interrupted(spec, a, b, diagonal):
        if len(calls) == 4:
            raise KeyboardInterrupt
        calls.append(1)
        return original(spec, a, b, diagonal)

    monkeypatch.setattr(_engine, "compute_tile_hook", interrupted)
    with pytest.raises(KeyboardInterrupt):
        emd.pairwise(X, weights=W, output="store", out=out, tile_size=3)
    assert len(_entries(out)) == 4 and not (out / "complete.json").exists()
    with pytest.raises(RuntimeError, match="incomplete"):
        PairwiseStore.open(out).square()
    calls.clear()
    monkeypatch.setattr(_engine, "compute_tile_hook", lambda *a: (calls.append(1), original(*a))[1])
    st = emd.pairwise(X, weights=W, output="store", out=out)  # tile_size from the store
    assert st.n_tiles == 10 and st.n_computed == 6 and len(calls) == 6
    np.testing.assert_array_equal(st.square(), emd.pairwise(X, weights=W, tile_size=3))
    assert len(_entries(out)) == 10
    # Again: nothing left to compute.
    calls.clear()
    assert emd.pairwise(X, weights=W, output="store", out=out).n_computed == 0 and not calls


def test_store_never_reuses_tiles_of_other_parameters(rng, tmp_path):
    pytest.importorskip("zarr")
    X = rng.normal(size=(6, 4))
    emd.pairwise(X, output="store", out=tmp_path / "s", tile_size=2)
    with pytest.raises(ValueError, match="another computation"):
        emd.pairwise(X, p=2, output="store", out=tmp_path / "s")
    with pytest.raises(ValueError, match="another computation"):
        emd.pairwise(X + 1e-9, output="store", out=tmp_path / "s")
    with pytest.raises(ValueError, match="tile_size"):
        emd.pairwise(X, output="store", out=tmp_path / "s", tile_size=3)
    with pytest.raises(ValueError, match="resume=True"):
        emd.pairwise(X, output="store", out=tmp_path / "s", resume=False)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.txt").write_text("mine")
    with pytest.raises(ValueError, match="not empty"):
        emd.pairwise(X, output="store", out=tmp_path / "other")


# ------------------------------------------------------------------------ dask

DASK_TIMEOUT = 60.0  # seconds for one pairwise call on a loaded 2-core machine


def bounded(fn, timeout=DASK_TIMEOUT):
    """Run fn() in a thread; fail the test (not hang) past ``timeout``."""
    box = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as exc:  # re-raised in the test's thread
            box["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        pytest.fail(f"the call did not finish within {timeout} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    pytest.importorskip("zarr")
    import dask

    # Worker processes start slowly on a loaded 2-core machine (imports alone can
    # take 20 s there): generous connection timeouts, so that startup does not
    # fail at Dask's default 30 s.
    with dask.config.set({"distributed.comm.timeouts.connect": "120s", "distributed.comm.timeouts.tcp": "120s"}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                           dashboard_address=None, silence_logs=50)
        c = distributed.Client(cluster, timeout="120s")
    try:
        yield c
    finally:
        c.close()
        cluster.close()


def _wait_workers(client, n=2):
    client.wait_for_workers(n, timeout=DASK_TIMEOUT)


@pytest.mark.parametrize("case", ["w1", "ragged", "exact", "kl_y"])
def test_dask_equals_threads_bit_for_bit(client, rng, case):
    _wait_workers(client)
    if case == "w1":
        args, kw = (rng.normal(size=(23, 9)),), {}
    elif case == "ragged":
        lengths = rng.integers(1, 7, size=13)
        args, kw = ((rng.normal(size=lengths.sum()), np.concatenate([[0], np.cumsum(lengths)])),), {}
    elif case == "exact":
        M = np.abs(np.subtract.outer(np.arange(5.0), np.arange(5.0)))
        args, kw = (rng.random((9, 5)),), {"metric": "exact", "cost": M}
    else:
        args, kw = (rng.random((8, 4)), rng.random((5, 4))), {"metric": "kl"}
    ref = emd.pairwise(*args, tile_size=4, **kw)
    got = bounded(lambda: emd.pairwise(*args, tile_size=4, backend="dask", client=client, **kw))
    np.testing.assert_array_equal(got, ref)
    if len(args) == 1:
        top = bounded(lambda: emd.pairwise(*args, output="topk", k=3, tile_size=4, backend="dask", client=client, **kw))
        ref_top = emd.pairwise(*args, output="topk", k=3, tile_size=4, **kw)
        np.testing.assert_array_equal(top.indices, ref_top.indices)
        np.testing.assert_array_equal(top.distances, ref_top.distances)


def test_dask_auto_tiles_from_pilot(client, rng):
    _wait_workers(client)
    X = rng.normal(size=(40, 16))
    got = bounded(lambda: emd.pairwise(X, output="condensed", backend="dask", client=client))
    np.testing.assert_allclose(got, emd.pairwise(X, output="condensed"), rtol=1e-12, atol=0)


def test_dask_store_and_resume(client, rng, tmp_path):
    _wait_workers(client)
    X = rng.normal(size=(20, 6))
    out = tmp_path / "s"
    st = bounded(lambda: emd.pairwise(X, output="store", out=out, tile_size=4, backend="dask", client=client))
    ref = emd.pairwise(X, tile_size=4)
    np.testing.assert_array_equal(st.square(), ref)
    assert st.n_tiles == 15 and len(_entries(out)) == 15
    # Simulate an interruption: 6 tiles' entries lost (and the completion mark).
    for name in _entries(out)[:6]:
        (out / "manifest" / name).unlink()
    (out / "complete.json").unlink()
    st2 = bounded(lambda: emd.pairwise(X, output="store", out=out, backend="dask", client=client))
    assert st2.n_computed == 6 and len(_entries(out)) == 15
    np.testing.assert_array_equal(st2.square(), ref)


_PATCH = """
import os, time
from emd._pairwise import _engine as T
T._original = getattr(T, "_original", T.compute_tile_hook)
def _faulty(spec, a, b, diagonal, _orig=T._original):
    if {exit_tile!r} is not None and a.values.shape[0] == {rows!r} and diagonal and not os.path.exists({marker!r}):
        open({marker!r}, "w").close()
        os._exit(1)  # this worker dies mid-task, once
    time.sleep({sleep!r})
    return _orig(spec, a, b, diagonal)
T.compute_tile_hook = _faulty
"""
_UNPATCH = """
from emd._pairwise import _engine as T
if hasattr(T, "_original"):
    T.compute_tile_hook = T._original
"""


def _install(client, **kw):
    client.run(exec, _PATCH.format(**kw), {})


def test_dask_worker_exits_on_first_attempt_at_a_tile(client, rng, tmp_path):
    _wait_workers(client)
    X = rng.normal(size=(14, 5))
    marker = str(tmp_path / "died-once")
    # The last diagonal tile is the one with 2 rows (14 = 3 * 4 + 2).
    _install(client, exit_tile=True, rows=2, marker=marker, sleep=0.0)
    try:
        st = bounded(lambda: emd.pairwise(X, output="store", out=tmp_path / "s", tile_size=4, backend="dask", client=client))
    finally:
        client.run(exec, _UNPATCH, {})
    assert os.path.exists(marker)  # the fault happened
    np.testing.assert_array_equal(st.square(), emd.pairwise(X, tile_size=4))
    entries = _entries(tmp_path / "s")
    assert len(entries) == st.n_tiles == 10 and len(set(entries)) == 10
    recs = [json.loads((tmp_path / "s" / "manifest" / e).read_text()) for e in entries]
    assert sorted(tuple(r["tile"]) for r in recs) == [(I, J) for I in range(4) for J in range(I, 4)]


def test_dask_worker_sigkilled_mid_run(client, rng, tmp_path):
    _wait_workers(client)
    X = rng.normal(size=(24, 5))
    _install(client, exit_tile=None, rows=0, marker="", sleep=0.25)  # slow tiles: time to kill one
    pids = client.run(os.getpid)
    out = tmp_path / "s"
    result = {}

    def go():
        result["store"] = emd.pairwise(X, output="store", out=out, tile_size=3, backend="dask", client=client)

    t = threading.Thread(target=go, daemon=True)
    try:
        t.start()
        deadline = time.monotonic() + DASK_TIMEOUT
        while time.monotonic() < deadline and len(_entries(out) if (out / "manifest").exists() else []) < 3:
            time.sleep(0.05)
        victim = sorted(pids.items())[0][1]
        os.kill(victim, signal.SIGKILL)
        t.join(DASK_TIMEOUT)
        assert not t.is_alive(), "the run did not finish after a worker was killed"
    finally:
        client.run(exec, _UNPATCH, {})
    st = result["store"]
    np.testing.assert_array_equal(st.square(), emd.pairwise(X, tile_size=3))
    assert len(_entries(out)) == st.n_tiles == 36
    _wait_workers(client)
    assert victim not in client.run(os.getpid).values()  # it really died (and was replaced)


def test_dask_refuses_workers_with_another_emd(client, rng):
    _wait_workers(client)
    client.run(exec, "import emd; emd._real_version = emd.__version__; emd.__version__ = '0.0.0-other'", {})
    try:
        with pytest.raises(RuntimeError, match="0.0.0-other"):
            bounded(lambda: emd.pairwise(rng.normal(size=(4, 3)), backend="dask", client=client))
    finally:
        client.run(exec, "import emd; emd.__version__ = emd._real_version", {})
    saved = "import sys; sys._emd_saved = sys.modules['emd']; sys.modules['emd'] = None"  # `import emd` fails
    client.run(exec, saved, {})
    try:
        with pytest.raises(RuntimeError, match="cannot run emd"):
            bounded(lambda: emd.pairwise(rng.normal(size=(4, 3)), backend="dask", client=client))
    finally:
        client.run(exec, "import sys; sys.modules['emd'] = sys._emd_saved", {})
    with pytest.raises(TypeError, match="distributed.Client"):
        emd.pairwise(rng.normal(size=(4, 3)), backend="dask", client=object())


@pytest.mark.parametrize("symmetric", [True, False])
def test_topk_tiles_reduced_on_the_worker_merge_as_whole_tiles(rng, symmetric):
    # output="topk" on Dask: a tile task returns each row's (and, mirrored, each
    # column's) candidates, not the tile; merging those equals merging the tiles,
    # ties by index included (the tiles hold many ties).
    n, m, k = 11, 11 if symmetric else 7, 3
    grid = _engine.Grid(n, m, 4, symmetric)
    full = np.round(rng.random((n, m)) * 4) / 4  # values on a coarse grid: ties
    whole, reduced = _engine.TopKSink(n, k, full.dtype), _engine.TopKSink(n, k, full.dtype)
    for I, J in grid.tiles():
        (r0, r1), (c0, c1) = grid.rows(I), grid.cols(J)
        tile = full[r0:r1, c0:c1]
        whole.merge(r0, c0, tile)
        if symmetric and I != J:
            whole.merge(c0, r0, tile.T)
        cand = _engine.reduce_tile(grid, I, J, tile, k)
        assert (cand.cols is not None) == (symmetric and I != J)
        assert cand.rows[0].shape[0] == r1 - r0 and cand.rows[0].size <= tile.size
        reduced.merge_candidates(r0, *cand.rows)
        if cand.cols is not None:
            reduced.merge_candidates(c0, *cand.cols)
    np.testing.assert_array_equal(reduced.dist, whole.dist)
    np.testing.assert_array_equal(reduced.idx, whole.idx)
    assert np.isfinite(whole.dist).all()
