"""``SklearnSignal``: any scikit-learn classifier on features of past bars, walk-forward.

    SklearnSignal(model=GradientBoostingClassifier(max_depth=2), features=my_features)

``features(bars)`` returns one row per bar, each from that bar and earlier ones only
(the contract check catches anything else); by default a few return, volatility and
moving-average features. The label is the direction over ``horizon`` bars under
``label_basis`` (by default the return a next-open trade earns); training rows whose
label would reach past the history are left out, so a walk-forward fold never trains
on its test block. Each decision is explained by SHAP
chosen for the model (trees, linear, else permutation; see explainers/sklearn_shap.py),
additivity checked. The fitted estimator is saved with skops, which loads only
trusted types (its defaults, scikit-learn's own classes and ``trusted_types``; no
pickle): no ``state_attrs`` to declare. In YAML, ``model`` and
``features`` are ``module:name`` strings, and ``model_params`` the estimator's arguments.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.explainers.base import Explanation, UpOrDown, explanation
from xai_backtest.explainers.measured import DeletionWords, MeasuredSignal
from xai_backtest.signals.base import ModelFileError, Signal, SignalFrame
from xai_backtest.signals.labels import LabelBasis, direction_labels, label_reach

__all__ = ["SklearnSignal", "default_features"]

Features = Callable[[pd.DataFrame], pd.DataFrame]


def default_features(bars: pd.DataFrame) -> pd.DataFrame:
    """Returns over 1, 5 and 20 bars, 20-bar volatility, and the close's distance from its
    20- and 50-bar averages: each row from that bar and earlier ones."""
    close = bars["close"]
    daily = close.pct_change()
    return pd.DataFrame({
        "return_1": daily,
        "return_5": close.pct_change(5),
        "return_20": close.pct_change(20),
        "volatility_20": daily.rolling(20).std(),
        "gap_sma_20": close / close.rolling(20).mean() - 1,
        "gap_sma_50": close / close.rolling(50).mean() - 1,
    }, index=bars.index)


def _resolve(value: Any, what: str) -> Any:
    """``module:name`` strings (from YAML) to the object they name."""
    if not isinstance(value, str):
        return value
    module, _, attr = value.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError, ValueError) as e:
        raise ValueError(f"SklearnSignal {what} {value!r} does not import ({e}); use "
                         "'package.module:name'") from e


class SklearnSignal(MeasuredSignal, Signal):
    """A scikit-learn classifier with ``predict_proba`` as a signal (see the module doc)."""

    name = "sklearn"
    state_attrs = ("background_", "model_")
    #: types skops may load beyond its defaults and scikit-learn's own classes
    trusted_types: ClassVar[tuple[str, ...]] = ()

    def __init__(self, model: Any = None, features: Features | str | None = None,
                 model_params: dict[str, Any] | None = None, horizon: int = 1,
                 label_basis: LabelBasis = "open_to_open", background: int = 50,
                 seed: int | None = 0) -> None:
        self.model = model
        self.features = features
        self.model_params = model_params
        self.horizon = horizon
        self.label_basis = label_basis
        self.background = background
        self.seed = seed

    # -- inputs ------------------------------------------------------------------------------
    def _estimator(self) -> Any:
        from sklearn.base import clone
        from sklearn.linear_model import LogisticRegression

        model = _resolve(self.model, "model")
        if model is None:
            model = LogisticRegression(max_iter=1000)
        elif isinstance(model, type):
            model = model(**(self.model_params or {}))
        elif self.model_params:
            raise ValueError("SklearnSignal: give model_params only with a model class or "
                             "'module:Class', not with a built estimator")
        if not callable(getattr(model, "predict_proba", None)):
            raise TypeError(f"SklearnSignal model {model!r} has no predict_proba; use a "
                            "classifier (for SVC: probability=True)")
        model = clone(model)
        if self.seed is not None and "random_state" in model.get_params():
            model.set_params(random_state=self.seed)
        return model

    def _matrix(self, bars: pd.DataFrame) -> pd.DataFrame:
        make = _resolve(self.features, "features") or default_features
        x = make(bars)
        if not isinstance(x, pd.DataFrame) or not x.index.equals(bars.index):
            raise TypeError("SklearnSignal features must return a DataFrame on the bars' index "
                            "(one row per bar)")
        return x.replace([np.inf, -np.inf], np.nan).dropna().astype(float)

    # -- the contract ------------------------------------------------------------------------
    def decision_times(self, data: MarketData) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self._matrix(data.bars).index)

    def inputs(self, data: MarketData) -> pd.DataFrame:
        return self._matrix(data.bars)

    def labels(self, data: MarketData) -> pd.Series:
        labels = direction_labels(data.bars, self.label_basis, self.horizon)
        return labels.reindex(self.decision_times(data))

    def fit(self, history: MarketData) -> Self:
        x = self._matrix(history.bars)
        truth = self.labels(history)
        known = truth.notna().to_numpy()
        y = truth[known] == "up"
        if y.nunique() < 2:
            raise ValueError(f"SklearnSignal: {int(known.sum())} labelled rows in history with "
                             "one class only; give more history")
        x = x[known]
        self.model_ = self._estimator().fit(x, y.to_numpy())
        self.up_column_ = int(np.flatnonzero(self.model_.classes_ == True)[0])  # noqa: E712
        rows = np.unique(np.linspace(0, len(x) - 1, min(self.background, len(x))).astype(int))
        self.background_ = x.iloc[rows].to_numpy()
        self.feature_names_ = tuple(x.columns)
        bars = history.bars.index
        self.train_start_ = bars[0]
        self.train_end_ = bars[-1]
        self.label_end_ = bars[bars.get_loc(x.index[-1])
                               + label_reach(self.label_basis, self.horizon)]
        return self

    def predict(self, data: MarketData) -> SignalFrame:
        self.check_fitted()
        x = self._matrix(data.bars)
        p_up = self.model_.predict_proba(x)[:, self.up_column_] if len(x) else np.zeros(0)
        return SignalFrame.from_p_up(self.name, pd.DatetimeIndex(x.index), p_up)

    def explain(self, data: MarketData, at: Sequence[pd.Timestamp]) -> list[Explanation]:
        """SHAP of each decision, batched in one call, towards the predicted class."""
        from xai_backtest.explainers.sklearn_shap import explain_classifier

        self.check_fitted()
        x = self._matrix(data.bars).loc[[pd.Timestamp(t) for t in at]]
        background = pd.DataFrame(self.background_, columns=list(self.feature_names_))
        found = explain_classifier(self.model_, background, x, self.up_column_,
                                   seed=self.seed or 0)
        p_up = self.model_.predict_proba(x)[:, self.up_column_]
        out = []
        for i, stamp in enumerate(x.index):
            side = UpOrDown(p_up[i] >= 0.5)
            values = side.sign * found.values[i]
            base = found.base_values[i] if side.up else (
                1 - found.base_values[i] if found.space == "probability" else
                -found.base_values[i])
            out.append(explanation(
                "shap", self.name, stamp, prediction=side.label,
                probability=side.probability(p_up[i]), base_value=base, values=values,
                feature_names=self.feature_names_, data=x.iloc[i].to_numpy(),
                summary=_sentence(side.label, values, x.iloc[i], found.space, found.method),
                raw={"additivity_error": [abs(found.values[i].sum() + found.base_values[i]
                                              - found.outputs[i])]}, space=found.space))
        return out

    # -- faithfulness: what MeasuredSignal needs ------------------------------------------------
    def deletion_words(self) -> DeletionWords:
        """The top 10% features set to their mean over the training background rows. The
        randomisation check needs a re-initialisable model and is not run here."""
        return DeletionWords("the training mean, {k} features", inputs="features",
                             how=" to their training mean")

    def faithfulness_inputs(self, explanations: Sequence[Explanation]) -> np.ndarray:
        return np.stack([np.asarray(e.data) for e in explanations])

    def deletion_baseline(self, rows: np.ndarray) -> np.ndarray:
        return self.background_.mean(axis=0)

    def class_probabilities(self, rows: np.ndarray) -> np.ndarray:
        return self.model_.predict_proba(pd.DataFrame(rows, columns=list(self.feature_names_)))

    def class_indices(self, explanations: Sequence[Explanation]) -> np.ndarray:
        return np.array([self.up_column_ if e.prediction == "up" else 1 - self.up_column_
                         for e in explanations])

    def measured_fields(self, explanation: Explanation) -> dict[str, float]:
        return {"additivity_error": float(explanation.raw["additivity_error"][0])}

    # -- persistence -------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {"background_": self.background_}

    def _save_state(self, folder: Path) -> None:
        import skops.io as sio

        super()._save_state(folder)
        sio.dump(self.model_, folder / "model.skops")

    def _load_state(self, folder: Path) -> None:
        import skops.io as sio
        from sklearn.base import clone

        super()._load_state(folder)
        path = folder / "model.skops"
        found = sio.get_untrusted_types(file=path)
        untrusted = sorted(t for t in found if not t.startswith("sklearn.")
                           and t not in self.trusted_types)
        if untrusted:
            raise ModelFileError(f"{path}: refused, it holds types that are not trusted "
                                 f"{untrusted}; if you trust them, list them in "
                                 f"{type(self).__name__}.trusted_types")
        self.model_ = sio.load(path, trusted=found)
        self.feature_names_ = tuple(self.feature_names_)
        if self.model is None:
            self.model = clone(self.model_)


def _sentence(label: str, values: np.ndarray, row: pd.Series, space: str, method: str) -> str:
    """What pushed towards the predicted class and what pushed against it, each feature
    with its SHAP value and its share of the total |SHAP|: "rsi = 71.2 (+0.031, 42% of
    |SHAP|), gap = -0.5 (+0.01, 14%) pushed towards up"."""
    order = np.argsort(-np.abs(values), kind="stable")[:4]
    push = float(np.abs(values).sum()) or 1.0
    named = {i: f"{row.index[i]} = {row.iloc[i]:.4g} ({values[i]:+.3g}, "
                f"{abs(values[i]) / push:.0%}{' of |SHAP|' if k == 0 else ''})"
             for k, i in enumerate(order)}
    towards = [named[i] for i in order if values[i] > 0]
    against = [named[i] for i in order if values[i] < 0]
    text = f"{label}: " + (", ".join(towards) or "nothing") + f" pushed towards {label}"
    if against:
        text += f"; {', '.join(against)} pushed against"
    return f"{text} ({method}, {space})"
