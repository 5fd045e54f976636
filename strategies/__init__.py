"""backtrader strategies that read signal lines, never models."""

from strategies.buy_and_hold import BuyAndHold
from strategies.costs import Costs
from strategies.signal_strategy import Fill, SignalStrategy

__all__ = ["BuyAndHold", "Costs", "Fill", "SignalStrategy"]
