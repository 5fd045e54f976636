"""Notes name files inside the data folder (``BBB.csv``, ``all.csv [Y]``), never by their
local path: a run folder shared with someone else shows nothing of the machine it ran on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xai_backtest.data_feeds.headlines import load_headlines
from xai_backtest.engine.config import DataConfig
from xai_backtest.engine.data import load_market_data, load_universe

TZ = "Asia/Kolkata"


def _rows(n: int = 40, start: str = "2020-01-01", repeat: int = 0) -> pd.DataFrame:
    """Daily bars as a CSV holds them, the last ``repeat`` rows written twice."""
    close = 100 * np.cumprod(np.full(n, 1.001))
    rows = pd.DataFrame({"Date": pd.bdate_range(start, periods=n).strftime("%Y-%m-%d"),
                         "Open": close, "High": close * 1.01, "Low": close * 0.99,
                         "Close": close, "Volume": 1_000})
    return pd.concat([rows, rows.tail(repeat)]) if repeat else rows


def _no_local_path(notes: list[str], folder) -> str:
    text = "\n".join(notes)
    assert str(folder) not in text and str(folder.resolve()) not in text, text
    return text


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "stocks"
    root.mkdir()
    _rows().to_csv(root / "AAA.csv", index=False)
    _rows(repeat=2).to_csv(root / "BBB.csv", index=False)  # cleaned: a note
    (root / "CCC.csv").write_bytes(b"Date,Close\n2020-01-01,\xff\xfe\n")  # not UTF-8: left out
    bad = _rows()
    bad.loc[10, "Close"] = bad.loc[10, "High"] * 2  # an invalid bar: left out
    bad.to_csv(root / "DDD.csv", index=False)
    _rows(start="2015-01-01").to_csv(root / "EEE.csv", index=False)  # before data.start
    return root


def test_a_universe_folder_names_its_files_inside_the_folder(folder):
    _, notes = load_universe(DataConfig(source="file", path=str(folder.resolve()),
                                        layout="one_file_per_symbol", tz=TZ,
                                        start="2019-06-01"))
    text = _no_local_path(notes, folder)
    assert "BBB.csv: 42 rows in, 40 kept" in text
    assert "CCC: left out, CCC.csv: not UTF-8" in text
    assert "DDD: left out, DDD.csv" in text
    assert "EEE: left out, EEE.csv: no bars between" in text


def test_a_long_file_names_itself_and_the_symbol(tmp_path):
    rows = pd.concat([_rows().assign(Symbol="X"), _rows(repeat=3).assign(Symbol="Y")])
    rows.to_csv(tmp_path / "all.csv", index=False)
    _, notes = load_universe(DataConfig(source="file", path=str(tmp_path / "all.csv"),
                                        layout="long", symbol_column="Symbol", tz=TZ))
    assert "all.csv [Y]: 43 rows in, 40 kept" in _no_local_path(notes, tmp_path)


def test_one_file_and_its_headlines_are_named_by_file(tmp_path):
    _rows(repeat=1).to_csv(tmp_path / "one.csv", index=False)
    _, reports = load_market_data(DataConfig(source="file", path=str(tmp_path / "one.csv"),
                                             tz=TZ))
    news = pd.DataFrame({"timestamp": ["2020-01-02 09:00", "2020-01-02 09:00"],
                         "text": ["a headline", "a headline"]})
    news.to_csv(tmp_path / "news.csv", index=False)
    _, headlines = load_headlines(tmp_path / "news.csv", tz=TZ)
    text = _no_local_path([r.summary() for r in [*reports, headlines]], tmp_path)
    assert "one.csv: 41 rows in, 40 kept" in text and "news.csv: 2 rows in" in text
