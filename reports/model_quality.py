"""Out-of-sample classification quality of a signal, always beside the majority-class baseline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from xai_backtest.signals.base import SignalFrame

__all__ = ["Quality", "classification_quality", "confusion", "signal_quality"]


@dataclass(frozen=True)
class Quality:
    """Classification scores (macro-averaged) next to the majority-class baseline's."""

    n: int
    accuracy: float
    precision: float
    recall: float
    f1: float
    majority_class: str
    majority_accuracy: float
    majority_f1: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def confusion(truth: Sequence[str], predicted: Sequence[str],
              classes: Sequence[str]) -> pd.DataFrame:
    """Counts with true classes as rows and predicted classes as columns."""
    table = pd.crosstab(pd.Categorical(truth, categories=classes),
                        pd.Categorical(predicted, categories=classes), dropna=False)
    table.index.name, table.columns.name = "true", "predicted"
    return table


def classification_quality(truth: Sequence[str], predicted: Sequence[str],
                           classes: Sequence[str] | None = None,
                           majority: str | None = None) -> Quality:
    """Accuracy, macro precision/recall/F1 of ``predicted``; and the accuracy and macro F1 of
    always predicting the majority class (of ``truth`` unless ``majority`` is given, e.g. the
    training window's majority)."""
    truth_a = np.asarray(truth, dtype=object)
    pred_a = np.asarray(predicted, dtype=object)
    if len(truth_a) != len(pred_a) or len(truth_a) == 0:
        raise ValueError(f"need equal, non-zero lengths; got {len(truth_a)} and {len(pred_a)}")
    classes = list(classes) if classes is not None else sorted(set(truth_a) | set(pred_a))
    values, counts = np.unique(truth_a, return_counts=True)
    majority = majority or str(values[np.argmax(counts)])
    scores = _macro(truth_a, pred_a, classes)
    base = _macro(truth_a, np.full(len(truth_a), majority, dtype=object), classes)
    return Quality(n=len(truth_a), accuracy=float(np.mean(truth_a == pred_a)),
                   precision=scores[0], recall=scores[1], f1=scores[2], majority_class=majority,
                   majority_accuracy=float(np.mean(truth_a == majority)), majority_f1=base[2])


def _macro(truth: np.ndarray, pred: np.ndarray, classes: Sequence[str]) -> tuple[float, ...]:
    precision, recall, f1 = [], [], []
    for c in classes:
        tp = np.sum((pred == c) & (truth == c))
        p = tp / np.sum(pred == c) if np.any(pred == c) else 0.0
        r = tp / np.sum(truth == c) if np.any(truth == c) else 0.0
        precision.append(p)
        recall.append(r)
        f1.append(2 * p * r / (p + r) if p + r else 0.0)
    return float(np.mean(precision)), float(np.mean(recall)), float(np.mean(f1))


def signal_quality(signals: SignalFrame, truth: pd.Series,
                   classes: Sequence[str] | None = None) -> Quality:
    """Quality of a signal's decisions against the true labels at the same times."""
    joined = signals.frame[["label"]].join(truth.rename("truth"), how="inner").dropna()
    return classification_quality(joined["truth"].tolist(), joined["label"].tolist(), classes)
