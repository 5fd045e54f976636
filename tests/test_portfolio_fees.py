"""Portfolio orders sized with every cost (issue 22, item 5): fixed, per-unit and minimum
fees beside commission and slippage; the held reference retries a refused buy, and says why
when a buy can never fill."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from xai_backtest.data_feeds.universe import build_universe
from xai_backtest.signals.base import SignalFrame
from xai_backtest.strategies.costs import CostModel, Costs
from xai_backtest.strategies.portfolio import equal_weight_references, run_portfolio

#: the default commission (5 bp) and slippage (2 bp), plus 0.01 a unit and 5 an order,
#: at least 1 an order
FEES = Costs(per_order=5.0, per_share=0.01, minimum=1.0)
CASH = 10_000.0
N_BARS = 30


def _bars(opens: np.ndarray, closes: np.ndarray) -> pd.DataFrame:
    index = pd.bdate_range("2020-01-06", periods=len(opens), tz="America/New_York")
    return pd.DataFrame({"open": opens, "high": np.maximum(opens, closes) * 1.01,
                         "low": np.minimum(opens, closes) * 0.99, "close": closes,
                         "volume": 1_000.0}, index=index)


def _universe():
    """Three instruments at very different prices, each drifting its own way."""
    t = np.arange(N_BARS, dtype=float)
    paths = {"a": 10 * 1.02 ** t, "b": 50 * 0.99 ** t, "c": 200 * (1 + 0.03 * np.sin(t))}
    return build_universe([(name, _bars(path, path * 1.005)) for name, path in paths.items()])


def _sizes_by_hand(universe, cash: float) -> dict[str, float]:
    """Units bought at the first open (bar 1): each instrument's third of the cash pays the
    slipped open, the commission on it, 0.01 a unit and the 5 of its order (above the
    minimum of 1), so units = (cash / 3 - 5) / (open x 1.0002 x 1.0005 + 0.01)."""
    out = {}
    for name in universe.names:
        fill = universe.bars[name]["open"].iloc[1] * (1 + 0.0002)
        out[name] = (cash / 3 - 5.0) / (fill * (1 + 0.0005) + 0.01)
    return out


def _fee_by_hand(units: float, fill: float) -> float:
    return max(units * fill * 0.0005 + units * 0.01 + 5.0, 1.0)


def _always_long(universe) -> dict[str, SignalFrame]:
    index = universe.calendar
    return {name: SignalFrame.up_down(f"s[{name}]", index, up=np.ones(len(index), bool),
                                      score=np.ones(len(index)),
                                      probability=np.full(len(index), 0.9))
            for name in universe.names}


def _runs(universe, costs: Costs = FEES, cash: float = CASH):
    runs = equal_weight_references(universe, costs=costs, cash=cash)
    runs["signals"] = run_portfolio(universe, _always_long(universe), name="signals",
                                    costs=costs, cash=cash)
    return runs


def test_every_portfolio_buys_every_instrument_sized_by_hand_with_every_fee():
    universe = _universe()
    expected = _sizes_by_hand(universe, CASH)
    spent = 0.0
    for name in universe.names:
        fill = universe.bars[name]["open"].iloc[1] * 1.0002
        spent += expected[name] * fill + _fee_by_hand(expected[name], fill)
    assert spent == pytest.approx(CASH, abs=1e-6)  # the three buys spend all the cash
    for run, result in _runs(universe).items():
        assert result.rejected.empty, f"{run}: {len(result.rejected)} refused order(s)"
        first = result.fills[result.fills["bar"] == 1].set_index("instrument")
        assert sorted(first.index) == ["a", "b", "c"], run
        for name, units in expected.items():
            fill = universe.bars[name]["open"].iloc[1] * 1.0002
            assert first.loc[name, "size"] == pytest.approx(units, rel=1e-8), (run, name)
            assert first.loc[name, "price"] == pytest.approx(fill, rel=1e-12)
            assert first.loc[name, "commission"] == pytest.approx(_fee_by_hand(units, fill),
                                                                  rel=1e-8)
        closes = sum(units * universe.bars[name]["close"].iloc[1]
                     for name, units in expected.items())
        assert result.equity.iloc[1] == pytest.approx(closes, abs=1e-4)  # no cash left over
        assert (result.weights.iloc[-1] > 0.2).all(), f"{run} does not hold every instrument"


def test_the_held_reference_pays_each_fixed_fee_once():
    held = equal_weight_references(_universe(), costs=FEES, cash=CASH)["equal_weight_held"]
    assert len(held.fills) == 3 and list(held.fills["reason"]) == ["entry"] * 3
    assert held.fills["commission"].sum() > 15.0  # three orders of 5 and their variable part


@pytest.mark.parametrize("costs", [FEES, Costs(per_order=50.0, per_share=0.05, minimum=60.0)])
def test_reversals_pay_the_fixed_fee_of_both_legs_and_are_never_refused(costs):
    """Long and short in turn: a reversal is one order that backtrader charges as two
    legs (closing, then opening), each with its fixed fee; the sizing pays both."""
    universe = _universe()
    index = universe.calendar
    decisions = {}
    for k, name in enumerate(universe.names):
        up = (np.arange(len(index)) // (3 + k)) % 2 == 0
        decisions[name] = SignalFrame.up_down(f"s[{name}]", index, up=up,
                                              score=np.ones(len(index)),
                                              probability=np.full(len(index), 0.9))
    result = run_portfolio(universe, decisions, costs=costs, cash=CASH, allow_short=True,
                           band=0.02)
    assert (result.fills["reason"] == "reverse").sum() > 10
    assert result.rejected.empty, result.rejected[["instrument", "status", "reason"]]


class _RefusesFirstOrder(CostModel):
    """The first order it prices costs more than any cash: the broker refuses it (Margin)."""

    def _getcommission(self, size: float, price: float, pseudoexec: bool) -> float:
        if not getattr(self, "_refused", False):
            self._refused = True
            return 1e12
        return super()._getcommission(size, price, pseudoexec)


@dataclass(frozen=True)
class _FirstBuyOfARefused(Costs):
    """``FEES``, with the broker refusing the first order for ``a`` (the largest, so the
    last checked: backtrader carries a refused order's cash into the next order's check)."""

    def apply(self, broker) -> None:
        super().apply(broker)
        broker.addcommissioninfo(_RefusesFirstOrder(
            commission=self.commission, per_share=self.per_share, per_order=self.per_order,
            minimum=self.minimum), name="a")


def test_the_held_reference_retries_a_refused_buy_and_holds_it_only_once_filled():
    costs = _FirstBuyOfARefused(per_order=5.0, per_share=0.01, minimum=1.0)
    held = equal_weight_references(_universe(), costs=costs, cash=CASH)["equal_weight_held"]
    a = held.fills[held.fills["instrument"] == "a"]
    assert list(a["bar"]) == [2] and list(a["reason"]) == ["entry"]  # retried at the next bar
    (refused,) = held.rejected.itertuples()
    assert (refused.instrument, refused.status, refused.bar) == ("a", "Margin", 1)
    assert held.weights["a"].iloc[1] == 0.0 and held.weights["a"].iloc[2] > 0.3
    assert list(held.fills["bar"]) == [1, 1, 2]  # b and c bought once at bar 1, never again


def test_a_buy_that_can_never_pay_its_fixed_fee_says_why():
    """12 of cash: a third of it, 4, does not pay the 5 an order costs, on any bar."""
    held = equal_weight_references(_universe(), costs=FEES, cash=12.0)["equal_weight_held"]
    assert held.fills.empty and (held.equity == 12.0).all()
    assert set(held.rejected["status"]) == {"NoCash"}
    assert len(held.rejected) == 3 * (N_BARS - 1)  # retried at every open
    reason = held.rejected["reason"].iloc[0]
    assert reason.startswith("entry: ") and "does not pay" in reason
    assert "costs.per_order" in reason and "4.00" in reason and "5.00" in reason


def test_default_costs_size_as_before():
    """Commission and slippage only: a buy spends its whole budget, as it always has."""
    universe = _universe()
    held = equal_weight_references(universe, cash=CASH)["equal_weight_held"]
    first = held.fills.set_index("instrument")
    for name in universe.names:
        open_ = universe.bars[name]["open"].iloc[1]
        units = CASH / 3 / (open_ * 1.0002 * 1.0005)
        assert first.loc[name, "size"] == pytest.approx(units, rel=1e-8)
    assert held.rejected.empty
