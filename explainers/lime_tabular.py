"""LIME tabular explanation of one classifier decision, with a fixed seed.

LIME samples Gaussian perturbations of the row, scaled by the standard deviations of
``training_data``, asks ``predict_proba`` for the target class's probability and fits
a weighted linear model; its weights are the contributions. The result is a **local
surrogate** of the probability, not an exact decomposition (unlike SHAP's): ``score``
is the surrogate's weighted R^2. Continuous inputs are not discretised into quartile
bins: LIME's bin sampling costs about 5x more per explanation (scipy truncated
normals per feature and bin) and every trade of a run is explained.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["LimeWeights", "lime_weights"]


@dataclass(frozen=True)
class LimeWeights:
    """``weights`` (d,): surrogate weight of each input (0 where LIME did not select it);
    ``rules``: LIME's condition text of the selected inputs, largest first;
    ``intercept``, ``score`` (R^2) and ``local_prediction`` of the surrogate."""

    weights: np.ndarray
    rules: tuple[tuple[str, float], ...]
    intercept: float
    score: float
    local_prediction: float


def lime_weights(predict_proba: Callable[[np.ndarray], np.ndarray], training_data: np.ndarray,
                 row: np.ndarray, target: int, feature_names: Sequence[str],
                 class_names: Sequence[str], num_features: int = 10, num_samples: int = 1000,
                 seed: int = 0) -> LimeWeights:
    """LIME tabular weights of class ``target``'s probability at ``row``; the same seed,
    row and model always give the same weights."""
    from lime.lime_tabular import LimeTabularExplainer

    if num_features < 1 or num_samples < 10:
        raise ValueError(f"need num_features >= 1 and num_samples >= 10, got "
                         f"{num_features=}, {num_samples=}")
    explainer = LimeTabularExplainer(np.asarray(training_data), mode="classification",
                                     feature_names=list(feature_names),
                                     class_names=list(class_names), discretize_continuous=False,
                                     random_state=seed)
    found = explainer.explain_instance(np.asarray(row), predict_proba, labels=(target,),
                                       num_features=num_features, num_samples=num_samples)
    weights = np.zeros(len(feature_names))
    for index, weight in found.local_exp[target]:
        weights[index] = weight
    rules = tuple((str(rule), float(weight)) for rule, weight in found.as_list(label=target))
    local = np.ravel(found.local_pred)[0] if found.local_pred is not None else np.nan
    return LimeWeights(weights=weights, rules=rules, intercept=float(found.intercept[target]),
                       score=float(found.score), local_prediction=float(local))
