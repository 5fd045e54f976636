"""backtrader strategies that read signal lines, never models."""

from xai_backtest.strategies.buy_and_hold import BuyAndHold
from xai_backtest.strategies.costs import Costs
from xai_backtest.strategies.portfolio import (
    PortfolioResult,
    PortfolioStrategy,
    equal_weight_references,
    run_portfolio,
)
from xai_backtest.strategies.signal_strategy import Fill, SignalStrategy

__all__ = ["STRATEGY_KINDS", "BuyAndHold", "Costs", "Fill", "PortfolioResult",
           "PortfolioStrategy", "SignalStrategy", "equal_weight_references", "run_portfolio"]

#: built-in strategy kinds -> "module:Class" (resolved by engine.components)
STRATEGY_KINDS: dict[str, str] = {
    "signal": "xai_backtest.strategies.signal_strategy:SignalStrategy",
    "intraday": "xai_backtest.strategies.intraday:IntradayStrategy",
    "portfolio": "xai_backtest.strategies.portfolio:PortfolioStrategy",
}
