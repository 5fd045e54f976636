"""Sweeps: grid expansion, a failing run recorded, reruns skipped, local == Ray."""

from __future__ import annotations

import pandas as pd
import pytest

from xai_backtest.engine.config import ConfigError
from xai_backtest.engine.executor import LocalExecutor, RayExecutor, make_executor
from xai_backtest.engine.sweep import expand_sweep, run_sweep

BASE = {"data": {"start": "2016-01-01"}, "tearsheet": False, "cache_dir": None,
        "walk_forward": {"min_train": 200, "retrain_every": 63},
        "signals": [{"kind": "ma_crossover", "fast": 10, "slow": 40}]}
METRICS = ["run", "status", "ma_crossover.final_equity", "ma_crossover.trades",
           "buy_and_hold.final_equity"]


def _runs(tmp_path, grid):
    return expand_sweep("t", {**BASE, "output_dir": str(tmp_path)}, grid)


def test_grid_expansion_and_validation(tmp_path):
    runs = _runs(tmp_path, {"strategy.threshold": [0.5, 0.6], "data.sample": ["sp500",
                                                                               "nasdaq"]})
    assert [r.name for r in runs] == ["t-000", "t-001", "t-002", "t-003"]
    assert runs[1].config.data.sample == "nasdaq" and runs[2].config.strategy.threshold == 0.6
    with pytest.raises(ConfigError, match="t-001"):
        _runs(tmp_path, {"strategy.threshold": [0.5, 7]})
    with pytest.raises(ConfigError, match="non-empty lists"):
        _runs(tmp_path, {"strategy.threshold": []})


def test_a_failing_run_does_not_stop_the_sweep_and_reruns_skip(tmp_path):
    runs = _runs(tmp_path, {"data.start": ["2016-01-01", "2030-01-01"]})
    table = run_sweep("t", runs, LocalExecutor(1))
    assert table["status"].tolist() == ["ok", "failed"]
    assert "no bars between" in table.loc[1, "error"]
    assert (runs[1].folder / "error.txt").is_file()
    assert (tmp_path / "t" / "results.csv").is_file()
    again = run_sweep("t", runs, LocalExecutor(1))
    assert again["status"].tolist() == ["skipped (already complete)", "failed"]
    assert again.loc[0, "ma_crossover.final_equity"] == table.loc[0, "ma_crossover.final_equity"]


@pytest.mark.slow
def test_process_pool_matches_in_process(tmp_path):
    grid = {"strategy.threshold": [0.5, 0.53]}
    one = run_sweep("t", _runs(tmp_path / "a", grid), LocalExecutor(1))
    two = run_sweep("t", _runs(tmp_path / "b", grid), LocalExecutor(2))
    pd.testing.assert_frame_equal(one[METRICS], two[METRICS])


@pytest.mark.slow
def test_ray_matches_local(tmp_path):
    ray = pytest.importorskip("ray", reason="Ray is not installed")
    grid = {"strategy.threshold": [0.5, 0.53]}
    local = run_sweep("t", _runs(tmp_path / "a", grid), LocalExecutor(1))
    try:  # only Ray failing to start is a reason to skip; anything after it fails the test
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    except (RuntimeError, ConnectionError, OSError) as e:  # no shared memory or free ports
        pytest.skip(f"Ray could not start here: {type(e).__name__}: {e}")
    try:
        remote = run_sweep("t", _runs(tmp_path / "b", grid), RayExecutor(2))
    finally:
        ray.shutdown()
    pd.testing.assert_frame_equal(local[METRICS], remote[METRICS])


def test_unknown_executor():
    with pytest.raises(ValueError, match="unknown executor"):
        make_executor("dask")
