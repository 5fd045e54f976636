"""Bars from Yahoo Finance through yfinance, with an on-disk Parquet cache and offline mode."""

from __future__ import annotations

import contextlib
import io
import logging
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from xai_backtest.data_feeds.errors import DataError
from xai_backtest.data_feeds.validate import validate_bars
from xai_backtest.storage.atomic import atomic_write

__all__ = ["cache_path", "load_yfinance", "normalise_download"]

Downloader = Callable[..., pd.DataFrame]


def cache_path(cache_dir: str | Path, symbol: str, interval: str, start: date | None,
               end: date | None, auto_adjust: bool = False) -> Path:
    """Cache file of one request: ``<dir>/<symbol>_<interval>_<start>_<end>[_adj].parquet``."""
    safe = re.sub(r"[^A-Za-z0-9.-]", "_", symbol)
    suffix = "_adj" if auto_adjust else ""
    return Path(cache_dir) / (f"{safe}_{interval}_{start or 'first'}_{end or 'last'}"
                              f"{suffix}.parquet")


def _default_download(**kwargs: Any) -> pd.DataFrame:
    import yfinance as yf

    return yf.download(**kwargs)


def load_yfinance(symbol: str, start: date | None = None, end: date | None = None,
                  interval: str = "1d", *, tz: str = "America/New_York",
                  cache_dir: str | Path = ".cache/yfinance", offline: bool = False,
                  auto_adjust: bool = False,
                  download: Downloader | None = None) -> pd.DataFrame:
    """Validated bars of ``symbol``; read from the cache when present, else downloaded and cached.

    yfinance does not raise when Yahoo is unreachable: it prints errors and returns
    an empty frame. That case becomes a ``DataError`` saying the network is
    unreachable and how to work offline. ``auto_adjust`` asks yfinance for prices adjusted
    for dividends and splits (a total-return series); by default they are not adjusted
    for dividends. ``download`` replaces ``yfinance.download`` (for tests).
    """
    path = cache_path(cache_dir, symbol, interval, start, end, auto_adjust)
    source = f"yfinance {symbol} {interval}"
    if path.exists():
        return validate_bars(pd.read_parquet(path), f"{source} (cache {path})")
    if offline:
        raise DataError(source, f"offline mode and no cache file {path}",
                        "run once with network access, or use data.source=file with a CSV")
    printed = io.StringIO()
    logging.getLogger("yfinance").setLevel(logging.CRITICAL)
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        raw = (download or _default_download)(
            tickers=symbol, start=start, end=None if end is None else end + pd.Timedelta(days=1),
            interval=interval, auto_adjust=auto_adjust, progress=False,
            multi_level_index=False)
    if raw is None or raw.empty:
        said = printed.getvalue().strip().splitlines()
        detail = f" (yfinance said: {said[-1][:200]})" if said else ""
        raise DataError(source, f"no data returned: the network is unreachable or the symbol "
                        f"is unknown{detail}",
                        f"check the symbol, or work offline: put a cache file at {path}, use "
                        "data.source=file with a CSV, or data.source=sample")
    bars = normalise_download(raw, tz)
    bars = validate_bars(bars, source)
    atomic_write(path, lambda tmp: bars.to_parquet(tmp))
    return bars


def normalise_download(raw: pd.DataFrame, tz: str) -> pd.DataFrame:
    """yfinance's frame as bars: lower-case OHLCV columns, index in ``tz``."""
    if isinstance(raw.columns, pd.MultiIndex):
        raw = raw.droplevel(-1, axis=1)
    frame = raw.rename(columns=lambda c: str(c).strip().lower().replace(" ", "_"))
    frame = frame.loc[:, ["open", "high", "low", "close", "volume"]]
    index = pd.DatetimeIndex(frame.index)
    frame.index = index.tz_localize(tz) if index.tz is None else index.tz_convert(tz)
    return frame
