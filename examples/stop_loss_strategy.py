"""An own backtrader strategy, named in a YAML config as ``stop_loss_strategy:StopLossLong``.

It reads the framework's signal lines (``direction``, ``probability``), never a model:
long while the signal says up, out on a down decision, and out at once when the
price falls ``stop_loss`` below the entry (the reason recorded on the fill).

    python run_backtest.py --config examples/stop_loss.yaml
"""

import math

import backtrader as bt


class StopLossLong(bt.Strategy):
    params = (("threshold", 0.5), ("stop_loss", 0.05))

    def __init__(self):
        self.entry_price = None

    def next(self):
        direction = self.data.direction[0]
        if self.position and self.data.close[0] < self.entry_price * (1 - self.p.stop_loss):
            self.close(reason="stop_loss")
            return
        if math.isnan(direction):
            return
        wants_long = direction > 0 and self.data.probability[0] >= self.p.threshold
        if wants_long and not self.position:
            size = 0.99 * self.broker.getvalue() / self.data.close[0]
            self.buy(size=size, reason="signal: entry")
        elif not wants_long and self.position:
            self.close(reason="signal: exit")

    def notify_order(self, order):
        if order.status == order.Completed and order.isbuy():
            self.entry_price = order.executed.price
