"""Sources of a stream: bars (and headlines) as they arrive.

Every source answers ``poll()`` with the events that have arrived since the last call
(possibly none) and says ``finished`` when no more will come. Bars are labelled as the
batch run labels them (data_feeds/market_data.py: the data of bar ``t`` is known at
``t``), so a replay hands a signal exactly the rows the backtest did.

- ``ReplaySource``: stored bars and headlines emitted in time order, ``chunk`` bar times
  per poll, at full speed or ``speed`` times real time.
- ``TailSource``: a CSV or Parquet file, or a folder of them, that another process
  appends to; only complete new rows are read, through the one date parser.
- ``YahooSource``: yfinance polled at the bar interval; the bar still forming is never
  emitted.
- ``HeadlineTailSource``: headlines appended to a file, each available from the time it
  was received; ``MergedSource`` polls bars and headlines together.

What a source emits is not trusted: the stream's sequencer (data_feeds/stream_guard.py)
sorts out late, duplicate, out-of-order and revised bars.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from xai_backtest.data_feeds.cleaning import CleaningReport
from xai_backtest.data_feeds.errors import DataError
from xai_backtest.data_feeds.files import DateSpelling, bars_from_table
from xai_backtest.data_feeds.market_data import MarketData

__all__ = ["BarEvent", "Event", "HeadlineEvent", "HeadlineTailSource", "MergedSource",
           "ReplaySource", "Source", "TailSource", "YahooSource", "bar_interval"]

BAR_COLUMNS = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class BarEvent:
    """One bar of one instrument as a source delivered it."""

    instrument: str
    time: pd.Timestamp
    values: tuple[float, float, float, float, float]  # open, high, low, close, volume
    received_at: pd.Timestamp

    def row(self) -> dict[str, float]:
        return dict(zip(BAR_COLUMNS, self.values, strict=True))


@dataclass(frozen=True)
class HeadlineEvent:
    """One headline (a row of data_feeds/headlines.py's frame), joined on the time it was
    received: a decision may use it from ``available_at`` on."""

    instrument: str
    row: Mapping[str, Any]
    received_at: pd.Timestamp

    @property
    def available_at(self) -> pd.Timestamp:
        return pd.Timestamp(self.row["available_at"])


Event = BarEvent | HeadlineEvent


class Source(Protocol):
    """Where a stream's events come from."""

    interval: pd.Timedelta | None  # the expected time between bars (None: unknown)

    def poll(self) -> list[Event]: ...

    @property
    def finished(self) -> bool: ...


def bar_interval(index: pd.DatetimeIndex) -> pd.Timedelta | None:
    """The usual step between bars (the median), or None with fewer than two."""
    if len(index) < 2:
        return None
    return pd.Timedelta(pd.Series(index).diff().median())


def _now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC")


def _bar_events(instrument: str, bars: pd.DataFrame,
                received_at: pd.Timestamp) -> list[BarEvent]:
    values = bars.loc[:, list(BAR_COLUMNS)].to_numpy(dtype=float)
    return [BarEvent(instrument, stamp, tuple(row), received_at)
            for stamp, row in zip(bars.index, values.tolist(), strict=True)]


class ReplaySource:
    """The bars and headlines of ``datas`` from ``start`` on, in time order.

    Each poll returns the events of the next ``chunk`` bar times (every instrument's bar
    at a time, preceded by the headlines that became available by then); ``speed`` N
    waits ``interval / N`` between polls (None: full speed). ``history()`` is everything
    before ``start``: what the stream starts from.
    """

    def __init__(self, datas: Mapping[str, MarketData], start: pd.Timestamp | None = None,
                 *, chunk: int = 1, speed: float | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if chunk < 1:
            raise ValueError(f"chunk must be >= 1, got {chunk}")
        self.datas = dict(datas)
        first = min(d.bars.index[0] for d in self.datas.values())
        self.start = pd.Timestamp(start) if start is not None else first
        self.chunk, self.speed, self._sleep = chunk, speed, sleep
        self.interval = bar_interval(next(iter(self.datas.values())).bars.index)
        stamps = sorted({t for d in self.datas.values() for t in d.bars.index
                         if t >= self.start})
        self._times: list[pd.Timestamp] = stamps
        self._next = 0
        self._headlines_sent: dict[str, int] = {name: 0 for name in self.datas}

    def history(self) -> dict[str, MarketData]:
        """Each instrument's data before ``start``."""
        return {name: data.until(self.start) for name, data in self.datas.items()}

    @property
    def finished(self) -> bool:
        return self._next >= len(self._times)

    def poll(self) -> list[Event]:
        if self.finished:
            return []
        if self.speed and self._next and self.interval is not None:
            self._sleep(self.interval.total_seconds() / self.speed)
        times = self._times[self._next:self._next + self.chunk]
        self._next += len(times)
        events: list[Event] = []
        for stamp in times:
            for name, data in self.datas.items():
                events.extend(self._headlines_until(name, data, stamp))
                if stamp in data.bars.index:
                    events.extend(_bar_events(name, data.bars.loc[[stamp]], stamp))
        return events

    def _headlines_until(self, name: str, data: MarketData,
                         stamp: pd.Timestamp) -> list[HeadlineEvent]:
        """Headlines available at or before ``stamp`` not sent yet (those available before
        ``start`` are history)."""
        if data.headlines is None:
            return []
        frame = data.headlines
        available = frame["available_at"]
        due = frame[(available >= self.start) & (available <= stamp)]
        sent = self._headlines_sent[name]
        out = [HeadlineEvent(name, row, pd.Timestamp(row["available_at"]))
               for row in due.iloc[sent:].to_dict("records")]
        self._headlines_sent[name] = len(due)
        return out


@dataclass
class _TailState:
    offset: int = 0  # CSV: bytes read; Parquet: rows read
    header: str | None = None


class TailSource:
    """Bars appended to a CSV or Parquet file, or new files in a folder, by another
    process. Each poll reads only complete new rows (a CSV line still being written waits
    for its newline) through the one date parser; ``finished`` is never true. The rows the
    first read finds up to ``history_end`` are the history the stream started from (read
    already by the one file reader) and are not sent again."""

    def __init__(self, path: str | Path, instrument: str = "data", *, tz: str | None = None,
                 dates: DateSpelling | None = None, interval: pd.Timedelta | None = None,
                 history_end: pd.Timestamp | None = None) -> None:
        self.path = Path(path)
        self.instrument, self.tz = instrument, tz
        self.dates = dates or DateSpelling(None, None)
        self.interval = interval
        self.history_end = history_end
        self._files: dict[Path, _TailState] = {}
        self.report = CleaningReport(str(self.path))

    @property
    def finished(self) -> bool:
        return False

    def poll(self) -> list[Event]:
        if not self.path.exists():
            raise DataError(str(self.path), "file or folder not found", "check the path")
        files = (sorted(p for p in self.path.iterdir() if p.suffix in (".csv", ".parquet"))
                 if self.path.is_dir() else [self.path])
        events: list[Event] = []
        first = not self._files
        for path in files:
            frame = self._new_rows(path, self._files.setdefault(path, _TailState()))
            if frame is not None and first and self.history_end is not None:
                frame = frame[frame.index > self.history_end]
            if frame is not None and len(frame):
                events.extend(_bar_events(self.instrument, frame, _now()))
        return events

    def _new_rows(self, path: Path, state: _TailState) -> pd.DataFrame | None:
        if path.suffix == ".parquet":
            try:
                raw = pd.read_parquet(path)
            except (OSError, ValueError):
                return None  # being written: read at the next poll
            new, state.offset = raw.iloc[state.offset:], len(raw)
            if isinstance(new.index, pd.DatetimeIndex):
                new = new.reset_index(names="datetime")
            return self._parse(new, path)
        with open(path, "rb") as f:
            f.seek(state.offset)
            chunk = f.read()
        complete = chunk[:chunk.rfind(b"\n") + 1]
        if not complete:
            return None
        state.offset += len(complete)
        text = complete.decode("utf-8")
        if state.header is None:
            state.header, _, text = text.partition("\n")
            state.header += "\n"
        if not text.strip():
            return None
        raw = pd.read_csv(io.StringIO(state.header + text))
        return self._parse(raw, path)

    def _parse(self, raw: pd.DataFrame, path: Path) -> pd.DataFrame:
        return bars_from_table(raw, str(path), self.tz, self.dates, self.report,
                               first_data_row=2)


class HeadlineTailSource:
    """Headlines appended to a CSV, Parquet or SQLite file by another process, read by the
    one headline reader (data_feeds/headlines.py: columns found by name, cleaned, dated)
    at each poll; a headline is new when its text and time were not sent before, and is
    available from the time it was received (its reader's availability, if later)."""

    def __init__(self, path: str | Path, instrument: str = "data", *, tz: str = "UTC",
                 now: Callable[[], pd.Timestamp] = _now) -> None:
        self.path, self.instrument, self.tz, self.now = Path(path), instrument, tz, now
        self.interval: pd.Timedelta | None = None
        self._sent: set[tuple[str, str]] = set()

    @property
    def finished(self) -> bool:
        return False

    def poll(self) -> list[Event]:
        from xai_backtest.data_feeds.headlines import load_headlines

        if not self.path.exists():
            return []
        try:
            frame, _ = load_headlines(self.path, tz=self.tz)
        except DataError:
            return []  # empty, or being written: read at the next poll
        received = self.now()
        out: list[Event] = []
        for row in frame.to_dict("records"):
            key = (str(row["timestamp"]), str(row["text"]))
            if key in self._sent:
                continue
            self._sent.add(key)
            row["available_at"] = max(pd.Timestamp(row["available_at"]), received)
            out.append(HeadlineEvent(self.instrument, row, received))
        return out


class MergedSource:
    """Several sources polled as one (bars from one, headlines from another)."""

    def __init__(self, *sources: Source) -> None:
        self.sources = sources
        self.interval = next((s.interval for s in sources if s.interval is not None), None)

    @property
    def finished(self) -> bool:
        return all(s.finished for s in self.sources)

    def poll(self) -> list[Event]:
        return [event for source in self.sources for event in source.poll()]


@dataclass
class YahooSource:
    """yfinance polled for ``symbol``'s recent bars. A bar is emitted once it has closed:
    the last row Yahoo returns is the bar still forming until ``now`` passes its end
    (``interval`` after its start), and is never emitted before. A later poll that
    returns a bar already emitted with other values is passed on, and the sequencer
    logs it as a revision without deciding again. ``download`` replaces
    ``yfinance.download`` (tests use a fake; nothing here needs the network)."""

    symbol: str
    interval_code: str = "1d"
    tz: str = "America/New_York"
    period: str = "5d"
    download: Callable[..., pd.DataFrame] | None = None
    now: Callable[[], pd.Timestamp] = _now
    instrument: str = "data"
    interval: pd.Timedelta | None = field(init=False)

    def __post_init__(self) -> None:
        code = self.interval_code
        self.interval = pd.Timedelta(code[:-1] + {"m": "min", "d": "D"}.get(code[-1], code[-1]))

    @property
    def finished(self) -> bool:
        return False

    @property
    def poll_every(self) -> float:
        """Seconds between polls: the bar interval, at most five minutes (a daily bar is
        then seen at most five minutes after Yahoo has it)."""
        assert self.interval is not None
        return min(self.interval.total_seconds(), 300.0)

    def poll(self) -> list[Event]:
        from xai_backtest.data_feeds.yahoo import normalise_download

        fetch = self.download or _yfinance_download
        raw = fetch(tickers=self.symbol, period=self.period, interval=self.interval_code,
                    auto_adjust=False, progress=False, multi_level_index=False)
        if raw is None or raw.empty:
            return []  # unreachable or nothing new: the heartbeat warns if it lasts
        bars = normalise_download(raw, self.tz)
        closes = bars.index + self.interval  # yfinance labels a bar by its start
        closed = bars[closes <= self.now()]
        if self.interval < pd.Timedelta(days=1):  # intraday bars are labelled at their close
            closed = closed.set_axis(closed.index + self.interval)
        return list(_bar_events(self.instrument, closed, self.now()))


def _yfinance_download(**kwargs: Any) -> pd.DataFrame:
    import yfinance as yf

    return yf.download(**kwargs)
