"""xai-backtest: event-driven backtests whose every trade carries the explanation that caused it.

This module is the public API::

    from xai_backtest import Backtest
    result = Backtest("sp500", signals=[MySignal()]).run()

Names load on first use, so ``import xai_backtest`` stays fast and torch stays unloaded.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: public name -> module that defines it
_EXPORTS = {
    "Backtest": "xai_backtest.engine.backtest",
    "RunResult": "xai_backtest.engine.runner",
    "run_backtest": "xai_backtest.engine.runner",
    "RunConfig": "xai_backtest.engine.config",
    "ConfigError": "xai_backtest.engine.config",
    "build_config": "xai_backtest.engine.config",
    "load_config": "xai_backtest.engine.config",
    "ComponentError": "xai_backtest.engine.components",
    "register_signal": "xai_backtest.engine.components",
    "register_strategy": "xai_backtest.engine.components",
    "DataError": "xai_backtest.data_feeds.errors",
    "MarketData": "xai_backtest.data_feeds.market_data",
    "Signal": "xai_backtest.signals.base",
    "SignalFrame": "xai_backtest.signals.base",
    "WalkForwardSignal": "xai_backtest.signals.walk_forward",
    "RuleSignal": "xai_backtest.signals.rule",
    "SklearnSignal": "xai_backtest.signals.sklearn_signal",
    "check_signal": "xai_backtest.signals.contract",
    "ContractError": "xai_backtest.signals.contract",
    "Explanation": "xai_backtest.explainers.base",
    "SignalStrategy": "xai_backtest.strategies.signal_strategy",
}

__all__ = ["Backtest", "ComponentError", "ConfigError", "ContractError", "DataError",
           "Explanation", "MarketData", "RuleSignal", "RunConfig", "RunResult", "Signal",
           "SignalFrame", "SignalStrategy", "SklearnSignal", "WalkForwardSignal", "build_config",
           "check_signal", "load_config", "register_signal", "register_strategy", "run_backtest"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'xai_backtest' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


if TYPE_CHECKING:
    from xai_backtest.data_feeds.errors import DataError
    from xai_backtest.data_feeds.market_data import MarketData
    from xai_backtest.engine.backtest import Backtest
    from xai_backtest.engine.components import (
        ComponentError,
        register_signal,
        register_strategy,
    )
    from xai_backtest.engine.config import ConfigError, RunConfig, build_config, load_config
    from xai_backtest.engine.runner import RunResult, run_backtest
    from xai_backtest.explainers.base import Explanation
    from xai_backtest.signals.base import Signal, SignalFrame
    from xai_backtest.signals.contract import ContractError, check_signal
    from xai_backtest.signals.rule import RuleSignal
    from xai_backtest.signals.sklearn_signal import SklearnSignal
    from xai_backtest.signals.walk_forward import WalkForwardSignal
    from xai_backtest.strategies.signal_strategy import SignalStrategy
