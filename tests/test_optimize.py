"""Backtest.optimize: grid, random and Bayesian searches over config keys, on the fast path
or as full runs, the trials they count, and a script without a ``__main__`` guard."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from xai_backtest import Backtest, ConfigError
from xai_backtest.engine.fast_sweep import FIGURES
from xai_backtest.engine.optimize import OptimizeResult

OPTIONS = {"data": {"source": "sample", "sample": "sp500", "start": "2016-01-01"},
           "walk_forward": {"min_train": 200, "retrain_every": 63}, "tearsheet": False,
           "faithfulness": False, "cache_dir": None}
SIGNALS = [{"kind": "ma_crossover", "fast": 10, "slow": 40}]
GRID = {"costs.commission": [0.0, 0.003], "strategy.position_size": [0.5, 1.0]}


def _backtest(tmp_path, **options):
    return Backtest(signals=SIGNALS, output_dir=str(tmp_path), **{**OPTIONS, **options})


@pytest.fixture(scope="module")
def grid_result(tmp_path_factory):
    return _backtest(tmp_path_factory.mktemp("grid")).optimize(GRID, progress=False)


@pytest.mark.slow
def test_a_grid_on_the_fast_path_equals_individual_runs(grid_result, tmp_path):
    trials = grid_result.trials
    assert grid_result.path == "fast" and len(trials) == 4
    assert (trials["status"] == "ok").all()
    assert trials["ma_crossover.sharpe"].nunique() == 4  # every key changes the result
    assert {c.partition(".")[2] for c in trials if c.startswith("buy_and_hold.")} == set(FIGURES)
    for _, row in trials.iloc[[0, 3]].iterrows():
        run = _backtest(tmp_path, costs={"commission": row["costs.commission"]},
                        strategy={"kind": "signal",
                                  "position_size": row["strategy.position_size"]}
                        ).run(progress=False)
        for strategy in ("ma_crossover", "buy_and_hold"):
            for figure in set(FIGURES) & set(run.comparison.index):
                np.testing.assert_allclose(row[f"{strategy}.{figure}"],
                                           run.comparison.loc[figure, strategy], rtol=1e-9,
                                           atol=1e-12, err_msg=f"{strategy}.{figure}")
    assert grid_result.objective == "ma_crossover.sharpe"
    assert trials["objective"].equals(trials["ma_crossover.sharpe"])
    best = grid_result.best
    assert best.row["objective"] == trials["objective"].max()
    assert best.params == {k: best.row[k] for k in GRID}
    assert (grid_result.folder / "results.csv").is_file()


@pytest.mark.slow
def test_the_trials_are_counted_by_every_point_and_by_the_best_run(grid_result):
    assert (grid_result.trials["trials"] == 4).all()
    assert grid_result.best.config.trials == 4
    dsr = grid_result.trials["ma_crossover.deflated_sharpe"]
    assert dsr.between(0, 1).all()
    best = grid_result.run_best(progress=False)
    status = json.loads((best.folder / "run.json").read_text())
    assert status["trials"]["count"] == 4 and "config's trials: 4" in status["trials"]["source"]


@pytest.mark.slow
def test_trials_tried_before_the_search_are_added(tmp_path):
    result = _backtest(tmp_path, trials=10).optimize({"strategy.threshold": [0.5, 0.6]},
                                                      progress=False)
    assert (result.trials["trials"] == 12).all() and result.best.config.trials == 12


@pytest.mark.slow
def test_a_constraint_filters_the_points_before_they_run(tmp_path):
    result = _backtest(tmp_path).optimize(
        GRID, constraint=lambda p: p["costs.commission"] > 0 or p["strategy.position_size"] == 1,
        progress=False)
    assert len(result.trials) == 3
    assert not ((result.trials["costs.commission"] == 0)
                & (result.trials["strategy.position_size"] == 0.5)).any()
    assert (result.trials["trials"] == 3).all()  # rejected points are not trials
    figure = result.heatmap()
    assert "grey: not tried" in figure.axes[0].get_title()


@pytest.mark.slow
def test_a_random_search_respects_n_trials_and_its_seed(tmp_path):
    grid = {"costs.commission": [0.0, 0.001, 0.002, 0.003],
            "strategy.threshold": [0.5, 0.55, 0.6, 0.65, 0.7]}
    backtest = _backtest(tmp_path)
    one, again, other = (backtest.optimize(grid, method="random", n_trials=5, seed=seed,
                                           progress=False) for seed in (3, 3, 4))
    assert len(one.trials) == 5 and (one.trials["trials"] == 5).all()
    columns = [*grid, "objective", "ma_crossover.final_equity"]
    pd.testing.assert_frame_equal(one.trials[columns], again.trials[columns])
    assert not one.trials[[*grid]].equals(other.trials[[*grid]])
    assert not one.trials.duplicated(subset=[*grid]).any()


@pytest.mark.slow
def test_a_bayesian_search_with_optuna(tmp_path):
    grid = {"costs.commission": [0.0, 0.001, 0.002, 0.003],
            "strategy.position_size": [0.5, 1.0]}
    backtest = _backtest(tmp_path)
    result, again = (backtest.optimize(grid, method="bayes", n_trials=4, seed=1,
                                       progress=False) for _ in range(2))
    trials = result.trials
    assert result.method == "bayes" and result.path == "fast"
    assert len(trials) == 4 and not trials.duplicated(subset=[*grid]).any()
    assert (trials["trials"] == 4).all() and (trials["status"] == "ok").all()
    assert result.best.row["objective"] == trials["objective"].max()
    pd.testing.assert_frame_equal(trials[[*grid, "objective"]],
                                  again.trials[[*grid, "objective"]])


@pytest.mark.slow
def test_bars_from_python_give_the_same_search(tmp_path):
    from xai_backtest.data_feeds.market_data import MarketData
    from xai_backtest.engine.data import load_market_data

    sample = _backtest(tmp_path)
    bars = load_market_data(sample.config.data)[0].bars
    python = Backtest(MarketData(bars), signals=SIGNALS, output_dir=str(tmp_path),
                      **{k: v for k, v in OPTIONS.items() if k != "data"})
    grid = {"strategy.position_size": [0.5, 1.0]}
    one, two = (b.optimize(grid, progress=False) for b in (sample, python))
    columns = ["objective", "ma_crossover.final_equity", "ma_crossover.trades"]
    pd.testing.assert_frame_equal(one.trials[columns], two.trials[columns])


@pytest.mark.slow
def test_a_signal_key_runs_every_point_in_full(tmp_path):
    result = _backtest(tmp_path).optimize({"ma_crossover.fast": [5, 10]},
                                          maximize="total_return", progress=False)
    assert result.path == "full" and (result.trials["status"] == "ok").all()
    assert result.trials["ma_crossover.fast"].tolist() == [5, 10]
    assert result.trials["ma_crossover.trades"].nunique() == 2
    for _, row in result.trials.iterrows():
        config = result.runs[row["run"]].config
        assert config.signals[0].params["fast"] == row["ma_crossover.fast"]
        summary = pd.read_csv(result.folder / row["run"] / "summary.csv", index_col=0)
        assert row["objective"] == summary.loc["total_return", "ma_crossover"]


UNGUARDED = '''
import numpy as np
import pandas as pd

from xai_backtest import Backtest, RuleSignal


class Momentum(RuleSignal):
    name = "momentum"

    def __init__(self, lookback: int = 20):
        self.lookback = lookback

    def indicators(self, bars):
        return pd.DataFrame({"change": bars["close"].pct_change(self.lookback)})

    def rule(self, values):
        return np.where(values["change"] > 0, 1, -1)


print("script body ran")
backtest = Backtest(signals=[Momentum()], data={"source": "sample", "sample": "sp500",
                    "start": "2016-01-01"}, walk_forward={"min_train": 200, "retrain_every": 63},
                    tearsheet=False, faithfulness=False, cache_dir=None)
result = backtest.optimize({"momentum.lookback": [10, 20]}, workers=2, progress=False)
print(result.path, result.trials["status"].tolist())
print("best:", result.best.params)
'''


@pytest.mark.slow
def test_a_script_without_a_main_guard_optimizes_on_two_workers(tmp_path):
    script = tmp_path / "search.py"
    script.write_text(textwrap.dedent(UNGUARDED))
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("script body ran") == 1  # the workers never ran the script
    assert "full ['ok', 'ok']" in proc.stdout
    assert "best: {'momentum.lookback': " in proc.stdout
    folders = sorted((tmp_path / "runs" / "momentum-optimize").glob("*/report.html"))
    assert len(folders) == 2


# -- without runs: the front door ------------------------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    ({"grid": {"strategy.treshold": [0.5]}}, "treshold"),
    ({"grid": {"stratgy.threshold": [0.5]}}, "did you mean 'strategy'"),
    ({"grid": {"signals.3.fast": [5]}}, "not an index of a list of 1"),
    ({"grid": {"strategy.threshold": 0.5}}, "non-empty list"),
    ({"grid": {"strategy.threshold": [0.5, 2.0]}}, "threshold"),
    ({"grid": {"strategy.threshold": [0.5]}, "n_trials": 3}, "n_trials"),
    ({"grid": {"strategy.threshold": [0.5]}, "method": "random"}, "needs n_trials"),
    ({"grid": {"strategy.threshold": [0.5]}, "method": "annealing"}, "'grid', 'random'"),
    ({"grid": {"strategy.threshold": [0.5]}, "constraint": lambda p: False}, "rejects all"),
])
def test_bad_searches_are_refused_before_any_run(tmp_path, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        _backtest(tmp_path).optimize(**kwargs)
    assert not (tmp_path / "ma_crossover-optimize").exists()


def test_maximize_names_a_strategy_when_several_trade(tmp_path):
    two = Backtest(signals={"a": SIGNALS[0], "b": {**SIGNALS[0], "fast": 20}},
                   output_dir=str(tmp_path), **OPTIONS)
    with pytest.raises(ConfigError, match="'a.sharpe'"):
        two.optimize({"strategy.threshold": [0.5]})


def _result(keys, rows) -> OptimizeResult:
    trials = pd.DataFrame(rows, columns=[*keys, "objective", "status"])
    return OptimizeResult(trials=trials, keys=tuple(keys), objective="x.sharpe",
                          method="grid", path="fast", folder=None, runs={})


def test_the_heatmap_has_the_two_keys_a_colour_bar_and_the_best_over_other_keys():
    result = _result(["a", "b", "c"], [(1, 10, 0, 0.1, "ok"), (1, 10, 1, 0.4, "ok"),
                                       (2, 10, 0, 0.2, "ok"), (2, 20, 0, np.nan, "failed")])
    with pytest.raises(ValueError, match="name two different keys"):
        result.heatmap()
    figure = result.heatmap("a", "b")
    assert isinstance(figure, Figure)
    axes, bar = figure.axes
    assert (axes.get_xlabel(), axes.get_ylabel(), bar.get_ylabel()) == ("a", "b", "x.sharpe")
    assert "best over c" in axes.get_title() and "grey: not tried" in axes.get_title()
    image = axes.images[0].get_array()
    assert image[0, 0] == 0.4 and image[0, 1] == 0.2 and image.mask[1].all()
    assert sorted(t.get_text() for t in axes.texts) == ["0.2", "0.4"]


@pytest.mark.slow
def test_the_readme_optimize_example_runs_as_written(tmp_path):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("\n## Optimize\n", 1)[1].split("\n## ", 1)[0]
    script = tmp_path / "optimize_example.py"
    script.write_text(section.split("```python\n", 1)[1].split("```", 1)[0])
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Best(params={'strategy.position_size'" in proc.stdout
    assert (tmp_path / "heatmap.png").stat().st_size > 1000
    report = Path(proc.stdout.strip().splitlines()[-1])
    report = report if report.is_absolute() else tmp_path / report
    status = json.loads((report.parent / "run.json").read_text())
    assert report.is_file() and status["trials"]["count"] == 6
