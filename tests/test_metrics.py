"""Every metric against QuantStats or a hand computation on a small series."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
import pytest

from xai_backtest.reports.metrics import daily_returns, max_drawdown, sharpe, sortino, summarize
from xai_backtest.strategies.backtest import BacktestResult

logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)


@pytest.fixture
def returns():
    rng = np.random.default_rng(7)
    index = pd.bdate_range("2020-01-01", periods=300)
    return pd.Series(rng.normal(0.0005, 0.01, 300), index=index)


def test_ratios_match_quantstats(returns):
    qs = pytest.importorskip("quantstats")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert sharpe(returns) == pytest.approx(qs.stats.sharpe(returns), rel=1e-9)
        assert sortino(returns) == pytest.approx(qs.stats.sortino(returns), rel=1e-9)
        assert max_drawdown(returns) == pytest.approx(qs.stats.max_drawdown(returns), rel=1e-9)


def test_max_drawdown_by_hand():
    r = pd.Series([0.1, -0.5, 0.2])  # curve 1, 1.1, 0.55, 0.66
    assert max_drawdown(r) == pytest.approx(0.55 / 1.1 - 1)


def test_daily_returns_start_from_cash():
    index = pd.DatetimeIndex(["2021-01-04 10:00", "2021-01-04 15:00", "2021-01-05 15:00"],
                             tz="UTC")
    equity = pd.Series([101.0, 102.0, 99.96], index=index)
    r = daily_returns(equity, 100.0)
    assert r.tolist() == pytest.approx([0.02, 99.96 / 102 - 1])


def test_summary_by_hand():
    index = pd.bdate_range("2021-01-04", periods=4, tz="UTC")
    equity = pd.Series([100.0, 110.0, 99.0, 108.9], index=index)
    fills = pd.DataFrame({"size": [1.0, -1.0], "price": [100.0, 110.0], "commission": [0.1, 0.1],
                          "slippage": [0.05, 0.05]})
    result = BacktestResult("x", equity, pd.Series([False, True, True, False], index=index),
                            fills, pd.DataFrame(), cash=100.0)
    trades = pd.DataFrame({"status": ["closed", "closed", "open"], "net_pnl": [5.0, -2.0, 1.0],
                           "return_pct": [0.05, -0.02, 0.01]})
    p = summarize(result, trades)
    assert p.total_return == pytest.approx(0.089)
    assert p.max_drawdown == pytest.approx(99 / 110 - 1)
    assert p.trades == 3
    assert p.hit_rate == pytest.approx(0.5)
    assert p.avg_win == pytest.approx(0.05) and p.avg_loss == pytest.approx(-0.02)
    assert p.exposure == pytest.approx(0.5)
    assert p.costs_paid == pytest.approx(0.3)
    years = 3 / 365.25
    assert p.turnover == pytest.approx(210.0 / equity.mean() / years)
    assert p.calmar == pytest.approx(p.cagr / abs(p.max_drawdown))
