"""Intraday strategy: enter on the day's decision, be flat again before the session ends.

At the close of a decision bar (the GADF-CNN decides at the end of the first hour)
the target is set as in ``SignalStrategy`` (long when the decision is +1 with
probability >= ``threshold``, short likewise when ``allow_short``) and the order
fills at the next bar's open. The position is closed at the open of the first bar
whose time is at or after ``exit_time`` (with ``exit_time`` = the session close,
15:30 on NSE, that is the open of the 15:30 bar: the close of 15:29, the last
price reachable without filling on a bar's own close), or at the open of the next
bar after a bar closes beyond ``stop_loss`` / ``take_profit`` (fractions of the
entry fill price). ``exit_time=None`` means the session close, taken as the latest
bar time of day seen on earlier days (the strategy never sees the session
calendar), so no entry is made on the first day, whose close is not known yet; set
``exit_time`` to trade it. A
position never survives the day: if the session has no bar at or after
``exit_time``, it is closed at the next bar's open, and an entry that would fill on
a later day than its decision is dropped. Exits are recorded with decision row -1
and their reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

import pandas as pd

from xai_backtest.strategies.signal_strategy import SignalStrategy, StrategyDataError

__all__ = ["IntradayStrategy"]


class IntradayStrategy(SignalStrategy):
    """Enter on the day's decision; exit at ``exit_time`` or on a stop-loss / take-profit."""

    # backtrader's metaclass turns this tuple into a parameter class (merged with the base's)
    params: Any = (("exit_time", None),)

    @classmethod
    def check_tradable(cls, bars: pd.DataFrame, params: Mapping[str, Any]) -> None:
        dates = bars.index.tz_localize(None).normalize()
        if len(bars) and not dates.duplicated().any():
            raise StrategyDataError(
                f"the intraday strategy needs several bars per day, but these {len(bars):,} "
                "bars are daily (one per date), so it could never enter and exit within a "
                "day; use strategy.kind 'signal', or minute/hourly bars")

    def __init__(self) -> None:
        super().__init__()
        if self.p.exit_time is not None and not isinstance(self.p.exit_time, time):
            raise ValueError(f"exit_time must be a datetime.time such as time(15, 30) or None "
                             f"(the session close), got {self.p.exit_time!r}")
        self._decided_on: date | None = None  # date of the pending decision
        self._entry_day: date | None = None
        self._today: date | None = None
        self._latest_today = time.min
        self._session_close: time | None = None  # learned when exit_time is None
        self.dropped_entries = 0

    def _exit_time(self, now: datetime) -> time:
        """``exit_time``, or the latest bar time of day of earlier days (None: no limit yet)."""
        if self.p.exit_time is not None:
            return self.p.exit_time
        if self._today is not None and now.date() != self._today:
            self._session_close = max(self._session_close or time.min, self._latest_today)
            self._latest_today = time.min
        self._today = now.date()
        self._latest_today = max(self._latest_today, now.time())
        return self._session_close or time.max

    def decide(self) -> tuple[int, int, str] | None:
        if self._stopped and self.data.datetime.date(0) != self._entry_day:
            self._stopped = 0  # a stop ends its day's trade, not the next day's decision
        decision = super().decide()
        if decision is not None and decision[1] >= 0:
            self._decided_on = self.data.datetime.date(0)
        return decision

    def next_open(self) -> None:
        now = self.data.datetime.datetime(0)
        exit_time = self._exit_time(now)
        if self._pending is not None and self._pending[1] >= 0 and (
                self._decided_on != now.date() or now.time() >= exit_time
                or exit_time == time.max):
            self._pending = None  # the entry would fill after its day's exit time, or on a
            self.dropped_entries += 1  # day whose close is not known yet (the first one)
        if self.position.size and (now.date() != self._entry_day
                                   or now.time() >= exit_time):
            self._pending = (0, -1, "exit time")
        entering = self._pending is not None and self._pending[0] != 0
        super().next_open()
        if entering:
            self._entry_day = now.date()
