"""Calibration of a signal: is a decision made with probability p right p of the time?"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from xai_backtest.signals.base import SignalFrame

__all__ = ["calibration_table", "render_calibration"]


def calibration_table(signals: SignalFrame | pd.DataFrame, truth: pd.Series,
                      bins: int = 10) -> pd.DataFrame:
    """Per probability bin: decisions, mean stated probability, fraction actually right
    (``signals``: a signal's decisions, or their frame aligned with ``truth``)."""
    frame = signals.frame if isinstance(signals, SignalFrame) else signals
    joined = frame[["label", "probability"]].join(truth.rename("truth"),
                                                          how="inner").dropna()
    edges = np.linspace(0, 1, bins + 1)
    bucket = np.clip(np.digitize(joined["probability"], edges[1:-1]), 0, bins - 1)
    right = (joined["label"] == joined["truth"]).astype(float)
    table = pd.DataFrame({"bin": bucket, "probability": joined["probability"], "right": right})
    grouped = table.groupby("bin").agg(decisions=("right", "size"),
                                       stated=("probability", "mean"),
                                       observed=("right", "mean"))
    grouped.index = [f"{edges[i]:.1f}-{edges[i + 1]:.1f}" for i in grouped.index]
    return grouped


def render_calibration(table: pd.DataFrame, path: str | Path, title: str) -> None:
    """Stated probability vs observed hit rate; the diagonal is perfect calibration. Written
    as SVG (vector) to a ``.svg`` path, else as an image at 192 dpi (2x a 96 dpi screen)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.2, 4.0))
    ax.plot([0, 1], [0, 1], color="#999", linestyle="--", linewidth=1, label="perfect")
    sizes = 20 + 180 * table["decisions"] / max(table["decisions"].max(), 1)
    ax.scatter(table["stated"], table["observed"], s=sizes, color="#1f6feb", zorder=3,
               label="decisions (size = count)")
    ax.plot(table["stated"], table["observed"], color="#1f6feb", linewidth=1)
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="stated probability of the predicted class",
           ylabel="fraction right", title=title)
    ax.title.set_fontsize(9)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    if Path(path).suffix == ".svg":  # the same figure, byte for byte: fixed ids, no date
        with plt.rc_context({"svg.hashsalt": "calibration"}):
            fig.savefig(path, metadata={"Date": None})
    else:
        fig.savefig(path, dpi=192)
    plt.close(fig)
