"""QuantStats HTML tearsheets of strategies against buy-and-hold, without QuantStats' noise.

QuantStats takes about two seconds a tearsheet on one core, so a run writes its
tearsheets on its executor (a fresh interpreter that never re-imports the caller's script)
while it explains and draws (``BackgroundTearsheets``); a tearsheet of the same curves,
title, QuantStats version and code is copied from the cache instead.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd

from xai_backtest.reports.metrics import daily_returns
from xai_backtest.storage.atomic import atomic_write
from xai_backtest.storage.cache import DiskCache, content_hash
from xai_backtest.storage.code_hash import module_fingerprint

__all__ = ["BackgroundTearsheets", "TearsheetJob", "write_tearsheet"]


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


@dataclass(frozen=True)
class TearsheetJob:
    """One tearsheet to write: ``strategy`` vs ``benchmark`` equity on the same bars."""

    path: Path
    strategy: pd.Series
    benchmark: pd.Series
    start_value: float
    title: str

    def key(self) -> str:
        return content_hash("tearsheet", self.strategy, self.benchmark, self.start_value,
                            self.title, Path(self.path).name, version("quantstats"),
                            module_fingerprint(__name__))


class BackgroundTearsheets:
    """Write ``jobs`` on ``executor`` (engine/executor.py: ``submit`` runs them in a fresh
    interpreter) while the caller goes on; ``wait()`` joins it (raising the worker's error
    with its traceback) and fills the cache. Used as a context manager, the work is
    stopped if the caller fails first. Without an executor, ``wait()`` writes them here."""

    def __init__(self, jobs: list[TearsheetJob], cache_dir: str | None = None,
                 executor: Any = None) -> None:
        self._cache = DiskCache(cache_dir) if cache_dir else None
        self._pending: list[tuple[TearsheetJob, str]] = []  # to write, with cache keys
        for job in jobs:
            key = job.key()
            if not (self._cache and self._cache.fetch_file("tearsheets", key, job.path)):
                self._pending.append((job, key))
        self._task = (executor.submit(_write_job, [job for job, _ in self._pending])
                      if executor is not None and self._pending else None)

    @property
    def started(self) -> bool:
        """Whether anything is being written in the background."""
        return self._task is not None

    def wait(self) -> None:
        if self._task is None:
            for job, _ in self._pending:
                _write_job(job)
        else:
            self._task.result()
        for job, key in self._pending if self._cache else ():
            self._cache.store_file("tearsheets", key, job.path)  # type: ignore[union-attr]

    def __enter__(self) -> BackgroundTearsheets:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._task is not None:
            self._task.__exit__(kind, error, trace)


def _write_job(job: TearsheetJob) -> Path:
    return write_tearsheet(job.path, job.strategy.rename(job.strategy.name or "strategy"),
                           job.benchmark, job.start_value, job.title)


