"""Horizontal bar figure of the largest contributions of an ``Explanation``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from explainers.base import Explanation

__all__ = ["render_bars"]


def render_bars(explanation: Explanation, path: str | Path, top: int = 12) -> None:
    """Bars of the ``top`` contributions (green pushes towards the prediction, red against)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = explanation.top(top)
    order = np.arange(len(shown))[::-1]
    height = 0.35 * len(shown) + 1.4
    fig, ax = plt.subplots(figsize=(7, height))
    fig.subplots_adjust(left=0.34, right=0.97, top=1 - 0.45 / height, bottom=0.6 / height)
    colors = ["#2a9d5b" if v >= 0 else "#c0392b" for v in shown.values[order]]
    ax.barh(np.arange(len(shown)), shown.values[order], color=colors)
    ax.set_yticks(np.arange(len(shown)), [shown.feature_names[i] for i in order], fontsize=8)
    ax.axvline(0, color="black", linewidth=0.6)
    ax.set_xlabel(f"contribution to '{explanation.prediction}' ({explanation.method})")
    ax.set_title(f"{explanation.signal} {explanation.decision_time:%Y-%m-%d %H:%M}: "
                 f"{explanation.prediction} (p={explanation.probability:.2f})", fontsize=9)
    fig.savefig(path, dpi=90)
    plt.close(fig)
