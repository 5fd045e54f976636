"""Fast sweeps: strategy and cost grids on the fast path equal full backtrader runs."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from xai_backtest.engine.cli import main
from xai_backtest.engine.executor import LocalExecutor
from xai_backtest.engine.fast_sweep import best_points, fast_sweep_refusal, run_fast_sweep
from xai_backtest.engine.sweep import expand_sweep, run_sweep

BASE = {"data": {"start": "2016-01-01"}, "tearsheet": False, "cache_dir": None,
        "walk_forward": {"min_train": 200, "retrain_every": 63},
        "signals": [{"kind": "ma_crossover", "fast": 10, "slow": 40}]}
GRID = {"strategy.threshold": [0.5, 0.7], "costs.commission": [0.0, 0.002],
        "strategy.allow_short": [False, True]}
COMPARED = ["total_return", "sharpe", "max_drawdown", "trades", "exposure", "final_equity"]


def _runs(tmp_path, grid, **base):
    return expand_sweep("t", {**BASE, **base, "output_dir": str(tmp_path)}, grid)


@pytest.mark.slow
def test_every_point_equals_a_full_backtrader_run(tmp_path):
    fast = run_fast_sweep("t", _runs(tmp_path / "fast", GRID), progress=False)
    full = run_sweep("t", _runs(tmp_path / "full", GRID, engine="backtrader"),
                     LocalExecutor(1))
    assert (full["status"] == "ok").all() and (fast["engine"] == "fast").all()
    for strategy in ("ma_crossover", "always_long", "buy_and_hold"):
        for metric in COMPARED:
            column = f"{strategy}.{metric}"
            np.testing.assert_allclose(fast[column].to_numpy(dtype=float),
                                       full[column].to_numpy(dtype=float), rtol=1e-9,
                                       atol=1e-12, err_msg=column)
    assert fast["ma_crossover.trades"].nunique() > 1  # the grid changes what trades
    dsr = fast["ma_crossover.deflated_sharpe"]
    assert dsr.between(0, 1).all()
    best = best_points(fast).loc["ma_crossover"]
    assert best["sharpe"] == fast["ma_crossover.sharpe"].max()
    assert {"strategy.threshold", "costs.commission", "strategy.allow_short"} <= set(best.index)
    assert (tmp_path / "fast" / "t" / "results.csv").is_file()


def test_sweeps_that_need_their_own_decisions_are_refused_in_words(tmp_path):
    assert fast_sweep_refusal(_runs(tmp_path, GRID)) is None
    assert "signals or data differ" in fast_sweep_refusal(
        _runs(tmp_path, {"data.sample": ["sp500", "nasdaq"]}))
    assert "engine 'backtrader'" in fast_sweep_refusal(
        _runs(tmp_path, GRID, engine="backtrader"))
    assert "stop_loss" in fast_sweep_refusal(
        _runs(tmp_path, {"strategy.stop_loss": [0.02, 0.05]}))


@pytest.mark.parametrize("grid, fast", [({"strategy.threshold": [0.5, 0.6]}, True),
                                        ({"data.sample": ["sp500", "nasdaq"]}, False)])
def test_the_command_line_says_which_path_ran(tmp_path, capsys, grid, fast):
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(yaml.safe_dump({"name": "s", "base": {**BASE}, "grid": grid}))
    assert main(["--sweep", str(sweep), "--output-dir", str(tmp_path / "out"), "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert ("points on the fast path" in out) is fast
    assert ("every point is a full run" in err) is not fast
    assert (tmp_path / "out" / "s" / "results.csv").is_file()
