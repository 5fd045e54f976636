"""Exchange sessions: keep only in-session minute bars and resample them to daily bars."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import datetime, time
from typing import Literal

import numpy as np
import pandas as pd

from xai_backtest.data_feeds.cleaning import CleaningReport
from xai_backtest.data_feeds.errors import DataError
from xai_backtest.data_feeds.validate import validate_bars

__all__ = ["NSE", "NYSE", "SESSIONS", "Session", "align_to_close", "filter_session",
           "resample_daily"]

BarLabel = Literal["auto", "open", "close"]


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
SESSIONS = {session.name: session for session in (NSE, NYSE)}


def align_to_close(bars: pd.DataFrame, session: Session, label: BarLabel = "auto",
                   source: str = "bars") -> pd.DataFrame:
    """Intraday bars labelled by their close time.

    ``label="auto"`` reads the convention off the data: when most days' first bar sits
    at the session open (09:15 for NSE) the stamps are bar-open times, when it sits one
    bar later (09:16) they are bar-close times. Bar-open stamps are shifted forward by
    one bar, with a warning. Daily bars are returned unchanged.
    """
    local = bars.tz_convert(session.tz)
    days = local.index.normalize()
    if days.nunique() == len(local):
        return bars
    same_day = np.r_[False, days[1:] == days[:-1]]
    step = pd.Series(local.index).diff()[same_day].median()
    if label == "auto":
        in_session = local.index[local.index.time >= session.open]  # pre-open bars aside
        firsts = pd.Series(in_session).groupby(in_session.normalize()).min()
        first = (firsts - firsts.dt.normalize()).mode().iloc[0]
        opening = datetime.combine(datetime.min, session.open) - datetime.min
        if first == opening:
            label = "open"
        elif first == opening + step:
            label = "close"
        else:
            raise DataError(source, f"cannot tell bar-open from bar-close stamps: the usual "
                            f"first bar is at {first}, the {session.name} open is "
                            f"{session.open} and bars are {step} apart",
                            "set data.bar_label to 'open' or 'close'")
    if label == "close":
        return bars
    warnings.warn(f"{source}: timestamps are bar-open times; shifted by {step} to bar-close "
                  "times so a bar is used only once it has closed", stacklevel=2)
    return bars.set_axis(bars.index + step)


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
