"""QuantStats HTML tearsheets of strategies against buy-and-hold, without QuantStats' noise.

QuantStats takes about two seconds a tearsheet on one core, so a run writes its
tearsheets on its executor (a fresh interpreter that never re-imports the caller's script)
while it explains and draws (``BackgroundTearsheets``); a tearsheet of the same curves,
title, QuantStats version and code is copied from the cache instead.

QuantStats' page is cleaned after it is written (``_offline``): nothing on it is fetched
from the network, it calls no missing script, its glyphs exist, and its end-of-year bars
carry their own year (``_eoy_svg``). Its period is the report's: dates are not "matched"
(QuantStats would start both curves where the later of them first moves, which drops the
strategy's warm-up and changes buy-and-hold's figures).
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import warnings
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from xai_backtest.reports.metrics import daily_returns
from xai_backtest.storage.atomic import atomic_write
from xai_backtest.storage.cache import DiskCache, content_hash
from xai_backtest.storage.code_hash import module_fingerprint

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["BackgroundTearsheets", "TearsheetJob", "write_tearsheet"]


def _naive_daily_returns(equity: pd.Series, start_value: float) -> pd.Series:
    """Daily returns on naive dates: QuantStats wants them, and the exchange-local date
    is the right one."""
    returns = daily_returns(equity, start_value)
    return returns.set_axis(pd.DatetimeIndex(returns.index).tz_localize(None))


def write_tearsheet(path: str | Path, strategy: pd.Series, benchmark: pd.Series,
                    start_value: float, title: str) -> Path:
    """Write a QuantStats HTML report of ``strategy`` equity vs ``benchmark`` equity, each
    under its series name, over the whole period of the two curves."""
    import matplotlib

    matplotlib.use("Agg")
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    import quantstats as qs

    name, against = str(strategy.name or "strategy"), str(benchmark.name or "buy and hold")
    returns = _naive_daily_returns(strategy, start_value).rename(name)
    bench = _naive_daily_returns(benchmark, start_value).rename(against)
    sink = io.StringIO()

    def write(tmp: Path) -> None:
        with warnings.catch_warnings(), contextlib.redirect_stdout(sink):
            warnings.simplefilter("ignore")
            qs.reports.html(returns, benchmark=bench, output=str(tmp), title=title,
                            download_filename=Path(path).name, periods_per_year=252,
                            match_dates=False, strategy_title=name, benchmark_title=against)
            eoy = _eoy_svg(pd.concat([bench, returns], axis=1))
        tmp.write_text(_offline(tmp.read_text(encoding="utf-8"), eoy), encoding="utf-8")

    return atomic_write(path, write)


#: a tag that would load something from the network (QuantStats' favicon), with its end tag
_REMOTE = re.compile(r"<(link|script|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*[\"']?https?://"
                     r"[^>]*>(?:\s*</\1>)?", re.IGNORECASE)
#: QuantStats' page calls ``save()`` on load, which its page does not define
_ONLOAD = re.compile(r"(<body\b[^>]*?)\s+onload=\"[^\"]*\"", re.IGNORECASE)
_EOY = re.compile(r'(<div id="eoy_returns">).*?(</div>)', re.DOTALL)


def _offline(page: str, eoy_svg: str) -> str:
    """QuantStats' ``page`` without network loads or its undefined ``save()`` call, without
    the small percent sign "\ufe6a" (missing from common fonts; the values carry their
    %), and with ``eoy_svg`` as its end-of-year chart."""
    page = _ONLOAD.sub(r"\1", _REMOTE.sub("", page)).replace("\ufe6a", "")
    page, found = _EOY.subn(lambda m: m.group(1) + eoy_svg + m.group(2), page, count=1)
    if not found:
        raise ValueError("QuantStats' tearsheet has no end-of-year chart (<div id="
                         "'eoy_returns'>) to replace: its template changed; update "
                         "reports/tearsheet.py")
    return page


def _eoy_svg(returns: pd.DataFrame) -> str:
    """The end-of-year chart of ``returns`` (daily, one column a curve) as inline SVG."""
    import matplotlib.pyplot as plt

    with plt.rc_context({"svg.fonttype": "none", "font.size": 10}):
        fig = _eoy_figure(returns)
        svg = io.StringIO()
        fig.savefig(svg, format="svg")
        plt.close(fig)
    text = svg.getvalue()
    return text[text.index("<svg"):]  # without the XML declaration, inside an HTML page


def _eoy_figure(returns: pd.DataFrame) -> Figure:
    """Bars of each column's compounded return per calendar year, each under its own year.

    QuantStats draws these with ``DataFrame.plot.bar`` on year-end stamps, which pandas 3
    places at period ordinals while QuantStats labels positions 0, 1, ...; its bars then
    sit one year off their labels (https://github.com/ranaroussi/quantstats/issues/518)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    yearly = (1 + returns.fillna(0)).groupby(returns.index.year).prod() - 1
    at, width = np.arange(len(yearly)), 0.8 / len(yearly.columns)
    fig, ax = plt.subplots(figsize=(8, 4))
    for i, (column, color) in enumerate(zip(yearly.columns, ("#FEDD78", "#348DC1"),
                                            strict=False)):
        ax.bar(at + (i - (len(yearly.columns) - 1) / 2) * width, yearly[column] * 100, width,
               label=str(column), color=color)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(at, [str(year) for year in yearly.index],
                  rotation=45 if len(yearly) > 10 else 0)
    ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
    ax.set_title("EOY Returns vs Benchmark", fontweight="bold")
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


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


