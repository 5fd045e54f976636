from __future__ import annotations

import sqlite3
from datetime import time

import pandas as pd
import pytest

from tests.conftest import make_daily_bars
from xai_backtest.data_feeds.errors import DataError
from xai_backtest.data_feeds.headlines import (
    availability,
    decision_bars,
    load_headlines,
    load_wigpy_headlines,
)
from xai_backtest.engine.config import DataConfig
from xai_backtest.engine.data import load_market_data

TZ = "Asia/Kolkata"


def _write_bad_csv(path):
    rows = [b",Headline,Timestamp",
            b"10,Sensex rises 100 points,2015-03-02",          # row 1: good
            b"11,   ,2015-03-02",                              # row 2: empty text
            b"12,Nifty falls,not a date",                      # row 3: unparseable
            b"13,Markets open firm,1970-01-01",                # row 4: placeholder date
            b"14,Sensex hits record,2031-01-05",               # row 5: after the prices
            b"15,Rupee \xff\xfe slumps,2015-03-03",            # row 6: not UTF-8
            b"16,Sensex rises 100 points,2015-03-02",          # row 7: duplicate of row 1
            b"17,SBI &amp; ICICI gain,2015-03-06"]             # row 8: good (unescaped)
    path.write_bytes(b"\n".join(rows) + b"\n")
    return path


def test_bad_rows_are_reported_with_counts_and_row_numbers(tmp_path):
    path = _write_bad_csv(tmp_path / "news.csv")
    frame, report = load_headlines(path, tz=TZ, latest=pd.Timestamp("2020-01-01", tz=TZ))
    assert frame["row_id"].tolist() == [10, 17]
    assert frame["text"].tolist() == ["Sensex rises 100 points", "SBI & ICICI gain"]
    assert report.rows_in == 8 and report.rows_out == 2
    expected = {"rows with empty text": "row 2", "rows with unparseable timestamps": "row 3",
                "rows dated 1970-01-01 (placeholder date)": "row 4",
                "rows dated after the price data": "row 5",
                "rows with non-UTF-8 bytes in the text": "row 6",
                "duplicate rows (same text and timestamp)": "row 7"}
    for reason, row in expected.items():
        assert report.removed[reason] == 1, reason
        assert report.examples[reason] == [row]


def test_a_headline_dated_d_reaches_the_decision_at_the_first_bar_after_d():
    bars = pd.bdate_range("2015-03-02", periods=10, tz=TZ)  # Monday ..
    stamps = pd.Series(pd.DatetimeIndex(["2015-03-04", "2015-03-06", "2015-03-07"], tz=TZ))
    headlines = pd.DataFrame({"available_at": availability(stamps)})
    assert decision_bars(headlines, bars).tolist() == [
        pd.Timestamp("2015-03-05", tz=TZ),   # Wednesday -> Thursday's close
        pd.Timestamp("2015-03-09", tz=TZ),   # Friday -> Monday
        pd.Timestamp("2015-03-09", tz=TZ)]   # Saturday -> Monday


def test_same_day_before_open_needs_times_and_uses_the_open():
    stamps = pd.Series(pd.DatetimeIndex(["2015-03-04 08:00", "2015-03-04 10:00"], tz=TZ))
    out = availability(stamps, "same_day_before_open", time(9, 15), has_time=True)
    assert out.tolist() == [pd.Timestamp("2015-03-04", tz=TZ), pd.Timestamp("2015-03-05", tz=TZ)]
    with pytest.raises(DataError, match="dates only"):
        availability(stamps.dt.normalize(), "same_day_before_open", time(9, 15))


def test_the_first_bar_makes_no_news_decision_and_early_rows_are_reported(tmp_path):
    path = tmp_path / "news.csv"
    path.write_text("date,title\n2014-12-01,old news\n2015-01-02,new year rally\n")
    bars = make_daily_bars(20, tz=TZ)  # from 2015-01-02
    frame, report = load_headlines(path, tz=TZ, earliest=bars.index[0], latest=bars.index[-1])
    assert frame["text"].tolist() == ["new year rally"]
    assert report.examples["rows available only before the price data (no decision sees "
                           "them)"] == ["row 1"]


def test_sqlite_reader_flags_undecodable_titles(tmp_path):
    path = tmp_path / "news.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE headlines(date TEXT, title TEXT, category TEXT, "
                           "summary TEXT)")
        connection.execute("INSERT INTO headlines VALUES ('2015-01-05', 'stocks rally', "
                           "'business', '')")
        connection.execute("INSERT INTO headlines VALUES ('2015-01-06', CAST(X'6e6fff' AS TEXT)"
                           ", 'business', '')")
    frame, report = load_headlines(path, tz=TZ, extra_columns=("category",))
    assert frame["text"].tolist() == ["stocks rally"]
    assert frame["category"].tolist() == ["business"]
    assert report.examples["rows with non-UTF-8 bytes in the text"] == ["row 2"]


def test_missing_columns_name_the_fix(tmp_path):
    path = tmp_path / "news.csv"
    path.write_text("when,words\n2015-01-02,x\n")
    with pytest.raises(DataError, match="text_column"):
        load_headlines(path)


def test_wigpy_headlines_are_read_by_path():
    frame, report = load_wigpy_headlines()
    assert report.rows_in == 11934 and len(frame) > 11900  # the rows of wigpy's headlines.db
    assert (frame["available_at"] > frame["timestamp"]).all()


def test_the_sensex_file_reports_its_584_placeholder_dates(shared_data):
    frame, report = load_headlines(shared_data / "sensex_headlines.csv", tz=TZ)
    assert report.removed["rows dated 1970-01-01 (placeholder date)"] == 584
    assert report.examples["rows dated 1970-01-01 (placeholder date)"] == ["rows 19153-19736"]
    assert frame["timestamp"].min() > pd.Timestamp("2000-01-01", tz=TZ)


def test_data_config_fills_market_data_headlines(tmp_path):
    path = tmp_path / "news.csv"
    path.write_text("date,title\n2015-01-05,stocks rally\n2015-01-06,stocks fall\n")
    bars = make_daily_bars(30, tz=TZ)
    bars_path = tmp_path / "bars.csv"
    bars.tz_localize(None).rename_axis("date").to_csv(bars_path)
    config = DataConfig(source="file", path=str(bars_path), tz=TZ,
                        headlines={"source": "csv", "path": str(path)})
    data, reports = load_market_data(config)
    assert data.headlines["text"].tolist() == ["stocks rally", "stocks fall"]
    assert str(data.headlines["available_at"].dt.tz) == TZ
    assert any("news.csv" in r.source for r in reports)


def test_a_date_only_row_in_a_file_with_times_counts_as_after_the_close(tmp_path):
    from xai_backtest.data_feeds.headlines import load_headlines

    path = tmp_path / "mixed.csv"
    path.write_text("timestamp,text\n"
                    "2015-03-04 08:00,early news before the open\n"
                    "2015-03-04,date only: may have come out after the close\n"
                    "2015-03-04 15:00,afternoon news\n")
    frame, _ = load_headlines(path, tz=TZ, policy="same_day_before_open",
                              session_open=time(9, 30))
    available = dict(zip(frame["text"], frame["available_at"], strict=True))
    assert available["early news before the open"] == pd.Timestamp("2015-03-04", tz=TZ)
    assert available["date only: may have come out after the close"] == pd.Timestamp(
        "2015-03-05", tz=TZ)  # not the same day's close: that would be look-ahead
    assert available["afternoon news"] == pd.Timestamp("2015-03-05", tz=TZ)
