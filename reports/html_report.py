"""The run report: one static HTML page that works offline (no server, no CDN).

Sections: the comparison of every strategy with buy-and-hold (and whether each edge
is distinguishable from luck), model quality beside the majority baseline with a
calibration plot, an equity chart whose trade markers lead to their explanations,
and a sortable, filterable trade explorer whose rows link to explanation figures.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from xai_backtest.reports.explanation_quality import FaithfulnessSummary, WinnersAndLosers
from xai_backtest.reports.interactive_chart import (
    BENCHMARK_COLOR,
    chart_html,
    main_chart,
    strategy_colors,
    trade_anchor,
)
from xai_backtest.reports.model_quality import Quality
from xai_backtest.reports.portfolio_view import PortfolioView, portfolio_section
from xai_backtest.reports.significance import EdgeTest
from xai_backtest.storage.atomic import atomic_write_text

__all__ = ["ModelReport", "ReportInputs", "write_report"]

_PERCENT_ROWS = {"total_return", "cagr", "volatility", "max_drawdown", "exposure", "hit_rate",
                 "avg_win", "avg_loss"}
_MONEY_ROWS = {"costs_paid", "final_equity"}


@dataclass(frozen=True)
class ModelReport:
    """Out-of-sample quality of one signal under one evaluation protocol."""

    signal: str
    protocol: str
    quality: Quality
    confusion: pd.DataFrame
    calibration_figure: str | None = None
    #: accuracy of the up/down decisions under each direction label, with its baseline
    by_label: Mapping[str, Quality] = field(default_factory=dict)


@dataclass(frozen=True)
class ReportInputs:
    """Everything the report shows; figure paths are relative to the run folder."""

    title: str
    subtitle: str
    comparison: pd.DataFrame
    edges: Mapping[str, EdgeTest]
    equity: pd.DataFrame
    trades: pd.DataFrame
    models: Sequence[ModelReport] = ()
    tearsheets: Mapping[str, str] = field(default_factory=dict)
    benchmark: str = "buy_and_hold"
    #: orders the broker refused: strategy, time, status, size, reason
    rejected: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: per signal, how true its explanations are
    faithfulness: Sequence[FaithfulnessSummary] = ()
    #: per signal, what its winning and losing trades' explanations have in common
    why: Sequence[WinnersAndLosers] = ()
    #: explanation id -> an HTML fragment shown with the trade (highlighted headlines)
    highlights: Mapping[str, str] = field(default_factory=dict)
    #: a run over a universe of instruments: weights, contributions, correlations
    portfolio: PortfolioView | None = None
    #: OHLC bars of the one traded instrument, drawn under the trades (none: a universe)
    prices: pd.DataFrame | None = None


def write_report(path: str | Path, inputs: ReportInputs) -> Path:
    """Write the report page to ``path`` (atomically)."""
    colors = strategy_colors(list(inputs.equity.columns), inputs.benchmark)
    body = "\n".join([
        f"<header><h1>{_e(inputs.title)}</h1><p class=sub>{_e(inputs.subtitle)}</p></header>",
        _nav(inputs.portfolio is not None),
        _rejected_section(inputs.rejected),
        _comparison_section(inputs),
        _equity_section(inputs, colors, Path(path).parent),
        portfolio_section(inputs.portfolio, colors) if inputs.portfolio else "",
        _models_section(inputs.models),
        _faithfulness_section(inputs.faithfulness),
        _why_section(inputs.why),
        _trades_section(inputs.trades, colors, inputs.highlights),
    ])
    page = (f"<!doctype html><html lang=en><head><meta charset=utf-8>"
            f"<meta name=viewport content='width=device-width, initial-scale=1'>"
            f"<title>{_e(inputs.title)}</title><style>{_CSS}</style></head>"
            f"<body>{body}<script>{_JS}</script></body></html>")
    return atomic_write_text(path, page)


# -- sections ------------------------------------------------------------------------------

def _nav(portfolio: bool) -> str:
    links = [("comparison", f"Signals vs {'equal-weight ' if portfolio else ''}buy-and-hold"),
             ("equity", "Equity"),
             *([("portfolio", "Portfolio")] if portfolio else []),
             ("models", "Model quality"), ("faithfulness", "Are the explanations true?"),
             ("why", "Why trades won or lost"), ("trades", "Trade explorer")]
    return "<nav>" + " ".join(f"<a href='#{a}'>{t}</a>" for a, t in links) + "</nav>"


def _rejected_section(rejected: pd.DataFrame) -> str:
    """A warning at the top of the page listing every order the broker refused."""
    if rejected.empty:
        return ""
    rows = "".join(f"<tr><td>{_e(r.strategy)}</td><td>{_e(str(r.time))}</td>"
                   f"<td>{_e(r.status)}</td><td class=num>{r.size:.6g}</td>"
                   f"<td>{_e(r.reason)}</td></tr>" for r in rejected.itertuples())
    return (f"<section id=rejected class=warning><h2>{len(rejected)} order(s) refused by the "
            "broker</h2><p>These orders did not fill, so the strategy stayed as it was; the "
            "results below include that.</p><table><thead><tr><th>strategy</th><th>time</th>"
            "<th>status</th><th>size</th><th>reason</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></section>")


def _comparison_section(inputs: ReportInputs) -> str:
    table = inputs.comparison
    head = "".join(f"<th>{_e(c)}</th>" for c in table.columns)
    rows = []
    for metric, values in table.iterrows():
        cells = "".join(f"<td>{_fmt(str(metric), v)}</td>" for v in values)
        rows.append(f"<tr><th>{_e(str(metric).replace('_', ' '))}</th>{cells}</tr>")
    against = "equal-weight buy-and-hold" if inputs.portfolio is not None else "buy-and-hold"
    tearsheets = "".join(f"<li><a href='{_e(f)}'>QuantStats tearsheet: {_e(s)} vs "
                         f"{against}</a></li>" for s, f in inputs.tearsheets.items())
    verdicts = "".join(f"<li><b>{_e(s)}</b>: {_e(t.verdict)}"
                       + (f"<br><span class=secondary>{_e(t.secondary)}</span>"
                          if t.secondary else "") + "</li>"
                       for s, t in inputs.edges.items())
    return (f"<section id=comparison><h2>Signals vs {against}</h2>"
            f"<table class=metrics id=comparison-table><thead><tr><th>metric</th>{head}</tr>"
            f"</thead><tbody>{''.join(rows)}</tbody></table>"
            f"<h3>Is the edge real?</h3><ul class=verdicts>{verdicts}</ul>"
            f"<p class=note>The verdict is a paired test on the difference: the interval of "
            f"the Sharpe difference comes from a circular block bootstrap (20-day blocks) of "
            f"paired daily returns. The second line is the probabilistic Sharpe ratio against "
            f"zero, then deflated for the trials counted (the config's trials:, which a sweep "
            f"sets to its size, else the signals in this run). Costs are included in every "
            f"figure; fills happen at the next bar's open.</p><ul>{tearsheets}</ul></section>")


def _equity_section(inputs: ReportInputs, colors: Mapping[str, str], folder: Path) -> str:
    chart = main_chart(inputs.equity, inputs.trades, colors, inputs.benchmark, inputs.prices)
    return f"<section id=equity><h2>Equity</h2>{chart_html(chart, folder)}</section>"


def _models_section(models: Sequence[ModelReport]) -> str:
    if not models:
        return "<section id=models><h2>Model quality</h2><p>No model signals in this run.</p>" \
               "</section>"
    blocks = []
    for m in models:
        q = m.quality
        figure = (f"<img src='{_e(m.calibration_figure)}' alt='calibration of {_e(m.signal)}'>"
                  if m.calibration_figure else "")
        blocks.append(
            f"<div class=model><h3>{_e(m.signal)} <span class=tag>{_e(m.protocol)}</span></h3>"
            f"<table class=metrics><thead><tr><th></th><th>accuracy</th><th>precision</th>"
            f"<th>recall</th><th>F1</th></tr></thead><tbody>"
            f"<tr><th>model</th><td>{q.accuracy:.1%}</td><td>{q.precision:.1%}</td>"
            f"<td>{q.recall:.1%}</td><td>{q.f1:.1%}</td></tr>"
            f"<tr><th>always '{_e(q.majority_class)}'</th><td>{q.majority_accuracy:.1%}</td>"
            f"<td></td><td></td><td>{q.majority_f1:.1%}</td></tr></tbody></table>"
            f"<p class=note>{q.n} out-of-sample decisions; precision, recall and F1 are "
            f"macro-averaged over classes.</p>{_by_label_html(m.by_label)}"
            f"<div class=pair>{_confusion_html(m.confusion)}{figure}</div></div>")
    return f"<section id=models><h2>Model quality</h2>{''.join(blocks)}</section>"


def _faithfulness_section(summaries: Sequence[FaithfulnessSummary]) -> str:
    if not summaries:
        return ("<section id=faithfulness><h2>Are the explanations true?</h2><p>Faithfulness "
                "was not measured in this run (faithfulness: false).</p></section>")
    rows = "".join(
        f"<tr><th>{_e(f.signal)}</th><td>{f.explained}</td><td>{f.exact}</td>"
        f"<td>{f.measured}</td><td>{_num(f.top_k_change, 4)}</td>"
        f"<td>{_num(f.random_change, 4)}</td><td>{_num(f.model_free_change, 4)}</td>"
        f"<td>{_pct(f.better_share, f.measured)}</td>"
        f"<td>{_pct(f.faithful_share, f.measured)}</td>"
        f"<td>{_num(f.randomisation_corr, 2)}</td><td>{_pct(f.flagged_share, f.measured)}</td>"
        f"<td>{_num(f.infidelity, 3, 'g')}</td></tr>" for f in summaries)
    verdicts = "".join(f"<li><b>{_e(f.signal)}</b>: {_e(f.sentence)}.</li>" for f in summaries)
    return ("<section id=faithfulness><h2>Are the explanations true?</h2>"
            f"<ul class=verdicts id=faithfulness-verdicts>{verdicts}</ul>"
            "<table class=metrics id=faithfulness-table><thead><tr><th>signal</th>"
            "<th>explained</th><th>exact</th><th>scored</th><th>top-k change</th>"
            "<th>random-k change</th><th>model-free-k change</th><th>better than random</th>"
            "<th>faithful (beats both)</th><th>randomisation corr</th>"
            "<th>flagged</th><th>infidelity</th></tr></thead>"
            f"<tbody>{rows}</tbody></table><p class=note>Deletion test: the top-k inputs of "
            "each explanation (10% of them; 3 words for headlines) are replaced by a stated "
            "baseline and the change of the predicted class's probability is compared with "
            "the mean over 8 seeded draws of k random inputs, and with k inputs picked "
            "without the model (the window's extremes first for a GADF window, the largest "
            "|input - baseline| for numeric inputs, the longest words for headlines), on the "
            "exact input and fold model of the decision; an explanation is faithful only if "
            "it beats both. Randomisation check (Adebayo et al. 2018): Spearman "
            "correlation of the attributions with those of a re-initialised copy of the "
            "model; near 1 means the explainer barely depends on the model. Infidelity: "
            "captum's, lower is better. Exact explanations (rules, additive splits) are not "
            "scored.</p></section>")


def _why_section(analyses: Sequence[WinnersAndLosers], shown: int = 12) -> str:
    if not analyses:
        return ("<section id=why><h2>Why trades won or lost</h2><p>Too few winning or losing "
                "trades with explanations to compare.</p></section>")
    scales = _why_scales(analyses, shown)
    blocks = []
    for a in analyses:
        table = a.table.head(shown)
        rows = "".join(f"<tr><th>{_e(d)}</th><td>{r.winners:+.4f}</td><td>{r.losers:+.4f}</td>"
                       f"<td>{r.difference:+.4f}</td><td>{r.p_value:.3f}</td></tr>"
                       for d, r in table.iterrows())
        leaders = "".join(f"<tr><th>{_e(d)}</th><td>{int(r.trades_led)}</td>"
                          f"<td>{r.hit_rate:.0%}</td><td>{r.mean_return:+.2%}</td></tr>"
                          for d, r in a.leaders.head(shown).iterrows())
        expected = len(a.table) * 0.05
        blocks.append(
            f"<div class=why id='why-{_e(a.signal)}'><h3>{_e(a.signal)}</h3>"
            f"<p class=note>{a.winners} winning and {a.losers} losing trades. Mean attribution "
            f"towards the trade's decision per driver ({_e(a.unit or 'unit not stated')}); "
            f"p-value of the difference from "
            f"{a.permutations:,} permutations of the win/loss labels. {len(a.table)} drivers "
            f"were compared, so about {expected:.1f} would fall below 0.05 by chance alone. "
            f"This describes this backtest; it is not a new signal.</p>"
            f"<div class=pair>{_diff_svg(table, scales[a.unit], a.unit)}<table class=metrics>"
            f"<thead><tr><th>driver</th>"
            f"<th>winners</th><th>losers</th><th>difference</th><th>p-value</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
            f"<table class=metrics><caption>drivers that led trades</caption><thead><tr>"
            f"<th>driver</th><th>trades led</th><th>hit rate</th><th>mean return</th></tr>"
            f"</thead><tbody>{leaders}</tbody></table></div></div>")
    note = ("<p class=note>Charts of the same unit share one scale, so bar lengths compare "
            "across signals; grey bars are not significant (p &gt; 0.05).</p>")
    return f"<section id=why><h2>Why trades won or lost</h2>{note}{''.join(blocks)}</section>"


#: a winners-minus-losers difference above this p-value is drawn grey
WHY_ALPHA = 0.05
_NOT_SIGNIFICANT = "#afb8c1"


def _why_scales(analyses: Sequence[WinnersAndLosers], shown: int) -> dict[str, float]:
    """Per unit, the largest |difference| shown by any analysis in it: one scale per unit
    across the section."""
    scales: dict[str, float] = {}
    for a in analyses:
        largest = float(a.table["difference"].head(shown).abs().max()) if len(a.table) else 0.0
        scales[a.unit] = max(scales.get(a.unit, 0.0), largest)
    return {unit: scale or 1.0 for unit, scale in scales.items()}


def _diff_svg(table: pd.DataFrame, scale: float, unit: str, label_w: int = 130,
              half: int = 140, row: int = 18) -> str:
    """Bars of winners' minus losers' mean attribution per driver on ``scale`` (the
    section's for ``unit``): green higher among winners, red among losers, grey where the
    p-value (written beside each bar) is above ``WHY_ALPHA``; an axis in ``unit`` and a
    legend."""
    from xai_backtest.explainers.svg import legend, nice_ticks, x_axis

    top, p_w = 28, 62
    width, height = label_w + 2 * half + 10 + p_w, top + row * len(table) + 52
    zero = label_w + 5 + half

    def x(v: float) -> float:
        return zero + v / scale * half

    parts = [f"<svg class=diff width={width} height={height} viewBox='0 0 {width} {height}' "
             f"role=img aria-label='winners minus losers, per driver'>"]
    parts += legend([("#2a9d5b", "higher among winners"), ("#c0392b", "higher among losers"),
                     (_NOT_SIGNIFICANT, f"p > {WHY_ALPHA}")], 4, 12, size=10)
    for i, (name, r) in enumerate(table.iterrows()):
        y = top + i * row
        a, b = sorted((zero, x(r.difference)))
        significant = r.p_value <= WHY_ALPHA
        color = (_NOT_SIGNIFICANT if not significant else
                 "#2a9d5b" if r.difference >= 0 else "#c0392b")
        parts.append(f"<text x={label_w} y={y + 12} text-anchor=end class=axis>{_e(name)}</text>"
                     f"<rect class='{'sig' if significant else 'ns'}' x={a:.1f} y={y + 2} "
                     f"width={max(b - a, 0.8):.1f} height={row - 5} fill='{color}'>"
                     f"<title>{r.difference:+.4g}, p={r.p_value:.3f}</title></rect>"
                     f"<text class='axis p' x={zero + half + 8} y={y + 12}>"
                     f"p={r.p_value:.3f}</text>")
    bottom = top + row * len(table)
    parts.append(f"<line x1={zero} x2={zero} y1={top} y2={bottom} stroke=black "
                 "stroke-width=0.6 />")
    parts += x_axis(nice_ticks(-scale, scale, 5), x, bottom + 2, zero - half, zero + half,
                    f"winners minus losers ({unit or 'unit not stated'})", size=10)
    parts.append("</svg>")
    return "".join(parts)


def _num(value: float, digits: int, kind: str = "f") -> str:
    return "-" if value is None or np.isnan(value) else f"{value:.{digits}{kind}}"


def _pct(share: float, n: int) -> str:
    return f"{share:.0%}" if n else "-"


_LABEL_WORDS = {"open_to_open": "the return a trade earns (open t+1 to open t+2)",
                "close_to_close": "close to close (close t to close t+1)"}


def _by_label_html(by_label: Mapping[str, Quality]) -> str:
    if not by_label:
        return ""
    rows = "".join(f"<tr><th>{_e(_LABEL_WORDS.get(basis, basis))}</th><td>{q.accuracy:.1%}</td>"
                   f"<td>{q.majority_accuracy:.1%} (always '{_e(q.majority_class)}')</td>"
                   f"<td>{q.n}</td></tr>" for basis, q in by_label.items())
    return ("<table class=metrics><caption>accuracy under other labels and subsets</caption>"
            "<thead><tr><th>label</th><th>accuracy</th><th>majority baseline</th>"
            f"<th>decisions</th></tr></thead><tbody>{rows}</tbody></table>")


def _confusion_html(confusion: pd.DataFrame) -> str:
    head = "".join(f"<th>{_e(str(c))}</th>" for c in confusion.columns)
    rows = "".join(f"<tr><th>{_e(str(i))}</th>" + "".join(f"<td>{int(v)}</td>" for v in row)
                   + "</tr>" for i, row in confusion.iterrows())
    return (f"<table class='metrics confusion'><caption>confusion (rows: true, columns: "
            f"predicted)</caption><thead><tr><th></th>{head}</tr></thead><tbody>{rows}"
            f"</tbody></table>")


_TRADE_COLUMNS = (("trade", "#", "num"), ("strategy", "strategy", "str"),
                  ("instrument", "instrument", "str"), ("side", "side", "str"),
                  ("entry_time", "entry", "str"),
                  ("exit_time", "exit", "str"), ("net_pnl", "P&L", "num"),
                  ("return_pct", "return", "num"), ("entry_label", "signal", "str"),
                  ("entry_probability", "probability", "num"),
                  ("entry_explanation", "why (entry decision)", "str"),
                  ("entry_faithfulness", "faithful? (entry)", "str"),
                  ("exit_reason", "exit reason", "str"),
                  ("exit_explanation", "why (exit decision)", "str"),
                  ("entry_supporting_explanations", "members that voted for it", "str"))
#: columns of long text, folded to one line until clicked
_WIDE_COLUMNS = {"entry_explanation", "entry_faithfulness", "exit_reason", "exit_explanation",
                 "entry_supporting_explanations"}
#: trades on one page of the explorer
PAGE_SIZE = 50


def _trades_section(trades: pd.DataFrame, colors: Mapping[str, str],
                    highlights: Mapping[str, str]) -> str:
    """The trade explorer: a box of its own (sticky header and first column, the trade's
    number and figure links; paged rows; long text folded), with filters, sorting and a CSV
    download done by the page's script."""
    columns = [c for c in _TRADE_COLUMNS if c[0] in trades and trades[c[0]].notna().any()]
    by_instrument = "instrument" in trades and trades["instrument"].notna().any()
    head = "".join(f"<th data-type={kind} title='sort by {label}'>{label}</th>"
                   for _, label, kind in columns)
    rows = "".join(_trade_row(t, columns, colors, highlights, by_instrument)
                   for _, t in trades.iterrows())
    options = "".join(f"<option>{_e(s)}</option>" for s in sorted(trades["strategy"].unique()))
    picker = ("<select id=instrument-filter aria-label=instrument><option value=''>all "
              "instruments</option>"
              + "".join(f"<option>{_e(i)}</option>"
                        for i in sorted(trades["instrument"].dropna().astype(str).unique()))
              + "</select>") if by_instrument else ""
    return (f"<section id=trades><h2>Trade explorer</h2><div class=controls>"
            f"<input id=trade-filter type=search aria-label='filter the trades' "
            f"placeholder='filter: text in any column'>"
            f"<select id=strategy-filter aria-label=strategy><option value=''>all strategies"
            f"</option>{options}</select>{picker}<span id=trade-count></span>"
            f"<span class=pager><button type=button id=trade-prev aria-label='previous page'>"
            f"&lsaquo;</button><span id=trade-page></span><button type=button id=trade-next "
            f"aria-label='next page'>&rsaquo;</button></span>"
            f"<button type=button id=trade-csv>Download CSV</button></div>"
            f"<div id=trade-box><table class=trades id=trade-table data-page-size={PAGE_SIZE}>"
            f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>"
            f"<p class=note>{PAGE_SIZE} trades a page; click a heading to sort. The first "
            f"column links each trade's entry and exit explanation figures. Long text is "
            f"folded to one line: click it to unfold. The CSV holds every trade the filters "
            f"keep, on all pages, with unrounded values.</p></section>")


def _trade_row(trade: pd.Series, columns: Sequence[tuple[str, str, str]],
               colors: Mapping[str, str], highlights: Mapping[str, str],
               by_instrument: bool) -> str:
    """One trade's row; each cell's ``data-key`` is its unrounded value (for sorting and
    the CSV), the first cell its number, coloured by strategy, with its figure links."""
    figures = {side: trade.get(f"{side}_figure") for side in ("entry", "exit")}
    figures = {side: f for side, f in figures.items() if isinstance(f, str) and f}
    color = colors.get(str(trade["strategy"]), BENCHMARK_COLOR)
    cells = []
    for column, _, kind in columns:
        value = trade.get(column)
        key = "" if _missing(value) else (
            f"{float(value):.10g}" if kind == "num" else str(value))
        shown, attributes = _trade_cell(column, value), ""
        if column == "trade":
            shown += "".join(f" <a class=fig href='{_e(f)}' target=_blank>{side}</a>"
                             for side, f in figures.items())
            attributes = f" style='box-shadow:inset 4px 0 {color}'"
        elif column in _WIDE_COLUMNS:
            shown = f"<span class=fold tabindex=0>{shown}</span>" if shown else ""
            attributes = " class=wide"
        side = column.partition("_")[0]
        if column.endswith("_explanation") and trade.get(f"{side}_explanation_id") in highlights:
            shown += (f"<details><summary>headlines</summary>"
                      f"{highlights[trade[f'{side}_explanation_id']]}</details>")
        cells.append(f"<td{attributes} data-key='{_e(key)}'>{shown}</td>")
    data = "".join(f" data-{side}-figure='{_e(f)}'" for side, f in figures.items())
    if by_instrument and pd.notna(trade["instrument"]):
        data += f" data-instrument='{_e(trade['instrument'])}'"
    return (f"<tr id='{_e(_anchor(trade))}' data-strategy='{_e(str(trade['strategy']))}'"
            f"{data}>{''.join(cells)}</tr>")


def _missing(value: object) -> bool:
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def _trade_cell(column: str, value: object) -> str:
    if _missing(value):
        return ""
    if column in ("entry_time", "exit_time"):
        stamp = pd.Timestamp(value)
        return _e(stamp.strftime("%Y-%m-%d %H:%M") if stamp.hour or stamp.minute
                  else stamp.strftime("%Y-%m-%d"))
    if column == "net_pnl":
        return f"{float(value):,.2f}"  # type: ignore[arg-type]
    if column == "return_pct":
        return f"{float(value):+.2%}"  # type: ignore[arg-type]
    if column == "entry_probability":
        return f"{float(value):.2f}"  # type: ignore[arg-type]
    return _e(str(value))


# -- small helpers -------------------------------------------------------------------------

def _anchor(trade: pd.Series) -> str:
    return trade_anchor(trade["strategy"], trade["trade"])


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _fmt(metric: str, value: float) -> str:
    if value is None or pd.isna(value):
        return "-"
    if metric in _PERCENT_ROWS:
        return f"{value:.2%}"
    if metric in _MONEY_ROWS:
        return f"{value:,.2f}"
    if metric == "trades":
        return f"{value:.0f}"
    return f"{value:.2f}"


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;
max-width:1200px;padding:0 18px 60px;color:#1f2328;overflow-wrap:break-word}
header h1{margin:18px 0 0;font-size:22px}.sub{color:#57606a;margin:2px 0 10px}
.warning{border:2px solid #cf222e;background:#fff5f5;padding:4px 12px;margin:10px 0}
nav{position:sticky;top:0;background:#fff;padding:8px 0;border-bottom:1px solid #d0d7de;z-index:4;
display:flex;gap:16px;overflow-x:auto;white-space:nowrap}nav a{color:#0969da;text-decoration:none}
h2{margin-top:28px;border-bottom:1px solid #d0d7de;padding-bottom:4px}section{scroll-margin-top:3em}
table{border-collapse:collapse;margin:8px 0}th,td{padding:3px 9px;border-bottom:1px solid #eaeef2;
text-align:right;white-space:nowrap}thead th{background:#f6f8fa}
section table:not(.trades){display:block;max-width:100%;overflow-x:auto}
img{max-width:100%;height:auto}svg{max-width:100%}.pair>*{min-width:0;max-width:100%}
.pair{overflow-x:auto}.pair>svg{flex:none;max-width:none}
.scroll-chart{overflow-x:auto}.scroll-chart>svg{min-width:920px;max-width:none;width:100%}
tbody th{text-align:left;font-weight:500}.note{color:#57606a;font-size:12px}
.verdicts li{margin:4px 0}.verdicts .secondary{color:#57606a;font-size:13px}
.tag{font-size:11px;background:#ddf4ff;padding:1px 6px;
border-radius:8px;font-weight:400}.pair{display:flex;gap:24px;align-items:flex-start;
flex-wrap:wrap}.confusion caption{font-size:12px;color:#57606a}
#equity-chart{width:100%;height:auto;background:#fff}.grid{stroke:#eaeef2}
.axis{font-size:11px;fill:#57606a}.marker circle{stroke:#fff;stroke-width:1;cursor:pointer}
.legend span{margin-right:14px;font-size:12px;display:inline-block;white-space:nowrap}
.legend i{display:inline-block;width:12px;height:3px;margin-right:5px;vertical-align:middle}
.controls{margin:8px 0;display:flex;flex-wrap:wrap;gap:8px;align-items:center}
#trade-filter{width:320px;max-width:100%;padding:4px 8px}.pager button{min-width:28px}
#trade-box{max-width:100%;max-height:75vh;overflow:auto;border:1px solid #d0d7de}
#trade-box table{margin:0}#trade-box thead th{position:sticky;top:0;z-index:2}
#trade-box thead th:first-child{z-index:3}
table.trades td:first-child,table.trades th:first-child{position:sticky;left:0;z-index:1;
background:#fff;text-align:left}table.trades thead th:first-child{background:#f6f8fa}
table.trades tr{scroll-margin:5em 0}table.trades td.wide{text-align:left}
table.trades .fold{display:block;max-width:22em;overflow:hidden;text-overflow:ellipsis;
cursor:pointer}table.trades .fold.open{white-space:normal;min-width:18em}
table.trades th{cursor:pointer;user-select:none}
table.trades tr.target td,table.trades tr:target td{background:#fff8c5}
th.asc::after{content:" \\25B2"}
th.desc::after{content:" \\25BC"}
ol.headlines{margin:4px 0;padding-left:20px;font-size:12px}
ol.headlines li.explained{font-weight:500}
ol.headlines .part{color:#57606a;font-family:monospace;margin-right:4px}
mark{padding:0 2px;border-radius:3px}details summary{cursor:pointer;color:#0969da}
.why{margin-bottom:24px}svg.diff{background:#fff}
.weights h4{margin:14px 0 2px}.weights h4 i{display:inline-block;width:10px;height:10px;
margin-right:6px}svg.weights-chart{width:100%;height:auto;background:#fff}
svg.weights-chart path:hover{opacity:.8}.weights-legend i{height:10px}
.scroll{overflow-x:auto}.scroll thead th{position:static}
table.corr td{padding:2px 6px;font-size:12px;text-align:center}
td.pos{color:#1a7f37}td.neg{color:#cf222e}tr.total th,tr.total td{font-weight:600;
border-top:2px solid #d0d7de}ul.notes{margin:6px 0;color:#57606a}
@media (max-width:600px){body{padding:0 10px 40px}header h1{font-size:19px}
table.trades .fold{max-width:14em}}
"""

_JS = """
(function(){
  var table=document.getElementById('trade-table');if(!table)return;
  var body=table.tBodies[0],rows=Array.prototype.slice.call(body.rows),matched=rows,page=0;
  var size=parseInt(table.dataset.pageSize,10);
  function $(id){return document.getElementById(id);}
  var text=$('trade-filter'),pick=$('strategy-filter'),inst=$('instrument-filter');
  var count=$('trade-count'),label=$('trade-page'),prev=$('trade-prev'),next=$('trade-next');
  function pages(){return Math.max(1,Math.ceil(matched.length/size));}
  function show(){page=Math.min(Math.max(page,0),pages()-1);
    var shown=matched.slice(page*size,(page+1)*size);
    rows.forEach(function(r){r.hidden=true;});shown.forEach(function(r){r.hidden=false;});
    count.textContent=matched.length+' of '+rows.length+' trades';
    label.textContent=' page '+(page+1)+' of '+pages()+' ';
    prev.disabled=page===0;next.disabled=page>=pages()-1;}
  function apply(){var q=text.value.toLowerCase(),s=pick.value,i=inst?inst.value:'';
    matched=rows.filter(function(r){return (!s||r.dataset.strategy===s)&&
      (!i||r.dataset.instrument===i)&&(!q||r.textContent.toLowerCase().indexOf(q)>=0);});
    page=0;show();}
  text.addEventListener('input',apply);pick.addEventListener('change',apply);
  if(inst)inst.addEventListener('change',apply);
  prev.addEventListener('click',function(){page--;show();});
  next.addEventListener('click',function(){page++;show();});
  Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,i){
    th.addEventListener('click',function(){var asc=!th.classList.contains('asc');
      Array.prototype.forEach.call(th.parentNode.cells,function(c){c.classList.remove('asc','desc');});
      th.classList.add(asc?'asc':'desc');var num=th.dataset.type==='num';
      rows.sort(function(a,b){var x=a.cells[i].dataset.key,y=b.cells[i].dataset.key;
        if(num){x=x===''?-Infinity:parseFloat(x);y=y===''?-Infinity:parseFloat(y);}
        return (x<y?-1:x>y?1:0)*(asc?1:-1);});
      rows.forEach(function(r){body.appendChild(r);});apply();});});
  function unfold(e){var f=e.target.closest('.fold');if(f)f.classList.toggle('open');}
  body.addEventListener('click',unfold);
  body.addEventListener('keydown',function(e){if(e.key==='Enter')unfold(e);});
  function jump(){var id=decodeURIComponent(location.hash.slice(1)),row=document.getElementById(id);
    if(!row||row.parentNode!==body)return;
    if(matched.indexOf(row)<0){text.value='';pick.value='';if(inst)inst.value='';apply();}
    page=Math.floor(matched.indexOf(row)/size);show();
    rows.forEach(function(r){r.classList.toggle('target',r===row);});
    row.scrollIntoView({block:'center'});}
  window.addEventListener('hashchange',jump);window.addEventListener('load',jump);
  function field(v){v=String(v);return /[",\\r\\n]/.test(v)?'"'+v.replace(/"/g,'""')+'"':v;}
  $('trade-csv').addEventListener('click',function(){
    var heads=Array.prototype.map.call(table.tHead.rows[0].cells,function(th){
      return th.textContent;}).concat(['entry figure','exit figure']);
    var lines=[heads].concat(matched.map(function(r){
      return Array.prototype.map.call(r.cells,function(c){return c.dataset.key;})
        .concat([r.dataset.entryFigure||'',r.dataset.exitFigure||'']);}));
    var csv=lines.map(function(l){return l.map(field).join(',');}).join('\\r\\n')+'\\r\\n';
    var a=document.createElement('a');
    a.href=URL.createObjectURL(new Blob([csv],{type:'text/csv;charset=utf-8'}));
    a.download='trades-'+(pick.value||'all')+'.csv';document.body.appendChild(a);a.click();
    a.remove();setTimeout(function(){URL.revokeObjectURL(a.href);},40000);});
  apply();jump();
})();
"""
