"""The paper's benchmark classifiers on the five-trend inputs: random forest, SVM, logistic
regression, and the majority class.

``fit_predict`` trains one of them on a training fold (balanced like the DNN, by
SMOTE on that fold only or by class weights) and predicts class indices of the
test rows. Inputs are expected already standardised with the training fold's
statistics (``FiveTrendDNN.scale`` of the fold model), so every model sees the
same features and folds.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from xai_backtest.errors import XaiBacktestError
from xai_backtest.signals.five_trend import smote_resample

__all__ = ["BENCHMARKS", "BenchmarkError", "fit_predict", "make_benchmark"]

BENCHMARKS = ("random_forest", "svm", "logistic", "majority")
Balance = Literal["smote", "class_weight", "none"]


class BenchmarkError(XaiBacktestError, ValueError):
    """An unknown benchmark name."""


def make_benchmark(name: str, seed: int, n_estimators: int = 500,
                   class_weight: str | None = None) -> object:
    """The scikit-learn estimator ``name``: random forest (entropy, ``n_estimators`` trees),
    SVM (RBF kernel, one-vs-one), multinomial logistic regression, or most-frequent."""
    from sklearn.dummy import DummyClassifier
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    if name == "random_forest":
        return RandomForestClassifier(n_estimators=n_estimators, criterion="entropy",
                                      class_weight=class_weight, random_state=seed, n_jobs=1)
    if name == "svm":
        return SVC(kernel="rbf", decision_function_shape="ovo", class_weight=class_weight,
                   random_state=seed)
    if name == "logistic":  # lbfgs fits the multinomial (softmax) model for > 2 classes
        return LogisticRegression(max_iter=500, class_weight=class_weight)
    if name == "majority":
        return DummyClassifier(strategy="most_frequent")
    raise BenchmarkError(f"unknown benchmark {name!r}; choose one of {BENCHMARKS}")


def fit_predict(name: str, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                seed: int, balance: Balance = "smote", n_estimators: int = 500) -> np.ndarray:
    """Class indices predicted for ``x_test`` by benchmark ``name`` fitted on the training
    fold (the majority class is that of the unbalanced training labels)."""
    weight = "balanced" if balance == "class_weight" and name != "majority" else None
    model = make_benchmark(name, seed, n_estimators, weight)
    if balance == "smote" and name != "majority":
        x_train, y_train = smote_resample(x_train, y_train, seed)
    model.fit(x_train, y_train)  # type: ignore[attr-defined]
    return np.asarray(model.predict(x_test), dtype=int)  # type: ignore[attr-defined]
