"""Five-trend DNN: the daily signal of "An explainable deep learning approach for stock market
trend prediction" (Heliyon 2024), explained per decision with SHAP and LIME.

Inputs are the 15-day windows of 18 daily features (270 values, see
``signals.trend_features``), standardised with the mean and standard deviation of
the training window only. The class of decision ``t`` is the pattern of the next
``horizon`` closes (``signals.trend_labels``); samples without a clear trend are
dropped (``no_trend="drop"``, the paper's five classes) or kept as a sixth class
``"none"``. The network is the paper's 270-135-67-405-200 ReLU stack with dropout
after the first hidden layer, trained with Adam on cross-entropy; class imbalance is
handled by SMOTE on the training samples only (or class weights). Long on
``upward`` and ``rounded_bottom``; short/flat on ``downward``, ``double_top`` and
``rounded_top``; flat on ``none``.

``explain`` returns the SHAP explanation (``shap.DeepExplainer`` on the logit of
the predicted class, background from the training window) with the sums per
feature family and per lag, and LIME tabular weights for the same decision, in
``raw``; ``explain_lime`` returns the LIME explanation on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Self

import numpy as np
import pandas as pd

from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.errors import XaiBacktestError
from xai_backtest.explainers.base import Explanation, explanation
from xai_backtest.explainers.measured import DeletionWords, MeasuredSignal
from xai_backtest.signals.base import Signal, SignalFrame
from xai_backtest.signals.device import OnDevice, resolve_device
from xai_backtest.signals.trend_features import (
    FAMILIES,
    WARMUP,
    WINDOW,
    family_sums,
    feature_names,
    lag_sums,
    window_features,
)
from xai_backtest.signals.trend_labels import CLASSES, NONE, trend_labels

__all__ = ["DIRECTION", "LIME_MIN_R2", "FiveTrendDNN", "InsufficientHistoryError",
           "TrendParameterError", "class_weights", "smote_resample", "top_k_overlap"]

#: what each class means for trading
DIRECTION: dict[str, int] = {"upward": 1, "rounded_bottom": 1, "downward": -1,
                             "double_top": -1, "rounded_top": -1, NONE: 0}
_SIGNED = ("return_", "momentum_")  # families described by sign rather than level
_MIN_SAMPLES = 20


class TrendParameterError(XaiBacktestError, ValueError):
    """A hyperparameter of the five-trend signal out of range."""


class InsufficientHistoryError(XaiBacktestError, ValueError):
    """The training history yields too few labelled samples to fit."""


def smote_resample(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """SMOTE every class up to the largest one's count (classes with fewer than two samples
    cannot be interpolated and are kept as they are). Call on training samples only."""
    from imblearn.over_sampling import SMOTE

    classes, counts = np.unique(y, return_counts=True)
    target = counts.max()
    grow = {int(c): int(target) for c, n in zip(classes, counts, strict=True)
            if 2 <= n < target}
    if not grow:
        return x, y
    neighbours = min(5, min(int(counts[classes == c][0]) for c in grow) - 1)
    return SMOTE(sampling_strategy=grow, k_neighbors=neighbours,
                 random_state=seed).fit_resample(x, y)


def class_weights(y: np.ndarray, n_classes: int) -> np.ndarray:
    """Weights ``n / (k * count)`` of the classes present in ``y`` (1 for absent ones)."""
    counts = np.bincount(y, minlength=n_classes).astype(float)
    present = counts > 0
    weights = np.ones(n_classes)
    weights[present] = len(y) / (present.sum() * counts[present])
    return weights


class FiveTrendDNN(MeasuredSignal, OnDevice, Signal):
    """The paper's DNN over 270 window features; see the module docstring."""

    name = "five_trend"
    state_attrs = ("net_", "mean_", "scale_", "background_")

    def __init__(self, horizon: int = 10, min_range: float = 0.02, min_fit: float = 0.6,
                 no_trend: Literal["drop", "class"] = "drop", relative_prices: bool = True,
                 balance: Literal["smote", "class_weight", "none"] = "smote",
                 epochs: int = 20, batch_size: int = 256, learning_rate: float = 1e-3,
                 dropout: float = 0.2, background: int = 100, lime_samples: int = 500,
                 seed: int | None = None,
                 device: str = "auto", instruments: Sequence[str] = ()) -> None:
        self.horizon = horizon
        self.min_range = min_range
        self.min_fit = min_fit
        self.no_trend = no_trend
        self.relative_prices = relative_prices
        self.balance = balance
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.dropout = dropout
        self.background = background
        self.lime_samples = lime_samples
        self.seed = seed
        self.device = device
        self.instruments = tuple(instruments)
        self._check_device()

    # -- data --------------------------------------------------------------------------------
    @property
    def classes(self) -> tuple[str, ...]:
        return CLASSES + ((NONE,) if self.no_trend == "class" else ())

    def _check_params(self) -> None:
        problems = [f"{name}={getattr(self, name)!r} ({rule})" for name, ok, rule in (
            ("no_trend", self.no_trend in ("drop", "class"), "'drop' or 'class'"),
            ("balance", self.balance in ("smote", "class_weight", "none"),
             "'smote', 'class_weight' or 'none'"),
            ("epochs", self.epochs >= 1, ">= 1"),
            ("batch_size", self.batch_size >= 1, ">= 1"),
            ("learning_rate", self.learning_rate > 0, "> 0"),
            ("dropout", 0 <= self.dropout < 1, "in [0, 1)"),
            ("background", self.background >= 1, ">= 1 training rows"),
            ("lime_samples", self.lime_samples == 0 or self.lime_samples >= 10,
             "0 to skip LIME, else >= 10"),
        ) if not ok]
        if problems:
            raise TrendParameterError("FiveTrendDNN: bad hyperparameter(s): "
                                      + "; ".join(problems))

    def decision_times(self, data: MarketData) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(data.bars.index[WARMUP + WINDOW - 1:])

    def features(self, data: MarketData) -> pd.DataFrame:
        """The 270 unscaled inputs of every decision time of ``data``; with ``instruments``
        (a pooled model's universe), one more input per instrument, 1 for the instrument
        ``data`` holds (``data.symbol``) and 0 for the others."""
        x = window_features(data.bars["close"], self.relative_prices)
        if not self.instruments:
            return x
        if data.symbol not in self.instruments:
            raise ValueError(f"instrument {data.symbol!r} is not one of this model's "
                             f"instruments {list(self.instruments)}")
        names = self.input_names()[WINDOW_INPUTS:]
        own = pd.DataFrame({name: float(n == data.symbol)
                            for n, name in zip(self.instruments, names, strict=True)},
                           index=x.index)
        return pd.concat([x, own], axis=1)

    def inputs(self, data: MarketData) -> pd.DataFrame:
        return self.features(data)

    def input_names(self) -> tuple[str, ...]:
        """The name of every input: ``"<family> @ t-<k>"``, then ``"instrument = <name>"``."""
        return (*feature_names(), *(f"instrument = {n}" for n in self.instruments))

    def labels(self, data: MarketData) -> pd.Series:
        """The pattern of the next ``horizon`` closes; ``None`` where ``data`` ends too early
        and, with ``no_trend="drop"``, where there is no clear trend (such days are neither
        trained on nor scored, as in the paper's five-class setting)."""
        labels = trend_labels(data.bars["close"], self.horizon, self.min_range, self.min_fit)
        if self.no_trend == "drop":
            labels = labels.where(labels != NONE, None)
        return labels.reindex(self.decision_times(data))

    def evaluation_labels(self, data: MarketData) -> pd.Series:
        """Every decision's pattern, "none" included: the strategy trades on every day."""
        labels = trend_labels(data.bars["close"], self.horizon, self.min_range, self.min_fit)
        return labels.reindex(self.decision_times(data))

    def training_samples(self, history: MarketData) -> tuple[pd.DataFrame, np.ndarray]:
        """Unscaled inputs and class indices of the labelled decision times of ``history``
        (every label window ends inside ``history``)."""
        x = self.features(history)
        truth = self.labels(history)
        keep = truth.notna().to_numpy()
        index = {c: i for i, c in enumerate(self.classes)}
        return x[keep], np.array([index[c] for c in truth[keep]], dtype=np.int64)

    def scale(self, x: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Inputs standardised with the training window's mean and standard deviation."""
        return (np.asarray(x, dtype=float) - self.mean_) / self.scale_

    # -- fit / predict -----------------------------------------------------------------------
    def fit(self, history: MarketData) -> Self:
        return self.fit_pooled([history])

    def fit_pooled(self, histories: Sequence[MarketData]) -> Self:
        """Fit one network on the labelled samples of every history (instruments pooled);
        the scaler, the SHAP background and the class balance come from all of them.
        ``label_end_`` is the latest bar any training label read, over all histories."""
        from xai_backtest.signals._trend_net import train_net

        self._check_params()
        seed = 0 if self.seed is None else self.seed
        samples = [self.training_samples(history) for history in histories]
        x = pd.concat([s[0] for s in samples]) if samples else pd.DataFrame()
        y = np.concatenate([s[1] for s in samples]) if samples else np.zeros(0, np.int64)
        if len(y) < _MIN_SAMPLES or len(np.unique(y)) < 2:
            raise InsufficientHistoryError(
                f"history of {sum(len(h.bars) for h in histories)} bars gives {len(y)} "
                f"labelled samples of {len(np.unique(y))} class(es); need >= {_MIN_SAMPLES} "
                f"of >= 2 classes (the first {WARMUP + WINDOW - 1} bars are warm-up and the "
                f"last {self.horizon} have no label): give fit more history (min_train)")
        self.mean_ = x.to_numpy().mean(axis=0)
        scale = x.to_numpy().std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        scaled = self.scale(x)
        pick = np.unique(np.linspace(0, len(scaled) - 1, min(self.background, len(scaled)))
                         .round().astype(int))
        self.background_ = scaled[pick]
        weights = None
        train_x, train_y = scaled, y
        if self.balance == "smote":
            train_x, train_y = smote_resample(scaled, y, seed)
        elif self.balance == "class_weight":
            weights = class_weights(y, len(self.classes))
        self.net_ = train_net(train_x, train_y, len(self.classes), dropout=self.dropout,
                              epochs=self.epochs, batch_size=self.batch_size,
                              learning_rate=self.learning_rate, class_weight=weights, seed=seed,
                              device=resolve_device(self.device))
        self.classes_ = self.classes
        self.class_counts_ = {c: int(n) for c, n in
                              zip(self.classes, np.bincount(y, minlength=len(self.classes)),
                                  strict=True)}
        self.n_train_ = len(y)
        self.n_resampled_ = len(train_y)
        self.feature_names_ = self.input_names()
        ends = []
        for history, (rows, _) in zip(histories, samples, strict=True):
            if len(rows):
                bars = history.bars.index
                ends.append(bars[bars.get_loc(rows.index[-1]) + self.horizon])
        self.train_start_ = min(h.bars.index[0] for h in histories)
        self.train_end_ = max(h.bars.index[-1] for h in histories)
        self.label_end_ = max(ends)
        return self

    def predict_proba(self, data: MarketData) -> pd.DataFrame:
        """Class probabilities of every decision time of ``data``."""
        from xai_backtest.signals._trend_net import predict_proba

        self.check_fitted()
        x = self.features(data)
        return pd.DataFrame(predict_proba(self.net_, self.scale(x)), index=x.index,
                            columns=list(self.classes_))

    def predict(self, data: MarketData) -> SignalFrame:
        proba = self.predict_proba(data)
        if proba.empty:
            return SignalFrame.empty(self.name, tz=str(data.bars.index.tz))
        values = proba.to_numpy()
        labels = np.asarray(self.classes_, dtype=object)[values.argmax(axis=1)]
        sign = np.array([DIRECTION[c] for c in self.classes_], dtype=float)
        frame = pd.DataFrame({
            "known_at": proba.index,
            "score": values @ sign,  # P(long classes) - P(short classes)
            "label": labels,
            "probability": values.max(axis=1),
            "direction": [DIRECTION[c] for c in labels],
            "fold": -1,
        }, index=proba.index)
        return SignalFrame(self.name, frame)

    # -- explanations ------------------------------------------------------------------------
    def explain(self, data: MarketData, at: Sequence[pd.Timestamp]) -> list[Explanation]:
        """SHAP of the predicted class's logit per decision, with family and lag sums and
        (unless ``lime_samples=0``) LIME weights of the same decision in ``raw``."""
        return self.explain_inputs(self.inputs_at(data, at), at)

    def inputs_at(self, data: MarketData, at: Sequence[pd.Timestamp]) -> np.ndarray:
        """The unscaled inputs ``(len(at), inputs)`` of the decisions at ``at`` of ``data``."""
        self.check_fitted()
        features = self.features(data)
        stamps = pd.DatetimeIndex([pd.Timestamp(s) for s in at])
        missing = stamps.difference(features.index)
        if len(missing):
            raise ValueError(f"{missing[0]} is not a decision time of the data given to "
                             f"explain (decisions run from {features.index[0]} on)")
        return features.loc[stamps].to_numpy()

    def explain_inputs(self, x: np.ndarray, at: Sequence[pd.Timestamp]) -> list[Explanation]:
        """``explain`` on unscaled input rows ``x`` decided at ``at``: one batched SHAP call
        for all of them, whichever instruments they come from (the pooled model's)."""
        from xai_backtest.explainers.shap_explainer import deep_shap
        from xai_backtest.signals._trend_net import predict_proba

        scaled = self.scale(x)
        proba = predict_proba(self.net_, scaled)
        shap = deep_shap(self.net_, self.background_, scaled)
        out = []
        for i, stamp in enumerate(at):
            target = int(np.argmax(proba[i]))
            if shap.classes[i] != target:
                raise RuntimeError(f"SHAP explained class {shap.classes[i]} at {stamp}, but the "
                                   f"decision was class {target} (tied logits)")
            label = self.classes_[target]
            families = family_sums(shap.values[i][:WINDOW_INPUTS])
            raw: dict[str, Any] = {"family_shap": families,
                                   "lag_shap": lag_sums(shap.values[i][:WINDOW_INPUTS]),
                                   "logit": [shap.outputs[i]]}
            if self.instruments:
                raw["instrument_shap"] = shap.values[i][WINDOW_INPUTS:]
            summary = self._sentence(families, x[i], scaled[i], label,
                                     shap.outputs[i], shap.base_values[i])
            if self.lime_samples:
                lime = self._lime(scaled[i], target)
                overlap = top_k_overlap(shap.values[i], lime.weights)
                raw |= {"lime_weights": lime.weights, "lime_score": [lime.score],
                        "lime_intercept": [lime.intercept],
                        "shap_lime_top5_overlap": [overlap]}
                summary += " " + _lime_sentence(lime.rules, lime.score, overlap)
            out.append(explanation(
                "shap", self.name, stamp, prediction=label, probability=proba[i, target],
                base_value=shap.base_values[i], values=shap.values[i],
                feature_names=self.feature_names_, data=x[i], summary=summary, raw=raw,
                space="logit"))
        return out

    # -- faithfulness: what MeasuredSignal needs ------------------------------------------------
    def deletion_words(self) -> DeletionWords:
        """The top 10% inputs set to the fold's training mean (0 once scaled)."""
        return DeletionWords("the fold's training mean, {k} inputs",
                             how=" to their training mean")

    def faithfulness_inputs(self, explanations: Sequence[Explanation]) -> np.ndarray:
        return self.scale(np.stack([np.asarray(e.data) for e in explanations]))

    def deletion_baseline(self, rows: np.ndarray) -> np.ndarray:
        return np.zeros(rows.shape[1])  # 0 is the training mean once scaled

    def class_probabilities(self, rows: np.ndarray) -> np.ndarray:
        from xai_backtest.signals._trend_net import predict_proba

        return predict_proba(self.net_, rows)

    def randomised_net(self) -> Any:
        return self.net_

    def attributions_under(self, net: Any, rows: np.ndarray, classes: np.ndarray) -> np.ndarray:
        from xai_backtest.explainers.shap_explainer import deep_shap_of_classes

        return deep_shap_of_classes(net, self.background_, rows, classes)

    def infidelity_rows(self, explanations: Sequence[Explanation]) -> np.ndarray:
        return self.faithfulness_inputs(explanations)

    def infidelity_output(self, rows: np.ndarray) -> np.ndarray:
        """The logits: SHAP explains the predicted class's logit."""
        import torch

        with torch.no_grad():
            return self.net_(torch.as_tensor(rows, dtype=torch.float64)).numpy()

    def measured_fields(self, explanation: Explanation) -> dict[str, float]:
        """The SHAP additivity error on the explained logit."""
        return {"additivity_error": abs(float(explanation.values.sum()) + explanation.base_value
                                        - float(explanation.raw["logit"][0]))}

    def explain_lime(self, data: MarketData, at: Sequence[pd.Timestamp],
                     samples: int = 1000) -> list[Explanation]:
        """LIME tabular explanations (weights on the predicted class's probability)."""
        x, scaled, proba = self._rows(data, at)
        out = []
        for i, stamp in enumerate(at):
            target = int(np.argmax(proba[i]))
            lime = self._lime(scaled[i], target, samples)
            out.append(explanation(
                "lime_tabular", self.name, stamp, prediction=self.classes_[target],
                probability=proba[i, target], base_value=lime.intercept, values=lime.weights,
                feature_names=self.feature_names_, data=x[i],
                summary=_lime_sentence(lime.rules, lime.score),
                raw={"score": [lime.score], "local_prediction": [lime.local_prediction]}))
        return out

    def _rows(self, data: MarketData,
              at: Sequence[pd.Timestamp]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        from xai_backtest.signals._trend_net import predict_proba

        x = self.inputs_at(data, at)
        scaled = self.scale(x)
        return x, scaled, predict_proba(self.net_, scaled)

    def _lime(self, row: np.ndarray, target: int, samples: int | None = None) -> Any:
        from xai_backtest.explainers.lime_tabular import lime_weights
        from xai_backtest.signals._trend_net import predict_proba

        return lime_weights(lambda rows: predict_proba(self.net_, rows), self.background_, row,
                            target, self.feature_names_, self.classes_,
                            num_samples=samples or self.lime_samples,
                            seed=0 if self.seed is None else self.seed)

    def _sentence(self, families: np.ndarray, x: np.ndarray, scaled: np.ndarray, label: str,
                  logit: float, base: float, top: int = 2) -> str:
        """One sentence: the ``top`` families with the largest positive SHAP sums (towards
        the predicted class) and the ``top`` largest negative ones (against it), each with its
        sum and its share of the families' total |SHAP| (the largest one named), e.g.
        "rsi_15 low (+0.42, 31%) and momentum_10 negative (+0.31, 23%) pushed towards rounded
        bottom; close high (-0.52, 38%, the largest) pushed against it"."""
        last = np.arange(len(FAMILIES)) * WINDOW + WINDOW - 1  # column of each family at t
        order = np.argsort(-np.abs(families), kind="stable")
        push = float(np.abs(families).sum())
        parts: dict[bool, list[str]] = {True: [], False: []}
        for f in order:
            side = bool(families[f] > 0)
            if families[f] == 0 or len(parts[side]) == top:
                continue
            family = FAMILIES[f]
            if family.startswith(_SIGNED):
                state = "negative" if x[last[f]] < 0 else "positive"
            elif family == "close":  # relative to its own window (close @ t is 1 when relative)
                state = "low" if x[last[f]] < x[last[f] - WINDOW + 1:last[f] + 1].mean() else "high"
            else:
                state = "low" if scaled[last[f]] < 0 else "high"
            largest = ", the largest" if f == order[0] and len(families) > 1 else ""
            parts[side].append(f"{family} {state} ({families[f]:+.2f}, "
                               f"{abs(families[f]) / push:.0%}{largest})")
        name = label.replace("_", " ")
        clauses = []
        if parts[True]:
            clauses.append(f"{_joined(parts[True])} pushed towards {name}")
        if parts[False]:
            clauses.append(f"{_joined(parts[False])} pushed against "
                           f"{'it' if parts[True] else name}")
        shares = (f", percentages of the {len(FAMILIES)} families' total |SHAP| {push:.2f}"
                  if push else "")
        return (f"{'; '.join(clauses) or 'no input moved the decision'} (SHAP of the {name} "
                f"logit {logit:.2f} = base {base:.2f} {logit - base:+.2f}{shares}).")

    # -- persistence -------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {"net_": self.net_.state_dict(), "mean_": self.mean_, "scale_": self.scale_,
                "background_": self.background_}

    def _set_state(self, state: dict[str, Any]) -> None:
        from xai_backtest.signals._trend_net import TrendNet

        self.classes_ = tuple(self.classes_)
        self.feature_names_ = tuple(self.feature_names_)
        net = TrendNet(len(state["mean_"]), len(self.classes_), self.dropout).double()
        net.load_state_dict(state["net_"])
        self.net_ = net.eval()
        self.mean_, self.scale_ = state["mean_"], state["scale_"]
        self.background_ = state["background_"]


def _joined(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


#: inputs of the 15-day windows of 18 features, before any instrument inputs
WINDOW_INPUTS = len(FAMILIES) * WINDOW

#: below this local R^2 a LIME surrogate does not describe the model near the decision
LIME_MIN_R2 = 0.3
#: how many top inputs of SHAP and LIME are compared for their agreement
AGREEMENT_TOP = 5


def top_k_overlap(shap_values: np.ndarray, lime_weights: np.ndarray,
                  k: int = AGREEMENT_TOP) -> float:
    """Share of the ``k`` inputs with the largest |SHAP| that are also among LIME's ``k``
    largest |weights| (1: the two explainers name the same inputs)."""
    shap_top = set(np.argsort(-np.abs(shap_values), kind="stable")[:k].tolist())
    lime_top = set(np.argsort(-np.abs(lime_weights), kind="stable")[:k].tolist())
    return len(shap_top & lime_top) / k


def _lime_sentence(rules: Sequence[tuple[str, float]], score: float,
                   overlap: float | None = None, top: int = 3) -> str:
    """LIME's top rules and fit; with ``overlap`` (``top_k_overlap``) also its agreement
    with SHAP."""
    shown = ", ".join(f"{rule} ({weight:+.3f})" for rule, weight in rules[:top])
    fit = (f"local R^2 {score:.2f}" if score >= LIME_MIN_R2 else
           f"local R^2 {score:.2f}, below {LIME_MIN_R2}: unreliable, the linear surrogate "
           "does not fit the model here")
    agreement = ("" if overlap is None else
                 f" SHAP and LIME share {round(overlap * AGREEMENT_TOP)} of their top "
                 f"{AGREEMENT_TOP} inputs.")
    return f"LIME ({fit}): {shown}.{agreement}"
