"""The errors a user can hit, one family: every one is an ``XaiBacktestError``.

``except XaiBacktestError`` catches them all (the command line does: one line, exit 2).
Each also subclasses the built-in error it always was (``ValueError``; ``AssertionError``
for a broken contract), so code that caught those still does. Errors of one module
(``WalkForwardError``, ``DeviceError``, a signal's parameter errors) are defined in it on
the same base; all are exported from ``xai_backtest``.
"""

from __future__ import annotations

__all__ = ["AdditivityError", "ConfigError", "ContractError", "DataError", "LookAheadError",
           "ModelFileError", "NotFittedError", "StrategyDataError", "UniverseError",
           "XaiBacktestError"]


class XaiBacktestError(Exception):
    """Base of every error a user can hit; its message names the input and the fix."""


class ConfigError(XaiBacktestError, ValueError):
    """A run configuration that cannot be used; the message names the key."""


class DataError(XaiBacktestError, ValueError):
    """Bad input data: names where (file, row or timestamp), what is wrong and how to fix it."""

    def __init__(self, source: str, problem: str, fix: str, where: str | None = None) -> None:
        self.source = source
        self.where = where
        self.problem = problem
        self.fix = fix
        location = f"{source}, {where}" if where else source
        super().__init__(f"{location}: {problem}. Fix: {fix}")

    def __reduce__(self) -> tuple[type[DataError], tuple[str, str, str, str | None]]:
        # the default pickles only the message; a run in another process re-raises this
        return type(self), (self.source, self.problem, self.fix, self.where)


class UniverseError(XaiBacktestError, ValueError):
    """A universe that cannot be built: empty, a repeated name, intraday bars."""


class LookAheadError(XaiBacktestError, ValueError, RuntimeError):
    """Data from at or after a decision reached it: a fold model that used data at or after
    its cut, a signal whose earlier decisions change when later bars change, or strategy
    code that read a bar that has not happened yet (a ``RuntimeError`` too, as it was)."""


class ContractError(XaiBacktestError, AssertionError):
    """A signal breaks a rule of the contract; the message names the rule."""


class NotFittedError(XaiBacktestError, ValueError):
    """A signal was asked to predict or explain before ``fit``."""


class ModelFileError(XaiBacktestError, ValueError):
    """A saved signal cannot be loaded: missing, truncated, or made by another signal."""


class StrategyDataError(XaiBacktestError, ValueError):
    """A strategy that cannot trade the run's bars, refused before any work."""


class AdditivityError(XaiBacktestError, ValueError):
    """SHAP values that do not add up to the model's output: the explanation would describe
    another model."""
