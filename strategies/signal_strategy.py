"""Long/flat (optionally short) strategy driven by the signal lines of a ``SignalFeed``.

At the close of bar ``t`` the strategy reads the decision made at ``t`` (if any)
and sets a target position: long when the decision's direction is +1 and its
probability is at least ``threshold``, short likewise for -1 when
``allow_short``, flat otherwise. A bar without a decision keeps the position.
Orders are sized with the open of bar ``t+1`` and fill at that open (backtrader's
cheat-on-open), so decisions never trade on the bar that produced them. A reversal
(long to short or back) closes and opens in the same open, the new side sized on the
cash left after the close. With ``close_at_end`` a position still open is closed at the
last bar's open (backtesting.py's ``finalize_trades``); by default it is marked at the
last close. ``sizing`` is ``fractional`` units (indices), whole
``shares`` or ``lots`` of ``lot_size``, worth ``position_size`` of equity, or a fixed
``position_cash`` amount (at most the equity).
Every fill is recorded with the decision row that caused it.

Optional risk rules, checked at each bar's close while a position is open and filled
at the next open like any exit (the fill's reason names the rule): ``stop_loss`` (the
close is that fraction against the entry price), ``take_profit`` (that fraction in
favour), ``trailing_stop`` (that fraction back from the best close since entry). After
such an exit the standing decision is not re-entered: the strategy waits for a decision
in another direction. ``target_volatility`` scales each entry to that annualised
volatility of the instrument (realised over ``volatility_lookback`` bars up to the
decision, ``bars_per_year`` per year), at most ``position_size`` of equity. ``next`` and
``next_open`` run under the look-ahead guard (strategies/guard.py): reading a line
forward (``self.data.close[1]``) raises ``LookAheadError``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import backtrader as bt
import pandas as pd

from xai_backtest.errors import StrategyDataError
from xai_backtest.strategies.guard import guarded

__all__ = ["Fill", "SignalStrategy", "StrategyDataError"]


@dataclass(frozen=True)
class Fill:
    """One executed order: bar position, signed size, price, commission, causing decision."""

    bar: int
    size: float
    price: float
    commission: float
    decision: int  # row in the SignalFrame; -1 for rule strategies such as buy-and-hold
    reason: str


class SignalStrategy(bt.Strategy):
    """Trade a ``SignalFeed``: see the module docstring for the rules."""

    params = (
        ("threshold", 0.5),
        ("allow_short", False),
        ("position_size", 1.0),
        ("sizing", "fractional"),
        ("lot_size", 1),
        ("position_cash", None),
        ("stop_loss", None),
        ("take_profit", None),
        ("trailing_stop", None),
        ("target_volatility", None),
        ("volatility_lookback", 20),
        ("bars_per_year", 252),
        ("close_at_end", False),
    )

    def __init__(self) -> None:
        if self.p.sizing not in ("fractional", "shares", "lots") or self.p.lot_size < 1:
            raise ValueError(f"sizing must be 'fractional', 'shares' or 'lots' (with lot_size "
                             f">= 1), got {self.p.sizing!r} and lot_size {self.p.lot_size}")
        for name in ("stop_loss", "take_profit", "trailing_stop", "target_volatility",
                     "position_cash"):
            value = getattr(self.p, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be a positive fraction such as 0.05, got {value}")
        self.fills: list[Fill] = []
        self.equity: list[float] = []
        self.exposure: list[bool] = []
        self.rejected: list[tuple[int, str, float, str]] = []  # bar, status, size, reason
        self._target = 0
        self._pending: tuple[int, int, str] | None = None  # target, decision row, reason
        self._fraction = self.p.position_size  # of equity, for the pending entry
        self._reasons: dict[int, tuple[int, str]] = {}
        self._best = math.nan  # best close since entry (for the trailing stop)
        self._stopped = 0  # direction a risk rule closed; not re-entered until it changes

    @classmethod
    def check_tradable(cls, bars: pd.DataFrame, params: Mapping[str, Any]) -> None:
        """Raise ``StrategyDataError`` when this strategy cannot trade ``bars``; the runner
        calls it (on any strategy class that has it) before fitting anything."""

    # decisions at the close of bar t -----------------------------------------------------
    def decide(self) -> tuple[int, int, str] | None:
        """Target position (-1, 0, 1), decision row and reason for this bar, or None to hold."""
        exit_ = self._risk_exit()
        if exit_ is not None:
            return exit_
        direction = self.data.direction[0]
        if math.isnan(direction):
            return None
        confident = self.data.probability[0] >= self.p.threshold
        target = int(direction) if confident else 0
        if target == -1 and not self.p.allow_short:
            target = 0
        if self._stopped:
            if target == self._stopped:
                return None  # the decision a risk rule closed still stands
            self._stopped = 0
        return target, int(self.data.decision[0]), "signal"

    def _risk_exit(self) -> tuple[int, int, str] | None:
        """An exit by ``stop_loss``, ``take_profit`` or ``trailing_stop`` at this close."""
        size = self.position.size
        if not size:
            return None
        side = 1 if size > 0 else -1
        close = self.data.close[0]
        self._best = close if math.isnan(self._best) else (
            max(self._best, close) if side > 0 else min(self._best, close))
        gain = side * (close / self.position.price - 1)
        rules = (("stop_loss", gain <= -(self.p.stop_loss or math.inf)),
                 ("take_profit", gain >= (self.p.take_profit or math.inf)),
                 ("trailing_stop", side * (close / self._best - 1)
                  <= -(self.p.trailing_stop or math.inf)))
        for reason, hit in rules:
            if hit:
                self._stopped = side
                return 0, -1, reason
        return None

    def _entry_fraction(self) -> float:
        """Fraction of equity for an entry decided at this close (volatility-targeted when
        ``target_volatility`` is set; the full ``position_size`` until enough bars)."""
        if self.p.target_volatility is None:
            return self.p.position_size
        lookback = self.p.volatility_lookback
        if len(self.data) <= lookback:
            return self.p.position_size
        closes = [self.data.close[-i] for i in range(lookback, -1, -1)]
        returns = [b / a - 1 for a, b in zip(closes, closes[1:], strict=False)]
        mean = sum(returns) / len(returns)
        std = math.sqrt(sum((r - mean) ** 2 for r in returns) / (len(returns) - 1))
        realised = std * math.sqrt(self.p.bars_per_year)
        if realised <= 0:
            return self.p.position_size
        return min(self.p.position_size, self.p.target_volatility / realised)

    @guarded
    def next(self) -> None:
        self.equity.append(self.broker.getvalue())
        self.exposure.append(bool(self.position.size))
        decision = self.decide()
        if decision is not None and decision[0] != self._target:
            self._pending = decision
            self._fraction = self._entry_fraction()

    # orders at the open of bar t+1 -------------------------------------------------------
    @guarded
    def next_open(self) -> None:
        if self.p.close_at_end and len(self.data) == self.data.buflen():
            self._pending = None
            if self.position.size:
                self._remember(self.close(), -1, "end of data: exit")
            return
        if self._pending is None:
            return
        target, decision, reason = self._pending
        self._pending = None
        self._target = target
        equity = self._equity_after_exit()  # before the exit order changes the position
        if self.position.size:
            self._remember(self.close(), decision, f"{reason}: exit")
        self._best = math.nan
        if target:
            budget = self._fraction * equity
            if self.p.position_cash is not None:
                budget = min(self.p.position_cash, equity)
            size = self._units(budget)
            if size > 0:
                order = self.buy(size=size) if target > 0 else self.sell(size=size)
                self._remember(order, decision, f"{reason}: entry")

    def _equity_after_exit(self) -> float:
        """Cash once the open position, if any, is closed at this open: the position valued
        at its worst-case exit price (slippage against it) less the exit's commission. A
        reversal sizes its new side on this, so it never asks for cash it does not have."""
        size = self.position.size
        cash = self.broker.getcash()
        if not size:
            return cash
        slip = self.broker.p.slip_perc
        price = self.data.open[0] * (1 - slip if size > 0 else 1 + slip)
        fee = self.broker.getcommissioninfo(self.data).getcommission(size, price)
        return cash + size * price - fee

    def _units(self, budget: float) -> float:
        """Units ``budget`` buys at this open (worst case: slippage and every cost included):
        fractional, or rounded down to whole shares or lots of ``lot_size``."""
        costs = self.broker.getcommissioninfo(self.data).p
        rate = costs.commission + getattr(costs, "half_spread", 0.0)
        per_unit = (self.data.open[0] * (1 + self.broker.p.slip_perc) * (1 + rate)
                    + getattr(costs, "per_share", 0.0))
        budget -= max(getattr(costs, "per_order", 0.0), getattr(costs, "minimum", 0.0))
        if budget <= 0:
            return 0.0
        if self.p.sizing == "fractional":
            return budget / (per_unit * (1 + 1e-9))
        lot = 1 if self.p.sizing == "shares" else self.p.lot_size
        return math.floor(budget / per_unit / lot) * lot

    def _remember(self, order: bt.Order | None, decision: int, reason: str) -> None:
        if order is not None:
            self._reasons[order.ref] = (decision, reason)

    def notify_order(self, order: bt.Order) -> None:
        if order.status == order.Completed:
            decision, reason = self._reasons.pop(order.ref)
            self.fills.append(Fill(bar=len(self.data) - 1, size=order.executed.size,
                                   price=order.executed.price,
                                   commission=order.executed.comm, decision=decision,
                                   reason=reason))
        elif order.status in (order.Canceled, order.Margin, order.Rejected):
            _, reason = self._reasons.pop(order.ref, (-1, "order"))
            self.rejected.append((len(self.data) - 1, order.getstatusname(),
                                  float(order.created.size), reason))
