"""Validation errors name the source, the row or timestamp, and the fix (the full list of
broken inputs is the corpus in tests/bad_inputs.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.conftest import make_daily_bars
from xai_backtest.data_feeds import DataError, load_bars, validate_bars


def _write(tmp_path, text, name="bars.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


GOOD = ("date,open,high,low,close,volume\n2021-01-04,10,11,9,10.5,100\n"
        "2021-01-05,10.5,12,10,11,200\n")


def test_good_file_loads(tmp_path):
    bars = load_bars(_write(tmp_path, GOOD), tz="America/New_York")
    assert list(bars.columns) == ["open", "high", "low", "close", "volume"]
    assert str(bars.index.tz) == "America/New_York"
    assert bars["close"].tolist() == [10.5, 11.0]


def test_non_numeric_prices(tmp_path):
    path = _write(tmp_path, "date,open,high,low,close,volume\n2021-01-04,10,11,9,abc,100\n")
    with pytest.raises(DataError, match=r"non-numeric.*Fix: remove text"):
        load_bars(path, tz="UTC")


def test_error_names_the_bar(tmp_path):
    rows = "".join(f"2021-01-{d:02d},10,11,9,10.5,1\n" for d in range(4, 9))
    path = _write(tmp_path, "date,open,high,low,close,volume\n" + rows.replace(
        "2021-01-07,10,11,9", "2021-01-07,10,8,9"))
    with pytest.raises(DataError, match=r"bar 4 \(of 5\) at 2021-01-07"):
        load_bars(path, tz="UTC")


def test_naive_timestamps_need_a_time_zone(tmp_path):
    with pytest.raises(DataError, match="no time zone.*tz="):
        load_bars(_write(tmp_path, GOOD))


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_bars(tmp_path / "nope.csv", tz="UTC")


def test_not_utf8(tmp_path):
    path = tmp_path / "bars.csv"
    path.write_bytes(GOOD.encode() + b"2021-01-06,\xff\xfe,1,1,1,1\n")
    with pytest.raises(DataError, match="UTF-8"):
        load_bars(path, tz="UTC")


def test_errors_are_value_errors():
    assert issubclass(DataError, ValueError)


def test_validate_rejects_infinite_prices():
    bars = make_daily_bars(5)
    bars.iloc[2, bars.columns.get_loc("close")] = np.inf
    with pytest.raises(DataError, match="bar 3"):
        validate_bars(bars, "frame")


def test_a_1000x_spike_is_refused():
    bars = make_daily_bars(30)
    bars.iloc[12, :4] *= 1000
    with pytest.raises(DataError, match=r"bar 13 .*absurd price"):
        validate_bars(bars, "frame")


def test_validate_requires_aware_index():
    bars = make_daily_bars(5).tz_localize(None)
    with pytest.raises(DataError, match="no time zone"):
        validate_bars(bars, "frame")


def test_parquet_and_folder(tmp_path):
    bars = make_daily_bars(30)
    bars.iloc[:15].to_parquet(tmp_path / "a.parquet")
    bars.iloc[15:].to_parquet(tmp_path / "b.parquet")
    loaded = load_bars(tmp_path)
    pd.testing.assert_frame_equal(loaded, bars, check_freq=False)


def test_folder_with_overlapping_files_keeps_one_copy_and_counts_it(tmp_path):
    bars = make_daily_bars(30)
    bars.iloc[:20].to_parquet(tmp_path / "a.parquet")
    bars.iloc[10:].to_parquet(tmp_path / "b.parquet")
    with pytest.warns(UserWarning, match="removed 10 rows repeated exactly"):
        loaded = load_bars(tmp_path)
    pd.testing.assert_frame_equal(loaded, bars, check_freq=False)


def test_folder_with_conflicting_overlap_is_an_error(tmp_path):
    bars = make_daily_bars(30)
    bars.iloc[:20].to_parquet(tmp_path / "a.parquet")
    (bars.iloc[10:] * 1.01).to_parquet(tmp_path / "b.parquet")
    with pytest.raises(DataError, match="20 rows share a timestamp with different values"):
        load_bars(tmp_path)


def test_nifty_layout_is_detected(tmp_path):
    path = _write(tmp_path, "NIFTY,20210401,09:16,100,101,99,100.5,0,0\n"
                  "NIFTY,20210401,09:17,100.5,101,100,100.8,0,0\n")
    bars = load_bars(path)
    assert str(bars.index.tz) == "Asia/Kolkata"
    assert bars.index[0] == pd.Timestamp("2021-04-01 09:16", tz="Asia/Kolkata")


def test_kaggle_nse_minute_layout(tmp_path):
    path = _write(tmp_path, "date,open,high,low,close,volume\n"
                  "2015-01-09 09:15:00,8285.45,8295.9,8285.45,8292.1,0\n"
                  "2015-01-09 09:16:00,8292.6,8293.6,8287.2,8288.15,0\n")
    bars = load_bars(path, tz="Asia/Kolkata")
    assert bars.index[1] == pd.Timestamp("2015-01-09 09:16", tz="Asia/Kolkata")
