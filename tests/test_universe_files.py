"""Universe files: one CSV per instrument or one long file, each instrument's defects kept to
that instrument, counted and named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xai_backtest.data_feeds.errors import DataError
from xai_backtest.data_feeds.universe import build_universe
from xai_backtest.data_feeds.universe_files import load_long_file, load_symbol_folder

TZ = "Asia/Kolkata"


def _rows(n: int = 30, start: float = 100.0, split_at: int | None = None) -> pd.DataFrame:
    dates = pd.bdate_range("2020-01-01", periods=n)
    close = start * np.cumprod(np.r_[1.0, np.full(n - 1, 1.001)])
    if split_at is not None:
        close[split_at:] /= 2  # a 2:1 split the file was never adjusted for
    return pd.DataFrame({"Date": dates.strftime("%Y-%m-%d"), "Open": close, "High": close * 1.01,
                         "Low": close * 0.99, "Close": close, "Volume": 1_000})


def test_a_folder_of_one_file_per_instrument(tmp_path):
    _rows().to_csv(tmp_path / "AAA.csv", index=False)
    repeated = _rows()
    pd.concat([repeated, repeated.iloc[[5, 6]]]).to_csv(tmp_path / "BBB.csv", index=False)
    clash = _rows()
    extra = clash.iloc[[3]].assign(Close=1.0)
    pd.concat([clash, extra]).to_csv(tmp_path / "CCC.csv", index=False)
    _rows(split_at=20).to_csv(tmp_path / "DDD.csv", index=False)
    found = load_symbol_folder(tmp_path, tz=TZ)
    assert [name for name, _ in found.frames] == ["AAA", "BBB", "DDD"]
    assert "share a timestamp with different values" in found.dropped["CCC"]
    bbb = next(r for r in found.cleaning if r.source.endswith("BBB.csv"))
    assert bbb.removed["rows repeated exactly (same time and values)"] == 2
    ddd = dict(found.frames)["DDD"]  # the reader never changes a price
    assert ddd["close"].iloc[20] == pytest.approx(ddd["close"].iloc[19] / 2 * 1.001)
    assert "CCC: left out" in " ".join(found.notes())
    universe = build_universe(found.frames)
    assert universe.names == ["AAA", "BBB", "DDD"]
    with pytest.raises(DataError, match="no file for symbol"):
        load_symbol_folder(tmp_path, tz=TZ, symbols=["AAA", "ZZZ"])


def test_one_long_file_with_a_symbol_column(tmp_path):
    long = pd.concat([_rows().assign(Symbol="X"), _rows(start=50.0).assign(Symbol="Y")])
    long.to_csv(tmp_path / "all.csv", index=False)
    found = load_long_file(tmp_path / "all.csv", tz=TZ, symbol_column="Symbol")
    assert [name for name, _ in found.frames] == ["X", "Y"]
    assert dict(found.frames)["Y"]["close"].iloc[0] == 50.0
    with pytest.raises(DataError, match="no rows for symbol"):
        load_long_file(tmp_path / "all.csv", tz=TZ, symbol_column="Symbol", symbols=["Q"])


def test_the_kaggle_nifty_stocks_are_cleaned_honestly(shared_data):
    found = load_symbol_folder(shared_data / "nifty50_kaggle_2000_2020", tz=TZ,
                               symbols=["TCS", "RELIANCE", "GAIL"])
    assert not found.dropped
    for report in found.cleaning:  # three dates appear twice with identical rows
        assert report.removed["rows repeated exactly (same time and values)"] == 3
    universe = build_universe(found.frames)
    assert universe.missing["GAIL"] > 300  # no rows 2000-03-21 .. 2001-07-02: left missing
    assert universe.closes()["GAIL"].loc["2000-06-01":"2001-06-01"].isna().all()
    assert universe.calendar[0] == pd.Timestamp("2000-01-03", tz="UTC")
