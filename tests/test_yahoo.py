"""The yfinance feed, tested without the network (a fake download function)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from tests.conftest import make_daily_bars
from xai_backtest.data_feeds import DataError, load_yfinance
from xai_backtest.data_feeds.yahoo import cache_path


def _yahoo_frame(n=5):
    bars = make_daily_bars(n).tz_localize(None)
    frame = bars.rename(columns=str.title).rename(columns={"Volume": "Volume"})
    frame["Adj Close"] = frame["Close"]
    frame.index.name = "Date"
    return frame


def test_download_is_validated_and_cached(tmp_path):
    calls = []

    def download(**kwargs):
        calls.append(kwargs)
        return _yahoo_frame()

    first = load_yfinance("^GSPC", date(2015, 1, 1), date(2015, 1, 9), cache_dir=tmp_path,
                          download=download)
    assert str(first.index.tz) == "America/New_York"
    assert cache_path(tmp_path, "^GSPC", "1d", date(2015, 1, 1), date(2015, 1, 9)).exists()
    again = load_yfinance("^GSPC", date(2015, 1, 1), date(2015, 1, 9), cache_dir=tmp_path,
                          download=lambda **k: pytest.fail("cache not used"))
    pd.testing.assert_frame_equal(first, again, check_freq=False)
    assert len(calls) == 1
    assert calls[0]["end"] == date(2015, 1, 10)  # yfinance's end is exclusive


def test_unreachable_network_is_a_clear_error(tmp_path):
    def offline_download(**kwargs):
        print("Failed to get ticker '^GSPC' reason: Could not resolve host: query1.finance")
        return pd.DataFrame()

    with pytest.raises(DataError) as info:
        load_yfinance("^GSPC", cache_dir=tmp_path, download=offline_download)
    message = str(info.value)
    assert "network is unreachable" in message
    assert "Could not resolve host" in message
    assert "data.source=file" in message and "cache file" in message


def test_offline_mode_without_cache(tmp_path):
    with pytest.raises(DataError, match="offline mode and no cache file"):
        load_yfinance("AAPL", cache_dir=tmp_path, offline=True,
                      download=lambda **k: pytest.fail("must not download offline"))


def test_adjusted_prices_are_an_option_with_their_own_cache(tmp_path):
    asked = []

    def download(**kwargs):
        asked.append(kwargs["auto_adjust"])
        frame = _yahoo_frame()
        if kwargs["auto_adjust"]:  # yfinance then returns dividend-adjusted OHLC
            frame[["Open", "High", "Low", "Close"]] *= 0.98
        return frame

    raw = load_yfinance("SPY", date(2015, 1, 1), date(2015, 1, 9), cache_dir=tmp_path,
                        download=download)
    adjusted = load_yfinance("SPY", date(2015, 1, 1), date(2015, 1, 9), cache_dir=tmp_path,
                             auto_adjust=True, download=download)
    assert asked == [False, True]
    assert (adjusted["close"] < raw["close"]).all()
    assert cache_path(tmp_path, "SPY", "1d", date(2015, 1, 1), date(2015, 1, 9), True).exists()


def test_the_report_states_the_price_basis():
    from xai_backtest.engine.config import DataConfig
    from xai_backtest.engine.data import price_basis

    assert price_basis(DataConfig()).startswith("price-only")
    assert "total return" in price_basis(DataConfig(source="yfinance", auto_adjust=True))
    assert "not stated" in price_basis(DataConfig(source="file", path="x.csv"))
    assert "total return" in price_basis(DataConfig(source="file", path="x.csv",
                                                    price_basis="total_return"))
