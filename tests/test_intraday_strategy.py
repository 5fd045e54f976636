from __future__ import annotations

from datetime import time

import numpy as np
import pandas as pd
import pytest

from tests.minute_data import make_minute_bars
from xai_backtest.reports.trade_log import build_trade_log
from xai_backtest.signals.base import SignalFrame
from xai_backtest.strategies.backtest import run_strategy
from xai_backtest.strategies.costs import Costs

NO_COSTS = Costs(commission=0.0, slippage=0.0)


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return make_minute_bars(days=6, seed=4)


def decisions(bars: pd.DataFrame, directions: list[int], probability: float = 0.9) -> SignalFrame:
    times = bars.index[bars.index.time == time(10, 15)]
    frame = pd.DataFrame({"known_at": times, "score": 0.5, "label": "x",
                          "probability": probability, "direction": directions,
                          "fold": 0}, index=times)
    return SignalFrame("test", frame)


def run(bars, signals, **params):
    from xai_backtest.strategies.intraday import IntradayStrategy

    params.setdefault("exit_time", time(15, 30))
    return run_strategy("test", bars, signals, IntradayStrategy, costs=NO_COSTS, **params)


def test_enters_after_the_first_hour_and_exits_before_the_close(bars):
    result = run(bars, decisions(bars, [1, -1, 1, 1, -1, 1]))
    fills = result.fills
    entries, exits = fills.iloc[::2], fills.iloc[1::2]
    assert len(fills) == 8  # four long days, no shorts
    assert (entries["time"].dt.time == time(10, 16)).all()
    assert (exits["time"].dt.time == time(15, 30)).all()
    assert (entries["time"].dt.date.to_numpy() == exits["time"].dt.date.to_numpy()).all()
    np.testing.assert_allclose(entries["price"], bars.loc[entries["time"], "open"])
    np.testing.assert_allclose(exits["price"], bars.loc[exits["time"], "open"])
    assert list(exits["reason"]) == ["exit time: exit"] * 4
    assert (exits["decision"] == -1).all()
    last_bars = bars.groupby(bars.index.normalize()).tail(1).index
    assert not result.exposure.loc[last_bars].any()
    trades = build_trade_log(result, bars, decisions(bars, [1, -1, 1, 1, -1, 1]), {})
    assert (trades["status"] == "closed").all() and len(trades) == 4
    assert (trades["entry_decision_time"].dt.time == time(10, 15)).all()


def test_shorts_threshold_and_exit_time(bars):
    signals = decisions(bars, [1, -1, 1, 1, -1, 1])
    shorts = run(bars, signals, allow_short=True, exit_time=time(12, 0)).fills
    assert len(shorts) == 12 and (shorts["size"].iloc[2] < 0)
    assert (shorts["time"].iloc[1::2].dt.time == time(12, 0)).all()
    assert run(bars, decisions(bars, [1] * 6, probability=0.55), threshold=0.6).fills.empty


def test_stop_loss_and_take_profit_exit_at_the_next_open(bars):
    signals = decisions(bars, [1] * 6)
    fills = run(bars, signals, stop_loss=1e-6, take_profit=1e-6).fills
    exits = fills.iloc[1::2]
    assert set(exits["reason"]) <= {"stop_loss: exit", "take_profit: exit"}
    assert (exits["time"].dt.time < time(10, 30)).all()


def test_default_exit_time_is_learned_from_earlier_days(bars):
    fills = run(bars, decisions(bars, [1] * 6), exit_time=None).fills
    entries, exits = fills.iloc[::2], fills.iloc[1::2]
    first_day = bars.index[0].date()
    assert (entries["time"].dt.date != first_day).all()  # its close is unknown: no entry
    assert len(exits) == 5 and (exits["time"].dt.time == time(15, 30)).all()
    assert (entries["time"].dt.date.to_numpy() == exits["time"].dt.date.to_numpy()).all()


def test_an_entry_never_fills_on_the_next_day(bars):
    short_day = bars[~((bars.index.normalize() == bars.index[0].normalize())
                       & (bars.index.time > time(10, 15)))]
    fills = run(short_day, decisions(short_day, [1] * 6)).fills
    assert fills["time"].iloc[0].time() == time(10, 16)
    assert fills["time"].iloc[0].date() != short_day.index[0].date()


def test_costs_are_charged(bars):
    from xai_backtest.strategies.intraday import IntradayStrategy

    result = run_strategy("test", bars, decisions(bars, [1] * 6), IntradayStrategy,
                          exit_time=time(15, 30))
    assert (result.fills["commission"] > 0).all()


def test_bad_parameters_are_refused(bars):
    with pytest.raises(ValueError, match="exit_time"):
        run(bars, decisions(bars, [1] * 6), exit_time="15:30")
    with pytest.raises(ValueError, match="stop_loss"):
        run(bars, decisions(bars, [1] * 6), stop_loss=-0.1)
