"""Every file in a data folder is read or named; compressed CSV read; others refused clearly."""

from __future__ import annotations

import gzip

import pytest

from tests.conftest import make_daily_bars
from xai_backtest.data_feeds import DataError, load_bars
from xai_backtest.engine.config import DataConfig
from xai_backtest.engine.data import load_market_data


def _csv_text(bars) -> str:
    out = bars.tz_convert("UTC").tz_localize(None)
    out.index.name = "date"
    return out.to_csv()


def test_a_folder_reads_csv_and_gzipped_csv_and_names_what_it_skips(tmp_path):
    bars = make_daily_bars(40, tz="UTC")
    (tmp_path / "2020.csv").write_text(_csv_text(bars.iloc[:20]))
    with gzip.open(tmp_path / "2021.csv.gz", "wt") as fh:
        fh.write(_csv_text(bars.iloc[20:]))
    (tmp_path / "notes.json").write_text("{}")
    with pytest.warns(UserWarning, match=r"1 entries are not bar files.*notes\.json"):
        loaded = load_bars(tmp_path, tz="UTC")
    assert len(loaded) == 40  # both years, none dropped


@pytest.mark.parametrize(("name", "content", "message"), [
    ("prices.xlsx", b"PK\x03\x04 not really", "spreadsheet files are not read"),
    ("prices.parquet", b"date,open,high,low,close,volume\n", "not a Parquet file"),
    ("prices.csv.gz", b"date,open\n", "not a gzip file"),
])
def test_misnamed_or_unsupported_files_fail_clearly(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(DataError, match=message):
        load_bars(tmp_path / name)


def test_offset_timestamps_keep_their_calendar_dates(tmp_path):
    path = tmp_path / "nse.csv"
    path.write_text("date,open,high,low,close,volume\n"
                    "2020-01-06 00:00:00+05:30,10,11,9,10.5,1\n"
                    "2020-01-07 00:00:00+05:30,10,11,9,10.5,1\n"
                    "2020-01-10 00:00:00+05:30,10,11,9,10.5,1\n")
    bars = load_bars(path)
    assert [f"{t:%Y-%m-%d %a}" for t in bars.index] == ["2020-01-06 Mon", "2020-01-07 Tue",
                                                        "2020-01-10 Fri"]  # not Sun/Mon/Thu
    assert bars.index[0].utcoffset().total_seconds() == 5.5 * 3600


def test_changing_offsets_without_a_time_zone_ask_for_one(tmp_path):
    path = tmp_path / "ny.csv"
    path.write_text("date,open,high,low,close,volume\n"
                    "2021-03-12 15:59:00-05:00,10,11,9,10.5,1\n"
                    "2021-03-15 09:31:00-04:00,10,11,9,10.5,1\n")
    with pytest.raises(DataError, match="pass the exchange time zone"):
        load_bars(path)


def test_an_unadjusted_split_is_flagged_not_repaired(tmp_path):
    bars = make_daily_bars(30, tz="UTC")
    bars.iloc[15:, :4] = bars.iloc[15:, :4] / 2  # a 2:1 split nobody adjusted for
    bars.iloc[15, bars.columns.get_loc("open")] = bars["close"].iloc[14] / 2
    bars["high"] = bars[["open", "high", "close"]].max(axis=1)
    bars["low"] = bars[["open", "low", "close"]].min(axis=1)
    path = tmp_path / "stock.csv"
    path.write_text(_csv_text(bars))
    data, reports = load_market_data(DataConfig(source="file", path=str(path), tz="UTC"))
    notes = " ".join(" ".join(r.notes) for r in reports)
    assert f"{bars.index[15]:%Y-%m-%d}: close -50%" in notes and "2:1 split" in notes
    assert "not adjusted" in notes
    assert data.bars["close"].iloc[15] == pytest.approx(bars["close"].iloc[15])  # unchanged
    assert data.bars["close"].iloc[14] == pytest.approx(bars["close"].iloc[14])


def test_pandas_and_yfinance_csv_layouts_are_read(tmp_path):
    bars = make_daily_bars(5, tz="UTC").tz_localize(None)
    plain = tmp_path / "pandas.csv"
    bars.rename_axis(None).to_csv(plain)  # header starts with an empty cell
    assert plain.read_text().startswith(",open")
    yahoo = tmp_path / "yahoo.csv"
    yahoo.write_text("Price,Close,High,Low,Open,Volume\nTicker,SPY,SPY,SPY,SPY,SPY\n"
                     "Date,,,,,\n" + "".join(
                         f"{t:%Y-%m-%d},{r.close},{r.high},{r.low},{r.open},{r.volume}\n"
                         for t, r in bars.iterrows()))
    for path in (plain, yahoo):
        loaded = load_bars(path, tz="UTC")
        assert len(loaded) == 5
        assert loaded["close"].to_numpy() == pytest.approx(bars["close"].to_numpy())


@pytest.mark.parametrize("scale", [1, 1000])
def test_epoch_seconds_and_milliseconds_are_read_as_utc_instants(tmp_path, scale):
    path = tmp_path / "epoch.csv"
    path.write_text("date,open,high,low,close,volume\n"
                    f"{1577836800 * scale},10,11,9,10.5,1\n{1577923200 * scale},10,11,9,10.5,1\n")
    bars = load_bars(path, tz="America/New_York")
    assert [f"{t:%Y-%m-%d %H:%M}" for t in bars.index.tz_convert("UTC")] == [
        "2020-01-01 00:00", "2020-01-02 00:00"]


def test_a_parquet_time_column_with_an_offset_keeps_its_dates(tmp_path):
    import pandas as pd

    stamps = pd.date_range("2020-01-06", periods=3, freq="B", tz="Asia/Kolkata")
    frame = pd.DataFrame({"date": stamps, "open": 10.0, "high": 11.0, "low": 9.0,
                          "close": 10.5, "volume": 1.0})
    frame.to_parquet(tmp_path / "nse.parquet", index=False)
    bars = load_bars(tmp_path / "nse.parquet")
    assert [f"{t:%Y-%m-%d}" for t in bars.index] == ["2020-01-06", "2020-01-07", "2020-01-08"]
