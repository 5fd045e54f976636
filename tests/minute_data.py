"""Synthetic NSE minute sessions with a planted first-hour pattern, for the GADF-CNN tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def make_minute_bars(days: int = 90, seed: int = 0, bars_per_day: int = 375,
                     start: str = "2021-01-04") -> pd.DataFrame:
    """NSE-like minute bars labelled by close time (09:16 .. 15:30), Asia/Kolkata.

    Each day has a hidden sign ``s``: minutes 21-30 of the first hour drift by
    ``s * 0.4%`` and the rest of the session after 10:15 drifts by ``s * 0.5%``, so
    the first-hour image carries (noisy) information about the tradable label.
    """
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range(start, periods=days)
    minutes = pd.to_timedelta(9 * 60 + 16 + np.arange(bars_per_day), unit="min")
    frames, price = [], 15_000.0
    for date in dates:
        sign = rng.choice((-1.0, 1.0))
        steps = rng.normal(0, 0.0004, bars_per_day)
        steps[20:30] += sign * 0.004 / 10
        steps[60:] += sign * 0.005 / max(bars_per_day - 60, 1)
        close = price * np.exp(np.cumsum(steps))
        open_ = np.r_[price, close[:-1]]
        high = np.maximum(open_, close) * (1 + rng.uniform(0, 2e-4, bars_per_day))
        low = np.minimum(open_, close) * (1 - rng.uniform(0, 2e-4, bars_per_day))
        index = pd.DatetimeIndex(date + minutes).tz_localize("Asia/Kolkata")
        frames.append(pd.DataFrame({"open": open_, "high": high, "low": low, "close": close,
                                    "volume": 0.0}, index=index))
        price = close[-1] * np.exp(rng.normal(0, 0.003))
    bars = pd.concat(frames)
    bars.index.name = "timestamp"
    return bars
