"""Statistics a short run cannot support say so in the report instead of raising; the run
completes (issue 22, item 6)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from xai_backtest.engine.config import build_config
from xai_backtest.engine.runner import run_backtest
from xai_backtest.reports.html_report import ReportInputs, write_report
from xai_backtest.reports.significance import (
    TooFewReturns,
    edge_over_benchmark,
    sharpe_difference_interval,
)

SHORT = "not computed: 27 paired returns are too few for a block bootstrap with blocks of 20"


def _returns(n: int, seed: int) -> pd.Series:
    rng = np.random.default_rng(seed)
    return pd.Series(rng.normal(0.0005, 0.01, n), index=pd.bdate_range("2021-01-04", periods=n))


def test_too_few_returns_for_the_bootstrap_are_said_not_raised():
    with pytest.raises(TooFewReturns, match="27 paired returns are too few"):
        sharpe_difference_interval(_returns(27, 1), _returns(27, 2))
    test = edge_over_benchmark(_returns(27, 1), _returns(27, 2), trials=2,
                               trial_sharpe_variance=0.01)
    assert SHORT in test.verdict
    assert test.verdict.startswith("Edge not tested: the paired 95% interval of the Sharpe "
                                   "difference (")
    assert math.isnan(test.interval_low) and math.isnan(test.interval_high)
    assert math.isfinite(test.sharpe_difference)
    assert 0 <= test.deflated_sharpe <= test.probabilistic_sharpe <= 1  # these still hold
    assert "after deflating for 2 trials" in test.secondary


def test_two_returns_say_that_neither_statistic_is_computed():
    test = edge_over_benchmark(_returns(2, 1), _returns(2, 2))
    assert "not computed: 2 paired returns are too few" in test.verdict
    assert "not computed: 2 returns are too few (the probabilistic Sharpe ratio needs at " \
           "least 3)" in test.secondary
    assert math.isnan(test.probabilistic_sharpe)
    one = edge_over_benchmark(_returns(1, 1), _returns(1, 2))
    assert "Sharpe difference is not computed" in one.verdict  # no observed value to show


def test_the_report_shows_the_sentence(tmp_path):
    equity = pd.DataFrame({"rule": np.linspace(1e5, 1.01e5, 28),
                           "buy_and_hold": np.linspace(1e5, 1.02e5, 28)},
                          index=pd.bdate_range("2021-01-04", periods=28))
    trades = pd.DataFrame({"trade": [1], "strategy": ["rule"], "side": ["long"],
                           "entry_time": equity.index[[2]], "exit_time": equity.index[[9]],
                           "net_pnl": [120.0], "return_pct": [0.0012]})
    inputs = ReportInputs(
        title="short", subtitle="27 days", equity=equity, trades=trades,
        comparison=pd.DataFrame({s: {"total_return": equity[s].iloc[-1] / 1e5 - 1}
                                 for s in equity.columns}),
        edges={"rule": edge_over_benchmark(_returns(27, 1), _returns(27, 2))})
    page = write_report(tmp_path / "report.html", inputs).read_text()
    assert "<li><b>rule</b>: Edge not tested" in page and SHORT in page


@pytest.mark.slow
def test_a_two_month_minute_run_completes_with_the_sentence(tmp_path, shared_data):
    """NIFTY minute bars of January and February 2021: 40 sessions, too few paired daily
    returns for 20-day blocks once the walk-forward warm-up is spent."""
    config = build_config({
        "name": "nifty-two-months",
        "data": {"source": "file", "path": str(shared_data / "nifty_minute"), "layout": "nifty",
                 "tz": "Asia/Kolkata", "session": "NSE", "start": "2021-01-01",
                 "end": "2021-02-28"},
        "signals": [{"kind": "ma_crossover", "fast": 30, "slow": 120}],
        "walk_forward": {"min_train": 3000, "retrain_every": 5000},
        "output_dir": str(tmp_path / "runs"), "cache_dir": None, "tearsheet": False})
    result = run_backtest(config, progress=False)
    assert json.loads((result.folder / "run.json").read_text())["status"] == "complete"
    page = result.report.read_text()
    found = [line for line in page.split("<li>") if "paired returns are too few" in line]
    assert len(found) == 1 and "not computed: " in found[0]
    assert "for a block bootstrap with blocks of 20 (it needs at least 40)" in found[0]
