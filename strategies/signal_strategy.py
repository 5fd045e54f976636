"""Long/flat (optionally short) strategy driven by the signal lines of a ``SignalFeed``.

At the close of bar ``t`` the strategy reads the decision made at ``t`` (if any)
and sets a target position: long when the decision's direction is +1 and its
probability is at least ``threshold``, short likewise for -1 when
``allow_short``, flat otherwise. A bar without a decision keeps the position.
Orders are sized with the open of bar ``t+1`` and fill at that open (backtrader's
cheat-on-open), so decisions never trade on the bar that produced them.
Every fill is recorded with the decision row that caused it. ``next`` and
``next_open`` run under the look-ahead guard (strategies/guard.py): reading a line
forward (``self.data.close[1]``) raises ``LookAheadError``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import backtrader as bt

from xai_backtest.strategies.guard import guarded

__all__ = ["Fill", "SignalStrategy"]


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
    )

    def __init__(self) -> None:
        self.fills: list[Fill] = []
        self.equity: list[float] = []
        self.exposure: list[bool] = []
        self.rejected: list[tuple[int, str]] = []
        self._target = 0
        self._pending: tuple[int, int, str] | None = None  # target, decision row, reason
        self._reasons: dict[int, tuple[int, str]] = {}

    # decisions at the close of bar t -----------------------------------------------------
    def decide(self) -> tuple[int, int, str] | None:
        """Target position (-1, 0, 1), decision row and reason for this bar, or None to hold."""
        direction = self.data.direction[0]
        if math.isnan(direction):
            return None
        confident = self.data.probability[0] >= self.p.threshold
        target = int(direction) if confident else 0
        if target == -1 and not self.p.allow_short:
            target = 0
        return target, int(self.data.decision[0]), "signal"

    @guarded
    def next(self) -> None:
        self.equity.append(self.broker.getvalue())
        self.exposure.append(bool(self.position.size))
        decision = self.decide()
        if decision is not None and decision[0] != self._target:
            self._pending = decision

    # orders at the open of bar t+1 -------------------------------------------------------
    @guarded
    def next_open(self) -> None:
        if self._pending is None:
            return
        target, decision, reason = self._pending
        self._pending = None
        self._target = target
        if self.position.size:
            self._remember(self.close(), decision, f"{reason}: exit")
        if target:
            size = self.p.position_size * self.broker.getvalue() / self._cost_per_unit()
            order = self.buy(size=size) if target > 0 else self.sell(size=size)
            self._remember(order, decision, f"{reason}: entry")

    def _cost_per_unit(self) -> float:
        """Worst-case cash per unit bought at this open, slippage and commission included."""
        commission = self.broker.getcommissioninfo(self.data).p.commission
        return self.data.open[0] * (1 + self.broker.p.slip_perc) * (1 + commission) * (1 + 1e-9)

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
            self._reasons.pop(order.ref, None)
            self.rejected.append((len(self.data) - 1, order.getstatusname()))
