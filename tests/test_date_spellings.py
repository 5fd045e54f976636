"""Every common spelling of a date lands on its own day, in bar files, universe folders,
long files and headlines alike, with and without a time zone; or is refused with the fix."""

from __future__ import annotations

import pandas as pd
import pytest

from xai_backtest.data_feeds.dates import parse_timestamps
from xai_backtest.data_feeds.errors import DataError
from xai_backtest.data_feeds.files import load_bars
from xai_backtest.data_feeds.headlines import load_headlines
from xai_backtest.data_feeds.universe_files import load_long_file, load_symbol_folder

DAYS = ("2014-08-13", "2014-08-14", "2014-08-15")

#: spelling -> the three days written that way
SPELLINGS = {
    "iso": DAYS,
    "dd-mm-yyyy": ("13-08-2014", "14-08-2014", "15-08-2014"),
    "mm-dd-yyyy": ("08-13-2014", "08-14-2014", "08-15-2014"),
    "dd/mm/yyyy": ("13/08/2014", "14/08/2014", "15/08/2014"),
    "mm/dd/yyyy": ("08/13/2014", "08/14/2014", "08/15/2014"),
    "dd.mm.yyyy": ("13.08.2014", "14.08.2014", "15.08.2014"),
    "yyyy/mm/dd": ("2014/08/13", "2014/08/14", "2014/08/15"),
    "yyyymmdd": ("20140813", "20140814", "20140815"),
    "dd-MON-yyyy (NSE)": ("13-AUG-2014", "14-AUG-2014", "15-AUG-2014"),
    "dd-Mon-yyyy": ("13-Aug-2014", "14-Aug-2014", "15-Aug-2014"),
    "d Month yyyy": ("13 August 2014", "14 August 2014", "15 August 2014"),
    "Mon d, yyyy": ("Aug 13, 2014", "Aug 14, 2014", "Aug 15, 2014"),
    "yyyy-Mon-dd": ("2014-Aug-13", "2014-Aug-14", "2014-Aug-15"),
    "iso with +05:30": ("2014-08-13 00:00:00+05:30", "2014-08-14 00:00:00+05:30",
                        "2014-08-15 00:00:00+05:30"),
    "iso with -04:00": ("2014-08-13T00:00:00-04:00", "2014-08-14T00:00:00-04:00",
                        "2014-08-15T00:00:00-04:00"),
    "dd-mm-yyyy hh:mm": ("13-08-2014 00:00", "14-08-2014 00:00", "15-08-2014 00:00"),
}


def _days(index: pd.DatetimeIndex) -> list[str]:
    return [f"{t:%Y-%m-%d}" for t in index]


def _bars_file(folder, cells):
    path = folder / "bars.csv"
    path.write_text(_bar_rows(cells))
    return path


def _bar_rows(cells) -> str:
    return "date,open,high,low,close,volume\n" + "".join(
        f"\"{cell}\",10,11,9,10.5,100\n" for cell in cells)


@pytest.mark.parametrize("tz", [None, "America/New_York", "Asia/Kolkata"])
@pytest.mark.parametrize("spelling", list(SPELLINGS))
def test_daily_bars_land_on_their_own_day(spelling, tz, tmp_path):
    path = _bars_file(tmp_path, SPELLINGS[spelling])
    stamped = "with" in spelling
    if tz is None and not stamped:
        with pytest.raises(DataError, match="no time zone"):
            load_bars(path)
        bars = load_bars(path, tz="UTC")
    else:
        bars = load_bars(path, tz=tz)
    days = _days(bars.index) if not (stamped and tz) else None
    if days is None:  # an offset converted to another zone: the instant is kept
        offset = SPELLINGS[spelling][0][-6:]
        assert bars.index[0] == pd.Timestamp(f"2014-08-13 00:00:00{offset}")
    else:
        assert days == list(DAYS)


@pytest.mark.parametrize("spelling", list(SPELLINGS))
def test_headlines_land_on_their_own_day(spelling, tmp_path):
    path = tmp_path / "news.csv"
    pd.DataFrame({"timestamp": SPELLINGS[spelling],
                  "text": ["Stocks rise", "Stocks fall", "Markets flat"]}).to_csv(path,
                                                                                 index=False)
    frame, report = load_headlines(path, tz="Asia/Kolkata")
    assert not report.removed
    local = frame["timestamp"].dt.tz_convert("Asia/Kolkata") if "-04:00" not in spelling \
        else frame["timestamp"].dt.tz_convert("America/New_York")
    assert _days(local) == list(DAYS)


def test_a_year_is_never_read_as_a_utc_offset():
    """'13-08-2014' ends like '-20:14'; read as an offset it moved the bar a day early."""
    parsed = parse_timestamps(pd.Series(["13-08-2014", "14-08-2014"]), "x", tz="UTC")
    assert parsed[0] == pd.Timestamp("2014-08-13", tz="UTC")


def test_a_universe_folder_and_a_long_file_read_the_same_spellings(tmp_path):
    folder = tmp_path / "stocks"
    folder.mkdir()
    (folder / "A.csv").write_text(_bar_rows(SPELLINGS["dd/mm/yyyy"]))
    (folder / "B.csv").write_text(_bar_rows(SPELLINGS["dd-MON-yyyy (NSE)"]))
    found = load_symbol_folder(folder, tz="Asia/Kolkata")
    for _, bars in found.frames:
        assert _days(bars.index) == list(DAYS)
    long = tmp_path / "all.csv"
    long.write_text("symbol,date,open,high,low,close,volume\n" + "".join(
        f"{s},{cell},10,11,9,10.5,100\n" for s in "AB" for cell in SPELLINGS["dd.mm.yyyy"]))
    for _, bars in load_long_file(long, tz="UTC").frames:
        assert _days(bars.index) == list(DAYS)


def test_an_ambiguous_order_is_refused_with_the_fix_and_obeys_dayfirst(tmp_path):
    path = _bars_file(tmp_path, ("01/08/2014", "02/08/2014", "03/08/2014"))
    with pytest.raises(DataError, match="set data.dayfirst"):
        load_bars(path, tz="UTC")
    assert f"{load_bars(path, tz='UTC', dayfirst=True).index[0]:%Y-%m-%d}" == "2014-08-01"
    assert f"{load_bars(path, tz='UTC', dayfirst=False).index[0]:%Y-%m-%d}" == "2014-01-08"


def test_an_unknown_spelling_is_refused_and_date_format_reads_it(tmp_path):
    path = _bars_file(tmp_path, ("13|08|2014", "14|08|2014", "15|08|2014"))
    with pytest.raises(DataError, match="data.date_format"):
        load_bars(path, tz="UTC")
    bars = load_bars(path, tz="UTC", date_format="%d|%m|%Y")
    assert _days(bars.index) == list(DAYS)


def test_two_digit_years_are_refused_with_the_fix(tmp_path):
    path = _bars_file(tmp_path, ("13-08-14", "14-08-14", "15-08-14"))
    with pytest.raises(DataError, match="four-digit years"):
        load_bars(path, tz="UTC")
