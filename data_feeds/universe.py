"""A universe of instruments: named daily bar frames on one explicit calendar.

Exchanges keep different holidays. ``build_universe`` puts every instrument on the union
of their session dates (midnight UTC, so an Indian and an American session of the same
date share a row). A date an instrument did not trade stays missing for it: it is never
forward-filled into a price that could be traded, and the count per instrument goes into
the notes. Instruments with too little history are dropped with a note naming them and
why; an empty universe or a repeated name is an error.

The date is all a row shares: each instrument keeps its exchange's session (``sessions``),
so the time its bar of a date opens, in UTC, is known (``opens_utc``). On one date the
NSE opens at 03:45 UTC and the NYSE at 13:30 or 14:30 UTC; a portfolio fills each order
at its own exchange's open and sizes it only with the prices known then (see
strategies/portfolio.py). The session of an instrument is the one given to
``build_universe``, else the exchange of ``data_feeds.sessions.SESSIONS`` whose time zone
its bars carry, else a session opening at 09:30 in its bars' time zone. Rule assumed and
checked: every close of a date is known before any open of the next calendar date.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import time

import numpy as np
import pandas as pd

from xai_backtest.data_feeds.sessions import SESSIONS, Session
from xai_backtest.errors import UniverseError

__all__ = ["Universe", "UniverseError", "build_universe", "sessions_per_year"]

_OHLCV = ("open", "high", "low", "close", "volume")
_DEFAULT_OPEN = time(9, 30)


@dataclass(frozen=True)
class Universe:
    """Each instrument's bars re-indexed by session date (``bars``), the union of those
    dates (``calendar``), per instrument the calendar dates inside its own history that it
    has no bar for (``missing``), the instruments left out and why (``dropped``) and
    pairs whose histories barely overlap (``thin_overlaps``) and each instrument's
    exchange session (``sessions``; one missing opens at midnight UTC)."""

    bars: dict[str, pd.DataFrame]
    calendar: pd.DatetimeIndex
    missing: dict[str, int]
    dropped: dict[str, str] = field(default_factory=dict)
    thin_overlaps: tuple[tuple[str, str, float], ...] = ()
    sessions: dict[str, Session] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return list(self.bars)

    def opens_utc(self) -> pd.DataFrame:
        """Minutes from each calendar date's midnight UTC to each instrument's session
        open on that date (daylight saving included; on a date it did not trade, the time
        it would have opened)."""
        by_session: dict[tuple[str, time] | None, np.ndarray] = {}
        out = {}
        for name in self.bars:
            session = self.sessions.get(name)
            key = None if session is None else (session.tz, session.open)
            if key not in by_session:
                by_session[key] = self._opens(session)
            out[name] = by_session[key]
        return pd.DataFrame(out, index=self.calendar)

    def _opens(self, session: Session | None) -> np.ndarray:
        if session is None:
            return np.zeros(len(self.calendar))
        local = (self.calendar.tz_localize(None)
                 + pd.Timedelta(hours=session.open.hour, minutes=session.open.minute))
        opens = local.tz_localize(session.tz, ambiguous=True,
                                  nonexistent="shift_forward").tz_convert("UTC")
        return np.asarray((opens - self.calendar) / pd.Timedelta(minutes=1), dtype=float)

    def sessions_per_year(self) -> float:
        """Session dates a year on this calendar: the dates after the first over the
        years they span (252 when it spans less than a day)."""
        return sessions_per_year(self.calendar)

    def tradable(self) -> pd.DataFrame:
        """True where an instrument has a bar of its own on a calendar date."""
        return pd.DataFrame({n: self.calendar.isin(b.index) for n, b in self.bars.items()},
                            index=self.calendar)

    def closes(self) -> pd.DataFrame:
        """Closes on the calendar, NaN where an instrument has no bar (never filled)."""
        return pd.DataFrame({n: b["close"].reindex(self.calendar)
                             for n, b in self.bars.items()})

    def without(self, dropped: dict[str, str]) -> Universe:
        """This universe less the instruments in ``dropped`` (name -> why), on the union
        of the others' dates; the reasons join ``dropped``."""
        kept = [(n, b) for n, b in self.bars.items() if n not in dropped]
        if not kept:
            raise UniverseError(f"every instrument was dropped: {dropped}")
        calendar = pd.DatetimeIndex(sorted(set().union(*(b.index for _, b in kept))),
                                    name="date")
        return Universe(bars=dict(kept), calendar=calendar,
                        missing={n: self.missing[n] for n, _ in kept},
                        dropped={**self.dropped, **dropped},
                        thin_overlaps=tuple(t for t in self.thin_overlaps
                                            if t[0] not in dropped and t[1] not in dropped),
                        sessions={n: s for n, s in self.sessions.items() if n not in dropped})

    def since(self, start: pd.Timestamp) -> Universe:
        """The universe from ``start`` on (an instrument with no bar from then is dropped
        with a note)."""
        cut = {n: b[b.index >= start] for n, b in self.bars.items()}
        ended = {n: f"its history ends before {start:%Y-%m-%d}, when trading starts"
                 for n, b in cut.items() if b.empty}
        if len(ended) == len(cut):
            raise UniverseError(f"no instrument has bars from {start:%Y-%m-%d} on")
        return replace(self, bars=cut).without(ended)

    def notes(self) -> list[str]:
        """The alignment in words, for the run's cleaning notes."""
        out = [f"universe of {len(self.bars)} instruments on a calendar of "
               f"{len(self.calendar):,} session dates (the union of their own)"]
        out += [f"{name}: no bar on {count:,} calendar date(s) inside its history (other "
                "instruments traded then; left missing, never filled)"
                for name, count in self.missing.items() if count]
        for name, frame in self.bars.items():
            after = int((self.calendar > frame.index[-1]).sum())
            if after:
                out.append(f"{name}: its history ends {frame.index[-1]:%Y-%m-%d}, {after:,} "
                           "calendar date(s) before the universe's last; a position in it is "
                           "valued at that last close from then on (set data.end to stop "
                           "there)")
        opens = {(s.name, s.open, s.tz) for s in self.sessions.values()}
        if len(opens) > 1:
            first = self.opens_utc().iloc[-1].sort_values()
            order = ", ".join(f"{n} {self.sessions[n].name} {int(m) // 60:02d}:"
                              f"{int(m) % 60:02d} UTC" for n, m in first.items())
            out.append(f"instruments open at different times ({order} on the last date): "
                       "each order is sized with the prices known at its own open, an "
                       "instrument not yet open at its last close")
        out.append(f"{self.sessions_per_year():.1f} session dates a year on this calendar: "
                   "the portfolios' Sharpe, Sortino and volatility are annualised with it")
        out += [f"{name}: dropped, {why}" for name, why in self.dropped.items()]
        out += [f"{a} and {b} share only {share:.0%} of their dates"
                for a, b, share in self.thin_overlaps]
        return out


def build_universe(frames: Sequence[tuple[str, pd.DataFrame]], min_bars: int = 1,
                   min_overlap: float = 0.5,
                   sessions: Mapping[str, Session] | None = None) -> Universe:
    """The universe of ``frames`` (name, daily OHLCV bars with a tz-aware index): each
    re-indexed by its session date, instruments with fewer than ``min_bars`` bars dropped
    (with a note), pairs sharing less than ``min_overlap`` of the shorter history's dates
    reported; each instrument's exchange session from ``sessions`` or its bars' time zone
    (see the module docstring)."""
    if not frames:
        raise UniverseError("the universe is empty: list at least one instrument")
    names = [name for name, _ in frames]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise UniverseError(f"instrument name(s) {repeated} appear more than once; give each "
                            "instrument its own name")
    bars: dict[str, pd.DataFrame] = {}
    dropped: dict[str, str] = {}
    own = {name: (sessions or {}).get(name) or _session_of(frame) for name, frame in frames}
    for name, frame in frames:
        dated = _by_session_date(name, frame)
        if len(dated) < min_bars:
            dropped[name] = (f"{len(dated)} bars, fewer than the {min_bars} its signals' "
                             "windows need")
            continue
        bars[name] = dated
    if not bars:
        raise UniverseError(f"no instrument has enough history: {dropped}")
    calendar = pd.DatetimeIndex(sorted(set().union(*(b.index for b in bars.values()))),
                                name="date")
    missing = {}
    for name, frame in bars.items():
        inside = calendar[(calendar >= frame.index[0]) & (calendar <= frame.index[-1])]
        missing[name] = int(len(inside) - len(frame))
    thin = []
    listed = list(bars)
    for i, a in enumerate(listed):
        for b in listed[i + 1:]:
            shared = len(bars[a].index.intersection(bars[b].index))
            share = shared / min(len(bars[a]), len(bars[b]))
            if share < min_overlap:
                thin.append((a, b, share))
    universe = Universe(bars=bars, calendar=calendar, missing=missing, dropped=dropped,
                        thin_overlaps=tuple(thin), sessions={n: own[n] for n in bars})
    _check_closes_precede_next_opens(universe)
    return universe


def sessions_per_year(dates: pd.DatetimeIndex) -> float:
    """Dates after the first over the years from the first to the last (252 when they
    span less than a day)."""
    days = (dates[-1] - dates[0]).days if len(dates) > 1 else 0
    return (len(dates) - 1) / (days / 365.25) if days > 0 else 252.0


def _session_of(frame: pd.DataFrame) -> Session:
    """The exchange whose time zone ``frame``'s bars carry, else a 09:30 open there."""
    tz = str(getattr(frame.index, "tz", None) or "UTC")
    for session in SESSIONS.values():
        if session.tz == tz:
            return session
    return Session(tz, tz, _DEFAULT_OPEN, time(16, 0))


def _check_closes_precede_next_opens(universe: Universe) -> None:
    """Refuse sessions where an instrument closes after another opens on the next
    calendar date: the portfolio values a position not yet open at its previous close,
    which must then be known."""
    opens = universe.opens_utc()
    closes = {}
    for name, session in universe.sessions.items():
        length = (pd.Timedelta(hours=session.close.hour, minutes=session.close.minute)
                  - pd.Timedelta(hours=session.open.hour, minutes=session.open.minute))
        closes[name] = opens[name] + length / pd.Timedelta(minutes=1)
    if len(opens) < 2 or not closes:
        return
    gap = pd.Series((opens.index[1:] - opens.index[:-1]) / pd.Timedelta(minutes=1))
    latest_close = pd.DataFrame(closes).max(axis=1).to_numpy()[:-1]
    earliest_open = opens.min(axis=1).to_numpy()[1:] + gap.to_numpy()
    late = np.flatnonzero(latest_close > earliest_open)
    if len(late):
        day = opens.index[late[0] + 1]
        raise UniverseError(f"on {day:%Y-%m-%d} an instrument opens before another's close "
                            "of the previous calendar date: sessions this far apart are not "
                            "supported in one universe; pass each instrument's session "
                            "(build_universe(sessions=...)) or split the universe")


def _by_session_date(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` indexed by its session dates at midnight UTC."""
    index = frame.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise UniverseError(f"instrument {name!r}: bars need a tz-aware DatetimeIndex")
    lacking = [c for c in _OHLCV if c not in frame.columns]
    if lacking:
        raise UniverseError(f"instrument {name!r}: bars lack column(s) {lacking}")
    dates = index.tz_localize(None).normalize()
    if dates.has_duplicates:
        raise UniverseError(f"instrument {name!r} has several bars on one date: a universe "
                            "takes daily bars (resample intraday bars to daily first)")
    out = frame.loc[:, list(_OHLCV)].copy()
    out.index = dates.tz_localize("UTC").rename("date")
    if not out.index.is_monotonic_increasing:
        out = out.sort_index()
    if np.isnan(out[["open", "close"]].to_numpy(dtype=float)).any():
        raise UniverseError(f"instrument {name!r} has bars without an open or close; clean "
                            "them first (data_feeds.cleaning)")
    return out
