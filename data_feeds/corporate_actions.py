"""Splits and bonus issues: flagged always, adjusted only when the user says so.

A price series not adjusted for a split shows a jump that a backtest would trade as a
crash (or, for a reverse split, a windfall). A real crash or a takeover shows one too, so
a jump is never adjusted by guesswork:

- ``find_jumps`` flags every day whose close-to-close move matches a common split ratio
  (2:1, 3:2, 4:3, 5:4, ... and reverse) within 3%, or exceeds 40%; each with its ratio
  (previous close / close) and whether price and volume confirm a split. The price
  confirms when the open gap *and* the close-to-close move both sit within 3% of one
  ratio; the volume confirms when the median volume of the 20 bars after the day over the
  20 before is nearer that ratio than 1 (on a log scale).
- By default nothing is adjusted: the flags go into the run's notes.
- ``adjust: detected`` adjusts the jumps that price and volume both confirm.
- A ``corporate_actions`` file (columns ``date, symbol, ratio``; ratio = new shares per
  old share, 1.5 for a 3:2 bonus issue) adjusts exactly the days it lists.

Adjusting divides the prices before the day by the ratio and multiplies the volumes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from xai_backtest.data_feeds.dates import parse_timestamps
from xai_backtest.data_feeds.errors import DataError

__all__ = ["Jump", "adjust_for", "find_jumps", "load_corporate_actions"]

#: new shares per old share of common splits, bonus issues and reverse splits
_RATIOS = {2.0: "2:1 split", 3.0: "3:1 split", 4.0: "4:1 split", 5.0: "5:1 split",
           10.0: "10:1 split", 1.5: "3:2 bonus issue", 4 / 3: "4:3 bonus issue",
           1.25: "5:4 bonus issue", 2.5: "5:2 split", 0.5: "1:2 reverse split",
           0.2: "1:5 reverse split", 0.1: "1:10 reverse split"}
_TOLERANCE = 0.03
_HUGE_MOVE = 0.4
_VOLUME_BARS = 20


@dataclass(frozen=True)
class Jump:
    """A day to check: the close moved by ``ratio`` (previous close / close), which
    matches ``matches`` (a split ratio's name, or None), confirmed by price and volume or
    not."""

    day: pd.Timestamp
    ratio: float
    matches: str | None
    price_confirms: bool
    volume_confirms: bool
    split_ratio: float | None

    @property
    def confirmed(self) -> bool:
        return self.price_confirms and self.volume_confirms

    def describe(self) -> str:
        move = f"close {1 / self.ratio - 1:+.0%} (previous close / close = {self.ratio:.3f})"
        if self.matches is None:
            return f"{self.day:%Y-%m-%d}: {move}, matching no split ratio"
        evidence = ("price and volume confirm it" if self.confirmed else
                    "the price confirms it, the volume does not" if self.price_confirms else
                    "the open and the close disagree")
        return f"{self.day:%Y-%m-%d}: {move}, like a {self.matches} ({evidence})"


def find_jumps(bars: pd.DataFrame) -> list[Jump]:
    """Every day of ``bars`` whose move matches a split ratio or exceeds 40%."""
    close, opens = bars["close"].to_numpy(float), bars["open"].to_numpy(float)
    volume = bars["volume"].to_numpy(float)
    if len(close) < 2:
        return []
    move = close[:-1] / close[1:]  # previous close / close, per day from the second
    gap = close[:-1] / opens[1:]
    smallest = np.log(min(r for r in _RATIOS if r > 1) * (1 - _TOLERANCE))
    out = []
    for i in np.flatnonzero(np.abs(np.log(move)) > smallest):
        split = _nearest(move[i])
        if split is None and abs(1 / move[i] - 1) <= _HUGE_MOVE:
            continue
        price = split is not None and _nearest(gap[i]) == split
        out.append(Jump(day=bars.index[i + 1], ratio=float(move[i]),
                        matches=_RATIOS[split] if split is not None else None,
                        price_confirms=price,
                        volume_confirms=price and _volume_confirms(volume, int(i) + 1, split),
                        split_ratio=split))
    return out


def _nearest(value: float) -> float | None:
    best = min(_RATIOS, key=lambda r: abs(value / r - 1))
    return best if abs(value / best - 1) < _TOLERANCE else None


def _volume_confirms(volume: np.ndarray, day: int, ratio: float | None) -> bool:
    """The median volume after ``day`` over the median before is nearer ``ratio`` than 1."""
    before = volume[max(0, day - _VOLUME_BARS):day]
    after = volume[day:day + _VOLUME_BARS]
    if ratio is None or len(before) < 5 or len(after) < 5:
        return False
    low, high = np.median(before), np.median(after)
    if low <= 0 or high <= 0:
        return False
    change = np.log(high / low)
    return bool(abs(change - np.log(ratio)) < abs(change))


def adjust_for(bars: pd.DataFrame, actions: list[tuple[pd.Timestamp, float]]) -> pd.DataFrame:
    """``bars`` with the prices before each (day, ratio) divided by the ratio and the
    volumes multiplied by it."""
    out = bars.copy()
    prices = ["open", "high", "low", "close"]
    for day, ratio in actions:
        before = out.index < day
        out.loc[before, prices] = out.loc[before, prices].to_numpy() / ratio
        out.loc[before, "volume"] = out.loc[before, "volume"].to_numpy() * ratio
    return out


def load_corporate_actions(path: str | Path) -> pd.DataFrame:
    """A corporate actions file: one row per split or bonus issue, columns ``date``,
    ``symbol`` and ``ratio`` (new shares per old share, > 0)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(str(path), "corporate actions file not found", "check the path")
    raw = pd.read_csv(path)
    columns = {str(c).strip().lower(): c for c in raw.columns}
    missing = [c for c in ("date", "symbol", "ratio") if c not in columns]
    if missing:
        raise DataError(str(path), f"missing column(s) {missing}; found {list(raw.columns)}",
                        "write date, symbol and ratio (new shares per old share, 1.5 for a "
                        "3:2 bonus issue)")
    ratio = pd.to_numeric(raw[columns["ratio"]], errors="coerce")
    bad = ~(ratio > 0)
    if bad.any():
        raise DataError(str(path), f"ratio {raw[columns['ratio']][bad].iloc[0]!r} is not a "
                        "positive number", "write new shares per old share, e.g. 2 for a 2:1 "
                        "split", where=f"row {int(np.argmax(bad.to_numpy())) + 2}")
    days = parse_timestamps(raw[columns["date"]], str(path), first_row=2).normalize()
    return pd.DataFrame({"date": days, "symbol": raw[columns["symbol"]].astype(str),
                         "ratio": ratio.astype(float)})
