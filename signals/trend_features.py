"""The 18 daily features of the five-trend DNN and their 15-day input windows (270 inputs).

Per bar ``t`` (closes only, each from bars at or before ``t``):

- ``close``;
- ``return_n`` = close[t] / close[t-n] - 1 for n in 1, 5, 10, 15;
- ``ma_n`` = mean of close[t-n+1 .. t] for n in 5, 10, 15;
- ``volatility_n`` = sample standard deviation (ddof=1) of the n one-day returns
  ending at ``t``, for n in 5, 10, 15;
- ``rsi_n`` = 100 * G / (G + L), G and L the simple means of the up-moves and
  down-moves (absolute) of the n one-day close changes ending at ``t`` (50 when
  both are zero), for n in 5, 10, 15;
- ``momentum_n`` = close[t] - close[t-n] for n in 1, 5, 10, 15.

The input of decision ``t`` is the window of these 18 features at ``t-14 .. t``,
flattened family by family: column ``f * 15 + (14 - k)`` is family ``f`` at lag
``t-k`` and is named ``"<family> @ t-<k>"`` (``"<family> @ t"`` for k = 0). With
``relative_prices`` the price-level families (close, ma, momentum) of the whole
window are divided by close[t], so the inputs do not depend on the price level
(scale-free; close @ t is then always 1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["FAMILIES", "LAGS", "PRICE_FAMILIES", "WARMUP", "WINDOW", "daily_features",
           "family_sums", "feature_names", "lag_sums", "window_features"]

WINDOW = 15
FAMILIES: tuple[str, ...] = (
    "close",
    "return_1", "return_5", "return_10", "return_15",
    "ma_5", "ma_10", "ma_15",
    "volatility_5", "volatility_10", "volatility_15",
    "rsi_5", "rsi_10", "rsi_15",
    "momentum_1", "momentum_5", "momentum_10", "momentum_15",
)
PRICE_FAMILIES: tuple[str, ...] = tuple(f for f in FAMILIES
                                        if f == "close" or f.startswith(("ma_", "momentum_")))
#: lag labels in column order within a family: t-14 .. t
LAGS: tuple[str, ...] = tuple(f"t-{k}" if k else "t" for k in range(WINDOW - 1, -1, -1))
#: bars before the first complete feature row (15-day returns, RSI and volatility need 16 bars)
WARMUP = 15


def daily_features(close: pd.Series) -> pd.DataFrame:
    """The 18 features of every bar (NaN during the first ``WARMUP`` bars)."""
    close = close.astype(float)
    change = close.diff()
    one_day = close / close.shift(1) - 1
    gain, loss = change.clip(lower=0), (-change).clip(lower=0)
    columns: dict[str, pd.Series] = {"close": close}
    for n in (1, 5, 10, 15):
        columns[f"return_{n}"] = close / close.shift(n) - 1
    for n in (5, 10, 15):
        columns[f"ma_{n}"] = close.rolling(n).mean()
    for n in (5, 10, 15):
        columns[f"volatility_{n}"] = one_day.rolling(n).std(ddof=1)
    for n in (5, 10, 15):
        up, down = gain.rolling(n).mean(), loss.rolling(n).mean()
        total = up + down
        rsi = 100 * up / total.where(total > 0)
        columns[f"rsi_{n}"] = rsi.where(total > 0, 50.0).where(total.notna())
    for n in (1, 5, 10, 15):
        columns[f"momentum_{n}"] = close - close.shift(n)
    frame = pd.DataFrame(columns, index=close.index)
    frame.iloc[:WARMUP] = np.nan  # every feature starts on the same bar
    return frame


def feature_names() -> tuple[str, ...]:
    """The 270 input names in column order, e.g. ``"rsi_5 @ t-3"``."""
    return tuple(f"{family} @ {lag}" for family in FAMILIES for lag in LAGS)


def window_features(close: pd.Series, relative_prices: bool = True) -> pd.DataFrame:
    """One row of 270 inputs per decision time (bars from ``WARMUP + WINDOW - 1`` on)."""
    daily = daily_features(close).to_numpy()[WARMUP:]
    index = close.index[WARMUP + WINDOW - 1:]
    if len(index) == 0:
        return pd.DataFrame(np.empty((0, len(FAMILIES) * WINDOW)), index=index,
                            columns=list(feature_names()))
    # windows[i, f, j]: family f on bar (i + j) of the complete rows; j = 14 is the decision bar
    windows = sliding_window_view(daily, WINDOW, axis=0).copy()
    if relative_prices:
        price = [FAMILIES.index(f) for f in PRICE_FAMILIES]
        last_close = windows[:, FAMILIES.index("close"), -1]
        windows[:, price, :] /= last_close[:, None, None]
    return pd.DataFrame(windows.reshape(len(index), -1), index=index,
                        columns=list(feature_names()))


def family_sums(values: np.ndarray) -> np.ndarray:
    """Sums of 270 per-input values (last axis) to the 18 families, in ``FAMILIES`` order."""
    values = np.asarray(values)
    return values.reshape(*values.shape[:-1], len(FAMILIES), WINDOW).sum(axis=-1)


def lag_sums(values: np.ndarray) -> np.ndarray:
    """Sums of 270 per-input values (last axis) to the 15 lags, in ``LAGS`` order."""
    values = np.asarray(values)
    return values.reshape(*values.shape[:-1], len(FAMILIES), WINDOW).sum(axis=-2)
