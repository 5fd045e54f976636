"""QuantStats HTML tearsheet of a strategy against buy-and-hold, without QuantStats' noise."""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from pathlib import Path

import pandas as pd

from xai_backtest.reports.metrics import daily_returns
from xai_backtest.storage.atomic import atomic_write

__all__ = ["write_tearsheet"]


def _naive_daily_returns(equity: pd.Series, start_value: float) -> pd.Series:
    """Daily returns on naive dates: QuantStats wants them, and the exchange-local date
    is the right one."""
    returns = daily_returns(equity, start_value)
    return returns.set_axis(pd.DatetimeIndex(returns.index).tz_localize(None))


def write_tearsheet(path: str | Path, strategy: pd.Series, benchmark: pd.Series,
                    start_value: float, title: str) -> Path:
    """Write a QuantStats HTML report of ``strategy`` equity vs ``benchmark`` equity."""
    import matplotlib

    matplotlib.use("Agg")
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    import quantstats as qs

    returns = _naive_daily_returns(strategy, start_value).rename(strategy.name or "strategy")
    bench = _naive_daily_returns(benchmark, start_value).rename("buy and hold")
    sink = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(sink):
        warnings.simplefilter("ignore")
        return atomic_write(path, lambda tmp: qs.reports.html(
            returns, benchmark=bench, output=str(tmp), title=title, download_filename=Path(
                path).name, periods_per_year=252, match_dates=True))
