"""The report's main chart in Bokeh: price with every trade's entry and exit, the equity of
each strategy against the benchmark, and the drawdown, on one date axis.

Zoom and pan are linked across the panels and each panel's y axis follows the visible
dates. Hovering a trade marker shows the trade and its explanation; clicking it opens the
trade's row in the report. Long runs are reduced for display (bars aggregated to a calendar
period, lines decimated keeping each stretch's lowest and highest point) and the caption
says so. BokehJS is copied into the run folder, so the page fetches nothing.
"""

from __future__ import annotations

import html
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np
import pandas as pd

from xai_backtest.storage.atomic import atomic_write

if TYPE_CHECKING:
    from bokeh.models import ColumnDataSource, GridPlot, Range1d
    from bokeh.plotting import figure as Figure

__all__ = ["BENCHMARK_COLOR", "MAX_POINTS", "PALETTE", "MainChart", "chart_html", "epoch_ms",
           "main_chart", "min_max", "reduce_bars", "show_inline", "strategy_colors",
           "trade_anchor"]

#: strategies' colors, in the order of the equity columns (no green or red: those mean a
#: trade's profit or loss); the benchmark is grey
PALETTE = ("#1f6feb", "#e16f24", "#8250df", "#0a7ea4", "#bf3989", "#bf8700", "#6639ba")
BENCHMARK_COLOR = "#57606a"
#: at most this many points per drawn series (bars, each equity and drawdown line)
MAX_POINTS = 5_000
#: candles up to this many shown bars, a close line beyond
CANDLES_UP_TO = 300
PROFIT, LOSS, EVEN = "#1a7f37", "#cf222e", "#8c959f"
FONT = "11px"
_PERIODS = (("D", "daily"), ("W", "weekly"), ("MS", "monthly"), ("QS", "quarterly"),
            ("YS", "yearly"))
_TOOLTIP = """<div style="max-width:260px;white-space:normal;font-size:12px">
<b>@strategy</b> trade #@trade (@side), @kind<br>entry @entry_at<br>exit @exit_at<br>
P&amp;L @pnl (@ret)<br><i>@why</i></div>"""
#: on a change of the shared x range, each panel's y range spans its visible data
_FOLLOW_Y = """
const x0 = xr.start, x1 = xr.end;
for (const [yr, sources, fields, least] of panels) {
  let lo = Infinity, hi = -Infinity;
  sources.forEach((s, k) => {
    const xs = s.data.x;
    for (let i = 0; i < xs.length; i++) {
      if (xs[i] < x0 || xs[i] > x1) continue;
      for (const f of fields[k]) { const v = s.data[f][i];
        if (Number.isFinite(v)) { if (v < lo) lo = v; if (v > hi) hi = v; } }
    }
  });
  if (lo <= hi) { const pad = Math.max((hi - lo) * 0.04, least);
                  yr.start = lo - pad; yr.end = hi + pad; }
}"""
_OPEN_TRADE = """
const i = source.selected.indices;
if (i.length) {
  const anchor = source.data.anchor[i[0]];
  source.selected.indices = [];
  if (page) window.open(page + '#' + anchor, '_blank'); else window.location.hash = anchor;
}"""


@dataclass(frozen=True)
class MainChart:
    """The chart's Bokeh layout and a sentence saying what it shows of the data."""

    layout: GridPlot
    caption: str


def strategy_colors(names: Sequence[str], benchmark: str) -> dict[str, str]:
    """One color per strategy, the same in every chart and table of the report."""
    others = [n for n in names if n != benchmark]
    return {**{n: PALETTE[i % len(PALETTE)] for i, n in enumerate(others)},
            benchmark: BENCHMARK_COLOR}


def trade_anchor(strategy: object, trade: object) -> str:
    """The id of a trade's row in the report's trade explorer."""
    return f"trade-{strategy}-{trade}"


def epoch_ms(index: pd.DatetimeIndex) -> np.ndarray:
    """Milliseconds since the epoch of the index's wall-clock times (Bokeh's datetime axis
    shows them as they read in the data's own time zone), whatever the index's unit."""
    wall = index.tz_localize(None) if index.tz is not None else index
    return wall.as_unit("ns").asi8 / 1e6


def min_max(values: np.ndarray, limit: int = MAX_POINTS) -> np.ndarray:
    """Positions of the points to draw of ``values``: all up to ``limit``, else the first,
    the last, and the lowest and highest of each of ``limit // 2 - 1`` equal stretches, so
    every peak and trough stays visible."""
    n = len(values)
    if n <= limit:
        return np.arange(n)
    stretches = pd.Series(values).groupby(np.arange(n) * (limit // 2 - 1) // n)
    return np.unique(np.r_[0, n - 1, stretches.idxmin().to_numpy(),
                           stretches.idxmax().to_numpy()])


def reduce_bars(bars: pd.DataFrame, limit: int = MAX_POINTS) -> tuple[pd.DataFrame, str]:
    """The OHLC bars to draw and their description: all bars up to ``limit``, else the bars
    aggregated to the shortest calendar period (day, week, month...) giving at most
    ``limit``."""
    spacing = _spacing(bars.index)
    if len(bars) <= limit:
        return bars, f"{len(bars):,} {spacing} bars"
    ohlc = {"open": "first", "high": "max", "low": "min", "close": "last"}
    for period in _PERIODS:
        shown = (bars.resample(period[0], label="left", closed="left").agg(ohlc)
                 .dropna(subset=["close"]))
        if len(shown) <= limit:
            break
    return shown, f"{period[1]} bars aggregated from {len(bars):,} {spacing} bars"


def main_chart(equity: pd.DataFrame, trades: pd.DataFrame, colors: Mapping[str, str],
               benchmark: str, prices: pd.DataFrame | None = None, page: str = "",
               limit: int = MAX_POINTS) -> MainChart:
    """Price (or, without ``prices``, one row per instrument) with each trade's entry and
    exit, the equity of every strategy against ``benchmark``, and the drawdown.

    ``colors``: strategy -> color. ``prices``: OHLC bars of the one traded instrument.
    ``page``: the report a marker opens (empty: this page). The benchmark's own trades get
    no marker. At most ``limit`` points are drawn per series.
    """
    from bokeh.layouts import gridplot
    from bokeh.models import ColumnDataSource, CustomJS, Range1d

    equity = equity.dropna(how="all")
    spacing = float(np.median(np.diff(epoch_ms(equity.index)))) if len(equity) > 1 else 8.64e7
    low, high = _padded(epoch_ms(equity.index), spacing, share=0.01)
    x_range = Range1d(start=low, end=high)
    strategies = [s for s in equity.columns if s != benchmark]
    trades = trades[trades["strategy"].isin(strategies)]
    key = "instrument" if "instrument" in trades and trades["instrument"].notna().any() \
        else "strategy"
    rows = [] if prices is not None else sorted(trades[key].dropna().astype(str).unique())
    markers = _markers(trades, strategies, spacing, equity.index.tz, prices, key, rows)
    marks = ColumnDataSource({c: markers[c].to_numpy() for c in markers.columns})
    marks.data["line"] = markers["strategy"].map(colors).fillna(EVEN).to_numpy()
    top, top_follow, shown = (_price_panel(x_range, prices, marks, limit) if prices is not None
                              else _rows_panel(x_range, len(trades), key, rows))
    lines, line_follow, kept = _lines_panel(x_range, equity, colors, benchmark, limit)
    falls, fall_follow, _ = _lines_panel(x_range, equity / equity.cummax() - 1, colors,
                                         benchmark, limit, drawdown=True)
    _markers_clickable(top, marks, page)
    x_range.js_on_change("start", CustomJS(args={"xr": x_range, "panels": [
        top_follow, line_follow, fall_follow]}, code=_FOLLOW_Y))
    for panel in (top, lines):
        panel.xaxis.visible = False
    layout = gridplot([[top], [lines], [falls]], sizing_mode="stretch_width",
                      toolbar_location="above", merge_tools=True)
    lines_words = (f"{len(equity):,} points per line" if kept == len(equity) else
                   f"at most {kept:,} of {len(equity):,} points per line (each stretch's "
                   "lowest and highest kept)")
    return MainChart(layout, f"Shown: {shown}; equity and drawdown: {lines_words}.")


def chart_html(chart: MainChart, folder: Path) -> str:
    """The chart as an HTML fragment of a page in ``folder``: BokehJS (copied once into
    ``folder/assets``, referenced relatively), the chart and its caption."""
    from bokeh.embed import components

    script, div = components(chart.layout)
    return (f"<script src='{_bokehjs(folder)}'></script><div class=main-chart>{div}</div>"
            f"{script}<p class=note>{html.escape(chart.caption)} Drag to pan, use the "
            "toolbar to zoom; every panel follows the dates. &#9650; a long entry, &#9660; a "
            "short entry, &#9679; an exit; green: the trade made money, red: it lost; the "
            "outline is the strategy's color. Markers on one bar are spread across its width "
            "(one slot per strategy and side). Hover a marker for the trade and its "
            "explanation; click it for its row in the trade explorer.</p>")


def show_inline(layout: GridPlot) -> None:
    """Show ``layout`` in the running IPython kernel, BokehJS inline (nothing fetched); a
    no-op outside a notebook."""
    ipython = sys.modules.get("IPython")  # a running kernel has imported it already
    if ipython is None:
        return
    shell = ipython.get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return
    from bokeh.io import output_notebook, show
    from bokeh.resources import INLINE

    output_notebook(INLINE, hide_banner=True)
    show(layout)


# -- panels ------------------------------------------------------------------------------------

def _figure(x_range: Range1d, height: int, y_label: str) -> Figure:
    from bokeh.models import DatetimeTickFormatter, NoOverlap, Range1d
    from bokeh.plotting import figure

    panel = figure(x_range=x_range, y_range=Range1d(start=0, end=1), height=height,
                   sizing_mode="stretch_width", x_axis_type="datetime",
                   tools="xpan,xwheel_zoom,box_zoom,reset,save", active_drag="xpan",
                   active_scroll=None, min_border_left=60, min_border_right=12)
    panel.xaxis.formatter = DatetimeTickFormatter(
        minutes="%H:%M", hourmin="%m-%d %H:%M", hours="%m-%d %H:%M", days="%Y-%m-%d",
        months="%Y-%m", years="%Y")
    panel.xaxis.major_label_policy = NoOverlap()  # a narrow window drops labels, never overlaps
    panel.yaxis.axis_label = y_label
    for axis in (*panel.xaxis, *panel.yaxis):
        axis.major_label_text_font_size = FONT
        axis.axis_label_text_font_size = FONT
    panel.toolbar.logo = None
    return panel


def _price_panel(x_range: Range1d, prices: pd.DataFrame, markers: ColumnDataSource, limit: int
                 ) -> tuple[Figure, list[object], str]:
    """Candles (few bars) or the close (many); its y axis spans the bars and the trade
    markers (drawn at their fill prices) in view."""
    from bokeh.models import ColumnDataSource

    bars, shown = reduce_bars(prices, limit)
    t = epoch_ms(bars.index)
    inside = (t >= x_range.start) & (t <= x_range.end)
    bars, t = bars[inside], t[inside]
    panel = _figure(x_range, 260, "price (quote currency)")
    source = ColumnDataSource({"x": t, **{c: bars[c].to_numpy(float) for c in
                                           ("open", "high", "low", "close")}})
    if len(bars) <= CANDLES_UP_TO:
        width = 0.7 * (float(np.median(np.diff(t))) if len(t) > 1 else 8.64e7)
        source.data["color"] = np.where(bars["close"] >= bars["open"], PROFIT, LOSS)
        panel.segment("x", "high", "x", "low", color="color", source=source)
        panel.vbar("x", width, "open", "close", fill_color="color", line_color="color",
                   source=source)
        fields = ["low", "high"]
    else:
        panel.line("x", "close", color="#24292f", line_width=1, source=source)
        fields = ["close"]
    return panel, _follow(panel, [source, markers], [fields, ["y"]], np.r_[
        bars[fields].to_numpy(float).ravel(), markers.data["y"]]), shown


def _rows_panel(x_range: Range1d, trades: int, key: str, rows: list[str]
                ) -> tuple[Figure, list[object], str]:
    """One row of markers per ``key`` value (instrument: a universe has no one price)."""
    from bokeh.models import FixedTicker

    panel = _figure(x_range, max(120, 26 * len(rows) + 40), key)
    cast("Range1d", panel.y_range).update(start=-0.7, end=len(rows) - 0.3)
    panel.yaxis.ticker = FixedTicker(ticks=list(range(len(rows))))
    panel.yaxis.major_label_overrides = {i: str(r) for i, r in enumerate(rows)}
    panel.ygrid.visible = False
    return panel, [panel.y_range, [], [], 0.0], f"{trades:,} trades by {key}"


def _lines_panel(x_range: Range1d, frame: pd.DataFrame, colors: Mapping[str, str],
                 benchmark: str, limit: int, drawdown: bool = False
                 ) -> tuple[Figure, list[object], int]:
    """One line per strategy, the benchmark dashed and drawn first (under the others)."""
    from bokeh.models import ColumnDataSource, NumeralTickFormatter

    panel = _figure(x_range, 150 if drawdown else 230,
                    "drawdown (from the peak)" if drawdown else "equity (quote currency)")
    panel.yaxis.formatter = NumeralTickFormatter(format="0%" if drawdown else "0,0")
    sources, kept, values = [], 0, []
    order = [benchmark, *[c for c in frame.columns if c != benchmark]]
    for name in [c for c in order if c in frame.columns]:
        series = frame[name].dropna()
        keep = min_max(series.to_numpy(float), limit)
        kept = max(kept, len(keep))
        source = ColumnDataSource({"x": epoch_ms(series.index)[keep],
                                   "y": series.to_numpy(float)[keep]})
        style = ({"line_dash": "dashed", "line_width": 2, "alpha": 0.85}
                 if name == benchmark else {"line_width": 1.6})
        panel.line("x", "y", source=source, color=colors.get(name, EVEN), legend_label=name,
                   **style)
        sources.append(source)
        values.append(source.data["y"])
    follow = _follow(panel, sources, [["y"]] * len(sources), np.concatenate(values),
                     least=0.01 if drawdown else None)
    for legend in panel.legend:  # drawdown: the same lines as the equity panel's legend
        legend.update(visible=not drawdown, location="top_left", click_policy="hide",
                      label_text_font_size=FONT, background_fill_alpha=0.7, padding=2,
                      spacing=2, glyph_height=14, label_height=14)
    return panel, follow, kept


# -- trade markers -----------------------------------------------------------------------------

def _markers(trades: pd.DataFrame, strategies: list[str], spacing: float, tz: object,
             prices: pd.DataFrame | None, key: str, rows: list[str]) -> pd.DataFrame:
    """One row per entry and exit: where it is drawn (``x``; ``y``: the fill price, or
    without ``prices`` the row of its ``key`` value), its look and its tooltip.

    Markers on one bar are spread across the bar's width, one slot per strategy and side,
    so no two share a place unless one strategy enters (or exits) twice on one bar at one
    price (or, without prices, in one row).
    """
    slots = 2 * max(len(strategies), 1)
    parts = []
    for side, slot in (("entry", 0), ("exit", 1)):
        done = trades[trades[f"{side}_time"].notna()]
        at = pd.DatetimeIndex(pd.to_datetime(done[f"{side}_time"], utc=True)).tz_convert(tz)
        order = done["strategy"].map({s: i for i, s in enumerate(strategies)}).to_numpy(int)
        offset = ((2 * order + slot + 0.5) / slots - 0.5) * 0.8 * spacing
        pnl = pd.to_numeric(done.get("net_pnl"), errors="coerce")
        if prices is None:
            y = done[key].astype(str).map({r: i for i, r in enumerate(rows)}).to_numpy(float)
        else:
            y = _fill_prices(done, side, at, prices)
        short = done.get("side", pd.Series("long", done.index)).astype(str).eq("short")
        parts.append(pd.DataFrame({
            "x": epoch_ms(at) + offset, "y": y,
            "anchor": [trade_anchor(s, t) for s, t in zip(done["strategy"], done["trade"],
                                                          strict=True)],
            "strategy": done["strategy"].astype(str).to_numpy(),
            "trade": done["trade"].astype(str).to_numpy(),
            "side": np.where(short, "short", "long"), "kind": side,
            "entry_at": _when(done["entry_time"], tz), "exit_at": _when(done["exit_time"], tz),
            "pnl": [f"{v:,.2f}" if np.isfinite(v) else "-" for v in pnl],
            "ret": [f"{v:+.2%}" if np.isfinite(v) else "-" for v in
                    pd.to_numeric(done.get("return_pct"), errors="coerce")],
            "why": _why(done, side),
            "fill": np.where(pnl > 0, PROFIT, np.where(pnl < 0, LOSS, EVEN)),
            "marker": ("circle" if side == "exit" else
                       np.where(short, "inverted_triangle", "triangle"))}))
    return pd.concat(parts, ignore_index=True)


def _markers_clickable(panel: Figure, source: ColumnDataSource, page: str) -> None:
    """Draw the markers (renderer ``trade_markers``, outlined in the strategy's color) with
    a hover tooltip and a click that opens the trade's row."""
    from bokeh.models import CustomJS, HoverTool, TapTool

    renderer = panel.scatter("x", "y", marker="marker", size=11, fill_color="fill",
                             line_color="line", line_width=1.5, source=source,
                             name="trade_markers")
    renderer.nonselection_glyph = None
    renderer.selection_glyph = None
    panel.add_tools(HoverTool(renderers=[renderer], tooltips=_TOOLTIP),
                    TapTool(renderers=[renderer], callback=CustomJS(
                        args={"source": source, "page": page}, code=_OPEN_TRADE)))


def _fill_prices(trades: pd.DataFrame, side: str, at: pd.DatetimeIndex,
                 prices: pd.DataFrame) -> np.ndarray:
    """Each fill's price, else the last close at or before it."""
    close = prices["close"].asof(at.tz_convert(prices.index.tz)
                                 if prices.index.tz is not None else at).to_numpy(float)
    given = pd.to_numeric(trades.get(f"{side}_price"), errors="coerce")
    given = given.to_numpy(float) if given is not None else np.full(len(trades), np.nan)
    return np.where(np.isfinite(given), given, close)


def _when(values: pd.Series, tz: object) -> list[str]:
    stamps = pd.to_datetime(values, utc=True).dt.tz_convert(tz)
    return ["open" if pd.isna(s) else s.strftime("%Y-%m-%d %H:%M" if s.hour or s.minute
                                                 else "%Y-%m-%d") for s in stamps]


def _why(trades: pd.DataFrame, side: str) -> list[str]:
    said = trades.get(f"{side}_explanation")
    reason = trades.get(f"{side}_reason")
    out = []
    for i in range(len(trades)):
        text = said.iloc[i] if said is not None else None
        if not isinstance(text, str) or not text:
            text = reason.iloc[i] if reason is not None else None
        out.append(text if isinstance(text, str) and text else "(no explanation recorded)")
    return out


# -- small helpers -----------------------------------------------------------------------------

def _follow(panel: Figure, sources: list[ColumnDataSource], fields: list[list[str]],
            values: np.ndarray, least: float | None = None) -> list[object]:
    """Set the panel's y range to ``values`` padded, and return what ``_FOLLOW_Y`` needs to
    keep it on the visible data: the range, the sources, their fields and the least pad
    (default: 0.5% of the values' size)."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if least is None:
        least = 0.005 * float(np.abs(finite).mean()) if len(finite) else 1.0
    low, high = _padded(finite, least or 1.0)
    cast("Range1d", panel.y_range).update(start=low, end=high)
    return [panel.y_range, sources, fields, least or 1.0]


def _padded(values: np.ndarray, least: float, share: float = 0.04) -> tuple[float, float]:
    """The span of the finite ``values`` widened by ``share`` on each side, at least
    ``least``."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if not len(finite):
        return 0.0, 1.0
    low, high = float(finite.min()), float(finite.max())
    pad = max((high - low) * share, least)
    return low - pad, high + pad


def _spacing(index: pd.DatetimeIndex) -> str:
    """The bars' usual spacing in words: minute, 5-minute, hourly, daily, weekly, monthly."""
    if len(index) < 2:
        return ""
    minutes = float(np.median(np.diff(index.as_unit("ns").asi8))) / 6e10
    if minutes < 60:
        return "minute" if minutes <= 1 else f"{minutes:.0f}-minute"
    if minutes < 20 * 60:
        return "hourly" if minutes == 60 else f"{minutes / 60:.0f}-hour"
    return "daily" if minutes <= 4 * 1440 else "weekly" if minutes <= 10 * 1440 else "monthly"


def _bokehjs(folder: Path) -> str:
    """Copy the installed package's BokehJS into ``folder/assets`` (once); its relative
    path."""
    import bokeh
    from bokeh.util.paths import bokehjs_path

    name = f"assets/bokeh-{bokeh.__version__}.min.js"
    if not (folder / name).exists():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        atomic_write(folder / name, lambda tmp: shutil.copyfile(
            Path(bokehjs_path()) / "js" / "bokeh.min.js", tmp))
    return name
