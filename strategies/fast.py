"""The fast path: the built-in signal strategy's rules without backtrader's per-bar loop.

Targets come from the decisions in one vectorised pass; only the bars where the target
changes are visited, in order, because each order's size depends on the cash the last
one left. Between them equity is cash plus position times close, charged any borrow fee
bar by bar, in numpy. The order of operations follows backtrader's broker step by step
(with ``cheat_on_open``): the strategy sizes an order on the cash before the bar's
borrow fee; the broker checks every submitted order at the unslipped open (an order
whose cash would go negative is refused as ``Margin``), charges the fee, then fills the
exit and the entry at the open moved by slippage within the bar's range, refusing an
entry the cash cannot pay for. The result equals ``run_strategy(..., engine="backtrader")``
to 1e-9 (tests/test_fast_path.py).

It covers ``SignalStrategy`` and ``BuyAndHold`` with every sizing mode and cost model.
Rules that look at every bar's close while a position is open (``stop_loss``,
``take_profit``, ``trailing_stop``, ``target_volatility``) and any other strategy class
run on backtrader; ``fast_path_refusal`` says why in words.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import backtrader as bt
import numpy as np
import pandas as pd

from xai_backtest.data_feeds.bt_feeds import aligned_decisions
from xai_backtest.strategies.buy_and_hold import BuyAndHold
from xai_backtest.strategies.costs import Costs
from xai_backtest.strategies.signal_strategy import SignalStrategy

__all__ = ["FAST_PARAMS", "Run", "Tape", "fast_path_refusal", "simulate", "simulate_lines"]

#: parameters of the signal strategy the fast path models, with their defaults
FAST_PARAMS: dict[str, object] = {
    "threshold": 0.5, "allow_short": False, "position_size": 1.0, "sizing": "fractional",
    "lot_size": 1, "position_cash": None, "close_at_end": False}
_BAR_BY_BAR = ("stop_loss", "take_profit", "trailing_stop", "target_volatility")


def fast_path_refusal(strategy: type[bt.Strategy], params: Mapping[str, object]) -> str | None:
    """Why the fast path cannot run ``strategy`` with ``params``, or None when it can."""
    if strategy not in (SignalStrategy, BuyAndHold):
        return (f"strategy {strategy.__name__} is not the built-in signal strategy; the fast "
                "path only models its rules")
    for name in _BAR_BY_BAR:
        if params.get(name) is not None:
            return (f"strategy.{name} is a rule checked at every close while a position is "
                    "open; the fast path does not model it")
    unknown = sorted(k for k, v in params.items() if k not in FAST_PARAMS and k not in
                     _BAR_BY_BAR and k not in ("volatility_lookback", "bars_per_year"))
    if unknown:
        return f"the fast path does not model strategy parameter(s) {unknown}"
    return None


class _Broker:
    """Cash, one position and the fills of one run, updated exactly like backtrader's."""

    def __init__(self, cash: float, costs: Costs) -> None:
        self.cash = cash
        self.size = 0.0
        self.entry_price = 0.0  # backtrader's position.price
        self.credit = 0.0  # borrow fee charged since the last closing fill
        self.slip = costs.slippage
        self.rate = costs.commission + costs.spread / 2
        self.per_share = costs.per_share
        self.fixed = max(costs.per_order, costs.minimum)
        self.per_order = costs.per_order
        self.minimum = costs.minimum
        self.fills: list[tuple[int, float, float, float, int, str]] = []
        self.rejected: list[tuple[int, str, float, str]] = []

    def fee(self, size: float, price: float) -> float:
        units = abs(size)
        return max(units * price * self.rate + units * self.per_share + self.per_order,
                   self.minimum)

    def fill_price(self, size: float, o: float, h: float, lo: float) -> float:
        """The open moved by slippage against the order, within the bar's range."""
        if size > 0:
            return min(o * (1 + self.slip), h) if self.slip else o
        return max(o * (1 - self.slip), lo) if self.slip else o

    def sizing_equity(self, o: float) -> float:
        """The strategy's ``_equity_after_exit``: cash once the position is closed at the
        open moved against it, less the exit's fee."""
        if not self.size:
            return self.cash
        price = o * (1 - self.slip if self.size > 0 else 1 + self.slip)
        return self.cash + self.size * price - self.fee(self.size, price)

    def units(self, budget: float, o: float, sizing: str, lot: int) -> float:
        """The strategy's ``_units``: what ``budget`` buys at this open, every cost included."""
        per_unit = o * (1 + self.slip) * (1 + self.rate) + self.per_share
        budget -= self.fixed
        if budget <= 0:
            return 0.0
        if sizing == "fractional":
            return budget / (per_unit * (1 + 1e-9))
        step = 1 if sizing == "shares" else lot
        return math.floor(budget / per_unit / step) * step

    def check(self, bar: int, orders: list[tuple[float, int, str]],
              o: float) -> list[tuple[float, int, str]]:
        """The orders backtrader's ``check_submitted`` accepts: each is pseudo-executed at the
        unslipped open on a running cash; one that leaves it negative is refused
        (``Margin``), and its effect stays in the running cash, as in backtrader."""
        cash, size, accepted = self.cash, self.size, []
        for order in orders:
            amount = order[0]
            if size and (amount > 0) != (size > 0):
                cash += -amount * o - self.fee(amount, o)
            else:
                cash -= amount * o + self.fee(amount, o)
            size += amount
            if cash >= 0:
                accepted.append(order)
            else:
                self.rejected.append((bar, "Margin", amount, order[2]))
        return accepted

    def fill(self, bar: int, order: tuple[float, int, str], o: float, h: float,
             lo: float) -> None:
        amount, decision, reason = order
        price = self.fill_price(amount, o, h, lo)
        if self.size and (amount > 0) != (self.size > 0):  # an exit (orders never reverse)
            fee = self.fee(amount, price)
            self.cash += -amount * price - fee
            self.fills.append((bar, amount, price, fee + self.credit, decision, reason))
            self.credit = 0.0
            self.size = 0.0
            return
        fee = self.fee(amount, price)
        if self.cash - amount * price - fee < 0:
            self.rejected.append((bar, "Margin", amount, reason))
            return
        self.cash -= amount * price + fee
        self.size, self.entry_price = amount, price
        self.fills.append((bar, amount, price, fee, decision, reason))


def _targets(direction: np.ndarray, probability: np.ndarray, threshold: float,
             allow_short: bool) -> np.ndarray:
    """Each bar's wanted position (-1, 0, 1), NaN where no decision was made."""
    confident = probability >= threshold
    wanted = np.where(confident, direction, 0.0)
    if not allow_short:
        wanted[wanted == -1] = 0.0
    wanted[np.isnan(direction)] = np.nan
    return wanted


def _changes(wanted: np.ndarray) -> np.ndarray:
    """Bars whose decision differs from the target in force (the last one decided)."""
    decided = np.flatnonzero(~np.isnan(wanted))
    values = wanted[decided]
    previous = np.r_[0.0, values[:-1]]
    return decided[values != previous]


@dataclass(frozen=True)
class Tape:
    """Bars as arrays, built once and replayed by many simulations (a sweep)."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    days: np.ndarray  # calendar days since the previous bar (borrow fees accrue on them)

    @classmethod
    def of(cls, bars: pd.DataFrame) -> Tape:
        dates = bars.index.tz_localize(None).normalize()
        days = np.zeros(len(bars))
        days[1:] = (dates[1:] - dates[:-1]).days
        return cls(*(bars[k].to_numpy(dtype=float) for k in ("open", "high", "low", "close")),
                   days=days)


@dataclass(frozen=True)
class Run:
    """Equity and exposure at each close, fills and refused orders of one simulation."""

    equity: np.ndarray
    exposure: np.ndarray
    fills: pd.DataFrame
    rejected: pd.DataFrame


def simulate(bars: pd.DataFrame, decisions: pd.DataFrame | None, *, costs: Costs,
             cash: float, buy_and_hold: bool = False, name: str = "data",
             **params: object) -> Run:
    """The signal strategy (``params`` as in ``FAST_PARAMS``), or buy-and-hold, on
    ``bars`` with ``decisions`` (a ``SignalFrame``'s frame)."""
    lines = aligned_decisions(bars, None if buy_and_hold else decisions, name)
    return simulate_lines(Tape.of(bars), lines["direction"].to_numpy(),
                          lines["probability"].to_numpy(), lines["decision"].to_numpy(),
                          costs=costs, cash=cash, buy_and_hold=buy_and_hold, **params)


def simulate_lines(tape: Tape, direction: np.ndarray, probability: np.ndarray,
                   rows: np.ndarray, *, costs: Costs, cash: float, buy_and_hold: bool = False,
                   threshold: float = 0.5, allow_short: bool = False,
                   position_size: float = 1.0, sizing: str = "fractional", lot_size: int = 1,
                   position_cash: float | None = None, close_at_end: bool = False) -> Run:
    """``simulate`` on aligned signal lines (NaN where no decision was made)."""
    o, h, lo, days = tape.open, tape.high, tape.low, tape.days
    n = len(o)
    if buy_and_hold:
        wanted = np.full(n, np.nan)
        wanted[0] = 1.0
        rows = np.full(n, -1.0)
        reason = "buy and hold"
    else:
        wanted = _targets(direction, probability, threshold, allow_short)
        reason = "signal"
    # bars at which an order is placed: the bar after a changed decision
    placed = _changes(wanted) + 1
    placed = placed[placed < (n - 1 if close_at_end else n)]
    if close_at_end:
        placed = np.r_[placed, n - 1]
    broker = _Broker(cash, costs)
    cash_at = np.empty(n)  # cash at each close
    size_at = np.empty(n)
    start = 0
    for bar in placed.tolist():
        _hold(broker, costs, days, start, bar, cash_at, size_at)  # closes before this bar
        sizing_equity = broker.sizing_equity(o[bar])  # before this bar's borrow fee
        if close_at_end and bar == n - 1:
            orders = [(-broker.size, -1, "end of data: exit")] if broker.size else []
        else:
            budget = (position_size * sizing_equity if position_cash is None
                      else min(position_cash, sizing_equity))
            orders = _orders(broker, int(wanted[bar - 1]), int(rows[bar - 1]), reason,
                             broker.units(budget, o[bar], sizing, lot_size))
        accepted = broker.check(bar, orders, o[bar])
        _charge_borrow(broker, costs, days[bar])
        for order in accepted:
            broker.fill(bar, order, o[bar], h[bar], lo[bar])
        cash_at[bar], size_at[bar] = broker.cash, broker.size
        start = bar + 1
    _hold(broker, costs, days, start, n, cash_at, size_at)
    fills = pd.DataFrame(broker.fills, columns=["bar", "size", "price", "commission",
                                                "decision", "reason"])
    rejected = pd.DataFrame(broker.rejected, columns=["bar", "status", "size", "reason"])
    return Run(equity=cash_at + size_at * tape.close, exposure=size_at != 0, fills=fills,
               rejected=rejected)


def _orders(broker: _Broker, target: int, decision: int, reason: str,
            units: float) -> list[tuple[float, int, str]]:
    """The strategy's ``next_open``: close the position, then open ``units`` on
    ``target``'s side."""
    orders = [(-broker.size, decision, f"{reason}: exit")] if broker.size else []
    if target and units > 0:
        orders.append((target * units, decision, f"{reason}: entry"))
    return orders


def _charge_borrow(broker: _Broker, costs: Costs, days: float) -> None:
    """One bar's borrow fee on a short position (backtrader's credit interest)."""
    if broker.size >= 0 or not costs.borrow_fee or days <= 0:
        return
    fee = days * (costs.borrow_fee / 365.0) * abs(broker.size) * broker.entry_price
    broker.cash -= fee
    broker.credit += fee


def _hold(broker: _Broker, costs: Costs, days: np.ndarray, start: int, stop: int,
          cash_at: np.ndarray, size_at: np.ndarray) -> None:
    """Bars ``start`` to ``stop - 1`` without an order: the position held, short positions
    charged their borrow fee bar by bar."""
    if start >= stop:
        return
    size_at[start:stop] = broker.size
    if broker.size < 0 and costs.borrow_fee:
        fees = days[start:stop] * (costs.borrow_fee / 365.0) * abs(broker.size) \
            * broker.entry_price
        spent = np.cumsum(fees)
        cash_at[start:stop] = broker.cash - spent
        broker.cash -= spent[-1]
        broker.credit += spent[-1]
    else:
        cash_at[start:stop] = broker.cash
