"""A universe of instruments: named daily bar frames on one explicit calendar.

Exchanges keep different holidays. ``build_universe`` puts every instrument on the union
of their session dates (midnight UTC, so an Indian and an American session of the same
date share a row). A date an instrument did not trade stays missing for it: it is never
forward-filled into a price that could be traded, and the count per instrument goes into
the notes. Instruments with too little history are dropped with a note naming them and
why; an empty universe or a repeated name is an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from xai_backtest.errors import UniverseError

__all__ = ["Universe", "UniverseError", "build_universe"]

_OHLCV = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class Universe:
    """Each instrument's bars re-indexed by session date (``bars``), the union of those
    dates (``calendar``), per instrument the calendar dates inside its own history that it
    has no bar for (``missing``), the instruments left out and why (``dropped``) and
    pairs whose histories barely overlap (``thin_overlaps``)."""

    bars: dict[str, pd.DataFrame]
    calendar: pd.DatetimeIndex
    missing: dict[str, int]
    dropped: dict[str, str] = field(default_factory=dict)
    thin_overlaps: tuple[tuple[str, str, float], ...] = ()

    @property
    def names(self) -> list[str]:
        return list(self.bars)

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
                                            if t[0] not in dropped and t[1] not in dropped))

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
        out += [f"{name}: dropped, {why}" for name, why in self.dropped.items()]
        out += [f"{a} and {b} share only {share:.0%} of their dates"
                for a, b, share in self.thin_overlaps]
        return out


def build_universe(frames: Sequence[tuple[str, pd.DataFrame]], min_bars: int = 1,
                   min_overlap: float = 0.5) -> Universe:
    """The universe of ``frames`` (name, daily OHLCV bars with a tz-aware index): each
    re-indexed by its session date, instruments with fewer than ``min_bars`` bars dropped
    (with a note), pairs sharing less than ``min_overlap`` of the shorter history's dates
    reported."""
    if not frames:
        raise UniverseError("the universe is empty: list at least one instrument")
    names = [name for name, _ in frames]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise UniverseError(f"instrument name(s) {repeated} appear more than once; give each "
                            "instrument its own name")
    bars: dict[str, pd.DataFrame] = {}
    dropped: dict[str, str] = {}
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
    return Universe(bars=bars, calendar=calendar, missing=missing, dropped=dropped,
                    thin_overlaps=tuple(thin))


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
