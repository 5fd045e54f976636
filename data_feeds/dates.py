"""The one reader of timestamps, for bar files, universe folders, long files and headlines.

Every common spelling lands on its own day or is refused with the fix:

- ISO (``2014-08-13``, ``2014-08-13 09:15``, ``2014-08-13T09:15:00+05:30``, ``...Z``),
  ``yyyy/mm/dd``, ``yyyy.mm.dd`` and ``yyyymmdd``;
- day and month in either order with ``/``, ``.`` or ``-`` (``13-08-2014``,
  ``08/13/2014``, ``13.08.2014``): one order for the whole column, never row by row
  (``day_first``);
- month names in any case (``02-JAN-2020``, ``2 January 2020``, ``Jan 2, 2020``,
  ``2020-Jan-02``);
- Unix epoch seconds (10 digits) or milliseconds (13).

A UTC offset (``+05:30``, ``-0400``, ``Z``, ``UTC``) is read only after a clock time, so
the year of ``13-08-2014`` is never taken for the offset ``-20:14``. Each recognised date
is rewritten to ISO before pandas parses it (``format="ISO8601"``), so no row is guessed
on its own; a spelling outside these needs ``data.date_format`` (a ``strftime`` pattern).
"""

from __future__ import annotations

import datetime
import re

import numpy as np
import pandas as pd

from xai_backtest.data_feeds.errors import DataError

__all__ = ["day_first", "parse_timestamps"]

_NUMERIC_DATE = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4})(?:\D|$)")
_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul",
                                       "aug", "sep", "oct", "nov", "dec"), start=1)}
_MONTH = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_DAY_MONTH_YEAR = re.compile(rf"^(\d{{1,2}})(?:st|nd|rd|th)?[-/ .]*{_MONTH}[-/ .,]*(\d{{4}})",
                             re.IGNORECASE)
_MONTH_DAY_YEAR = re.compile(rf"^{_MONTH}[-/ .]*(\d{{1,2}})(?:st|nd|rd|th)?[-/ .,]+(\d{{4}})",
                             re.IGNORECASE)
_YEAR_MONTH_DAY = re.compile(rf"^(\d{{4}})[-/ .]{_MONTH}[-/ .](\d{{1,2}})", re.IGNORECASE)
_YEAR_FIRST = re.compile(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(?=$|[ T])")
_TWO_DIGIT_YEAR = re.compile(r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{2}(?:\D|$)")
#: an offset counts only right after a clock time (``09:15``, ``09:15:00.5``)
_OFFSET = re.compile(r"\d:\d\d(?::\d\d(?:\.\d+)?)?\s*(Z|UTC|GMT|[+-]\d\d:?\d\d)$",
                     re.IGNORECASE)
_EPOCH = re.compile(r"\d{10}(\d{3})?")


def day_first(text: pd.Series, dayfirst: bool | None, source: str) -> bool | None:
    """Whether the column's ``nn/nn/yyyy`` dates are day-first; None when it has none.
    A first field above 12 proves day-first, a second field above 12 month-first; a
    column that fits both is refused unless the user says which (``data.dayfirst``)."""
    parts = text.astype(str).str.extract(_NUMERIC_DATE).dropna()
    if parts.empty:
        return None
    first, second = parts[0].astype(int), parts[1].astype(int)
    proves_day, proves_month = bool((first > 12).any()), bool((second > 12).any())
    if proves_day and proves_month:
        raise DataError(source, "some dates are day-first (e.g. "
                        f"{text[first.idxmax()]!r}) and some month-first (e.g. "
                        f"{text[second.idxmax()]!r})", "write every date in one order, "
                        "ideally ISO (2014-08-01)")
    found = True if proves_day else False if proves_month else None
    if dayfirst is not None:
        if found is not None and found != dayfirst:
            example = text[first.idxmax()] if found else text[second.idxmax()]
            raise DataError(source, f"data.dayfirst is {dayfirst}, but {example!r} can only be "
                            f"read {'day' if found else 'month'}-first",
                            f"set data.dayfirst: {str(found).lower()}")
        return dayfirst
    if found is None:
        example = text[parts.index[0]]
        raise DataError(source, f"dates such as {example!r} read either day-first or "
                        "month-first, and no date in the column tells which",
                        "set data.dayfirst: true (dd/mm/yyyy) or false (mm/dd/yyyy)")
    return found


def parse_timestamps(cells: pd.Series, source: str, *, dayfirst: bool | None = None,
                     date_format: str | None = None, tz: str | None = None,
                     strict: bool = True, first_row: int = 0) -> pd.DatetimeIndex:
    """The timestamps of a column of cells (see the module doc), in ``tz`` when given
    (naive stamps are local to it, stamped ones converted); without ``tz``, stamps with
    one UTC offset keep it and naive ones stay naive. ``strict``: a cell that cannot be
    read is an error naming its row (``first_row`` is the file row of the first cell);
    otherwise it is NaT, for the caller to count."""
    text = cells.astype(object).where(cells.notna(), "").astype(str).str.strip()
    if date_format is not None:
        parsed = _with_format(text, date_format, source)
    elif len(text) and bool(text.str.fullmatch(_EPOCH).all()):
        unit = "ms" if len(text.iloc[0]) == 13 else "s"
        parsed = pd.DatetimeIndex(pd.to_datetime(text.astype("int64"), unit=unit, utc=True))
    else:
        parsed = _parse(text, source, dayfirst, first_row)
    bad = np.asarray(parsed.isna())
    if strict and bad.any():
        row = int(np.argmax(bad))
        raise DataError(source, f"unreadable timestamp {text.iloc[row]!r}",
                        "write dates as ISO (2021-04-01 or 2021-04-01 09:16), or give "
                        "data.date_format (a strftime pattern such as '%d %b %Y %H:%M')",
                        where=f"row {row + first_row} ({int(bad.sum())} such rows)")
    return _in_zone(parsed, text, source, tz, strict)


def _with_format(text: pd.Series, date_format: str, source: str) -> pd.DatetimeIndex:
    stamped = "%z" in date_format or "%Z" in date_format
    try:
        return pd.DatetimeIndex(pd.to_datetime(text, format=date_format, errors="coerce",
                                               utc=stamped))
    except ValueError as e:
        raise DataError(source, f"data.date_format {date_format!r} is not a strftime "
                        f"pattern ({e})", "use a pattern such as '%d-%m-%Y %H:%M'") from e


def _parse(text: pd.Series, source: str, dayfirst: bool | None,
           first_row: int) -> pd.DatetimeIndex:
    """Each cell rewritten to ISO (dates) with its offset normalised, then parsed."""
    offset = text.str.extract(_OFFSET, expand=False)
    stamped = offset.notna().to_numpy()
    filled = (text != "").to_numpy()
    if stamped.any() and not stamped[filled].all():
        row = int(np.argmax(~stamped & filled))
        raise DataError(source, "some timestamps carry a UTC offset and some do not",
                        "write every timestamp with its offset, or none of them",
                        where=f"row {row + first_row}")
    two_digit = text.str.match(_TWO_DIGIT_YEAR)
    if two_digit.any():
        example = text[two_digit].iloc[0]
        raise DataError(source, f"two-digit years such as {example!r} do not say the century",
                        "write four-digit years, or give data.date_format (e.g. '%d-%m-%y')")
    order = day_first(text, dayfirst, source)
    utc = bool(stamped.any())
    cells = text.str.replace(r"\s*(?:Z|UTC|GMT)$", "+00:00", regex=True, flags=re.IGNORECASE)
    parsed = pd.to_datetime(cells, format="ISO8601", errors="coerce", utc=utc)  # vectorised
    other = parsed.isna().to_numpy() & filled
    if other.any():  # other spellings, rewritten cell by cell (a day never guessed)
        iso = cells[other].map(lambda cell: _to_iso(cell, order))
        found = pd.to_datetime(iso, format="ISO8601", errors="coerce", utc=utc)
        clock = found.isna().to_numpy() & iso.str.match(r"\d{4}-\d\d-\d\d").to_numpy()
        if clock.any():  # an ISO date with another clock spelling (9:15 PM): the date is fixed
            found[clock] = pd.to_datetime(iso[clock], format="mixed", errors="coerce", utc=utc)
        parsed = parsed.copy()
        parsed[other] = found
    return pd.DatetimeIndex(parsed)


def _to_iso(cell: str, order: bool | None) -> str:
    """``cell`` with its date part written ``yyyy-mm-dd`` (the rest kept)."""
    match = _NUMERIC_DATE.match(cell)
    if match and order is not None:
        a, b, year = match.group(1), match.group(2), match.group(3)
        day, month = (a, b) if order else (b, a)
        return f"{year}-{int(month):02d}-{int(day):02d}" + cell[match.end(3):]
    for pattern, (y, m, d) in ((_YEAR_FIRST, (1, 2, 3)), (_COMPACT, (1, 2, 3)),
                               (_DAY_MONTH_YEAR, (3, 2, 1)), (_MONTH_DAY_YEAR, (3, 1, 2)),
                               (_YEAR_MONTH_DAY, (1, 2, 3))):
        match = pattern.match(cell)
        if match:
            month = match.group(m)
            number = _MONTHS[month[:3].lower()] if month[0].isalpha() else int(month)
            rest = cell[match.end():].lstrip(" ,")
            return (f"{match.group(y)}-{number:02d}-{int(match.group(d)):02d}"
                    + (f" {rest}" if rest and not rest.startswith("T") else rest))
    return cell


def _in_zone(parsed: pd.DatetimeIndex, text: pd.Series, source: str, tz: str | None,
             strict: bool) -> pd.DatetimeIndex:
    """Naive stamps localised to ``tz`` (not ``strict``: a time in a daylight-saving gap
    moves forward, an ambiguous one is NaT), stamped ones converted to it."""
    if parsed.tz is None and tz and not strict:
        return parsed.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")
    if parsed.tz is None and tz:
        try:
            return parsed.tz_localize(tz, ambiguous="raise", nonexistent="raise")
        except (ValueError, TypeError) as e:
            raise DataError(source, f"timestamps invalid in {tz}: {e}", "check daylight-"
                            "saving transitions or store times in UTC") from e
    if parsed.tz is None:
        return parsed
    if tz:
        return parsed.tz_convert(tz)
    offsets = text.str.extract(_OFFSET, expand=False).dropna()
    offsets = offsets.str.upper().replace({"Z": "+00:00", "UTC": "+00:00", "GMT": "+00:00"})
    minutes = offsets.map(_offset_minutes).unique()
    if len(minutes) != 1:
        raise DataError(source, f"the timestamps carry {len(minutes)} different UTC offsets "
                        "(daylight saving?)", "pass the exchange time zone, e.g. "
                        "--tz America/New_York, so the bars keep their local dates")
    return parsed.tz_convert(datetime.timezone(datetime.timedelta(minutes=int(minutes[0]))))


def _offset_minutes(offset: str) -> int:
    sign = -1 if offset.startswith("-") else 1
    digits = offset.lstrip("+-").replace(":", "")
    return sign * (int(digits[:2]) * 60 + int(digits[2:]))
