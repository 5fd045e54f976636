"""backtrader strategies that read signal lines, never models."""

from xai_backtest.strategies.buy_and_hold import BuyAndHold
from xai_backtest.strategies.costs import Costs
from xai_backtest.strategies.signal_strategy import Fill, SignalStrategy

__all__ = ["BuyAndHold", "Costs", "Fill", "SignalStrategy", "strategy_class"]


def strategy_class(kind: str) -> type[SignalStrategy]:
    """The strategy a ``strategy.kind`` names."""
    if kind == "signal":
        return SignalStrategy
    if kind == "intraday":
        from xai_backtest.strategies.intraday import IntradayStrategy

        return IntradayStrategy
    raise ValueError(f"unknown strategy kind {kind!r}; use 'signal' or 'intraday'")
