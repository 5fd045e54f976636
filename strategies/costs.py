"""Trading costs, on by default, installed as one backtrader commission scheme.

Per order: ``commission`` (fraction of traded value), ``spread`` (the quoted bid-ask
spread as a fraction of price; half of it is paid on each side), ``per_share`` (cash per
unit), ``per_order`` (fixed cash per order), the total raised to ``minimum`` per order.
``slippage`` moves fills against the order by that fraction, never beyond the bar's
high or low. ``borrow_fee`` is an annual rate on short positions, charged by backtrader's
credit interest: calendar days x short entry notional x rate / 365.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import backtrader as bt

__all__ = ["CostModel", "Costs"]


class CostModel(bt.CommInfoBase):
    """Stock-like commission scheme with fractional sizes and every per-order cost."""

    params = (("stocklike", True), ("commtype", bt.CommInfoBase.COMM_PERC), ("percabs", True),
              ("half_spread", 0.0), ("per_share", 0.0), ("per_order", 0.0), ("minimum", 0.0),
              ("interest_long", False))

    def _getcommission(self, size: float, price: float, pseudoexec: bool) -> float:
        units = abs(size)
        fee = (units * price * (self.p.commission + self.p.half_spread)
               + units * self.p.per_share + self.p.per_order)
        return max(fee, self.p.minimum)

    def getsize(self, price: float, cash: float) -> float:
        return self.p.leverage * (cash / price)


@dataclass(frozen=True)
class Costs:
    """Every cost of a trade; see the module doc (fractions: 0.0005 = 5 bp)."""

    commission: float = 0.0005
    slippage: float = 0.0002
    spread: float = 0.0
    per_share: float = 0.0
    per_order: float = 0.0
    minimum: float = 0.0
    borrow_fee: float = 0.0

    def __post_init__(self) -> None:
        for name in ("commission", "slippage", "spread"):
            value = getattr(self, name)
            if not 0 <= value < 0.1:
                raise ValueError(f"costs.{name} must be in [0, 0.1), got {value}")
        for name in ("per_share", "per_order", "minimum", "borrow_fee"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"costs.{name} must be >= 0, got {getattr(self, name)}")

    def apply(self, broker: bt.brokers.BackBroker) -> None:
        """Install the costs on a backtrader broker; slippage also moves open-price fills,
        but never beyond the bar's high or low (backtrader's ``slip_match``)."""
        broker.addcommissioninfo(CostModel(
            commission=self.commission, half_spread=self.spread / 2, per_share=self.per_share,
            per_order=self.per_order, minimum=self.minimum, interest=self.borrow_fee))
        broker.set_slippage_perc(self.slippage, slip_open=True, slip_limit=True,
                                 slip_match=True, slip_out=False)

    def describe(self) -> str:
        """The cost assumptions in words, for the report."""
        parts = [f"{self.commission:.2%} commission", f"{self.slippage:.2%} slippage"]
        if self.spread:
            parts.append(f"{self.spread:.2%} bid-ask spread (half per side)")
        if self.per_share:
            parts.append(f"{self.per_share:g} per unit")
        if self.per_order:
            parts.append(f"{self.per_order:g} per order")
        if self.minimum:
            parts.append(f"at least {self.minimum:g} per order")
        if self.borrow_fee:
            parts.append(f"{self.borrow_fee:.2%} a year borrow fee on shorts")
        return " + ".join(parts)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))
