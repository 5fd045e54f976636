"""Performance figures of a strategy, computed on daily closes (intraday curves included)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from xai_backtest.data_feeds.universe import sessions_per_year
from xai_backtest.strategies.backtest import BacktestResult

if TYPE_CHECKING:
    from xai_backtest.strategies.portfolio import PortfolioResult

__all__ = ["Performance", "daily_equity", "daily_returns", "max_drawdown", "periods_per_year",
           "sharpe", "sortino", "summarize"]

TRADING_DAYS = 252


@dataclass(frozen=True)
class Performance:
    """One strategy's figures. Ratios are annualised on daily returns with a zero risk-free
    rate; ``exposure`` is the fraction of bars in the market, ``turnover`` the traded value
    per year as a multiple of average equity, ``costs_paid`` commission plus slippage."""

    total_return: float
    cagr: float
    volatility: float
    sharpe: float
    sortino: float
    max_drawdown: float
    calmar: float
    trades: int
    hit_rate: float
    avg_win: float
    avg_loss: float
    exposure: float
    turnover: float
    costs_paid: float
    final_equity: float

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}


def daily_equity(equity: pd.Series) -> pd.Series:
    """The last equity of each calendar day (intraday curves become daily ones)."""
    return equity.groupby(equity.index.normalize()).last()


def daily_returns(equity: pd.Series, start_value: float) -> pd.Series:
    """Daily returns; the first day's is measured from the starting cash."""
    daily = daily_equity(equity)
    previous = daily.shift(1)
    previous.iloc[0] = start_value
    return daily / previous - 1


def sharpe(returns: pd.Series | np.ndarray, periods: float = TRADING_DAYS) -> float:
    """Annualised with ``periods`` returns a year."""
    std = returns.std(ddof=1)
    return float(np.sqrt(periods) * returns.mean() / std) if std > 0 else 0.0


def sortino(returns: pd.Series, periods: float = TRADING_DAYS) -> float:
    """Mean over downside deviation (root mean square of negative returns over all days)."""
    downside = np.sqrt((returns.clip(upper=0) ** 2).sum() / len(returns))
    return float(np.sqrt(periods) * returns.mean() / downside) if downside > 0 else 0.0


def max_drawdown(returns: pd.Series | np.ndarray) -> float:
    """Worst fall from a running peak of the compounded curve, starting at 1 (<= 0)."""
    curve = np.r_[1.0, np.cumprod(1 + np.asarray(returns))]
    return float(np.min(curve / np.maximum.accumulate(curve) - 1))


def periods_per_year(result: BacktestResult | PortfolioResult) -> float:
    """Returns a year to annualise with: 252 for one instrument, a portfolio's own
    calendar's session dates a year."""
    if isinstance(result, BacktestResult):
        return float(TRADING_DAYS)
    return sessions_per_year(pd.DatetimeIndex(result.equity.index))


def summarize(result: BacktestResult | PortfolioResult, trades: pd.DataFrame,
              periods: float | None = None) -> Performance:
    """Figures of one backtest and its trade log, annualised with ``periods`` returns a
    year: by default 252 for one instrument, and for a portfolio its universe calendar's
    own session dates a year (a union calendar of exchanges with different holidays has
    more than 252)."""
    returns = daily_returns(result.equity, result.cash)
    if periods is None:
        periods = periods_per_year(result)
    final = float(result.equity.iloc[-1])
    days = returns.index
    years = max((days[-1] - days[0]).days / 365.25, 1 / 365.25)
    cagr = (final / result.cash) ** (1 / years) - 1
    drawdown = max_drawdown(returns)
    closed = trades[trades["status"] == "closed"]
    wins = closed.loc[closed["net_pnl"] > 0, "return_pct"]
    losses = closed.loc[closed["net_pnl"] <= 0, "return_pct"]
    traded = (result.fills["size"].abs() * result.fills["price"]).sum()
    return Performance(
        total_return=final / result.cash - 1,
        cagr=float(cagr),
        volatility=float(returns.std(ddof=1) * np.sqrt(periods)),
        sharpe=sharpe(returns, periods),
        sortino=sortino(returns, periods),
        max_drawdown=drawdown,
        calmar=float(cagr / abs(drawdown)) if drawdown < 0 else 0.0,
        trades=len(trades),
        hit_rate=float(len(wins) / len(closed)) if len(closed) else float("nan"),
        avg_win=float(wins.mean()) if len(wins) else float("nan"),
        avg_loss=float(losses.mean()) if len(losses) else float("nan"),
        exposure=float(result.exposure.mean()),
        turnover=float(traded / result.equity.mean() / years),
        costs_paid=float(result.fills["commission"].sum() + result.fills["slippage"].sum()),
        final_equity=final,
    )
