from __future__ import annotations

import pandas as pd

from data_feeds import NSE, filter_session, load_bars, resample_daily


def _minute_bars(times: list[str]) -> pd.DataFrame:
    index = pd.DatetimeIndex(times).tz_localize("Asia/Kolkata")
    return pd.DataFrame({"open": 10.0, "high": 11.0, "low": 9.0, "close": 10.5,
                         "volume": 1.0}, index=index)


def test_filter_counts_what_it_removes():
    bars = _minute_bars(["2021-04-01 09:08", "2021-04-01 09:16", "2021-04-01 15:30",
                         "2021-04-01 15:31", "2021-04-03 10:00"])
    kept, report = filter_session(bars, NSE)
    assert list(kept.index.strftime("%H:%M")) == ["09:16", "15:30"]
    assert report.removed == {"pre-open bars": 1, "after-close bars": 1, "weekend bars": 1}
    assert report.rows_out == 2
    assert "removed" in report.summary()


def test_resample_daily_ohlc():
    bars = _minute_bars(["2021-04-01 09:16", "2021-04-01 09:17"])
    bars["open"] = [10.0, 10.4]
    bars["close"] = [10.4, 10.6]
    bars["high"] = [10.5, 10.9]
    bars["low"] = [9.5, 10.2]
    daily = resample_daily(bars, NSE)
    assert daily.iloc[0].to_dict() == {"open": 10.0, "high": 10.9, "low": 9.5, "close": 10.6,
                                       "volume": 2.0}
    assert daily.index[0] == pd.Timestamp("2021-04-01", tz="Asia/Kolkata")


def test_nifty_minute_resamples_to_the_daily_file(shared_data):
    minute = load_bars(shared_data / "nifty_minute")
    session, report = filter_session(minute, NSE)
    assert report.removed["pre-open bars"] == 515
    daily = resample_daily(session, NSE)
    assert len(daily) == 515
    reference = load_bars(shared_data / "nifty50_daily.csv", tz="Asia/Kolkata")
    joined = daily.join(reference.add_suffix("_ref"), how="inner")
    assert len(joined) == 515
    error = (joined["close"] / joined["close_ref"] - 1).abs()
    assert error.median() < 0.001
    assert error.quantile(0.95) < 0.005
