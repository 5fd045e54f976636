"""Trading costs: percentage commission and slippage, on by default."""

from __future__ import annotations

from dataclasses import dataclass

import backtrader as bt

__all__ = ["Costs", "FractionalShares"]


class FractionalShares(bt.CommInfoBase):
    """Stock-like percentage commission that allows fractional position sizes."""

    params = (("stocklike", True), ("commtype", bt.CommInfoBase.COMM_PERC), ("percabs", True))

    def getsize(self, price: float, cash: float) -> float:
        return self.p.leverage * (cash / price)


@dataclass(frozen=True)
class Costs:
    """``commission`` and ``slippage`` as fractions of the traded value (0.0005 = 5 bp)."""

    commission: float = 0.0005
    slippage: float = 0.0002

    def __post_init__(self) -> None:
        for name in ("commission", "slippage"):
            value = getattr(self, name)
            if not 0 <= value < 0.1:
                raise ValueError(f"costs.{name} must be in [0, 0.1), got {value}")

    def apply(self, broker: bt.brokers.BackBroker) -> None:
        """Install the costs on a backtrader broker; slippage also moves open-price fills,
        but never beyond the bar's high or low (backtrader's ``slip_match``)."""
        broker.addcommissioninfo(FractionalShares(commission=self.commission))
        broker.set_slippage_perc(self.slippage, slip_open=True, slip_limit=True,
                                 slip_match=True, slip_out=False)
