"""emd.wgan.compare: every method on the same data and seed, one table, one figure.

Tiny runs with the exact W1 injected (scipy's linear_sum_assignment, as in
test_wgan.py); the numbers in the table are checked against the runs' own
metrics.csv, recomputed here with scipy.
"""

from __future__ import annotations

import csv
import importlib
import json
import os

import numpy as np
import pytest
from scipy.stats import pearsonr, spearmanr

import emd.wgan.compare as cmp
from emd.wgan.data import make_dataset
from test_wgan import w1_lsa

TINY = dict(hidden=8, batch=16, iters=6, eval_every=1, eval_samples=24, n_critic=2, n_critic_boost=0)


def test_iterations_to_halve():
    assert cmp.iterations_to_halve([0, 10, 20, 30], [2.0, 1.5, 1.0, 0.4]) == 20  # <= half counts
    assert cmp.iterations_to_halve([0, 10], [2.0, 1.01]) == -1


def test_method_config_gives_each_method_its_papers_settings():
    gp = cmp.method_config("gp", iters=5)
    assert (gp.optimizer, gp.hidden, gp.gen_lr) == ("adam", 128, 2e-5)  # its own width unless one is given
    assert cmp.method_config("gp", hidden=8).hidden == 8
    assert cmp.method_config("clip").optimizer == "rmsprop"
    gan = cmp.method_config("gan")
    assert gan.loss == "gan" and gan.n_critic == 1
    with pytest.raises(ValueError, match="`method` must be one of"):
        cmp.method_config("wgan")


def test_compare_runs_every_method_on_the_same_data(tmp_path):
    out = str(tmp_path / "cmp")
    results, floor = cmp.compare(out, w1_fn=w1_lsa, log=None, **TINY)
    assert [r.method for r in results] == ["clip", "spectral", "gp", "gan"]
    starts = {r.w1_start for r in results}
    assert len(starts) == 1  # same seed, same evaluation samples: the same W1 at iteration 0 for every method
    for r in results:
        with open(os.path.join(out, r.method, "metrics.csv")) as f:
            rows = list(csv.DictReader(f))
        w1 = np.array([float(x["w1_exact"]) for x in rows])
        est = np.array([float(x["critic_estimate"]) for x in rows])
        assert r.w1_end == w1[-1] and r.num_modes == 8 and 0 <= r.modes_end <= 8
        assert r.spearman == pytest.approx(spearmanr(est[1:], w1[1:]).statistic, abs=1e-12)
        assert r.pearson == pytest.approx(pearsonr(est[1:], w1[1:]).statistic, abs=1e-12)
        if r.method in ("gp", "spectral"):
            ratio = est[1:] / w1[1:]
            assert r.ratio_end == pytest.approx(ratio[-1], rel=1e-12)
            assert (r.ratio_min, r.ratio_max) == pytest.approx((ratio.min(), ratio.max()), rel=1e-12)
        else:
            assert np.isnan(r.ratio_end) and np.isnan(r.ratio_median)
    # the floor: two independent samples of the dataset, by the same exact W1
    ds = make_dataset("8gaussians")
    rng = np.random.default_rng(np.random.SeedSequence([0, 0x5A11]))
    assert floor == w1_lsa(ds.sample(rng, 24), ds.sample(rng, 24))
    with open(os.path.join(out, "compare.md")) as f:
        table = f.read()
    assert table.count("\n| ") == 5  # header and four methods
    assert "| gp | Adam lr 0.0001 (generator 2e-05) betas (0, 0.9), n_critic 2" in table and "Sampling floor" in table
    with open(os.path.join(out, "compare.json")) as f:
        saved = json.load(f)
    assert [r["method"] for r in saved["results"]] == ["clip", "spectral", "gp", "gan"]
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert not os.path.exists(os.path.join(out, "compare.png"))
    else:
        assert os.path.getsize(os.path.join(out, "compare.png")) > 0


def test_compare_cli(tmp_path, capsys, monkeypatch):
    train_mod = importlib.import_module("emd.wgan.train")
    monkeypatch.setattr(train_mod, "_default_w1", w1_lsa)
    out = tmp_path / "c"
    code = cmp.main(["--methods", "gp,clip", "--iters", "2", "--eval-every", "1", "--eval-samples", "20",
                     "--out", str(out), "--no-progress"])
    assert code == 0
    text = capsys.readouterr().out
    assert "| gp |" in text and "| clip |" in text and "| spectral |" not in text
    assert {"clip", "gp", "compare.md", "compare.json"} <= set(os.listdir(out))


@pytest.mark.parametrize("args, message", [
    (["--methods", "gp,sgd"], "--methods must list"),
    (["--methods", "gp,gp"], "--methods must list"),
    (["--iters", "0"], "--iters must be >= 1"),
])
def test_compare_cli_bad_input_exits_2(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        cmp.main([*args, "--out", str(tmp_path / "never")])
    assert exc.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "never").exists()


def test_table_says_when_the_halving_is_lost():
    nan = float("nan")
    row = dict(settings="x: y", w1_start=2.0, modes_end=8, num_modes=8, spearman=0.5, pearson=0.5,
               ratio_end=nan, ratio_median=nan, ratio_min=nan, ratio_max=nan, wall_s=1.0)
    results = [cmp.MethodResult(method="clip", w1_end=0.5, iters_to_halve=300, **row),
               cmp.MethodResult(method="gp", w1_end=1.5, iters_to_halve=700, **row),
               cmp.MethodResult(method="gan", w1_end=1.5, iters_to_halve=-1, **row)]
    lines = cmp.format_table(results, 0.1, cmp.method_config("clip")).splitlines()
    assert "| 2.000 -> 0.500 | 300 | 8/8 |" in lines[2]
    assert "| 700, lost by the end |" in lines[3] and "| not reached |" in lines[4]
