"""Signals: estimator-like models that emit time-stamped, explainable decisions."""

from xai_backtest.signals.base import ModelFileError, NotFittedError, Signal, SignalFrame
from xai_backtest.signals.walk_forward import Fold, WalkForwardSignal, walk_forward_folds

__all__ = ["Fold", "ModelFileError", "NotFittedError", "Signal", "SignalFrame",
           "WalkForwardSignal", "walk_forward_folds"]
