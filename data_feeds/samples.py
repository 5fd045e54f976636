"""Real data shipped inside installed packages, read by path without importing them."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Literal

import pandas as pd

from xai_backtest.data_feeds.errors import DataError
from xai_backtest.data_feeds.validate import validate_bars

__all__ = ["SampleName", "load_sample_bars", "package_file"]

SampleName = Literal["sp500", "nasdaq"]
_ARCH_FILES = {"sp500": "data/sp500/sp500.csv.gz", "nasdaq": "data/nasdaq/nasdaq.csv.gz"}


def package_file(package: str, relative: str) -> Path:
    """Path of a data file inside an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DataError(package, "package is not installed",
                        f"pip install {package} (it ships the sample data)")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.exists():
        raise DataError(str(path), "sample file missing from the installed package",
                        f"reinstall it: pip install --force-reinstall {package}")
    return path


def load_sample_bars(name: SampleName = "sp500") -> pd.DataFrame:
    """Daily OHLCV of the S&P 500 or NASDAQ Composite, 1999-2018, shipped by ``arch``."""
    if name not in _ARCH_FILES:
        raise DataError(name, f"unknown sample {name!r}", f"use one of {sorted(_ARCH_FILES)}")
    path = package_file("arch", _ARCH_FILES[name])
    raw = pd.read_csv(path, index_col=0, parse_dates=True)
    raw.columns = [c.strip().lower().replace(" ", "_") for c in raw.columns]
    frame = raw.loc[:, ["open", "high", "low", "close", "volume"]]
    frame.index = pd.DatetimeIndex(frame.index).tz_localize("America/New_York")
    return validate_bars(frame, f"{name} sample ({path})")
