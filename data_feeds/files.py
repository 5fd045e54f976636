"""Bars from CSV or Parquet files and folders of them.

Two layouts are recognised:

* **header** (default): a header row with a time column (``date``, ``datetime``,
  ``timestamp`` or ``time``; a separate ``time`` column beside ``date`` is joined to
  it) and ``open high low close volume`` in any order and case. This covers
  Yahoo exports, ../shared/data/nifty50_daily.csv and the common Kaggle NSE minute
  layout ``date,open,high,low,close,volume``. Extra columns are ignored.
  Also read: pandas' default ``to_csv`` (an unnamed first column of dates) and the CSV
  that ``yfinance.download(...).to_csv()`` writes (``Price``, ``Ticker`` and ``Date`` rows).
* **nifty**: no header, ``symbol,YYYYMMDD,HH:MM,open,high,low,close,volume,oi``, as in
  ../shared/data/nifty_minute.
"""

from __future__ import annotations

import csv
import datetime
import gzip
import os
import warnings
from pathlib import Path
from typing import Literal

import pandas as pd

from xai_backtest.data_feeds.dates import day_first
from xai_backtest.data_feeds.errors import DataError
from xai_backtest.data_feeds.validate import BAR_COLUMNS, validate_bars

__all__ = ["Layout", "load_bars"]

Layout = Literal["auto", "header", "nifty"]
NIFTY_COLUMNS = ["symbol", "date", "time", "open", "high", "low", "close", "volume", "oi"]
_TIME_COLUMNS = ("datetime", "timestamp", "date", "time")
_CSV = (".csv", ".csv.gz")
_PARQUET = (".parquet", ".pq")
_EXCEL = (".xlsx", ".xls", ".xlsm", ".ods")


def _kind(path: Path) -> str | None:
    """``csv``, ``parquet`` or ``excel`` by the file's name (``.csv.gz`` is CSV); else None."""
    name = path.name.lower()
    for kind, suffixes in (("csv", _CSV), ("parquet", _PARQUET), ("excel", _EXCEL)):
        if name.endswith(suffixes):
            return kind
    return None
_OFFSET = r"(?:[+-]\d\d:?\d\d|Z)\s*$"


def load_bars(path: str | Path, tz: str | None = None, layout: Layout = "auto",
              dayfirst: bool | None = None) -> pd.DataFrame:
    """Load validated OHLCV bars from a CSV/Parquet file or a folder of them.

    ``tz`` is the time zone of naive timestamps in the file (e.g. ``"Asia/Kolkata"``
    for NSE data); aware timestamps are converted to it. Files in a folder are
    concatenated in time order; a timestamp present in two files is an error.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(str(path), "file or folder not found", "check the path")
    if path.is_dir():
        try:
            entries = sorted(p for p in path.iterdir() if not p.name.startswith("."))
        except OSError as e:
            raise DataError(str(path), f"cannot list the folder ({e.strerror})",
                            "check its permissions") from e
        files = [p for p in entries if p.is_file() and _kind(p) in ("csv", "parquet", "excel")]
        skipped = [p.name for p in entries if p not in files]
        if skipped:
            warnings.warn(f"{path}: {len(skipped)} entries are not bar files and were not "
                          f"read: {', '.join(skipped[:5])}{' ...' if len(skipped) > 5 else ''}",
                          stacklevel=2)
        if not files:
            raise DataError(str(path), "no .csv, .csv.gz or .parquet files in folder",
                            "point to a folder of bar files or to one file")
        parts = [_read_one(p, tz, layout, dayfirst) for p in files]
        parts.sort(key=lambda frame: frame.index[0])
        frame = pd.concat(parts)
    else:
        frame = _read_one(path, tz, layout, dayfirst)
    return validate_bars(frame, str(path))


def _read_one(path: Path, tz: str | None, layout: Layout,
              dayfirst: bool | None = None) -> pd.DataFrame:
    source = str(path)
    kind = _kind(path)
    if kind == "excel":
        raise DataError(source, "spreadsheet files are not read",
                        "save it as CSV (UTF-8, comma-separated) and point to that file")
    if not os.access(path, os.R_OK):
        raise DataError(source, "file is not readable (permission denied)",
                        "check its permissions")
    if kind == "parquet":
        try:
            raw = pd.read_parquet(path)
        except (OSError, ValueError) as e:
            raise DataError(source, f"not a Parquet file ({str(e)[:120]})",
                            "check the file; a CSV file needs a .csv name") from e
        if isinstance(raw.index, pd.DatetimeIndex):
            frame = _localize(raw.rename(columns=str.lower), source, tz)
        else:
            frame = _from_header_frame(raw, source, tz, 0, dayfirst)
    else:
        frame = _read_csv(path, tz, layout, dayfirst)
    if frame.empty:
        raise DataError(source, "no data rows", "check that the file is not empty or header-only")
    return frame


def _read_csv(path: Path, tz: str | None, layout: Layout,
              dayfirst: bool | None = None) -> pd.DataFrame:
    source = str(path)
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8", newline="") as fh:
            first = fh.readline()
    except gzip.BadGzipFile as e:
        raise DataError(source, "not a gzip file despite its .gz name",
                        "decompress it or rename it") from e
    except UnicodeDecodeError as e:
        raise DataError(source, f"not UTF-8 text ({e.reason} at byte {e.start})",
                        "re-save the file as UTF-8") from e
    if not first.strip():
        raise DataError(source, "file is empty", "check the path or re-export the data")
    if layout == "auto":
        layout = "nifty" if _looks_like_nifty(first) else "header"
    try:
        if layout == "nifty":
            raw = pd.read_csv(path, header=None, names=NIFTY_COLUMNS, dtype={"date": str,
                              "time": str}, encoding="utf-8")
            return _from_nifty_frame(raw, source, tz)
        if first.startswith("Price,"):  # yfinance's download(...).to_csv(): Price/Ticker/Date
            raw = pd.read_csv(path, encoding="utf-8", skiprows=[1, 2])
            raw = raw.rename(columns={"Price": "date"})
        else:
            raw = pd.read_csv(path, encoding="utf-8")
        if str(raw.columns[0]).startswith("Unnamed: 0"):  # pandas' to_csv of an unnamed index
            raw = raw.rename(columns={raw.columns[0]: "date"})
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise DataError(source, f"cannot parse CSV: {e}", "check the delimiter (comma) and "
                        "that every row has the same number of fields") from e
    if raw.shape[1] == 1 and any(d in first for d in ";\t|"):
        raise DataError(source, f"one column only ({raw.columns[0]!r}): wrong delimiter",
                        "save the file comma-separated, with decimal points (not commas)")
    return _from_header_frame(raw, source, tz, 2, dayfirst)


def _looks_like_nifty(first_line: str) -> bool:
    fields = next(csv.reader([first_line]))
    return len(fields) == len(NIFTY_COLUMNS) and fields[1].strip().isdigit() and len(
        fields[1].strip()) == 8


def _from_nifty_frame(raw: pd.DataFrame, source: str, tz: str | None) -> pd.DataFrame:
    stamps = _parse_times(raw["date"] + " " + raw["time"], source, "%Y%m%d %H:%M", 1)
    frame = raw.loc[:, list(BAR_COLUMNS)].set_axis(stamps)
    return _localize(frame, source, tz or "Asia/Kolkata")


def _from_header_frame(raw: pd.DataFrame, source: str, tz: str | None,
                       first_data_row: int, dayfirst: bool | None = None) -> pd.DataFrame:
    columns = {str(c).strip().lower().replace(" ", "_"): c for c in raw.columns}
    time_col = next((columns[c] for c in _TIME_COLUMNS if c in columns), None)
    if time_col is None:
        raise DataError(source, f"no time column among {list(raw.columns)}",
                        "name the time column date, datetime or timestamp")
    stamps = raw[time_col].astype(str)
    if time_col == columns.get("date") and "time" in columns:
        stamps = stamps + " " + raw[columns["time"]].astype(str)
    missing = [c for c in BAR_COLUMNS if c not in columns]
    if missing:
        raise DataError(source, f"missing column(s) {missing}; found {list(raw.columns)}",
                        "provide open, high, low, close and volume (volume may be all 0 for "
                        "an index)")
    used = {time_col, columns.get("time"), *(columns[c] for c in BAR_COLUMNS)}
    ignored = [str(c) for c in raw.columns if c not in used]
    if ignored:
        warnings.warn(f"{source}: ignoring column(s) {ignored}", stacklevel=4)
    frame = raw.loc[:, [columns[c] for c in BAR_COLUMNS]].set_axis(list(BAR_COLUMNS), axis=1)
    frame.index = _parse_times(stamps, source, None, first_data_row, dayfirst)
    if frame.index.tz is not None and tz is None:
        frame.index = frame.index.tz_convert(_file_offset(stamps, source))
    return _localize(frame, source, tz)


def _file_offset(text: pd.Series, source: str) -> datetime.timezone:
    """The one UTC offset every timestamp of ``text`` carries, as a time zone: daily bars
    stamped ``2020-04-22 00:00:00+05:30`` keep their calendar date instead of moving to the
    previous day in UTC. Offsets that change (daylight saving) need the exchange's zone."""
    offsets = text.str.extract(r"([+-]\d\d):?(\d\d)\s*$").dropna().drop_duplicates()
    if len(offsets) != 1:
        raise DataError(source, f"the timestamps carry {len(offsets)} different UTC offsets "
                        "(daylight saving?)", "pass the exchange time zone, e.g. "
                        "--tz America/New_York, so the bars keep their local dates")
    hours, minutes = (int(v) for v in offsets.iloc[0])
    sign = -1 if hours < 0 or offsets.iloc[0, 0].startswith("-") else 1
    return datetime.timezone(datetime.timedelta(hours=sign * (abs(hours) + minutes / 60)))


def _parse_times(text: pd.Series, source: str, fmt: str | None, first_data_row: int,
                 dayfirst: bool | None = None) -> pd.DatetimeIndex:
    with_offset = text.str.contains(_OFFSET, regex=True, na=False).to_numpy(dtype=bool)
    if with_offset.any() and not with_offset.all():
        row = int((~with_offset).argmax())
        raise DataError(source, "some timestamps carry a UTC offset and some do not",
                        "write every timestamp with its offset, or none of them",
                        where=f"row {row + first_data_row}")
    # offsets may differ between rows (e.g. across DST): parse them as instants in UTC
    digits = text.str.fullmatch(r"\s*\d{10}(\d{3})?\s*")
    if fmt is None and len(text) and bool(digits.all()):  # Unix epoch s (10 digits), ms (13)
        unit = "ms" if text.str.strip().str.len().iloc[0] == 13 else "s"
        return pd.DatetimeIndex(pd.to_datetime(text.astype("int64"), unit=unit, utc=True))
    order = day_first(text, dayfirst, source) if fmt is None else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if order is None:
            parsed = pd.to_datetime(text, format=fmt, errors="coerce",
                                    utc=bool(with_offset.any()))
        else:  # one order for the whole column (data_feeds/dates.py)
            parsed = pd.to_datetime(text, format="mixed", dayfirst=order, errors="coerce",
                                    utc=bool(with_offset.any()))
    if any("infer format" in str(w.message) for w in caught):
        warnings.warn(f"{source}: the timestamps follow no single format, so each was read "
                      "on its own; check a few dates, or write them as ISO (2021-04-01)",
                      stacklevel=5)
    bad = parsed.isna().to_numpy()
    if bad.any():
        row = int(bad.argmax())
        raise DataError(source, f"unparseable timestamp {text.iloc[row]!r}",
                        "use ISO dates such as 2021-04-01 or 2021-04-01 09:16",
                        where=f"row {row + first_data_row} ({int(bad.sum())} such rows)")
    return pd.DatetimeIndex(parsed)


def _localize(frame: pd.DataFrame, source: str, tz: str | None) -> pd.DataFrame:
    index = frame.index
    assert isinstance(index, pd.DatetimeIndex)
    if index.tz is not None:
        return frame.tz_convert(tz) if tz else frame
    if tz is None:
        raise DataError(source, "timestamps have no time zone",
                        "pass the exchange time zone, e.g. tz='America/New_York'")
    try:
        return frame.tz_localize(tz, ambiguous="raise", nonexistent="raise")
    except (ValueError, TypeError) as e:
        raise DataError(source, f"timestamps invalid in {tz}: {e}",
                        "check daylight-saving transitions or store times in UTC") from e
