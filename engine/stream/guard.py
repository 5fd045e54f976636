"""What a stream lets through: each bar once, in time order, never changing the past.

Sources are not trusted. Per instrument, against the bars already seen:

- a bar after the last one is taken (a ``gap`` is reported when the exchange calendar,
  or the usual bar step, says sessions are missing before it);
- the same bar again with the same values is a ``duplicate``;
- a bar already seen with other values is a ``revision`` (Yahoo revises recent bars):
  logged with both values and not decided again;
- a bar older than the last one and never seen is ``late``: deciding it now would
  change a decision already made, so it is logged and dropped;
- bars of one poll out of time order are sorted first (``out_of_order``);
- a bar that is not a valid bar (zero price, high below low) is ``invalid``;
- a headline stamped after the time it was received is ``future_headline``: kept, and
  used only from its stamp on, as every headline is.

Every case is counted and written to the journal's events; none stops the stream.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from xai_backtest.data_feeds.calendars import ExchangeCalendar
from xai_backtest.data_feeds.errors import DataError
from xai_backtest.data_feeds.stream_sources import BarEvent, Event, HeadlineEvent
from xai_backtest.data_feeds.validate import validate_bars

__all__ = ["StreamGuard"]

Report = Callable[[str, str, pd.Timestamp, str], None]  # kind, instrument, time, detail


class StreamGuard:
    """Sorts out one poll's events against the bars seen so far (``seen``: instrument ->
    bars frame), reporting each problem through ``report``."""

    def __init__(self, seen: dict[str, pd.DataFrame], report: Report,
                 calendar: ExchangeCalendar | None = None,
                 interval: pd.Timedelta | None = None) -> None:
        self.seen, self.report = seen, report
        self.calendar, self.interval = calendar, interval
        self.counts: Counter[str] = Counter()

    def admit(self, events: Sequence[Event]) -> tuple[list[BarEvent], list[HeadlineEvent]]:
        """The new bars (in time order) and the headlines of ``events``."""
        bars = [e for e in events if isinstance(e, BarEvent)]
        headlines = [e for e in events if isinstance(e, HeadlineEvent)]
        for item in headlines:
            if item.available_at > item.received_at:
                self._flag("future_headline", item.instrument, item.available_at,
                           f"stamped {item.available_at}, received {item.received_at}: "
                           "used from its stamp on")
        ordered = sorted(bars, key=lambda e: (e.time, e.instrument))
        if ordered != bars:
            moved = sum(a is not b for a, b in zip(ordered, bars, strict=True))
            self._flag("out_of_order", bars[0].instrument, ordered[0].time,
                       f"{moved} bars of one delivery out of time order: sorted")
        out: list[BarEvent] = []
        last: dict[str, pd.Timestamp] = {}
        for bar in ordered:
            if self._admitted(bar, last):
                out.append(bar)
                last[bar.instrument] = bar.time
        return out, headlines

    def _admitted(self, bar: BarEvent, taken: dict[str, pd.Timestamp]) -> bool:
        name, stamp = bar.instrument, bar.time
        frame = self.seen.get(name)
        latest = taken.get(name, frame.index[-1] if frame is not None and len(frame) else None)
        if latest is not None and stamp <= latest:
            return self._old(bar, frame)
        try:
            validate_bars(pd.DataFrame([bar.row()], index=pd.DatetimeIndex([stamp])),
                          f"stream bar {name} {stamp}")
        except DataError as e:
            self._flag("invalid", name, stamp, str(e))
            return False
        if latest is not None:
            self._check_gap(name, latest, stamp)
        return True

    def _old(self, bar: BarEvent, frame: pd.DataFrame | None) -> bool:
        name, stamp = bar.instrument, bar.time
        if frame is None or stamp not in frame.index:
            self._flag("late", name, stamp, "older than the last bar decided and never "
                       "seen: dropped (deciding it now would change a past decision)")
            return False
        before = frame.loc[stamp, ["open", "high", "low", "close", "volume"]]
        old = before.to_numpy(dtype=float)
        new = np.asarray(bar.values, dtype=float)
        if np.array_equal(old, new):
            self._flag("duplicate", name, stamp, "the same bar again: dropped")
        else:
            self._flag("revision", name, stamp,
                       f"was {_ohlc(old)}, now {_ohlc(new)}: logged, not decided again")
        return False

    def _check_gap(self, name: str, latest: pd.Timestamp, stamp: pd.Timestamp) -> None:
        if self.calendar is not None and stamp - latest >= pd.Timedelta(hours=20):
            missing = self.calendar.sessions_between(latest, stamp) - 1
            if missing > 0:
                self._flag("gap", name, stamp, f"{missing} session(s) of "
                           f"{self.calendar.code} missing since {latest}")
        elif self.calendar is None and self.interval is not None:
            steps = (stamp - latest) / self.interval
            if steps > 3.5:  # a weekend is 3 steps of daily bars
                self._flag("gap", name, stamp, f"{stamp - latest} since the last bar at "
                           f"{latest} (usually {self.interval})")

    def _flag(self, kind: str, instrument: str, stamp: pd.Timestamp, detail: str) -> None:
        self.counts[kind] += 1
        self.report(kind, instrument, stamp, detail)


def _ohlc(values: np.ndarray) -> str:
    return "/".join(f"{v:.4g}" for v in values[:4])
