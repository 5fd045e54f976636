"""Headlines from CSV, Parquet or SQLite, with the time each may first be used.

The frame has the columns ``row_id`` (the source's own row id, or the data row
number), ``timestamp`` (publication time, tz-aware, exchange time zone),
``available_at``, ``text``, ``source``, ``symbol`` and any requested extra columns.

**Availability.** Daily bars are stamped at midnight (exchange time) of their date,
and the decision of bar ``t`` is made at the close of that date. A decision at bar
``t`` may use a headline when ``available_at <= t``; ``MarketData.until(end)`` keeps
headlines with ``available_at < end``.

* ``after_close`` (default, and the only policy for date-only timestamps): a headline
  dated ``d`` (at any time of day) is available at midnight after ``d``, so the first
  decision that sees it is the one at the first bar *after* ``d``, made at that bar's
  close and filled at the following open. A headline from a weekend or holiday first
  reaches the next trading day's decision.
* ``same_day_before_open`` (needs publication times): a headline published before the
  session open of its day is available at midnight of that day, so the decision at the
  close of the same day may use it; later headlines fall back to ``after_close``.

**Bad rows** are removed and counted in a ``CleaningReport`` with their data row
numbers (1 = the first row after the header): text that is not valid UTF-8, empty
text (or text with no word characters), unparseable timestamps, the placeholder date
1970-01-01 (the Unix epoch, written where the date was lost), dates before 1900, and
dates after ``latest`` (the end of the price data). Exact duplicates (same text and
date) are removed and counted too unless ``keep_duplicates``. Texts over ``MAX_TEXT``
characters are kept, truncated, and counted.
"""

from __future__ import annotations

import html
import re
import sqlite3
from collections.abc import Sequence
from datetime import time
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from xai_backtest.data_feeds.cleaning import CleaningReport
from xai_backtest.data_feeds.dates import parse_timestamps
from xai_backtest.data_feeds.errors import DataError
from xai_backtest.data_feeds.samples import package_file

__all__ = ["HEADLINE_COLUMNS", "Policy", "availability", "decision_bars", "load_headlines",
           "load_wigpy_headlines"]

HEADLINE_COLUMNS = ("row_id", "timestamp", "available_at", "text", "source", "symbol")
Policy = Literal["after_close", "same_day_before_open"]
Format = Literal["auto", "csv", "parquet", "sqlite"]

_TEXT_CANDIDATES = ("text", "headline", "title")
_TIME_CANDIDATES = ("timestamp", "date", "datetime", "time", "published")
_ID_CANDIDATES = ("row_id", "id", "unnamed: 0", "")
_EPOCH = pd.Timestamp("1970-01-01")
_EARLIEST = pd.Timestamp("1900-01-01")
#: longer texts are not headlines (a whole article, a broken export); they are truncated
MAX_TEXT = 1000
_BAD_BYTES = re.compile("[\udc80-\udcff]")  # undecodable bytes kept by surrogateescape
_WORD = re.compile(r"\w")
_CLOCK = re.compile(r"\d{1,2}:\d{2}")  # a time of day in a timestamp cell


def availability(timestamps: pd.Series, policy: Policy = "after_close",
                 session_open: time | None = None, has_time: bool | np.ndarray = False,
                 source: str = "headlines") -> pd.Series:
    """``available_at`` of tz-aware publication ``timestamps`` under ``policy`` (see module).
    ``has_time`` says, for all rows or per row, whether a time of day was given: a row
    with a date only has an unknown time, so it counts as published after the close."""
    if policy not in ("after_close", "same_day_before_open"):
        raise DataError(source, f"unknown availability policy {policy!r}",
                        "use 'after_close' or 'same_day_before_open'")
    day = timestamps.dt.normalize()
    next_day = day + pd.Timedelta(days=1)  # midnight after d: bars at or after it are later days
    if policy == "after_close":
        return next_day.rename("available_at")
    timed = np.broadcast_to(np.asarray(has_time, dtype=bool), (len(timestamps),))
    if not timed.any() or session_open is None:
        raise DataError(source, "policy 'same_day_before_open' needs publication times and "
                        "the session open, but the timestamps are dates only",
                        "use policy 'after_close' for date-only headlines")
    clock = timestamps - day
    opens = pd.Timedelta(hours=session_open.hour, minutes=session_open.minute)
    before_open = (clock < opens).to_numpy() & timed
    return day.where(before_open, next_day).rename("available_at")


def decision_bars(headlines: pd.DataFrame, bar_times: pd.DatetimeIndex) -> pd.Series:
    """For each headline, the bar whose decision first sees it: the bar ``t`` with
    ``previous bar < available_at <= t``. NaT when it became available after the last bar,
    or at or before the first bar (which has no previous bar, so makes no news decision)."""
    available = pd.DatetimeIndex(headlines["available_at"]).tz_convert(bar_times.tz)
    position = bar_times.searchsorted(available.as_unit(bar_times.unit), side="left")
    inside = (position < len(bar_times)) & (position > 0)
    out = pd.Series(pd.NaT, index=headlines.index, dtype=f"datetime64[ns, {bar_times.tz}]")
    out[inside] = bar_times[position[inside]]
    return out


def load_headlines(path: str | Path, *, fmt: Format = "auto", text_column: str | None = None,
                   time_column: str | None = None, id_column: str | None = None,
                   table: str = "headlines", tz: str = "UTC", policy: Policy = "after_close",
                   session_open: time | None = None, earliest: pd.Timestamp | None = None,
                   latest: pd.Timestamp | None = None,
                   symbol: str = "", source: str | None = None,
                   extra_columns: Sequence[str] = (), dayfirst: bool | None = None,
                   date_format: str | None = None,
                   keep_duplicates: bool = False) -> tuple[pd.DataFrame, CleaningReport]:
    """Load and clean headlines from a CSV, Parquet or SQLite file (see the module docstring).

    Columns are found by name (case-insensitive) unless given: text from ``text``,
    ``headline`` or ``title``; time from ``timestamp``, ``date``, ``datetime``, ``time`` or
    ``published``; the row id from ``row_id``, ``id`` or an unnamed first column. Naive
    timestamps are in ``tz`` (the exchange's). ``earliest`` and ``latest`` are the first
    and last bar times of the price data: headlines dated after the last bar, or available
    only at or before the first bar (no decision can see them), are reported and removed.
    """
    path = Path(path)
    name = source or path.name
    if not path.is_file():
        raise DataError(str(path), "headline file not found", "check the path")
    kind = fmt if fmt != "auto" else _format_of(path)
    raw = _READERS[kind](path, table)
    report = CleaningReport(path.name, rows_in=len(raw))  # notes never carry a local path
    if raw.empty:
        raise DataError(str(path), "no headline rows", "check that the file is not empty")
    text_col = _column(raw, text_column, _TEXT_CANDIDATES, "text", path)
    time_col = _column(raw, time_column, _TIME_CANDIDATES, "time", path)
    id_col = _column(raw, id_column, _ID_CANDIDATES, "id", path, required=False)
    missing = [c for c in extra_columns if c not in raw.columns]
    if missing:
        raise DataError(str(path), f"extra columns {missing} not found (columns: "
                        f"{list(raw.columns)})", "fix extra_columns")

    row_number = np.arange(1, len(raw) + 1)
    cells = [_as_text(v) for v in raw[text_col]]
    bad_bytes = np.array([bool(_BAD_BYTES.search(t)) for t in cells], dtype=bool)
    text = pd.Series(["" if bad else " ".join(html.unescape(t).split())
                      for t, bad in zip(cells, bad_bytes, strict=True)], index=raw.index)
    empty = ~np.array([bool(_WORD.search(t)) for t in text], dtype=bool) & ~bad_bytes
    too_long = (text.str.len() > MAX_TEXT).to_numpy()
    text = text.str.slice(0, MAX_TEXT)
    times = ["" if _BAD_BYTES.search(t) else t for t in map(_as_text, raw[time_col])]
    cells = pd.Series(times, index=raw.index)
    stamps = pd.Series(parse_timestamps(cells, str(path), dayfirst=dayfirst,
                                        date_format=date_format, tz=tz, strict=False),
                       index=raw.index)
    unparseable = stamps.isna().to_numpy() & ~bad_bytes & ~empty
    naive_day = stamps.dt.tz_localize(None).dt.normalize()
    ok = ~(bad_bytes | empty | unparseable)
    epoch = ok & (naive_day == _EPOCH).to_numpy()
    ancient = ok & ~epoch & (naive_day < _EARLIEST).to_numpy()
    future = np.zeros(len(raw), dtype=bool)
    if latest is not None:
        future = ok & ~epoch & ~ancient & (naive_day > pd.Timestamp(latest).tz_localize(None)
                                           .normalize()).to_numpy()
    ids = _ids(raw[id_col]) if id_col is not None else row_number
    for reason, mask in (("rows with non-UTF-8 bytes in the text", bad_bytes),
                         ("rows with empty text", empty),
                         ("rows with unparseable timestamps", unparseable),
                         ("rows dated 1970-01-01 (placeholder date)", epoch),
                         ("rows dated before 1900", ancient),
                         ("rows dated after the price data", future)):
        report.record(reason, int(mask.sum()), _row_ranges(row_number[mask]))
    keep = ok & ~epoch & ~ancient & ~future
    report.record_repair(f"rows with text over {MAX_TEXT} characters (truncated)",
                  int((too_long & keep).sum()), _row_ranges(row_number[too_long & keep]))

    # per row: a date-only cell (or exactly midnight) has an unknown time, so after_close
    has_time = (np.array([bool(_CLOCK.search(t)) for t in times], dtype=bool)
                & (stamps != stamps.dt.normalize()).to_numpy())
    frame = pd.DataFrame({"row_id": ids, "timestamp": stamps, "text": text,
                          "source": name, "symbol": symbol})
    for column in extra_columns:
        frame[column] = [_as_text(v) if isinstance(v, bytes) else v for v in raw[column]]
    frame.insert(2, "available_at", availability(stamps, policy, session_open, has_time,
                                                 str(path)))
    rows = row_number[keep]
    frame = frame[keep]
    if not keep_duplicates:
        duplicate = frame.duplicated(["text", "timestamp"]).to_numpy()
        report.record("duplicate rows (same text and timestamp)", int(duplicate.sum()),
                      _row_ranges(rows[duplicate]))
        frame, rows = frame[~duplicate], rows[~duplicate]
    if earliest is not None:
        early = (frame["available_at"] <= earliest).to_numpy()
        report.record("rows available only before the price data (no decision sees them)",
                      int(early.sum()), _row_ranges(rows[early]))
        frame = frame[~early]
    if frame.empty:
        raise DataError(str(path), f"no usable headline rows ({report.summary()})",
                        "check the text and time columns and the dates")
    frame = frame.sort_values(["available_at", "timestamp", "row_id"], kind="stable")
    return frame.reset_index(drop=True), report


def load_wigpy_headlines(tz: str = "America/New_York", earliest: pd.Timestamp | None = None,
                         latest: pd.Timestamp | None = None,
                         symbol: str = "^GSPC") -> tuple[pd.DataFrame, CleaningReport]:
    """The New York Times economy headlines (1980-2018) shipped in ``wigpy``'s
    ``headlines.db`` (table ``headlines(date, title, category, summary)``), read by path.
    Dates only, so the ``after_close`` policy applies; ``category`` is kept."""
    path = package_file("wigpy", "headlines.db")
    return load_headlines(path, fmt="sqlite", text_column="title", time_column="date",
                          id_column="rowid", tz=tz, earliest=earliest, latest=latest,
                          symbol=symbol,
                          source="nyt (wigpy)", extra_columns=("category",))


def _format_of(path: Path) -> Format:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".db", ".sqlite", ".sqlite3"):
        return "sqlite"
    raise DataError(str(path), f"cannot tell the format from the suffix {suffix!r}",
                    "pass fmt='csv', 'parquet' or 'sqlite'")


def _read_csv(path: Path, table: str) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=object, keep_default_na=False, encoding="utf-8",
                           encoding_errors="surrogateescape")
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise DataError(str(path), f"not a readable CSV ({e})",
                        "check the delimiter and quoting") from e


def _read_parquet(path: Path, table: str) -> pd.DataFrame:
    frame = pd.read_parquet(path)
    return frame.reset_index() if isinstance(frame.index, pd.DatetimeIndex) else frame


def _read_sqlite(path: Path, table: str) -> pd.DataFrame:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    connection.text_factory = bytes  # decode per row, so one bad row does not fail the file
    try:
        cursor = connection.execute(f'SELECT rowid, * FROM "{table}"')
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    except sqlite3.DatabaseError as e:
        raise DataError(str(path), f"cannot read table {table!r} ({e})",
                        "check the table name (argument table) and the file") from e
    finally:
        connection.close()
    return pd.DataFrame(rows, columns=columns, dtype=object)


_READERS = {"csv": _read_csv, "parquet": _read_parquet, "sqlite": _read_sqlite}


def _as_text(value: object) -> str:
    """A cell as text; undecodable bytes become surrogates (flagged as non-UTF-8)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="surrogateescape")
    return str(value)


def _ids(column: pd.Series) -> np.ndarray:
    """Row ids as integers when they all are, else as text."""
    values = pd.Series([_as_text(v) if isinstance(v, bytes) else v for v in column])
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().all() and (numeric == numeric.round()).all():
        return numeric.astype(np.int64).to_numpy()
    return values.astype(str).to_numpy()


def _column(raw: pd.DataFrame, given: str | None, candidates: Sequence[str], what: str,
            path: Path, required: bool = True) -> str | None:
    if given is not None:
        if given not in raw.columns:
            raise DataError(str(path), f"{what} column {given!r} not found (columns: "
                            f"{list(raw.columns)})", f"fix the {what} column name")
        return given
    lowered = {str(c).strip().lower(): c for c in raw.columns}
    for candidate in candidates:
        if candidate in lowered:
            return lowered[candidate]
    if required:
        raise DataError(str(path), f"no {what} column among {list(raw.columns)}",
                        f"name it explicitly ({what}_column) or use one of {list(candidates)}")
    return None


def _row_ranges(rows: np.ndarray, limit: int = 5) -> list[str]:
    """Row numbers as compact ranges ("rows 19153-19736"), at most ``limit`` of them."""
    if not len(rows):
        return []
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    out = []
    for chunk in np.split(rows, breaks)[:limit]:
        first, last = int(chunk[0]), int(chunk[-1])
        out.append(f"row {first}" if first == last else f"rows {first}-{last}")
    return out
