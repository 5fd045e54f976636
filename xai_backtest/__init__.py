"""xai-backtest: event-driven backtests whose every trade carries the explanation that caused it.

The public API is this module; everything else is importable but may change.
"""

from xai_backtest.data_feeds import DataError, MarketData
from xai_backtest.engine.config import ConfigError, RunConfig, build_config, load_config
from xai_backtest.engine.runner import RunResult, run_backtest
from xai_backtest.explainers import Explanation
from xai_backtest.signals import Signal, SignalFrame, WalkForwardSignal

__all__ = ["ConfigError", "DataError", "Explanation", "MarketData", "RunConfig", "RunResult",
           "Signal", "SignalFrame", "WalkForwardSignal", "build_config", "load_config",
           "run_backtest"]
