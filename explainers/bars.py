"""Horizontal bar chart of the largest contributions of an ``Explanation``, as SVG, on an
axis with round ticks.

Written directly as SVG text (no plotting library): a run draws hundreds of these.
"""

from __future__ import annotations

import html
from pathlib import Path

from xai_backtest.explainers.base import Explanation
from xai_backtest.explainers.svg import nice_ticks, x_axis

__all__ = ["render_bars"]

_UP, _DOWN = "#2a9d5b", "#c0392b"


def render_bars(explanation: Explanation, path: str | Path, top: int = 12) -> None:
    """Bars of the ``top`` contributions (green pushes towards the prediction, red against)."""
    shown = explanation.top(top)
    width, label_w, row, top_pad, bottom_pad = 680, 230, 24, 46, 40
    height = top_pad + row * len(shown) + bottom_pad + 20
    plot_w = width - label_w - 100  # room for the value labels at both ends
    scale = max(float(abs(shown.values).max()) if len(shown) else 0.0, 1e-12)
    zero = label_w + 50 + plot_w / 2
    title = (f"{explanation.signal} {explanation.decision_time:%Y-%m-%d %H:%M}: "
             f"{explanation.prediction} (p={explanation.probability:.2f})")
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
             f"viewBox='0 0 {width} {height}' font-family='sans-serif' font-size='12'>",
             f"<rect width='{width}' height='{height}' fill='white'/>",
             f"<text x='{width / 2}' y='22' text-anchor='middle' font-size='13'>"
             f"{html.escape(title)}</text>"]
    for i, (name, value) in enumerate(zip(shown.feature_names, shown.values, strict=True)):
        y = top_pad + i * row
        length = abs(value) / scale * plot_w / 2
        x = zero if value >= 0 else zero - length
        color = _UP if value >= 0 else _DOWN
        parts.append(f"<text x='{label_w - 8}' y='{y + 15}' text-anchor='end'>"
                     f"{html.escape(name)}</text>")
        parts.append(f"<rect x='{x:.1f}' y='{y + 3}' width='{max(length, 0.5):.1f}' "
                     f"height='{row - 6}' fill='{color}'><title>{value:+.4g}</title></rect>")
        anchor, offset = ("start", 4) if value >= 0 else ("end", -4)
        parts.append(f"<text x='{x + (length if value >= 0 else 0) + offset:.1f}' "
                     f"y='{y + 15}' text-anchor='{anchor}' font-size='10' fill='#57606a'>"
                     f"{value:+.3g}</text>")
    bottom = top_pad + row * len(shown)
    parts.append(f"<line x1='{zero}' x2='{zero}' y1='{top_pad - 4}' y2='{bottom}' "
                 f"stroke='black' stroke-width='0.8'/>")
    parts += x_axis(nice_ticks(-scale, scale, 5), lambda v: zero + v / scale * plot_w / 2,
                    bottom + 2, zero - plot_w / 2, zero + plot_w / 2,
                    f"contribution to '{explanation.prediction}' ({_unit(explanation)})")
    parts.append("</svg>")
    Path(path).write_text("".join(parts), encoding="utf-8")


def _unit(explanation: Explanation) -> str:
    """The unit of the contributions: the method, and the scale when one is stated."""
    return f"{explanation.method}, {explanation.space}" if explanation.space else (
        explanation.method)
