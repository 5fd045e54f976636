"""LIME word weights of a text classifier (lime's ``LimeTextExplainer``), the sentence that
says which words pushed the decision, and the bar figure of an ``lime_text`` Explanation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xai_backtest.explainers.base import Explanation

__all__ = ["WordWeights", "lime_text_weights", "push_sentence", "render_lime_text"]


@dataclass(frozen=True)
class WordWeights:
    """LIME's local linear model of one text: each word's weight on the explained class's
    probability, the intercept and the fit score (R² of the local model on its samples)."""

    text: str
    words: tuple[str, ...]
    weights: tuple[float, ...]
    intercept: float
    score: float


def lime_text_weights(text: str, predict_proba: Callable[[list[str]], np.ndarray], *,
                      seed: int, num_samples: int = 500, num_features: int = 8,
                      label: int = 1, class_names: Sequence[str] = ("down", "up")
                      ) -> WordWeights:
    """Explain ``predict_proba`` (texts -> class probabilities, the full pipeline from raw
    text) at ``text``. A fresh explainer seeded with ``seed`` per call, so the weights do
    not depend on what was explained before."""
    from lime.lime_text import LimeTextExplainer

    explainer = LimeTextExplainer(class_names=list(class_names), bow=True, random_state=seed)
    result = explainer.explain_instance(text, predict_proba, labels=(label,),
                                        num_features=num_features, num_samples=num_samples)
    pairs = result.as_list(label=label)
    return WordWeights(text=text, words=tuple(w for w, _ in pairs),
                       weights=tuple(float(v) for _, v in pairs),
                       intercept=float(result.intercept[label]), score=float(result.score))


def push_sentence(words: Sequence[str], values: Sequence[float], towards: str) -> str:
    """"'slumps' and 'SBI' pushed towards down; 'gains' pushed against" from contributions to
    the class ``towards`` (positive values push towards it)."""
    ranked = sorted(zip(words, values, strict=True), key=lambda p: -p[1])
    pushing = [w for w, v in ranked if v > 0][:2]
    against = [w for w, v in reversed(ranked) if v < 0][:1]
    sentence = (" and ".join(f"'{w}'" for w in pushing) + f" pushed towards {towards}"
                if pushing else f"no word pushed towards {towards}")
    if against:
        sentence += f"; '{against[0]}' pushed against"
    return sentence


def render_lime_text(explanation: Explanation, path: str | Path, top: int = 12) -> None:
    """Bars of the LIME word weights towards the predicted class (green towards, red
    against), titled with the decision and LIME's local fit score."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = explanation.top(top)
    order = np.arange(len(shown))[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(shown) + 1.6))
    colors = ["#2a9d5b" if v >= 0 else "#c0392b" for v in shown.values[order]]
    ax.barh(np.arange(len(shown)), shown.values[order], color=colors)
    ax.set_yticks(np.arange(len(shown)), [shown.feature_names[i] for i in order], fontsize=8)
    ax.axvline(0, color="black", linewidth=0.6)
    ax.set_xlabel(f"LIME weight towards '{explanation.prediction}' (P of a headline)")
    fit = explanation.raw.get("lime_score")
    fit_text = f", LIME R\u00b2={fit[0]:.2f}" if fit is not None and len(fit) else ""
    ax.set_title(f"{explanation.signal} {explanation.decision_time:%Y-%m-%d}: "
                 f"{explanation.prediction} (p={explanation.probability:.2f}{fit_text})",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
