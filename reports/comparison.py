"""Side-by-side table of strategies (signals vs buy-and-hold) and its text rendering."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

__all__ = ["comparison_table", "format_comparison"]

_PERCENT = ("total_return", "cagr", "max_drawdown", "exposure")


def comparison_table(summaries: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    """One row per metric, one column per strategy."""
    return pd.DataFrame({name: dict(s) for name, s in summaries.items()})


def format_comparison(table: pd.DataFrame) -> str:
    """The table as aligned text: percentages, two-decimal ratios, whole trade counts."""
    shown = table.astype(object).copy()
    for metric in table.index:
        row = table.loc[metric]
        if metric in _PERCENT:
            shown.loc[metric] = [f"{v:.2%}" for v in row]
        elif metric == "trades":
            shown.loc[metric] = [f"{v:.0f}" for v in row]
        elif metric in ("final_equity", "costs_paid"):
            shown.loc[metric] = [f"{v:,.2f}" for v in row]
        else:
            shown.loc[metric] = [f"{v:.2f}" for v in row]
    return shown.to_string()
