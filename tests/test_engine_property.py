"""The engine against an independent plain-Python loop written from the stated rules.

Rules: a decision at bar t's close (+1 long, -1 short, 0 flat, NaN none) that differs from
the current target trades at bar t+1's open. The open position is closed first, at the
open moved by the slippage against it (never outside the bar's high-low range), less
commission; the new side is sized on the cash that close leaves, valued at the open
moved by the slippage against the exit, at ``position_size`` of it, per unit costing the
open plus slippage plus commission (fractional units, or whole shares rounded down);
its fill price is the open moved by the slippage against it, within the bar's range.
Equity at each close is cash plus position times close.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xai_backtest.signals.base import SignalFrame
from xai_backtest.strategies import Costs
from xai_backtest.strategies.backtest import run_strategy


def reference_equity(bars: pd.DataFrame, directions: np.ndarray, *, cash: float,
                     commission: float, slippage: float, sizing: str, fraction: float,
                     allow_short: bool) -> list[float]:
    o, h, lo, c = (bars[k].to_numpy() for k in ("open", "high", "low", "close"))
    position, target, pending, equity = 0.0, 0, None, []

    def fill(price: float, t: int) -> float:
        return min(max(price, lo[t]), h[t])

    for t in range(len(bars)):
        if pending is not None:
            new, pending = pending, None
            budget = cash
            if position:
                side = 1 if position > 0 else -1
                worst = o[t] * (1 - side * slippage)
                budget = cash + position * worst - abs(position) * worst * commission
                price = fill(o[t] * (1 - side * slippage), t)
                cash += position * price - abs(position) * price * commission
                position = 0.0
            if new:
                per_unit = o[t] * (1 + slippage) * (1 + commission)
                units = (fraction * budget / (per_unit * (1 + 1e-9)) if sizing == "fractional"
                         else math.floor(fraction * budget / per_unit))
                if units > 0:
                    price = fill(o[t] * (1 + new * slippage), t)
                    cash -= new * units * price + units * price * commission
                    position = new * units
            target = new
        equity.append(cash + position * c[t])
        if not math.isnan(directions[t]):
            wanted = int(directions[t])
            if wanted == -1 and not allow_short:
                wanted = 0
            if wanted != target:
                pending = wanted
    return equity


def random_bars(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    open_ = np.r_[close[0], close[:-1]] * np.exp(rng.normal(0, 0.01, n))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n))
    index = pd.bdate_range("2021-01-04", periods=n, tz="UTC")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close,
                         "volume": 1.0}, index=index)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(5, 60),
       moves=st.lists(st.sampled_from([1.0, -1.0, 0.0, math.nan]), min_size=60, max_size=60),
       commission=st.sampled_from([0.0, 0.0005, 0.002]),
       slippage=st.sampled_from([0.0, 0.0002, 0.003]),
       sizing=st.sampled_from(["fractional", "shares"]),
       fraction=st.sampled_from([1.0, 0.9999, 0.5]), allow_short=st.booleans(),
       cash=st.sampled_from([10_000.0, 1_000.0]))
def test_engine_equity_equals_the_reference_loop(seed, n, moves, commission, slippage, sizing,
                                                 fraction, allow_short, cash):
    bars = random_bars(seed, n)
    directions = np.asarray(moves[:n])
    decided = ~np.isnan(directions)
    index = bars.index[decided]
    signals = SignalFrame.up_down("p", index, up=directions[decided] > 0,
                                  score=directions[decided], probability=np.ones(decided.sum()))
    frame = signals.frame.assign(direction=directions[decided].astype(int))
    signals = SignalFrame("p", frame)
    result = run_strategy("p", bars, signals, costs=Costs(commission, slippage), cash=cash,
                          threshold=0.5, allow_short=allow_short, sizing=sizing,
                          position_size=fraction)
    expected = reference_equity(bars, directions, cash=cash, commission=commission,
                                slippage=slippage, sizing=sizing, fraction=fraction,
                                allow_short=allow_short)
    assert result.rejected.empty
    np.testing.assert_allclose(result.equity.to_numpy(), expected, rtol=1e-9, atol=1e-9)
