"""xai-backtest: event-driven backtests whose every trade carries the explanation that caused it.

This module is the public API::

    from xai_backtest import Backtest
    result = Backtest("sp500", signals=[MySignal()]).run()

Names load on first use, so ``import xai_backtest`` stays fast and torch stays unloaded.
Every error a user can hit is exported here and is an ``XaiBacktestError``
(xai_backtest/errors.py), so ``except XaiBacktestError`` catches them all.
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
    "build_config": "xai_backtest.engine.config",
    "load_config": "xai_backtest.engine.config",
    "ComponentError": "xai_backtest.engine.components",
    "register_signal": "xai_backtest.engine.components",
    "register_strategy": "xai_backtest.engine.components",
    "MarketData": "xai_backtest.data_feeds.market_data",
    "Signal": "xai_backtest.signals.base",
    "SignalFrame": "xai_backtest.signals.base",
    "WalkForwardSignal": "xai_backtest.signals.walk_forward",
    "RuleSignal": "xai_backtest.signals.rule",
    "SklearnSignal": "xai_backtest.signals.sklearn_signal",
    "check_signal": "xai_backtest.signals.contract",
    "Explanation": "xai_backtest.explainers.base",
    "SignalStrategy": "xai_backtest.strategies.signal_strategy",
    # the errors: one family, every one an XaiBacktestError
    **{name: "xai_backtest.errors" for name in (
        "XaiBacktestError", "ConfigError", "DataError", "UniverseError", "LookAheadError",
        "ContractError", "NotFittedError", "ModelFileError", "StrategyDataError",
        "AdditivityError")},
    "WalkForwardError": "xai_backtest.signals.walk_forward",
    "DeviceError": "xai_backtest.signals.device",
    "FastPathError": "xai_backtest.strategies.backtest",
    "GADFParameterError": "xai_backtest.signals.gadf_cnn",
    "TrendParameterError": "xai_backtest.signals.five_trend",
    "InsufficientHistoryError": "xai_backtest.signals.five_trend",
}

__all__ = ["AdditivityError", "Backtest", "ComponentError", "ConfigError", "ContractError",
           "DataError", "DeviceError", "Explanation", "FastPathError", "GADFParameterError",
           "InsufficientHistoryError", "LookAheadError", "MarketData", "ModelFileError",
           "NotFittedError", "RuleSignal", "RunConfig", "RunResult", "Signal", "SignalFrame",
           "SignalStrategy", "SklearnSignal", "StrategyDataError", "TrendParameterError",
           "UniverseError", "WalkForwardError", "WalkForwardSignal", "XaiBacktestError",
           "build_config", "check_signal", "load_config", "register_signal",
           "register_strategy", "run_backtest"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'xai_backtest' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


if TYPE_CHECKING:
    from xai_backtest.data_feeds.market_data import MarketData
    from xai_backtest.engine.backtest import Backtest
    from xai_backtest.engine.components import (
        ComponentError,
        register_signal,
        register_strategy,
    )
    from xai_backtest.engine.config import RunConfig, build_config, load_config
    from xai_backtest.engine.runner import RunResult, run_backtest
    from xai_backtest.errors import (
        AdditivityError,
        ConfigError,
        ContractError,
        DataError,
        LookAheadError,
        ModelFileError,
        NotFittedError,
        StrategyDataError,
        UniverseError,
        XaiBacktestError,
    )
    from xai_backtest.explainers.base import Explanation
    from xai_backtest.signals.base import Signal, SignalFrame
    from xai_backtest.signals.contract import check_signal
    from xai_backtest.signals.device import DeviceError
    from xai_backtest.signals.five_trend import InsufficientHistoryError, TrendParameterError
    from xai_backtest.signals.gadf_cnn import GADFParameterError
    from xai_backtest.signals.rule import RuleSignal
    from xai_backtest.signals.sklearn_signal import SklearnSignal
    from xai_backtest.signals.walk_forward import WalkForwardError, WalkForwardSignal
    from xai_backtest.strategies.backtest import FastPathError
    from xai_backtest.strategies.signal_strategy import SignalStrategy
