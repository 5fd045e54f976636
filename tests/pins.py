"""Buy-and-hold by hand, from the bars and the cost model, so a test pins it without a
hard-coded number (the rules of strategies/buy_and_hold.py, strategies/signal_strategy.py
and strategies/costs.py)."""

from __future__ import annotations

import pandas as pd

from xai_backtest.strategies.costs import Costs


def buy_and_hold_final_equity(bars: pd.DataFrame, cash: float, costs: Costs) -> float:
    """Final equity of buy-and-hold on ``bars``: decided at the first close, bought at the
    second bar's open with slippage against the order (never above that bar's high),
    sized so that the worst-case price and every per-order cost fit in ``cash``
    (fractional units, as the default sizing), charged its commission (and half the
    spread), and marked at the last close. Only percentage costs and fixed per-order /
    per-unit fees are modelled (the default config's and the examples')."""
    entry = bars.iloc[1]
    rate = costs.commission + costs.spread / 2
    per_unit = entry["open"] * (1 + costs.slippage) * (1 + rate) + costs.per_share
    budget = cash - max(costs.per_order, costs.minimum)
    units = budget / (per_unit * (1 + 1e-9))  # the strategy's guard against rounding
    price = min(entry["open"] * (1 + costs.slippage), entry["high"])
    fee = max(units * price * rate + units * costs.per_share + costs.per_order, costs.minimum)
    return cash - units * price - fee + units * bars["close"].iloc[-1]


def equal_weight_held_final_equity(bars: dict[str, pd.DataFrame], cash: float,
                                   costs: Costs) -> float:
    """Final equity of equal-weight buy-and-hold (strategies/portfolio.py, ``targets=
    "equal"`` without rebalancing) over instruments that all trade from the first bar on
    one calendar: 1/N of ``cash`` each, bought at the second bar's open with slippage
    (never above its high), sized so the worst-case price and commission fit the budget,
    held to the last close. Percentage costs only (commission, spread, slippage)."""
    rate = costs.commission + costs.spread / 2
    buffer = (1 + costs.slippage) * (1 + rate) * (1 + 1e-9)
    equity = cash
    for frame in bars.values():
        entry = frame.iloc[1]
        units = cash / len(bars) / (entry["open"] * buffer)
        price = min(entry["open"] * (1 + costs.slippage), entry["high"])
        equity += units * (frame["close"].iloc[-1] - price) - units * price * rate
    return equity
