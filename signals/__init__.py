"""Signals: estimator-like models that emit time-stamped, explainable decisions."""

from signals.base import ModelFileError, NotFittedError, Signal, SignalFrame
from signals.walk_forward import Fold, WalkForwardSignal, walk_forward_folds

__all__ = ["Fold", "ModelFileError", "NotFittedError", "Signal", "SignalFrame",
           "WalkForwardSignal", "walk_forward_folds"]
