"""SHAP for a scikit-learn classifier, with the explainer chosen for the model.

- tree models (a fitted ``tree_`` or ``estimators_`` of trees): ``shap.TreeExplainer``
  with the background as interventional data, in probability space;
- linear models (``coef_``): ``shap.LinearExplainer``, in log-odds space (linear there);
- anything else: ``shap.PermutationExplainer`` on P(up), seeded, in probability space.

Every attribution is checked to add up: base value + sum of values = the model's output
in the stated space, within ``ADDITIVITY_ATOL``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from xai_backtest.errors import AdditivityError

__all__ = ["ADDITIVITY_ATOL", "AdditivityError", "ClassifierShap", "explain_classifier"]

ADDITIVITY_ATOL = 1e-5
Space = Literal["probability", "log-odds"]


@dataclass(frozen=True)
class ClassifierShap:
    """Attributions of P(up) (or its log-odds) for rows of ``x``."""

    method: str
    space: Space
    values: np.ndarray  # (rows, features)
    base_values: np.ndarray  # (rows,)
    outputs: np.ndarray  # (rows,), what base + values add up to


def _is_tree_model(model: Any) -> bool:
    if hasattr(model, "tree_"):
        return True
    members = getattr(model, "estimators_", None)
    if members is None:
        return False
    first = np.ravel(np.asarray(members, dtype=object))[0]
    return hasattr(first, "tree_")


def explain_classifier(model: Any, background: pd.DataFrame, x: pd.DataFrame, up_column: int,
                       seed: int = 0) -> ClassifierShap:
    """SHAP values of P(up) (class ``up_column`` of ``predict_proba``) for the rows of ``x``,
    one batched call; raises ``AdditivityError`` if they do not add up."""
    import shap

    p_up = model.predict_proba(x)[:, up_column]
    space: Space
    if _is_tree_model(model):
        explainer = shap.TreeExplainer(model, data=background, model_output="probability",
                                       feature_perturbation="interventional")
        found = explainer(x, check_additivity=False)
        method, space, outputs = "shap_tree", "probability", p_up
    elif hasattr(model, "coef_"):
        explainer = shap.LinearExplainer(model, background)
        found = explainer(x)
        method, space = "shap_linear", "log-odds"
        outputs = np.ravel(model.decision_function(x))
        if up_column == 0:  # decision_function scores class 1
            outputs = -outputs
    else:
        def up(rows: np.ndarray) -> np.ndarray:
            return model.predict_proba(pd.DataFrame(rows, columns=x.columns))[:, up_column]

        explainer = shap.PermutationExplainer(up, background.to_numpy(), seed=seed)
        found = explainer(x.to_numpy())
        method, space, outputs = "shap_permutation", "probability", p_up
    values = np.asarray(found.values, dtype=float)
    base = np.asarray(found.base_values, dtype=float)
    if values.ndim == 3:  # one slice per class
        values, base = values[:, :, up_column], base[:, up_column]
    elif space == "log-odds" and up_column == 0:
        values, base = -values, -base
    base = np.broadcast_to(base, (len(x),)).copy()
    error = np.abs(values.sum(axis=1) + base - outputs)
    if len(error) and error.max() > ADDITIVITY_ATOL:
        raise AdditivityError(f"{method}: base + SHAP values miss the model's {space} by up to "
                              f"{error.max():.2e} (tolerance {ADDITIVITY_ATOL:g})")
    return ClassifierShap(method=method, space=space, values=values, base_values=base,
                          outputs=outputs)
