"""Records equity, exposure, fills and refused orders of any backtrader strategy.

``SignalStrategy`` and its subclasses record these themselves, tying each fill to the
exact decision row behind it. A user's own ``bt.Strategy`` gets this analyzer: a fill
is tied to the latest decision made before its bar (the one in force when the order
filled at the open), and to the reason the strategy gave when placing the order
(``self.sell(reason="stop_loss")``; default ``"strategy"``). The strategy may also
pass ``decision=<row>`` to name the decision itself.
"""

from __future__ import annotations

import math

import backtrader as bt

from xai_backtest.strategies.signal_strategy import Fill

__all__ = ["FillRecorder"]


class FillRecorder(bt.Analyzer):
    """Equity and exposure at each bar close, every completed or refused order."""

    def start(self) -> None:
        self.equity: list[float] = []
        self.exposure: list[bool] = []
        self.fills: list[Fill] = []
        self.rejected: list[tuple[int, str, float, str]] = []  # bar, status, size, reason
        self._decision = -1

    def next(self) -> None:
        self.equity.append(self.strategy.broker.getvalue())
        self.exposure.append(bool(self.strategy.position.size))
        decision = self.data.decision[0]
        if not math.isnan(decision):
            self._decision = int(decision)

    def notify_order(self, order: bt.Order) -> None:
        bar = len(self.data) - 1
        if order.status == order.Completed:
            self.fills.append(Fill(bar=bar, size=order.executed.size,
                                   price=order.executed.price, commission=order.executed.comm,
                                   decision=int(order.info.get("decision", self._decision)),
                                   reason=str(order.info.get("reason", "strategy"))))
        elif order.status in (order.Canceled, order.Margin, order.Rejected):
            self.rejected.append((bar, order.getstatusname(), float(order.created.size),
                                  str(order.info.get("reason", "strategy"))))
