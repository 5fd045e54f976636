"""Each cost model against a hand computation on a constructed round trip.

Bars open at 100 on the entry bar and 110 on the exit bar; 10,000 cash, whole shares,
no slippage unless stated: the strategy buys floor(budget / cost per unit) units.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xai_backtest.signals.base import SignalFrame
from xai_backtest.strategies import Costs
from xai_backtest.strategies.backtest import run_strategy

OPENS = [100.0, 100.0, 105.0, 110.0, 110.0]


def round_trip(costs: Costs, direction: int = 1):
    """Decide at bar 0's close, exit decision at bar 2's close: fills at bars 1 and 3."""
    index = pd.bdate_range("2021-03-01", periods=len(OPENS), tz="UTC")  # Mon..Fri
    opens = np.asarray(OPENS)
    bars = pd.DataFrame({"open": opens, "high": opens * 1.01, "low": opens * 0.99,
                         "close": opens, "volume": 1.0}, index=index)
    decided = index[[0, 2]]
    signals = SignalFrame.up_down("c", decided, up=np.array([direction > 0, direction < 0]),
                                  score=np.zeros(2), probability=np.ones(2))
    signals = SignalFrame("c", signals.frame.assign(direction=[direction, 0]))
    return run_strategy("c", bars, signals, costs=costs, cash=10_000.0, sizing="shares",
                        allow_short=True)


def final(result) -> float:
    return float(result.equity.iloc[-1])


@pytest.mark.parametrize(("costs", "units", "fees"), [
    # percent of value: floor(10,000 / 100.1) = 99 units; 0.1% of 9,900 and of 10,890
    (Costs(commission=0.001, slippage=0), 99, 9.9 + 10.89),
    # bid-ask spread 0.2%: half (0.1%) per side, the same as above
    (Costs(commission=0, slippage=0, spread=0.002), 99, 9.9 + 10.89),
    # per share: 0.01 a unit, floor(10,000 / 100.01) = 99 units
    (Costs(commission=0, slippage=0, per_share=0.01), 99, 2 * 0.99),
    # fixed per order: 5 each; budget 9,995 -> 99 units
    (Costs(commission=0, slippage=0, per_order=5.0), 99, 10.0),
    # minimum per order: 1 bp would be 0.99 and 1.089, raised to 7 each
    (Costs(commission=0.0001, slippage=0, minimum=7.0), 99, 14.0),
])
def test_each_cost_model_matches_the_hand_computation(costs, units, fees):
    result = round_trip(costs)
    fills = result.fills
    assert fills["size"].tolist() == [units, -units]
    assert fills["commission"].sum() == pytest.approx(fees, abs=1e-9)
    assert final(result) == pytest.approx(10_000 + units * 10 - fees, abs=1e-9)


def test_slippage_moves_fills_against_the_order():
    result = round_trip(Costs(commission=0, slippage=0.001))
    # per unit 100.1 -> 99 units; bought at 100.1, sold at 110 * 0.999 = 109.89
    assert result.fills["price"].tolist() == pytest.approx([100.1, 109.89])
    assert final(result) == pytest.approx(10_000 + 99 * (109.89 - 100.1))


def test_the_borrow_fee_is_charged_on_short_notional_per_calendar_day():
    result = round_trip(Costs(commission=0, slippage=0, borrow_fee=0.365), direction=-1)
    # short 100 units at 100 (per unit 100, 10,000 / 100 = 100) on Tuesday, bought back
    # Thursday: 2 calendar days x 10,000 notional x 0.365 / 365 = 20
    assert result.fills["size"].tolist() == [-100, 100]
    assert final(result) == pytest.approx(10_000 - 100 * 10 - 20.0, abs=1e-9)


def test_the_report_states_every_cost():
    text = Costs(commission=0.001, slippage=0.0002, spread=0.002, per_share=0.01,
                 per_order=1.0, minimum=2.0, borrow_fee=0.03).describe()
    for part in ("0.10% commission", "0.02% slippage", "0.20% bid-ask spread (half per side)",
                 "0.01 per unit", "1 per order", "at least 2 per order",
                 "3.00% a year borrow fee on shorts"):
        assert part in text


def test_a_fixed_cash_amount_per_position():
    index = pd.bdate_range("2021-03-01", periods=len(OPENS), tz="UTC")
    opens = np.asarray(OPENS)
    bars = pd.DataFrame({"open": opens, "high": opens, "low": opens, "close": opens,
                         "volume": 1.0}, index=index)
    signals = SignalFrame.up_down("c", index[:1], up=np.array([True]), score=np.ones(1),
                                  probability=np.ones(1))
    result = run_strategy("c", bars, signals, costs=Costs(0, 0), cash=10_000.0,
                          sizing="shares", position_cash=2_550.0)
    assert result.fills["size"].tolist() == [25]  # floor(2,550 / 100)
