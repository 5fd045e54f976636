"""dd/mm/yyyy vs mm/dd/yyyy: one reading per column, refused when it cannot be told."""

from __future__ import annotations

import pytest

from xai_backtest.data_feeds import DataError, load_bars
from xai_backtest.data_feeds.headlines import load_headlines

HEADER = "date,open,high,low,close,volume\n"


def _bars(tmp_path, dates):
    path = tmp_path / "monthly.csv"
    path.write_text(HEADER + "".join(f"{d},10,11,9,10.5,1\n" for d in dates))
    return path


def test_a_column_that_reads_both_ways_is_refused_unless_told(tmp_path):
    path = _bars(tmp_path, ["01/08/2014", "01/09/2014", "01/10/2014"])
    with pytest.raises(DataError, match="set data.dayfirst"):
        load_bars(path, tz="UTC")
    bars = load_bars(path, tz="UTC", dayfirst=True)
    assert [f"{t:%Y-%m-%d}" for t in bars.index] == ["2014-08-01", "2014-09-01", "2014-10-01"]


def test_one_day_over_12_decides_the_whole_column(tmp_path):
    bars = load_bars(_bars(tmp_path, ["01/08/2014", "12/08/2014", "13/08/2014"]), tz="UTC")
    assert [f"{t:%Y-%m-%d}" for t in bars.index] == ["2014-08-01", "2014-08-12", "2014-08-13"]
    with pytest.raises(DataError, match="can only be read day-first"):
        load_bars(_bars(tmp_path, ["01/08/2014", "13/08/2014"]), tz="UTC", dayfirst=False)


def test_headlines_dated_day_first_keep_their_dates(tmp_path):
    path = tmp_path / "news.csv"
    path.write_text("date,text\n01/12/2015,rates held\n13/01/2016,stocks slide\n"
                    "05/02/2016,oil rebounds\n")
    frame, _ = load_headlines(path, tz="UTC", policy="after_close")
    published = dict(zip(frame["text"], frame["timestamp"].dt.strftime("%Y-%m-%d"),
                         strict=True))
    # row by row, '01/12/2015' became 12 January: used 324 days before it was published
    assert published == {"rates held": "2015-12-01", "stocks slide": "2016-01-13",
                         "oil rebounds": "2016-02-05"}


def test_mixed_orders_in_one_column_are_refused(tmp_path):
    with pytest.raises(DataError, match="some dates are day-first"):
        load_bars(_bars(tmp_path, ["13/01/2014", "01/13/2014"]), tz="UTC")
