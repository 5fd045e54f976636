"""Performance figures of an equity curve, computed on daily closes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.backtest import BacktestResult

__all__ = ["SUMMARY_COLUMNS", "daily_equity", "summarize"]

TRADING_DAYS = 252
SUMMARY_COLUMNS = ("total_return", "cagr", "sharpe", "max_drawdown", "trades", "exposure",
                   "final_equity", "costs_paid")


def daily_equity(equity: pd.Series) -> pd.Series:
    """The last equity of each calendar day (intraday curves become daily ones)."""
    days = equity.index.normalize()
    return equity.groupby(days).last()


def summarize(result: BacktestResult, trades: pd.DataFrame) -> dict[str, float]:
    """Return, CAGR, Sharpe (daily, annualised, zero risk-free rate), max drawdown,
    number of trades, exposure (fraction of bars in the market) and costs paid."""
    daily = daily_equity(result.equity)
    start_value = result.cash
    total = daily.iloc[-1] / start_value - 1
    years = max((daily.index[-1] - daily.index[0]).days / 365.25, 1 / 365.25)
    cagr = (daily.iloc[-1] / start_value) ** (1 / years) - 1
    returns = pd.concat([pd.Series([start_value]), daily.reset_index(drop=True)]).pct_change()
    returns = returns.iloc[1:]
    std = returns.std(ddof=1)
    sharpe = float(np.sqrt(TRADING_DAYS) * returns.mean() / std) if std > 0 else 0.0
    drawdown = (daily / daily.cummax().clip(lower=start_value) - 1).min()
    return {
        "total_return": float(total),
        "cagr": float(cagr),
        "sharpe": sharpe,
        "max_drawdown": float(min(drawdown, 0.0)),
        "trades": float(len(trades)),
        "exposure": float(result.exposure.mean()),
        "final_equity": float(result.equity.iloc[-1]),
        "costs_paid": float(result.fills["commission"].sum()),
    }
