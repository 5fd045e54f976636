"""The fast path: the built-in signal strategy's rules without backtrader's per-bar loop.

Targets come from the decisions in one vectorised pass; one compiled loop (numba) then
walks the bars, trading only where the target changes, because each order's size depends
on the cash the last one left. The order of operations follows backtrader's broker step
by step
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

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd
from numba import njit

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
    unknown = sorted(k for k in params if k not in FAST_PARAMS and k not in
                     _BAR_BY_BAR and k not in ("volatility_lookback", "bars_per_year"))
    if unknown:
        return f"the fast path does not model strategy parameter(s) {unknown}"
    return None


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
        columns = {k: bars[k].to_numpy(dtype=float, copy=True)  # writable: one compiled
                   for k in ("open", "high", "low", "close")}  # signature
        return cls(**columns, days=days)


_EXIT, _ENTRY, _END = 0, 1, 2
_SIZING = {"fractional": 0, "shares": 1, "lots": 2}


@dataclass(frozen=True)
class Run:
    """Equity and exposure at each close, fills and refused orders of one simulation, as
    arrays (``fills`` and ``rejected`` give them as ``run_strategy`` reports them)."""

    equity: np.ndarray
    exposure: np.ndarray
    fill_bar: np.ndarray
    fill_size: np.ndarray
    fill_price: np.ndarray
    fill_commission: np.ndarray
    fill_decision: np.ndarray
    fill_kind: np.ndarray  # _EXIT, _ENTRY or _END
    rejected_bar: np.ndarray
    rejected_size: np.ndarray
    rejected_kind: np.ndarray
    reason: str  # "signal" or "buy and hold"

    @property
    def entries(self) -> int:
        return int((self.fill_kind == _ENTRY).sum())

    def _reasons(self, kinds: np.ndarray) -> list[str]:
        words = {_EXIT: f"{self.reason}: exit", _ENTRY: f"{self.reason}: entry",
                 _END: "end of data: exit"}
        return [words[k] for k in kinds.tolist()]

    @property
    def fills(self) -> pd.DataFrame:
        return pd.DataFrame({"bar": self.fill_bar, "size": self.fill_size,
                             "price": self.fill_price, "commission": self.fill_commission,
                             "decision": self.fill_decision,
                             "reason": self._reasons(self.fill_kind)})

    @property
    def rejected(self) -> pd.DataFrame:
        return pd.DataFrame({"bar": self.rejected_bar, "status": "Margin",
                             "size": self.rejected_size,
                             "reason": self._reasons(self.rejected_kind)})


def simulate(bars: pd.DataFrame, decisions: pd.DataFrame | None, *, costs: Costs,
             cash: float, buy_and_hold: bool = False, name: str = "data",
             **params: Any) -> Run:
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
    n = len(tape.open)
    if buy_and_hold:
        wanted = np.full(n, np.nan)
        wanted[0] = 1.0
        rows = np.full(n, -1.0)
    else:
        wanted = _targets(direction, probability, threshold, allow_short)
    # bars at which an order is placed: the bar after a changed decision
    placed = _changes(wanted) + 1
    placed = placed[placed < (n - 1 if close_at_end else n)]
    if close_at_end:
        placed = np.r_[placed, n - 1]
    out = _kernel(tape.open, tape.high, tape.low, tape.days, wanted, np.array(rows, dtype=float),
                  placed.astype(np.int64), n - 1 if close_at_end else -1, float(cash),
                  costs.slippage, costs.commission + costs.spread / 2, costs.per_share,
                  costs.per_order, costs.minimum, costs.borrow_fee, float(position_size),
                  np.nan if position_cash is None else float(position_cash),
                  _SIZING[sizing], int(lot_size))
    cash_at, size_at, fills, fill_count, refused, refused_count = out
    fills, refused = fills[:, :fill_count], refused[:, :refused_count]
    return Run(equity=cash_at + size_at * tape.close, exposure=size_at != 0,
               fill_bar=fills[0].astype(int), fill_size=fills[1], fill_price=fills[2],
               fill_commission=fills[3], fill_decision=fills[4].astype(int),
               fill_kind=fills[5].astype(int), rejected_bar=refused[0].astype(int),
               rejected_size=refused[1], rejected_kind=refused[2].astype(int),
               reason="buy and hold" if buy_and_hold else "signal")


@njit(cache=True)
def _fee(size: float, price: float, rate: float, per_share: float, per_order: float,
         minimum: float) -> float:
    """``CostModel._getcommission``."""
    units = abs(size)
    return max(units * price * rate + units * per_share + per_order, minimum)


@njit(cache=True)
def _kernel(o, h, lo, days, wanted, rows, placed, end_bar, cash, slip, rate, per_share,
            per_order, minimum, borrow, position_size, position_cash, sizing, lot):
    """The bars in order, trading at ``placed`` ones; see the module doc. Returns cash and
    position at each close, fills (bar, size, price, commission, decision, kind) and
    refused orders (bar, size, kind), each with its count."""
    n = len(o)
    cash_at = np.empty(n)
    size_at = np.empty(n)
    fills = np.empty((6, 2 * len(placed) + 1))
    refused = np.empty((3, 2 * len(placed) + 1))
    n_fills = n_refused = 0
    orders = np.empty((3, 2))  # size, decision, kind of this bar's orders
    accepted = np.empty(2, dtype=np.bool_)
    size = entry = credit = 0.0
    start = 0
    for bar in list(placed) + [n]:
        for b in range(start, bar):  # no order: the position is held, a short pays its fee
            if size < 0 and borrow > 0 and days[b] > 0:
                fee = days[b] * (borrow / 365.0) * abs(size) * entry
                cash -= fee
                credit += fee
            cash_at[b] = cash
            size_at[b] = size
        if bar == n:
            break
        # the strategy's next_open: size on the cash before the bar's borrow fee
        count = 0
        if bar == end_bar:
            if size != 0:
                orders[0, 0], orders[1, 0], orders[2, 0] = -size, -1.0, _END
                count = 1
        else:
            equity = cash
            if size != 0:
                worst = o[bar] * (1 - slip) if size > 0 else o[bar] * (1 + slip)
                equity = cash + size * worst - _fee(size, worst, rate, per_share, per_order,
                                                    minimum)
                orders[0, 0], orders[1, 0], orders[2, 0] = -size, rows[bar - 1], _EXIT
                count = 1
            target = wanted[bar - 1]
            if target != 0:
                budget = (position_size * equity if np.isnan(position_cash)
                          else min(position_cash, equity))
                per_unit = o[bar] * (1 + slip) * (1 + rate) + per_share
                budget -= max(per_order, minimum)
                units = 0.0
                if budget > 0:
                    if sizing == 0:
                        units = budget / (per_unit * (1 + 1e-9))
                    else:
                        step = 1 if sizing == 1 else lot
                        units = np.floor(budget / per_unit / step) * step
                if units > 0:
                    orders[0, count], orders[1, count] = target * units, rows[bar - 1]
                    orders[2, count] = _ENTRY
                    count += 1
        # the broker's check at the unslipped open, on a running cash
        check_cash, check_size = cash, size
        for i in range(count):
            amount = orders[0, i]
            if check_size != 0 and (amount > 0) != (check_size > 0):
                check_cash += -amount * o[bar] - _fee(amount, o[bar], rate, per_share,
                                                      per_order, minimum)
            else:
                check_cash -= amount * o[bar] + _fee(amount, o[bar], rate, per_share,
                                                     per_order, minimum)
            check_size += amount
            accepted[i] = check_cash >= 0
            if not accepted[i]:
                refused[0, n_refused], refused[1, n_refused] = bar, amount
                refused[2, n_refused] = orders[2, i]
                n_refused += 1
        if size < 0 and borrow > 0 and days[bar] > 0:  # this bar's borrow fee
            fee = days[bar] * (borrow / 365.0) * abs(size) * entry
            cash -= fee
            credit += fee
        for i in range(count):  # fills at the open moved by slippage, within the range
            if not accepted[i]:
                continue
            amount = orders[0, i]
            if amount > 0:
                price = min(o[bar] * (1 + slip), h[bar]) if slip else o[bar]
            else:
                price = max(o[bar] * (1 - slip), lo[bar]) if slip else o[bar]
            fee = _fee(amount, price, rate, per_share, per_order, minimum)
            commission = fee
            if size != 0 and (amount > 0) != (size > 0):  # an exit: pays the fees owed
                cash += -amount * price - fee
                commission += credit
                credit = 0.0
                size = 0.0
            elif cash - amount * price - fee < 0:  # an entry the cash cannot pay for
                refused[0, n_refused], refused[1, n_refused] = bar, amount
                refused[2, n_refused] = orders[2, i]
                n_refused += 1
                continue
            else:
                cash -= amount * price + fee
                size, entry = amount, price
            fills[0, n_fills], fills[1, n_fills], fills[2, n_fills] = bar, amount, price
            fills[3, n_fills], fills[4, n_fills] = commission, orders[1, i]
            fills[5, n_fills] = orders[2, i]
            n_fills += 1
        cash_at[bar] = cash
        size_at[bar] = size
        start = bar + 1
    return cash_at, size_at, fills, n_fills, refused, n_refused
