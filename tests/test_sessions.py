from __future__ import annotations

import pandas as pd

from xai_backtest.data_feeds import NSE, filter_session, load_bars, resample_daily


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


def _day(start: str, n: int = 5) -> list[str]:
    return [str(t) for t in pd.date_range(start, periods=n, freq="min")]


def test_close_labelled_bars_are_kept():
    from xai_backtest.data_feeds import align_to_close

    bars = _minute_bars(_day("2021-04-01 09:16") + _day("2021-04-05 09:16"))
    assert align_to_close(bars, NSE).index.equals(bars.index)


def test_open_labelled_bars_are_shifted_to_their_close():
    import pytest

    from xai_backtest.data_feeds import align_to_close

    bars = _minute_bars(_day("2021-04-01 09:15") + _day("2021-04-05 09:15"))
    with pytest.warns(UserWarning, match="bar-open times"):
        aligned = align_to_close(bars, NSE)
    assert aligned.index[0] == pd.Timestamp("2021-04-01 09:16", tz="Asia/Kolkata")
    kept, report = filter_session(aligned, NSE)
    assert len(kept) == 10 and not report.removed  # the 09:15 bar is no longer "pre-open"


def test_unclear_labels_need_a_setting():
    import pytest

    from xai_backtest.data_feeds import DataError, align_to_close

    bars = _minute_bars(_day("2021-04-01 09:40") + _day("2021-04-05 09:40"))
    with pytest.raises(DataError, match="bar_label"):
        align_to_close(bars, NSE)
    assert align_to_close(bars, NSE, "close").index.equals(bars.index)


def test_daily_bars_are_untouched():
    from xai_backtest.data_feeds import align_to_close

    bars = _minute_bars(["2021-04-01", "2021-04-05"])
    assert align_to_close(bars, NSE, "open").index.equals(bars.index)
