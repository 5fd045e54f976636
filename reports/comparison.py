"""Side-by-side table of strategies (signals vs buy-and-hold) and its text rendering."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from xai_backtest.reports.metrics import Performance

__all__ = ["comparison_table", "format_comparison", "formatted_comparison"]

_PERCENT = ("total_return", "cagr", "volatility", "max_drawdown", "exposure", "hit_rate",
            "avg_win", "avg_loss")
#: the short table the command line prints
HEADLINE = ("total_return", "cagr", "sharpe", "max_drawdown", "trades", "exposure",
            "costs_paid", "final_equity")


def comparison_table(summaries: Mapping[str, Performance]) -> pd.DataFrame:
    """One row per metric, one column per strategy."""
    return pd.DataFrame({name: s.as_dict() for name, s in summaries.items()})


def format_comparison(table: pd.DataFrame, headline: bool = True) -> str:
    """The table as aligned text (by default only the headline rows): percentages,
    two-decimal ratios, whole trade counts."""
    return formatted_comparison(table, headline).to_string()


def formatted_comparison(table: pd.DataFrame, headline: bool = True) -> pd.DataFrame:
    """The table's values as the text ``format_comparison`` shows (by default only the
    headline rows)."""
    table = table.loc[[m for m in table.index if m in HEADLINE]] if headline else table
    shown = table.astype(object).copy()
    for metric in table.index:
        row = table.loc[metric]
        if metric in _PERCENT:
            shown.loc[metric] = ["-" if pd.isna(v) else f"{v:.2%}" for v in row]
        elif metric == "trades":
            shown.loc[metric] = [f"{v:.0f}" for v in row]
        elif metric in ("final_equity", "costs_paid"):
            shown.loc[metric] = [f"{v:,.2f}" for v in row]
        else:
            shown.loc[metric] = [f"{v:.2f}" for v in row]
    return shown
