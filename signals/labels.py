"""Direction labels of daily decisions (they look forward by definition; never features)."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["next_bar_direction"]


def next_bar_direction(bars: pd.DataFrame, horizon: int = 1) -> pd.Series:
    """``up`` when the close ``horizon`` bars later is above this bar's close, else
    ``down``; ``None`` where the data ends before the label is known."""
    close = bars["close"]
    after = close.shift(-horizon)
    label = pd.Series(np.where(after > close, "up", "down"), index=close.index, dtype=object)
    label[after.isna()] = None
    return label
