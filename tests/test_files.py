"""Every file in a data folder is read or named; compressed CSV read; others refused clearly."""

from __future__ import annotations

import gzip

import pytest

from tests.conftest import make_daily_bars
from xai_backtest.data_feeds import DataError, load_bars


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
