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
import gzip
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from xai_backtest.data_feeds.cleaning import CleaningReport, clean_bars
from xai_backtest.data_feeds.dates import parse_timestamps
from xai_backtest.data_feeds.errors import DataError
from xai_backtest.data_feeds.validate import BAR_COLUMNS, PRICE_COLUMNS, validate_bars

__all__ = ["DateSpelling", "Layout", "bars_from_frame", "bars_from_table", "load_bars",
           "read_csv_table"]

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


@dataclass(frozen=True)
class DateSpelling:
    """How the user said the file's dates are written, where they cannot be read off it:
    ``dayfirst`` for nn/nn/yyyy dates, ``date_format`` (strftime) for anything else."""

    dayfirst: bool | None = None
    date_format: str | None = None


def load_bars(path: str | Path, tz: str | None = None, layout: Layout = "auto",
              dayfirst: bool | None = None, date_format: str | None = None,
              report: CleaningReport | None = None) -> pd.DataFrame:
    """Load validated OHLCV bars from a CSV/Parquet file or a folder of them.

    ``tz`` is the time zone of naive timestamps in the file (e.g. ``"Asia/Kolkata"``
    for NSE data); aware timestamps are converted to it. Files in a folder are
    concatenated in time order. Every source is cleaned by one policy (``clean_bars``):
    what was removed or repaired goes to ``report``, or a warning when none is given.
    """
    path = Path(path)
    dates = DateSpelling(dayfirst, date_format)
    if not path.exists():
        raise DataError(str(path), "file or folder not found", "check the path")
    own = report if report is not None else CleaningReport(str(path))
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
        parts = [_read_one(p, tz, layout, dates, own) for p in files]
        parts.sort(key=lambda frame: frame.index[0])
        frame = pd.concat(parts)
    else:
        frame = _read_one(path, tz, layout, dates, own)
    frame = validate_bars(clean_bars(frame, str(path), own), str(path))
    if report is None:
        own.warn()
    return frame


def bars_from_frame(frame: pd.DataFrame, source: str,
                    report: CleaningReport | None = None) -> pd.DataFrame:
    """Bars handed over as a DataFrame, cleaned and validated as a file's are (what was
    removed or repaired goes to ``report``, or a warning)."""
    own = report if report is not None else CleaningReport(source, rows_in=len(frame))
    bars = validate_bars(clean_bars(frame, source, own), source)
    if report is None:
        own.warn()
    return bars


def _read_one(path: Path, tz: str | None, layout: Layout, dates: DateSpelling,
              report: CleaningReport) -> pd.DataFrame:
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
            frame = bars_from_table(raw, source, tz, dates, report, first_data_row=0)
    else:
        frame = _read_csv(path, tz, layout, dates, report)
    if frame.empty:
        raise DataError(source, "no data rows", "check that the file is not empty or header-only")
    report.rows_in += len(frame)
    return frame


def read_csv_table(path: Path) -> tuple[pd.DataFrame, str]:
    """The raw table of a CSV file (or .csv.gz) and its first line, with the file's own
    problems (not UTF-8, empty, wrong delimiter) refused in words."""
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
    try:
        if _looks_like_nifty(first):
            raw = pd.read_csv(path, header=None, names=NIFTY_COLUMNS, dtype={"date": str,
                              "time": str}, encoding="utf-8")
        elif first.startswith("Price,"):  # yfinance's download(...).to_csv(): Price/Ticker/Date
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
    return raw, first


def _read_csv(path: Path, tz: str | None, layout: Layout, dates: DateSpelling,
              report: CleaningReport) -> pd.DataFrame:
    raw, first = read_csv_table(path)
    if layout == "nifty" or (layout == "auto" and _looks_like_nifty(first)):
        if list(raw.columns) != NIFTY_COLUMNS:
            raise DataError(str(path), "layout nifty needs the header-less NIFTY minute "
                            "layout", "set data.layout: header (or auto)")
        return _from_nifty_frame(raw, str(path), tz)
    return bars_from_table(raw, str(path), tz, dates, report)


def _looks_like_nifty(first_line: str) -> bool:
    fields = next(csv.reader([first_line]))
    return len(fields) == len(NIFTY_COLUMNS) and fields[1].strip().isdigit() and len(
        fields[1].strip()) == 8


def _from_nifty_frame(raw: pd.DataFrame, source: str, tz: str | None) -> pd.DataFrame:
    stamps = parse_timestamps(raw["date"] + " " + raw["time"], source,
                              date_format="%Y%m%d %H:%M", tz=tz or "Asia/Kolkata",
                              first_row=1)
    return raw.loc[:, list(BAR_COLUMNS)].set_axis(stamps)


def bars_from_table(raw: pd.DataFrame, source: str, tz: str | None, dates: DateSpelling,
                    report: CleaningReport, first_data_row: int = 2,
                    ignore: tuple[str, ...] = ()) -> pd.DataFrame:
    """OHLCV bars of a table with a header: a time column (``date``, ``datetime``,
    ``timestamp`` or ``time``; a ``time`` beside ``date`` is joined to it) and ``open high
    low close`` and ``volume`` matched by name in any case (no volume column: 0, noted).
    Other columns are ignored (with a warning unless listed in ``ignore``)."""
    columns = {str(c).strip().lower().replace(" ", "_"): c for c in raw.columns}
    time_col = next((columns[c] for c in _TIME_COLUMNS if c in columns), None)
    if time_col is None:
        raise DataError(source, f"no time column among {list(raw.columns)}",
                        "name the time column date, datetime or timestamp")
    stamps = raw[time_col].astype(str)
    if time_col == columns.get("date") and "time" in columns:
        stamps = stamps + " " + raw[columns["time"]].astype(str)
    missing = [c for c in PRICE_COLUMNS if c not in columns]
    if missing:
        raise DataError(source, f"missing column(s) {missing}; found {list(raw.columns)}",
                        "provide open, high, low and close (and volume: all 0 for an index)")
    used = {time_col, columns.get("time"), *(columns.get(c) for c in BAR_COLUMNS)}
    ignored = [str(c) for c in raw.columns if c not in used and str(c) not in ignore]
    if ignored:
        warnings.warn(f"{source}: ignoring column(s) {ignored}", stacklevel=4)
    frame = pd.DataFrame({c: (raw[columns[c]] if c in columns else 0.0) for c in BAR_COLUMNS})
    if "volume" not in columns:
        report.record_repair("bars without a volume column (volume set to 0)", len(frame))
    frame.index = parse_timestamps(stamps, source, dayfirst=dates.dayfirst,
                                   date_format=dates.date_format, tz=tz,
                                   first_row=first_data_row)
    return _localize(frame, source, tz)


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
