"""The live page of a stream: equity, open positions and the latest explained
decisions, rewritten after every bar from the journal; offline, refreshing itself."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from xai_backtest.engine.stream.journal import Journal
from xai_backtest.explainers.base import Explanation
from xai_backtest.storage.atomic import atomic_write

__all__ = ["write_live_page"]

_STYLE = ("body{font:14px system-ui,sans-serif;margin:1rem;max-width:70rem}"
          "table{border-collapse:collapse;display:block;overflow-x:auto}"
          "td,th{padding:.2rem .6rem;border-bottom:1px solid #ddd;text-align:left}"
          "td.num{text-align:right;font-variant-numeric:tabular-nums}")


def write_live_page(path: Path, journal: Journal, latest: int = 20) -> None:
    """Write ``path`` (``live.html``) from ``journal``."""
    equity = journal.frame("equity")
    last = (equity.sort_values("time").groupby("strategy")["value"].last()
            if len(equity) else pd.Series(dtype=float))
    positions = journal.frame("fills").groupby(["strategy", "instrument"])["size"].sum()
    decisions = journal.frame("decisions", "explanation IS NOT NULL")
    decisions = decisions.sort_values("time").tail(latest).iloc[::-1]
    events = journal.frame("events")
    counts = events["kind"].value_counts() if len(events) else pd.Series(dtype=int)
    stamp = pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M:%S UTC")
    parts = [f"<!doctype html><meta charset=utf-8><meta http-equiv=refresh content=5>"
             f"<meta name=viewport content='width=device-width'><title>stream</title>"
             f"<style>{_STYLE}</style><h1>Stream</h1><p>Updated {stamp}; "
             f"{journal.count('steps')} bars stepped.</p>",
             "<h2>Equity</h2>", _equity_svg(equity),
             _table(["strategy", "equity"], [(s, f"{v:,.2f}") for s, v in last.items()]),
             "<h2>Open positions</h2>",
             _table(["strategy", "instrument", "size"],
                    [(s, i, f"{v:g}") for (s, i), v in positions.items() if v]),
             "<h2>Latest decisions</h2>",
             _table(["time", "signal", "decision", "probability", "why"],
                    [(r.time, r.signal, r.label, f"{r.probability:.2f}",
                      Explanation.from_json(r.explanation).summary)
                     for r in decisions.itertuples()]),
             "<h2>Stream events</h2>",
             _table(["kind", "count"], [(k, str(v)) for k, v in counts.items()])]
    atomic_write(path, lambda tmp: Path(tmp).write_text("".join(parts)))


_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#7f7f7f")


def _equity_svg(equity: pd.DataFrame, width: int = 640, height: int = 160,
                last: int = 500) -> str:
    """Each strategy's equity over the last ``last`` bars, on one scale with its range
    and the first and last time written beside it."""
    if not len(equity):
        return ""
    wide = equity.pivot(index="time", columns="strategy", values="value").sort_index()
    wide = wide.tail(last)
    low, high = float(wide.min().min()), float(wide.max().max())
    span = high - low or 1.0
    lines = []
    for color, (name, values) in zip(_COLORS * 4, wide.items(), strict=False):
        x = [i * width / max(len(values) - 1, 1) for i in range(len(values))]
        y = [height - (v - low) / span * height for v in values.ffill().to_numpy()]
        points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y, strict=True))
        lines.append(f"<polyline fill=none stroke='{color}' points='{points}'>"
                     f"<title>{html.escape(str(name))}</title></polyline>")
    legend = " ".join(f"<span style='color:{c}'>&#9632; {html.escape(str(n))}</span>"
                      for c, n in zip(_COLORS * 4, wide.columns, strict=False))
    return (f"<p>{legend}<br>{low:,.0f} to {high:,.0f} (quote currency), "
            f"{wide.index[0][:10]} to {wide.index[-1][:10]}</p>"
            f"<svg viewBox='0 0 {width} {height}' style='max-width:100%;height:auto;"
            f"border:1px solid #ddd'>{''.join(lines)}</svg>")


def _table(header: list[str], rows: list[tuple[object, ...]]) -> str:
    if not rows:
        return "<p>none</p>"
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"
