"""``MarketData``: the bars (and optional headlines) a signal sees, cut at a point in time."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

__all__ = ["MarketData", "window_mask"]


def window_mask(index: pd.DatetimeIndex, start: pd.Timestamp | None,
                end: pd.Timestamp | None) -> np.ndarray:
    """``start <= t < end`` for each time of ``index`` (``None``: unbounded)."""
    mask = np.ones(len(index), dtype=bool)
    if start is not None:
        mask &= index >= start
    if end is not None:
        mask &= index < end
    return mask


@dataclass(frozen=True)
class MarketData:
    """Validated bars plus optional headlines of one instrument.

    ``bars`` is indexed by bar time (the data of bar ``t`` is known at ``t``).
    ``headlines`` has a column ``available_at``: the first time a decision may use
    the headline. Cutting with ``until``/``between`` applies to both, so a model
    handed a cut ``MarketData`` cannot see anything after the cut.
    """

    bars: pd.DataFrame
    headlines: pd.DataFrame | None = None
    symbol: str = ""

    def between(self, start: pd.Timestamp | None, end: pd.Timestamp | None) -> MarketData:
        """Bars with ``start <= t < end`` and headlines available before ``end``."""
        mask = window_mask(self.bars.index, start, end)
        headlines = self.headlines
        if headlines is not None and end is not None:
            headlines = headlines[headlines["available_at"] < end]
        return replace(self, bars=self.bars[mask], headlines=headlines)

    def until(self, end: pd.Timestamp | None) -> MarketData:
        """Everything strictly before ``end`` (``None``: everything)."""
        return self.between(None, end)
