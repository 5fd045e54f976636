"""Exchange calendars from ``exchange_calendars`` (sessions, holidays, early closes).

A stream labels each bar by the UTC time it closed: a minute bar's stamp already is its
close (data_feeds/sessions.py); a daily bar's close is its session's close on the
exchange's calendar, early closes included (2013-07-03 on the NYSE closed at 13:00).
The calendar also says which session should come next, so a missing day is a gap.
"""

from __future__ import annotations

import warnings
from functools import cache

import exchange_calendars as xcals
import pandas as pd

from xai_backtest.data_feeds.errors import DataError

__all__ = ["CALENDARS", "ExchangeCalendar", "exchange_calendar"]

#: the run config's ``data.session`` names -> exchange_calendars codes (the NSE shares the
#: BSE's sessions and holidays; exchange_calendars keeps the BSE's)
CALENDARS = {"NYSE": "XNYS", "NSE": "XBOM"}


class ExchangeCalendar:
    """Sessions of one exchange: when each daily bar closed, and which session is next."""

    def __init__(self, code: str) -> None:
        self.code = code
        with warnings.catch_warnings():  # exchange_calendars 4.13 reads Series.values of a
            # tz-aware series, which pandas 3.1 deprecates; nothing of ours to change
            warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
            try:  # as far back as the calendar's holidays are recorded
                self._calendar = xcals.get_calendar(code, start="1990-01-01")
            except ValueError:
                self._calendar = xcals.get_calendar(code, start="2000-01-01")

    def close_utc(self, day: pd.Timestamp) -> pd.Timestamp:
        """The UTC close of the session on ``day`` (a daily bar's date)."""
        session = pd.Timestamp(day.date())
        if not self._calendar.is_session(session):
            raise DataError(self.code, f"a daily bar on {session.date()}, which is not a "
                            f"{self.code} session (a holiday or weekend)",
                            "check the data's exchange (data.session)")
        return pd.Timestamp(self._calendar.session_close(session))

    def sessions_between(self, after: pd.Timestamp, until: pd.Timestamp) -> int:
        """How many sessions lie strictly after ``after``'s day and up to ``until``'s."""
        first, last = pd.Timestamp(after.date()), pd.Timestamp(until.date())
        if last <= first:
            return 0
        return len(self._calendar.sessions_in_range(first, last)) - \
            int(self._calendar.is_session(first))


@cache
def exchange_calendar(session: str) -> ExchangeCalendar | None:
    """The calendar of a ``data.session`` name or exchange_calendars code (None: none)."""
    if session in ("none", ""):
        return None
    code = CALENDARS.get(session, session)
    if code not in xcals.get_calendar_names():
        raise DataError("calendar", f"unknown exchange {session!r}",
                        f"use one of {sorted(CALENDARS)} or an exchange_calendars code "
                        "such as XLON")
    return ExchangeCalendar(code)
