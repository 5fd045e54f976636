"""Data feeds: validated bars and headlines from files, yfinance and shipped samples."""

from xai_backtest.data_feeds.cleaning import CleaningReport
from xai_backtest.data_feeds.errors import DataError
from xai_backtest.data_feeds.files import load_bars
from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.data_feeds.samples import load_sample_bars, package_file
from xai_backtest.data_feeds.sessions import (
           NSE,
           NYSE,
           Session,
           align_to_close,
           filter_session,
           resample_daily,
)
from xai_backtest.data_feeds.universe import Universe, UniverseError, build_universe
from xai_backtest.data_feeds.validate import validate_bars
from xai_backtest.data_feeds.yahoo import load_yfinance

__all__ = ["NSE", "NYSE", "CleaningReport", "DataError", "MarketData", "Session", "Universe",
           "UniverseError", "align_to_close", "build_universe", "filter_session", "load_bars",
           "load_sample_bars", "load_yfinance", "package_file", "resample_daily",
           "validate_bars"]
