"""The portfolio sections of the run report: weights over time, what each instrument
contributed, how the instruments move together, and each instrument held alone."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["PortfolioView", "axis_nanoseconds", "instrument_colors", "portfolio_section"]

#: colors of the instruments in a weights chart, in column order; "others" is grey
AREA_COLORS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
               "#ff9da7", "#9c755f", "#86bcb6", "#d37295", "#8cd17d")
OTHERS_COLOR = "#bab0ac"
_INSTRUMENT_COLUMNS = {"total_return": "total return", "sharpe": "Sharpe",
                       "max_drawdown": "max drawdown", "bars": "bars",
                       "missing": "missing dates"}


@dataclass(frozen=True)
class PortfolioView:
    """What the report shows of a run over a universe of instruments."""

    #: strategy name -> weight of each instrument at each close (index: dates, tz-naive or
    #: tz-aware; columns: instruments; negative = short; the rest to 1 is cash)
    weights: Mapping[str, pd.DataFrame]
    #: index: instruments, columns: strategies; each instrument's contribution to the
    #: strategy's total return, as a fraction of the starting cash (they sum, with the
    #: row "costs" if present, to the total return)
    contributions: pd.DataFrame
    #: instrument x instrument correlation of daily returns
    correlations: pd.DataFrame
    #: index: instruments; each instrument bought and held alone: columns total_return,
    #: sharpe, max_drawdown (fractions), plus bars (int) and missing (int, calendar dates
    #: without a bar)
    instruments: pd.DataFrame
    #: the universe's alignment and cleaning notes, in words
    notes: Sequence[str] = ()

    def __post_init__(self) -> None:
        missing = [c for c in _INSTRUMENT_COLUMNS if c not in self.instruments]
        if missing:
            raise ValueError(f"PortfolioView.instruments lacks the column(s) {missing}; it "
                             f"needs {list(_INSTRUMENT_COLUMNS)} (has "
                             f"{list(self.instruments.columns)})")


def portfolio_section(view: PortfolioView, colors: Mapping[str, str]) -> str:
    """The HTML of the report's portfolio section; ``colors``: strategy name -> color."""
    notes = "".join(f"<li>{_e(n)}</li>" for n in view.notes)
    notes = f"<ul class=notes id=universe-notes>{notes}</ul>" if notes else ""
    named = instrument_colors(view.weights)
    charts = "".join(
        f"<div class=weights><h4><i style='background:{colors.get(name, OTHERS_COLOR)}'></i>"
        f"{_e(name)}</h4><div class=scroll-chart>{_weights_svg(name, frame, named)}</div>"
        "</div>"
        for name, frame in view.weights.items())
    return (f"<section id=portfolio><h2>Portfolio</h2>{notes}"
            f"<h3>Weights</h3>{charts}<p class=note>Share of the equity held in each "
            "instrument at each close: longs stacked above zero, shorts below; the rest is "
            "cash.</p>"
            f"<h3>What each instrument contributed</h3>"
            f"{_contributions_html(view.contributions, colors)}"
            f"<h3>How the instruments move together</h3>{_correlations_html(view.correlations)}"
            f"<h3>Each instrument alone (buy and hold)</h3>{_instruments_html(view.instruments)}"
            "</section>")


# -- the weights chart ----------------------------------------------------------------------

def instrument_colors(weights: Mapping[str, pd.DataFrame],
                      shown: int = len(AREA_COLORS)) -> dict[str, str]:
    """One color per instrument, the same in every strategy's weights chart.

    Instruments held by any strategy are ranked by their largest mean |weight| in any one
    strategy (ties in column order); with more than ``shown`` of them, the first
    ``shown - 1`` get a color and the rest are drawn together as "others" (absent here).
    """
    score: dict[str, float] = {}
    for frame in weights.values():
        means = frame.fillna(0.0).abs().mean()
        for name, mean in means[means > 0].items():
            score[str(name)] = max(score.get(str(name), 0.0), float(mean))
    ranked = sorted(score, key=lambda c: -score[c])
    named = ranked if len(ranked) <= shown else ranked[:shown - 1]
    return {name: AREA_COLORS[i] for i, name in enumerate(named)}


def _weights_svg(strategy: str, weights: pd.DataFrame, colors: Mapping[str, str],
                 width: int = 1000, height: int = 300, points: int = 800) -> str:
    """A stacked area chart of one strategy's weights: longs stacked up from 0, shorts down.

    The instruments in ``colors`` (see ``instrument_colors``) are drawn in their color and
    the rest summed as "others"; instruments never held are left out. Runs longer than
    ``points`` closes are averaged over equal buckets of closes. Each instrument's shape
    spans from zero to the top of its band and the shapes are painted outermost first, so
    each shows as its band (half the coordinates of a band drawn by both edges).
    """
    frame = weights.sort_index().fillna(0.0)
    frame = frame.loc[:, (frame != 0).any()]
    if frame.empty:
        return f"<p class=note>{_e(strategy)} held no instrument.</p>"
    up, down = frame.clip(lower=0), frame.clip(upper=0)
    rest = [c for c in frame.columns if c not in colors]
    if rest:
        keep = [c for c in frame.columns if c in colors]
        up = up[keep].assign(others=up[rest].sum(axis=1))
        down = down[keep].assign(others=down[rest].sum(axis=1))
    bucket = np.arange(len(frame)) // -(-len(frame) // points)  # ceil(closes / points) each
    t = pd.Series(axis_nanoseconds(frame.index)).groupby(bucket).mean().to_numpy()
    highs = up.groupby(bucket).mean().cumsum(axis=1)
    lows = down.groupby(bucket).mean().cumsum(axis=1)
    step, low, high = _ticks(float(lows.iloc[:, -1].min()), float(highs.iloc[:, -1].max()))
    left, right, top, bottom = 56, 16, 12, 30
    t0, t1 = t[0], max(t[-1], t[0] + 1)
    xs = left + (t - t0) / (t1 - t0) * (width - left - right)

    def y(v: float | np.ndarray) -> np.ndarray:
        return top + (high - np.asarray(v)) / (high - low) * (height - top - bottom)

    parts = [f"<svg class=weights-chart data-strategy='{_e(strategy)}' viewBox='0 0 {width} "
             f"{height}' role=img aria-label='weights of {_e(strategy)} over time'>"]
    digits = max(0, int(-np.floor(np.log10(step * 100) + 1e-9)))
    for level in np.arange(low, high + step / 2, step):
        parts.append(f"<line x1={left} x2={width - right} y1={y(level):.1f} y2={y(level):.1f} "
                     f"class=grid /><text x={left - 6} y={y(level) + 4:.1f} class=axis "
                     f"text-anchor=end>{level:.{digits}%}</text>")
    stamps = pd.date_range(frame.index[0], frame.index[-1], periods=6)
    label_xs = left + (axis_nanoseconds(stamps) - t0) / (t1 - t0) * (width - left - right)
    anchors = ["start", *["middle"] * (len(stamps) - 2), "end"]  # the ends stay inside
    for stamp, x, anchor in zip(stamps, label_xs, anchors, strict=True):
        parts.append(f"<text x={x:.1f} y={height - 10} class=axis text-anchor={anchor}>"
                     f"{stamp:%Y-%m-%d}</text>")
    base, names = y(0.0), list(highs.columns)
    colors = {**colors, "others": OTHERS_COLOR}
    for name in reversed(names):
        rings = " ".join(
            f"M{xs[0]:.1f},{base:.1f}L" + " ".join(f"{a:.1f},{b:.1f}" for a, b in
                                                   zip(xs, y(edge[name].to_numpy()),
                                                       strict=True))
            + f"L{xs[-1]:.1f},{base:.1f}Z"
            for edge, own in ((highs, up), (lows, down)) if own[name].any())
        parts.append(f"<path d='{rings}' fill='{colors[name]}'><title>{_e(name)}</title>"
                     "</path>")
    parts.append(f"<line x1={left} x2={width - right} y1={base:.1f} y2={base:.1f} "
                 "stroke=black stroke-width=0.6 /></svg>")
    legend = "".join(f"<span><i style='background:{colors[n]}'></i>{_e(n)}</span>"
                     for n in names)
    return "".join(parts) + f"<div class='legend weights-legend'>{legend}</div>"


def axis_nanoseconds(index: pd.DatetimeIndex) -> np.ndarray:
    """The index as float nanoseconds since the epoch, whatever its unit (pandas 3 makes
    microsecond indexes, whose ``asi8`` is in microseconds, unlike ``Timestamp.value``)."""
    return index.as_unit("ns").asi8.astype(float)


def _ticks(low: float, high: float) -> tuple[float, float, float]:
    """A round step (1, 2 or 5 times a power of ten) giving about four intervals, and the
    range widened to whole steps (always including 0)."""
    low, high = min(low, 0.0), max(high, 0.0, low + 1e-9)
    raw = (high - low) / 4
    power = 10 ** np.floor(np.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw * (1 - 1e-9))
    return step, np.floor(low / step + 1e-9) * step, np.ceil(high / step - 1e-9) * step


# -- the tables -----------------------------------------------------------------------------

def _contributions_html(contributions: pd.DataFrame, colors: Mapping[str, str]) -> str:
    """Instruments sorted by the first strategy's contribution, then costs, then the total."""
    first = contributions.columns[0]
    costs = contributions.index == "costs"
    ordered = pd.concat([contributions[~costs].sort_values(first, ascending=False,
                                                           kind="stable"),
                         contributions[costs]])
    head = "".join(f"<th style='border-bottom:3px solid {colors.get(s, OTHERS_COLOR)}'>"
                   f"{_e(s)}</th>" for s in ordered.columns)
    rows = "".join(f"<tr><th>{_e(i)}</th>{_signed_cells(r)}</tr>" for i, r in ordered.iterrows())
    total = f"<tr class=total><th>total</th>{_signed_cells(ordered.sum())}</tr>"
    return (f"<table class=metrics id=contributions-table><thead><tr><th>instrument</th>{head}"
            f"</tr></thead><tbody>{rows}{total}</tbody></table><p class=note>Each instrument's "
            "profit and loss over the run, as a share of the starting cash; with the costs "
            "they add up to the total return.</p>")


def _signed_cells(values: pd.Series) -> str:
    return "".join("<td>-</td>" if pd.isna(v) else
                   f"<td class={'pos' if v > 0 else 'neg' if v < 0 else 'zero'}>{v:+.2%}</td>"
                   for v in values)


def _correlations_html(correlations: pd.DataFrame) -> str:
    """A heatmap table, blue (-1) through white (0) to red (+1), and the mean pairwise
    correlation."""
    head = "".join(f"<th>{_e(c)}</th>" for c in correlations.columns)
    rows = "".join(
        f"<tr><th>{_e(a)}</th>" + "".join(
            "<td>-</td>" if pd.isna(c) else
            f"<td title='{_e(a)} vs {_e(b)}' style='background:{_heat(c)}"
            f"{';color:#fff' if abs(c) > 0.6 else ''}'>{c:.2f}</td>" for b, c in row.items())
        + "</tr>" for a, row in correlations.iterrows())
    values = correlations.to_numpy(dtype=float)
    pairs = values[np.triu_indices_from(values, k=1)]
    pairs = pairs[np.isfinite(pairs)]
    mean = (f"Mean pairwise correlation: {pairs.mean():.2f} over {len(pairs)} pairs."
            if len(pairs) else "Fewer than two instruments: no pairs to correlate.")
    return (f"<div class=scroll><table class='metrics corr' id=correlation-table><thead><tr>"
            f"<th></th>{head}</tr></thead><tbody>{rows}</tbody></table></div>"
            f"<p class=note id=mean-correlation>{mean} Correlation of the instruments' "
            "daily returns.</p>")


def _heat(c: float) -> str:
    """Blue at -1, white at 0, red at +1."""
    end = np.array((178, 24, 43)) if c > 0 else np.array((33, 102, 172))
    r, g, b = np.rint(255 + min(abs(c), 1.0) * (end - 255)).astype(int)
    return f"rgb({r},{g},{b})"


def _instruments_html(instruments: pd.DataFrame) -> str:
    head = "".join(f"<th>{label}</th>" for label in _INSTRUMENT_COLUMNS.values())
    rows = "".join(
        f"<tr><th>{_e(i)}</th><td>{_fmt(r.total_return, '+.2%')}</td>"
        f"<td>{_fmt(r.sharpe, '.2f')}</td><td>{_fmt(r.max_drawdown, '.2%')}</td>"
        f"<td>{_fmt(r.bars, ',.0f')}</td><td>{_fmt(r.missing, ',.0f')}</td></tr>"
        for i, r in instruments.iterrows())
    return (f"<table class=metrics id=instruments-table><thead><tr><th>instrument</th>{head}"
            f"</tr></thead><tbody>{rows}</tbody></table><p class=note>Each instrument bought "
            "and held alone; missing dates: calendar dates on which it had no bar.</p>")


def _fmt(value: float, spec: str) -> str:
    return "-" if pd.isna(value) else format(value, spec)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)
