"""Synthetic headlines beside synthetic daily bars, for the news signal tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tests.conftest import make_daily_bars
from xai_backtest.data_feeds.headlines import availability
from xai_backtest.data_feeds.market_data import MarketData

WORDS = ("sensex", "nifty", "rallies", "slumps", "banks", "gain", "fall", "rbi", "policy",
         "inflation", "record", "low", "sbi", "surges", "tanks", "metal", "auto", "it")


def make_headlines(dates: pd.DatetimeIndex, per_day: int = 3, seed: int = 0) -> pd.DataFrame:
    """``per_day`` random headlines dated each of ``dates`` (date only), available after the
    close of their date."""
    rng = np.random.default_rng(seed)
    stamps = np.repeat(dates.normalize(), per_day)
    texts = [" ".join(rng.choice(WORDS, rng.integers(4, 8))) for _ in range(len(stamps))]
    frame = pd.DataFrame({"row_id": np.arange(len(stamps)), "timestamp": stamps,
                          "text": texts, "source": "synthetic", "symbol": "TEST"})
    frame.insert(2, "available_at", availability(frame["timestamp"]))
    return frame


def make_news_data(n: int = 160, per_day: int = 3, seed: int = 0) -> MarketData:
    """``n`` business-day bars; headlines on every calendar day, weekends included."""
    bars = make_daily_bars(n, seed=seed)
    days = pd.date_range(bars.index[0], bars.index[-1], freq="D")
    return MarketData(bars, make_headlines(days, per_day, seed), "TEST")
