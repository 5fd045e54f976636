"""Stop-loss, take-profit, trailing stop and volatility-targeted size of the signal strategy,
against hand-computed fills on constructed price paths."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from xai_backtest.engine.config import build_config
from xai_backtest.engine.runner import run_backtest
from xai_backtest.signals.base import SignalFrame
from xai_backtest.strategies import Costs
from xai_backtest.strategies.backtest import run_strategy
from xai_backtest.strategies.signal_strategy import StrategyDataError


def path_bars(closes: list[float]) -> pd.DataFrame:
    """Bars that open at the previous close and close at ``closes``."""
    index = pd.bdate_range("2020-01-01", periods=len(closes), tz="America/New_York")
    close = np.asarray(closes, dtype=float)
    open_ = np.r_[close[0], close[:-1]]
    return pd.DataFrame({"open": open_, "high": np.maximum(open_, close),
                         "low": np.minimum(open_, close), "close": close,
                         "volume": 1000.0}, index=index)


def every_bar(bars: pd.DataFrame, directions: list[int]) -> SignalFrame:
    index = bars.index[: len(directions)]
    return SignalFrame.up_down("test", index, up=np.asarray(directions) > 0,
                               score=np.asarray(directions, float),
                               probability=np.ones(len(directions)))


def run(bars, signals, **params):
    return run_strategy("t", bars, signals, costs=Costs(0, 0), **params).fills


def test_a_stop_loss_exits_at_the_open_after_the_close_through_it_and_waits():
    closes = [100, 100, 99, 97, 94, 93, 95, 96, 97, 98]
    bars = path_bars(closes)
    fills = run(bars, every_bar(bars, [1] * 10), stop_loss=0.05)
    # entry at bar 1's open (100); bar 4 closes at 94 <= 95: out at bar 5's open (94)
    assert fills["bar"].tolist() == [1, 5]
    assert fills["reason"].tolist() == ["signal: entry", "stop_loss: exit"]
    assert fills["price"].iloc[1] == pytest.approx(94.0)  # the standing +1 is not re-entered


def test_after_a_stop_a_new_decision_in_another_direction_rearms():
    bars = path_bars([100, 100, 99, 97, 94, 93, 95, 96, 97, 98])
    fills = run(bars, every_bar(bars, [1, 1, 1, 1, 1, 1, -1, 1, 1, 1]), stop_loss=0.05)
    assert fills["bar"].tolist() == [1, 5, 8]  # flat on -1 (no shorts), long again on +1


def test_take_profit_and_trailing_stop():
    bars = path_bars([100, 100, 104, 111, 112, 113, 114, 113, 107, 106])
    take = run(bars, every_bar(bars, [1] * 10), take_profit=0.10)
    assert take["bar"].tolist() == [1, 4] and take["reason"].iloc[1] == "take_profit: exit"
    trail = run(bars, every_bar(bars, [1] * 10), trailing_stop=0.05)
    # best close 114 (bar 6); bar 8 closes at 107 <= 114 * 0.95 = 108.3: out at bar 9's open
    assert trail["bar"].tolist() == [1, 9] and trail["reason"].iloc[1] == "trailing_stop: exit"


def test_volatility_targeting_sizes_the_entry_by_hand():
    rng = np.random.default_rng(3)
    closes = list(100 * np.cumprod(1 + rng.normal(0, 0.02, 60)))
    bars = path_bars(closes)
    directions = [0] * 30 + [1] * 30
    fills = run(bars, every_bar(bars, directions), target_volatility=0.10,
                volatility_lookback=20)
    decided = 30  # first +1 decision; sized on the 20 returns up to its close
    returns = np.diff(np.asarray(closes[decided - 20: decided + 1])) / np.asarray(
        closes[decided - 20: decided])
    fraction = min(1.0, 0.10 / (returns.std(ddof=1) * math.sqrt(252)))
    value = 100_000.0  # flat until then, no costs
    expected = fraction * value / (bars["open"].iloc[decided + 1] * (1 + 1e-9))
    assert fills["size"].iloc[0] == pytest.approx(expected, rel=1e-9)
    assert fraction < 1.0


def test_a_negative_stop_is_refused():
    bars = path_bars([100] * 5)
    with pytest.raises(ValueError, match="stop_loss must be a positive fraction"):
        run(bars, every_bar(bars, [1] * 5), stop_loss=-0.1)


def test_an_intraday_strategy_on_daily_bars_is_refused_before_any_work(tmp_path):
    config = build_config({"strategy": {"kind": "intraday", "exit_time": "15:00"},
                           "output_dir": str(tmp_path / "runs"), "cache_dir": None})
    with pytest.raises(StrategyDataError, match="bars are daily"):
        run_backtest(config, progress=False)
    assert not (tmp_path / "runs").exists()  # refused before fitting or any run folder


def test_shorts_where_the_account_cannot_short_are_refused_before_any_work(tmp_path):
    config = build_config({"strategy": {"allow_short": True}, "data": {"shortable": False},
                           "output_dir": str(tmp_path / "runs"), "cache_dir": None})
    with pytest.raises(StrategyDataError, match="cannot be sold short"):
        run_backtest(config, progress=False)
    assert not (tmp_path / "runs").exists()
