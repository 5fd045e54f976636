"""SHAP values of a torch classifier's logits with ``shap.DeepExplainer``, checked for additivity.

The explained output is the **logit** (pre-softmax score) of a chosen class. For a
network of Linear and ReLU layers DeepExplainer's attributions add up exactly to
``logit(x) - E_background[logit]``; ``deep_shap`` checks that, per row, to ``atol``
and raises ``AdditivityError`` otherwise, so an explanation never silently describes
another output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from xai_backtest.errors import AdditivityError

__all__ = ["AdditivityError", "ShapValues", "deep_shap", "deep_shap_of_classes"]


@dataclass(frozen=True)
class ShapValues:
    """Per row: ``classes`` (n,) the predicted (highest-logit) class, ``values`` (n, d) its
    SHAP values, ``base_values`` (n,) its mean background logit, ``outputs`` (n,) its logit."""

    classes: np.ndarray
    values: np.ndarray
    base_values: np.ndarray
    outputs: np.ndarray


def deep_shap_of_classes(model: Any, background: np.ndarray, inputs: np.ndarray,
                         classes: np.ndarray, atol: float = 1e-5) -> np.ndarray:
    """SHAP values ``(n, d)`` of ``model``'s logit of class ``classes[i]`` at row ``i`` of
    ``inputs`` (not necessarily the class it predicts): one ``deep_shap`` per class, on a
    module whose only output is that logit."""
    from torch import nn

    class Logit(nn.Module):
        def __init__(self, net: nn.Module, column: int) -> None:
            super().__init__()
            self.net, self.column = net, column

        def forward(self, x: object) -> object:
            return self.net(x)[:, self.column:self.column + 1]

    inputs = np.atleast_2d(inputs)
    classes = np.asarray(classes, dtype=int)
    out = np.zeros(inputs.shape)
    for column in np.unique(classes):
        rows = classes == column
        out[rows] = deep_shap(Logit(model, int(column)).eval(), background, inputs[rows],
                              atol).values
    return out


def deep_shap(model: object, background: np.ndarray, inputs: np.ndarray,
              atol: float = 1e-5) -> ShapValues:
    """SHAP values of ``model``'s logit of its predicted class at each row of ``inputs``.

    ``model`` is a torch module in eval mode mapping (n, d) to (n, classes) logits;
    ``background`` the reference rows (from the model's training window). The
    inputs are cast to the model's parameter dtype (use float64 for a tight check).
    """
    import shap
    import torch

    inputs = np.atleast_2d(inputs)
    dtype = next(model.parameters()).dtype  # type: ignore[attr-defined]
    x = torch.as_tensor(inputs, dtype=dtype)
    explainer = shap.DeepExplainer(model, torch.as_tensor(background, dtype=dtype))
    # only the top class is attributed (5x faster than all classes); shap's own
    # additivity check is looser than ours, which follows
    values, ranked = explainer.shap_values(x, ranked_outputs=1, output_rank_order="max",
                                           check_additivity=False)
    classes = np.asarray(ranked)[:, 0].astype(int)
    picked = np.asarray(values)[..., 0]
    base = np.asarray(explainer.expected_value, dtype=float)[classes]
    with torch.no_grad():
        outputs = model(x).numpy()[np.arange(len(inputs)), classes]  # type: ignore[operator]
    gap = np.abs(picked.sum(axis=1) + base - outputs)
    if (gap > atol).any():
        worst = int(np.argmax(gap))
        raise AdditivityError(f"SHAP values of row {worst} add up to "
                              f"{picked[worst].sum() + base[worst]:.8f}, but the logit is "
                              f"{outputs[worst]:.8f} (gap {gap[worst]:.2e} > atol {atol:g}); "
                              "the model has layers DeepExplainer cannot attribute exactly")
    return ShapValues(classes=classes, values=picked, base_values=base, outputs=outputs)
