"""QuantStats HTML tearsheets of strategies against buy-and-hold, without QuantStats' noise.

QuantStats takes about two seconds a tearsheet on one core, so a run writes its
tearsheets in a fresh interpreter (``python -m``, never re-importing the caller's script)
while it explains and draws (``BackgroundTearsheets``); a tearsheet of the same curves,
title, QuantStats version and code is copied from the cache instead.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from types import TracebackType

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
    """Write ``jobs`` in a fresh interpreter while the caller goes on; ``wait()`` joins it
    (raising with the child's last error line if it failed) and fills the cache. Used as a
    context manager, the child is stopped if the caller fails first. With
    ``background=False`` ``wait()`` writes them in this process instead."""

    def __init__(self, jobs: list[TearsheetJob], cache_dir: str | None = None,
                 background: bool = True) -> None:
        self._cache = DiskCache(cache_dir) if cache_dir else None
        self._proc: subprocess.Popen[str] | None = None
        self._tmp: Path | None = None
        self._pending: list[tuple[TearsheetJob, str]] = []  # to write, with cache keys
        for job in jobs:
            key = job.key()
            if not (self._cache and self._cache.fetch_file("tearsheets", key, job.path)):
                self._pending.append((job, key))
        if background and self._pending:
            self._start()

    def _start(self) -> None:
        self._tmp = Path(tempfile.mkdtemp(prefix="xai-tearsheets-"))
        manifest = []
        for i, (job, _) in enumerate(self._pending):
            curves = self._tmp / f"curves-{i}.parquet"
            pd.DataFrame({"strategy": job.strategy, "benchmark": job.benchmark}).to_parquet(
                curves)
            manifest.append({"path": str(job.path), "curves": str(curves),
                             "name": str(job.strategy.name or "strategy"),
                             "start_value": job.start_value, "title": job.title})
        (self._tmp / "jobs.json").write_text(json.dumps(manifest))
        self._errors = open(self._tmp / "errors.txt", "w")  # noqa: SIM115 (closed in wait)
        self._proc = subprocess.Popen([sys.executable, "-m", __name__,
                                       str(self._tmp / "jobs.json")],
                                      stdout=subprocess.DEVNULL, stderr=self._errors)

    def wait(self) -> None:
        try:
            if self._proc is None:  # not in the background: write them here
                for job, _ in self._pending:
                    write_tearsheet(job.path, job.strategy, job.benchmark, job.start_value,
                                    job.title)
            else:
                code = self._proc.wait()
                self._errors.close()
                if code != 0:
                    detail = (self._tmp / "errors.txt").read_text().strip().splitlines()
                    raise RuntimeError(f"the tearsheet writer failed (exit {code}): "
                                       f"{detail[-1] if detail else 'no message'}")
            for job, key in self._pending if self._cache else ():
                self._cache.store_file("tearsheets", key, job.path)  # type: ignore[union-attr]
        finally:
            self._remove_tmp()

    def _remove_tmp(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> BackgroundTearsheets:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
            self._errors.close()
        self._remove_tmp()


def _write_jobs(manifest: Path) -> None:
    for job in json.loads(manifest.read_text()):
        curves = pd.read_parquet(job["curves"])
        write_tearsheet(job["path"], curves["strategy"].rename(job["name"]),
                        curves["benchmark"], job["start_value"], job["title"])


if __name__ == "__main__":
    _write_jobs(Path(sys.argv[1]))
