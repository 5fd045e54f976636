"""Validation of OHLCV bar frames: the contract every loader ends with."""

from __future__ import annotations

import numpy as np
import pandas as pd

from xai_backtest.data_feeds.errors import DataError

__all__ = ["BAR_COLUMNS", "validate_bars"]

BAR_COLUMNS = ("open", "high", "low", "close", "volume")
PRICE_COLUMNS = ("open", "high", "low", "close")
# Vendors round OHLC independently; a close a hair outside [low, high] is rounding, not a bad bar.
_RANGE_TOLERANCE = 1e-6
# A price this many times away from the median close of its neighbours is a data error
# (a misplaced decimal point, a unit change), not a market move.
_SPIKE_FACTOR = 10.0
_SPIKE_WINDOW = 11


def _first_bad(frame: pd.DataFrame, mask: np.ndarray | pd.Series) -> str:
    mask = np.asarray(mask)
    positions = np.flatnonzero(mask)
    stamp = frame.index[positions[0]]
    more = f" (and {len(positions) - 1} more bars)" if len(positions) > 1 else ""
    return f"bar {positions[0] + 1} (of {len(frame)}) at {stamp}{more}"


def validate_bars(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Check a bar frame and return it with float columns in canonical order.

    The frame must have a tz-aware ``DatetimeIndex``, sorted and unique, and the
    columns ``open high low close volume`` with positive finite prices, consistent
    OHLC and non-negative volume. Every violation raises a ``DataError`` that names
    ``source``, the first offending row and the fix.
    """
    if frame.empty:
        raise DataError(source, "no bars", "check the path, symbol and date range")
    missing = [c for c in BAR_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(
            source,
            f"missing column(s) {missing}; found {list(frame.columns)}",
            "provide open, high, low, close and volume (volume may be all 0 for an index)",
        )
    index = frame.index
    if not isinstance(index, pd.DatetimeIndex):
        raise DataError(source, f"index is {type(index).__name__}, not timestamps",
                        "index the frame by a DatetimeIndex")
    if index.tz is None:
        raise DataError(source, "timestamps have no time zone",
                        "localize them, e.g. frame.tz_localize('America/New_York')")
    if index.hasnans:
        raise DataError(source, "missing timestamps (NaT)", "drop or repair rows without a date")
    duplicated = index.duplicated()
    if duplicated.any():
        raise DataError(source, "duplicate timestamps", "keep one bar per timestamp",
                        where=_first_bad(frame, duplicated))
    if not index.is_monotonic_increasing:
        backwards = np.r_[False, np.diff(index.asi8) < 0]
        raise DataError(source, "timestamps are not sorted", "sort by time (frame.sort_index())",
                        where=_first_bad(frame, backwards))
    bars = frame.loc[:, list(BAR_COLUMNS)]
    try:
        bars = bars.astype("float64")
    except (TypeError, ValueError) as e:
        raise DataError(source, f"non-numeric price or volume: {e}",
                        "remove text from the OHLCV columns") from e
    prices = bars.loc[:, list(PRICE_COLUMNS)].to_numpy()
    bad = ~np.isfinite(prices).all(axis=1)
    if bad.any():
        raise DataError(source, "NaN or infinite prices", "drop those rows (frame.dropna()) or "
                        "fill them from another source", where=_first_bad(bars, bad))
    bad = (prices <= 0).any(axis=1)
    if bad.any():
        raise DataError(source, "zero or negative prices", "remove the rows or fix the prices",
                        where=_first_bad(bars, bad))
    o, h, low, c = prices.T
    bad = h < low
    if bad.any():
        raise DataError(source, "high below low", "swap or repair the high/low columns",
                        where=_first_bad(bars, bad))
    tol = _RANGE_TOLERANCE * h
    bad = (c > h + tol) | (c < low - tol) | (o > h + tol) | (o < low - tol)
    if bad.any():
        raise DataError(source, "open or close outside [low, high]",
                        "check the column order (open high low close) or repair the bar",
                        where=_first_bad(bars, bad))
    neighbours = bars["close"].rolling(_SPIKE_WINDOW, center=True, min_periods=1).median()
    ratio = prices / neighbours.to_numpy()[:, None]
    bad = ((ratio > _SPIKE_FACTOR) | (ratio < 1 / _SPIKE_FACTOR)).any(axis=1)
    if bad.any():
        raise DataError(source, f"absurd price: more than {_SPIKE_FACTOR:g}x away from the "
                        "median close of the neighbouring bars", "check for a misplaced "
                        "decimal point or a change of units, and repair or drop the bar",
                        where=_first_bad(bars, bad))
    volume = bars["volume"].to_numpy()
    bad = np.isnan(volume) | (volume < 0)
    if bad.any():
        raise DataError(source, "NaN or negative volume", "set missing volume to 0",
                        where=_first_bad(bars, bad))
    bars.index.name = "timestamp"
    return bars
