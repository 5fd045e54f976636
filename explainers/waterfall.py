"""The SHAP waterfall of an additive ``Explanation``, as SVG, after shap's own waterfall plot.

From the base value (the mean output over the background) each of the ``top`` largest
contributions, labelled "feature = value", moves the running total up (towards the
predicted class, green) or down (red); the rest are summed in one bar, so the last bar
ends at the explained output. When feature names read ``"<family> @ t-<k>"`` a second
panel gives the totals per family and per lag. Written directly as SVG, like bars.py.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from xai_backtest.explainers.base import Explanation

__all__ = ["group_totals", "render_waterfall"]

_UP, _DOWN, _GREY = "#2a9d5b", "#c0392b", "#57606a"
_ROW = 22


def group_totals(explanation: Explanation) -> dict[str, dict[str, float]]:
    """``{"family": {...}, "lag": {...}}`` sums of the values of features named
    ``"<family> @ <lag>"`` (another name, such as ``"instrument = TCS"``, is a family of its
    own without a lag); empty when no name follows that form."""
    names = explanation.feature_names
    if not names or not any(" @ " in n for n in names):
        return {}
    out: dict[str, dict[str, float]] = {"family": {}, "lag": {}}
    for name, value in zip(names, explanation.values, strict=True):
        family, _, lag = name.partition(" @ ")
        out["family"][family] = out["family"].get(family, 0.0) + float(value)
        if lag:
            out["lag"][lag] = out["lag"].get(lag, 0.0) + float(value)
    return out


def render_waterfall(explanation: Explanation, path: str | Path, top: int = 10) -> None:
    """Write the waterfall (and the family and lag panel when there is one) to ``path``."""
    order = np.argsort(-np.abs(explanation.values), kind="stable")
    shown, rest = order[:top], order[top:]
    labels = [_label(explanation, int(i)) for i in shown]
    steps = [float(explanation.values[i]) for i in shown]
    if len(rest):
        labels.append(f"{len(rest)} other features")
        steps.append(float(explanation.values[rest].sum()))
    base = explanation.base_value
    ends = base + np.cumsum(steps)
    low = min(base, float(ends.min()) if len(ends) else base)
    high = max(base, float(ends.max()) if len(ends) else base)
    span = (high - low) or 1.0
    groups = group_totals(explanation)
    left_w, label_w, plot_w = 560, 210, 300
    width = left_w + (420 if groups else 0)
    rows = len(steps) + 2
    panel_rows = sum(len(g) for g in groups.values()) + 2 * len(groups)
    height = 70 + _ROW * max(rows, panel_rows) + 40

    def x(v: float) -> float:
        return label_w + 10 + (v - low) / span * plot_w

    title = (f"{explanation.signal} {explanation.decision_time:%Y-%m-%d %H:%M}: "
             f"{explanation.prediction} (p={explanation.probability:.2f})")
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
             f"viewBox='0 0 {width} {height}' font-family='sans-serif' font-size='11'>",
             f"<rect width='{width}' height='{height}' fill='white'/>",
             f"<text x='{width / 2}' y='20' text-anchor='middle' font-size='13'>"
             f"{html.escape(title)}</text>",
             f"<text x='{left_w / 2}' y='42' text-anchor='middle' fill='{_GREY}'>SHAP of the "
             f"'{html.escape(explanation.prediction)}' output, from the base value to the "
             f"output</text>"]
    y = 56
    parts.append(_row_text(label_w, y, f"base value {base:.3f}", bold=True))
    parts.append(f"<line x1='{x(base):.1f}' x2='{x(base):.1f}' y1='{y}' y2='{y + _ROW * rows}' "
                 f"stroke='{_GREY}' stroke-dasharray='3,3'/>")
    start = base
    for label, step in zip(labels, steps, strict=True):
        y += _ROW
        end = start + step
        a, b = sorted((x(start), x(end)))
        color = _UP if step >= 0 else _DOWN
        parts.append(_row_text(label_w, y, label))
        parts.append(f"<rect x='{a:.1f}' y='{y - 14}' width='{max(b - a, 0.8):.1f}' "
                     f"height='{_ROW - 6}' fill='{color}'><title>{step:+.4g}</title></rect>")
        parts.append(f"<text x='{b + 4:.1f}' y='{y}' fill='{_GREY}' font-size='10'>"
                     f"{step:+.3f}</text>")
        start = end
    y += _ROW
    parts.append(_row_text(label_w, y, f"output {start:.3f}", bold=True))
    parts.append(f"<line x1='{x(start):.1f}' x2='{x(start):.1f}' y1='{y - 14}' y2='{y + 2}' "
                 f"stroke='black' stroke-width='2'/>")
    if groups:
        parts += _group_panel(groups, left_w + 10, 56)
    parts.append("</svg>")
    Path(path).write_text("".join(parts))


def _label(explanation: Explanation, i: int) -> str:
    name = explanation.feature_names[i]
    if explanation.data is None:
        return name
    return f"{name} = {explanation.data[i]:.4g}"


def _row_text(right: float, y: float, text: str, bold: bool = False) -> str:
    weight = " font-weight='bold'" if bold else ""
    return (f"<text x='{right:.1f}' y='{y}' text-anchor='end'{weight}>"
            f"{html.escape(text)}</text>")


def _group_panel(groups: dict[str, dict[str, float]], left: float, top: float) -> list[str]:
    """Bars of the family totals, then the lag totals, on one scale."""
    scale = max(abs(v) for g in groups.values() for v in g.values()) or 1.0
    label_w, half = 110, 130
    zero = left + label_w + 10 + half
    parts, y = [], top
    for title, totals in groups.items():
        parts.append(f"<text x='{left + label_w}' y='{y}' text-anchor='end' "
                     f"font-weight='bold'>per {title}</text>")
        for name, value in totals.items():
            y += _ROW - 4
            length = abs(value) / scale * half
            a = zero if value >= 0 else zero - length
            parts.append(_row_text(left + label_w, y, name))
            parts.append(f"<rect x='{a:.1f}' y='{y - 12}' width='{max(length, 0.8):.1f}' "
                         f"height='{_ROW - 8}' fill='{_UP if value >= 0 else _DOWN}'>"
                         f"<title>{value:+.4g}</title></rect>")
        parts.append(f"<line x1='{zero}' x2='{zero}' y1='{y - (_ROW - 4) * len(totals) - 14}' "
                     f"y2='{y + 2}' stroke='black' stroke-width='0.6'/>")
        y += _ROW + 4
    return parts
