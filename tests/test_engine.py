"""The backtrader engine: next-bar fills, costs, sizing, buy-and-hold, trade log."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.conftest import make_daily_bars
from tests.pins import buy_and_hold_final_equity
from xai_backtest.reports.metrics import summarize
from xai_backtest.reports.trade_log import build_trade_log
from xai_backtest.signals.base import SignalFrame
from xai_backtest.strategies import BuyAndHold, Costs
from xai_backtest.strategies.backtest import run_strategy


def _signals(bars, directions, probability=0.9):
    index = bars.index[: len(directions)]
    frame = pd.DataFrame({"known_at": index, "score": np.asarray(directions, float),
                          "label": ["up" if d > 0 else "down" for d in directions],
                          "probability": probability, "direction": directions, "fold": -1},
                         index=index)
    return SignalFrame("test", frame)


def test_fills_happen_at_the_next_bar_open():
    bars = make_daily_bars(10)
    result = run_strategy("t", bars, _signals(bars, [1, 1, 1, -1, -1, 1]), costs=Costs(0, 0))
    fills = result.fills
    assert fills["bar"].tolist() == [1, 4, 6]
    assert fills["price"].tolist() == pytest.approx(bars["open"].iloc[[1, 4, 6]].tolist())
    assert fills["decision"].tolist() == [0, 3, 5]


def test_costs_are_charged():
    bars = make_daily_bars(10)
    bars["high"] *= 1.01  # room for slippage: backtrader never fills outside the bar's range
    bars["low"] *= 0.99
    signals = _signals(bars, [1, 1, -1])
    free = run_strategy("t", bars, signals, costs=Costs(0, 0))
    paid = run_strategy("t", bars, signals, costs=Costs(commission=0.001, slippage=0.001))
    entry, exit_ = paid.fills.iloc[0], paid.fills.iloc[1]
    assert entry["price"] == pytest.approx(bars["open"].iloc[1] * 1.001)
    assert exit_["price"] == pytest.approx(bars["open"].iloc[3] * 0.999)
    assert entry["commission"] == pytest.approx(0.001 * entry["size"] * entry["price"])
    assert paid.equity.iloc[-1] < free.equity.iloc[-1]


def test_full_investment_without_rejected_orders():
    bars = make_daily_bars(300, seed=3)
    directions = [1 if (i // 7) % 2 == 0 else -1 for i in range(300)]
    result = run_strategy("t", bars, _signals(bars, directions))
    assert result.rejected.empty
    first = result.fills.iloc[0]
    assert first["size"] * first["price"] + first["commission"] == pytest.approx(100_000, rel=1e-6)


def test_threshold_and_shorting():
    bars = make_daily_bars(10)
    low = _signals(bars, [1, 1, 1], probability=0.55)
    assert run_strategy("t", bars, low, threshold=0.6).fills.empty
    short = run_strategy("t", bars, _signals(bars, [-1, -1, 1]), allow_short=True)
    assert short.fills["size"].iloc[0] < 0
    assert run_strategy("t", bars, _signals(bars, [-1, -1, -1])).fills.empty


def test_buy_and_hold_matches_the_price_path():
    bars = make_daily_bars(50)
    result = run_strategy("bh", bars, None, BuyAndHold, costs=Costs(0, 0))
    growth = bars["close"].iloc[-1] / bars["open"].iloc[1]
    assert result.equity.iloc[-1] == pytest.approx(100_000 * growth, rel=1e-9)
    assert result.exposure.iloc[0] == False  # noqa: E712  (decides at bar 0, fills at bar 1)
    assert result.exposure.iloc[1:].all()


@pytest.mark.parametrize("costs", [Costs(), Costs(commission=0.001, slippage=0.0005),
                                   Costs(spread=0.002, per_order=5.0, per_share=0.01)])
def test_buy_and_hold_equals_the_hand_computation_the_pins_use(costs):
    """tests/pins.py prices buy-and-hold from the bars and costs; the slow tests pin the
    real runs' buy-and-hold with it, so it is checked here against the engine."""
    bars = make_daily_bars(80, seed=4)
    result = run_strategy("bh", bars, None, BuyAndHold, costs=costs)
    assert result.equity.iloc[-1] == pytest.approx(
        buy_and_hold_final_equity(bars, 100_000.0, costs), abs=1e-6)


def test_trade_log_round_trips_and_open_trade():
    bars = make_daily_bars(12)
    signals = _signals(bars, [1, 1, -1, -1, 1])
    result = run_strategy("t", bars, signals, costs=Costs(0.001, 0))
    trades = build_trade_log(result, bars, signals, {})
    assert trades["status"].tolist() == ["closed", "open"]
    first = trades.iloc[0]
    assert first["entry_decision_time"] == bars.index[0]
    assert first["exit_decision_time"] == bars.index[2]
    assert first["net_pnl"] == pytest.approx(first["size"] * (first["exit_price"]
                                             - first["entry_price"]) - first["commission"])
    last = trades.iloc[1]
    assert last["exit_price"] == bars["close"].iloc[-1]
    summary = summarize(result, trades)
    assert summary.trades == 2
    assert summary.final_equity == pytest.approx(result.equity.iloc[-1])


def test_decision_off_the_bar_grid_is_refused():
    bars = make_daily_bars(10)
    signals = _signals(bars, [1, 1])
    moved = SignalFrame("test", signals.frame.set_axis(signals.frame.index
                                                       + pd.Timedelta(hours=1)).assign(
        known_at=lambda f: f.index))
    with pytest.raises(ValueError, match="not a bar time"):
        run_strategy("t", bars, moved)


def test_signal_frame_refuses_decisions_known_late():
    bars = make_daily_bars(5)
    frame = _signals(bars, [1, 1]).frame.copy()
    frame["known_at"] = frame.index + pd.Timedelta(days=1)
    with pytest.raises(ValueError, match="known only later"):
        SignalFrame("late", frame)


def test_reading_the_next_bar_fails_loudly():
    from xai_backtest.strategies.guard import LookAheadError
    from xai_backtest.strategies.signal_strategy import SignalStrategy

    class Peeking(SignalStrategy):
        def decide(self):
            return (1, -1, "peek") if self.data.close[1] > self.data.close[0] else None

    bars = make_daily_bars(20)
    with pytest.raises(LookAheadError, match=r"index \[1\]"):
        run_strategy("peek", bars, None, Peeking)


def test_reading_past_bars_is_allowed():
    from xai_backtest.strategies.signal_strategy import SignalStrategy

    class Momentum(SignalStrategy):
        def decide(self):
            if len(self.data) < 3:
                return None
            return (1 if self.data.close[0] > self.data.close[-2] else 0), -1, "momentum"

    result = run_strategy("m", make_daily_bars(40), None, Momentum)
    assert len(result.fills) > 0
