"""The SHAP waterfall of an additive ``Explanation``, as SVG, after shap's own waterfall plot.

From the base value E[f(X)] (the mean output over the background) each of the ``top``
largest contributions, labelled "feature = value", moves the running total up (towards the
predicted class, green) or down (red); the rest are summed in one bar, so the last bar
ends at the explained output f(x). A value axis with round ticks marks E[f(X)] and f(x);
its unit is the explanation's ``space`` (a logit is not a probability: the subtitle gives
the link). A line says how much of the push (the sum of |SHAP|) the shown features carry.
When feature names read ``"<family> @ t-<k>"`` a second panel gives the totals per family
and per lag on one scale with its own axis. Written directly as SVG, like bars.py.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from xai_backtest.explainers.base import Explanation
from xai_backtest.explainers.svg import legend, nice_ticks, x_axis

__all__ = ["group_totals", "push_shares", "render_waterfall", "space_words"]

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


def push_shares(values: np.ndarray, top: int) -> tuple[float, float]:
    """The shares of the total push ``sum(|values|)`` carried by the ``top`` largest |values|
    and by the others (0 and 0 when nothing pushes)."""
    size = np.sort(np.abs(np.asarray(values, dtype=float)))[::-1]
    total = float(size.sum())
    if total == 0:
        return 0.0, 0.0
    shown = float(size[:top].sum()) / total
    return shown, 1.0 - shown


def space_words(explanation: Explanation) -> tuple[str, str]:
    """The axis unit and the subtitle's link sentence of ``explanation``'s ``space``."""
    label = explanation.prediction
    p = explanation.probability
    if explanation.space == "logit":
        return (f"logit of '{label}'",
                f"SHAP in logit units of '{label}' (the score before softmax, not a "
                f"probability); softmax over all the class logits gives p={p:.2f}")
    if explanation.space == "log-odds":
        return (f"log-odds of '{label}'",
                f"SHAP in log-odds of '{label}'; p = 1 / (1 + e^-f(x)) = {p:.2f}")
    if explanation.space == "probability":
        return f"P('{label}')", f"SHAP in probability of '{label}': f(x) = p = {p:.2f}"
    return "model output", "SHAP of the model output (its scale is not stated)"


def render_waterfall(explanation: Explanation, path: str | Path, top: int = 10) -> None:
    """Write the waterfall (and the family and lag panel when there is one) to ``path``."""
    order = np.argsort(-np.abs(explanation.values), kind="stable")
    shown, rest = order[:top], order[top:]
    labels = [_label(explanation, int(i)) for i in shown]
    steps = [float(explanation.values[i]) for i in shown]
    if len(rest):
        labels.append(f"{len(rest)} other features (net)")
        steps.append(float(explanation.values[rest].sum()))
    base = explanation.base_value
    ends = base + np.cumsum(steps)
    output = float(ends[-1]) if len(ends) else base
    low = min(base, float(ends.min()) if len(ends) else base)
    high = max(base, float(ends.max()) if len(ends) else base)
    pad = (high - low) * 0.04 or 0.5
    low, high = low - pad, high + pad
    ticks = nice_ticks(low, high, 6)
    groups = group_totals(explanation)
    left_w, label_w, plot_w = 600, 230, 300
    width = left_w + (440 if groups else 0)
    unit, link = space_words(explanation)
    shown_share, rest_share = push_shares(explanation.values, top)
    coverage = (f"the {len(shown)} shown carry {shown_share:.0%} of |push| (the sum of "
                f"|SHAP|); {len(rest)} others {rest_share:.0%}" if len(rest) else
                f"all {len(shown)} features shown (100% of |push|)")
    top_y = 96
    plot_bottom = top_y + _ROW * (len(steps) + 1) + 6

    def x(v: float) -> float:
        return label_w + 10 + (v - low) / (high - low) * plot_w

    title = (f"{explanation.signal} {explanation.decision_time:%Y-%m-%d %H:%M}: "
             f"{explanation.prediction} (p={explanation.probability:.2f})")
    parts = [f"<text x='{width / 2}' y='20' text-anchor='middle' font-size='13'>"
             f"{html.escape(title)}</text>",
             f"<text class='subtitle' x='{width / 2}' y='38' text-anchor='middle' "
             f"fill='{_GREY}'>{html.escape(link)}</text>",
             f"<text class='coverage' x='{left_w / 2}' y='56' text-anchor='middle'>"
             f"{html.escape(coverage)}</text>"]
    parts += legend([(_UP, f"raises the '{explanation.prediction}' output"),
                     (_DOWN, "lowers it")], label_w - 120, 74)
    for t in ticks:
        parts.append(f"<line x1='{x(t):.1f}' x2='{x(t):.1f}' y1='{top_y - 8}' "
                     f"y2='{plot_bottom}' stroke='#eaeef2'/>")
    parts.append(_marker(x(base), top_y - 8, plot_bottom, f"E[f(X)] = {base:.3f}", above=True))
    y = top_y
    start = base
    for label, step in zip(labels, steps, strict=True):
        y += _ROW
        end = start + step
        a, b = sorted((x(start), x(end)))
        color = _UP if step >= 0 else _DOWN
        parts.append(_row_text(label_w, y, label))
        parts.append(f"<rect x='{a:.1f}' y='{y - 14}' width='{max(b - a, 0.8):.1f}' "
                     f"height='{_ROW - 6}' fill='{color}'><title>{step:+.4g}</title></rect>")
        parts.append(f"<text class='step' x='{b + 4:.1f}' y='{y}' fill='{_GREY}' "
                     f"font-size='10'>{step:+.3f}</text>")
        start = end
    parts.append(_marker(x(output), top_y - 8, plot_bottom, f"f(x) = {output:.3f}",
                         above=False, y_text=plot_bottom + 52))
    parts += x_axis(ticks, x, plot_bottom, label_w + 10, label_w + 10 + plot_w, unit,
                    fmt="{:g}")
    bottom = plot_bottom + 60.0
    if groups:
        panel, panel_bottom = _group_panel(groups, left_w + 10, top_y, unit)
        parts += panel
        bottom = max(bottom, panel_bottom)
    height = int(bottom + 10)
    head = (f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
            f"viewBox='0 0 {width} {height}' font-family='sans-serif' font-size='11'>"
            f"<rect width='{width}' height='{height}' fill='white'/>")
    Path(path).write_text(head + "".join(parts) + "</svg>", encoding="utf-8")


def _marker(at: float, y0: float, y1: float, text: str, above: bool,
            y_text: float | None = None) -> str:
    """A vertical line at ``at`` with its label above the plot (E[f(X)]) or below the axis
    (f(x))."""
    dash = " stroke-dasharray='3,3'" if above else " stroke-width='1.6'"
    ty = y0 - 4 if above else (y_text if y_text is not None else y1 + 14)
    return (f"<line x1='{at:.1f}' x2='{at:.1f}' y1='{y0}' y2='{y1}' stroke='black'{dash}/>"
            f"<text class='marker-label' x='{at:.1f}' y='{ty}' text-anchor='middle' "
            f"font-weight='bold'>{html.escape(text)}</text>")


def _label(explanation: Explanation, i: int) -> str:
    name = explanation.feature_names[i]
    if explanation.data is None:
        return name
    return f"{name} = {explanation.data[i]:.4g}"


def _row_text(right: float, y: float, text: str, bold: bool = False) -> str:
    weight = " font-weight='bold'" if bold else ""
    return (f"<text x='{right:.1f}' y='{y}' text-anchor='end'{weight}>"
            f"{html.escape(text)}</text>")


def _group_panel(groups: dict[str, dict[str, float]], left: float, top: float,
                 unit: str) -> tuple[list[str], float]:
    """Bars of the family totals, then the lag totals, on one scale, each with an axis in
    ``unit``; and the y below the panel."""
    scale = max(abs(v) for g in groups.values() for v in g.values()) or 1.0
    ticks = nice_ticks(-scale, scale, 5)
    label_w, half = 110, 130
    zero = left + label_w + 10 + half

    def x(v: float) -> float:
        return zero + v / scale * half

    parts, y = [], top
    for title, totals in groups.items():
        parts.append(f"<text x='{left + label_w}' y='{y}' text-anchor='end' "
                     f"font-weight='bold'>per {title}</text>")
        first = y + 4
        for name, value in totals.items():
            y += _ROW - 4
            a, b = sorted((zero, x(value)))
            parts.append(_row_text(left + label_w, y, name))
            parts.append(f"<rect x='{a:.1f}' y='{y - 12}' width='{max(b - a, 0.8):.1f}' "
                         f"height='{_ROW - 8}' fill='{_UP if value >= 0 else _DOWN}'>"
                         f"<title>{value:+.4g}</title></rect>")
        parts.append(f"<line x1='{zero}' x2='{zero}' y1='{first}' y2='{y + 4}' stroke='black' "
                     "stroke-width='0.6'/>")
        parts += x_axis(ticks, x, y + 6, zero - half, zero + half, f"sum of SHAP ({unit})",
                        size=9)
        y += 48 + _ROW
    return parts, y - _ROW
