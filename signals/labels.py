"""Direction labels of decisions (they look forward by definition; never features).

Two definitions of "the market went up after the decision at bar t's close":

- ``open_to_open``: from the next open to the open after (open t+1 -> open t+2), the
  return a position decided at t and filled at the next open earns over a one-bar hold;
- ``close_to_close``: from this close to the next (close t -> close t+1), the usual
  label, which includes the overnight gap a next-open fill never earns.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

__all__ = ["LABEL_BASES", "LabelBasis", "direction_labels", "label_reach"]

LabelBasis = Literal["open_to_open", "close_to_close"]
LABEL_BASES: tuple[LabelBasis, ...] = ("open_to_open", "close_to_close")


def direction_labels(bars: pd.DataFrame, basis: LabelBasis, horizon: int = 1) -> pd.Series:
    """``up``/``down`` per bar under ``basis`` over ``horizon`` bars; ``None`` where the data
    ends before the label is known."""
    if basis == "open_to_open":
        start, end = bars["open"].shift(-1), bars["open"].shift(-1 - horizon)
    elif basis == "close_to_close":
        start, end = bars["close"], bars["close"].shift(-horizon)
    else:
        raise ValueError(f"label basis must be one of {LABEL_BASES}, got {basis!r}")
    label = pd.Series(np.where(end > start, "up", "down"), index=bars.index, dtype=object)
    label[end.isna() | start.isna()] = None
    return label


def label_reach(basis: LabelBasis, horizon: int = 1) -> int:
    """How many bars after the decision its label reads (for ``label_end_``)."""
    return horizon + 1 if basis == "open_to_open" else horizon
