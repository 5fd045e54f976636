"""Exchange sessions: keep only in-session minute bars and resample them to daily bars."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

import pandas as pd

from data_feeds.cleaning import CleaningReport
from data_feeds.validate import validate_bars

__all__ = ["NSE", "NYSE", "Session", "filter_session", "resample_daily"]


@dataclass(frozen=True)
class Session:
    """A regular trading session in the exchange's time zone.

    Minute bars are labelled by their close time (the NSE files label the
    09:15-09:16 bar ``09:16``), so a bar belongs to the session when
    ``open < time <= close``.
    """

    name: str
    tz: str
    open: time
    close: time


NSE = Session("NSE", "Asia/Kolkata", time(9, 15), time(15, 30))
NYSE = Session("NYSE", "America/New_York", time(9, 30), time(16, 0))


def filter_session(bars: pd.DataFrame, session: Session,
                   source: str = "bars") -> tuple[pd.DataFrame, CleaningReport]:
    """Drop bars outside the session (pre-open, after close) and on weekends; count them."""
    local = bars.tz_convert(session.tz)
    clock = local.index.time
    report = CleaningReport(source, rows_in=len(bars))
    weekend = local.index.day_of_week >= 5
    pre_open = (clock <= session.open) & ~weekend
    after_close = (clock > session.close) & ~weekend
    for reason, mask in (("weekend bars", weekend), ("pre-open bars", pre_open),
                         ("after-close bars", after_close)):
        report.record(reason, int(mask.sum()), [str(t) for t in local.index[mask][:3]])
    keep = ~(weekend | pre_open | after_close)
    return local[keep], report


def resample_daily(bars: pd.DataFrame, session: Session) -> pd.DataFrame:
    """Aggregate in-session minute bars to one bar per session date (midnight, exchange tz)."""
    local = bars.tz_convert(session.tz)
    day = local.index.normalize()
    grouped = local.groupby(day)
    daily = pd.DataFrame({
        "open": grouped["open"].first(),
        "high": grouped["high"].max(),
        "low": grouped["low"].min(),
        "close": grouped["close"].last(),
        "volume": grouped["volume"].sum(),
    })
    daily.index.name = "timestamp"
    return validate_bars(daily, f"daily resample of {session.name} minute bars")
