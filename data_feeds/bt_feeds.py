"""backtrader feeds that carry a signal's decisions beside OHLCV."""

from __future__ import annotations

import backtrader as bt
import numpy as np
import pandas as pd

__all__ = ["SignalFeed", "aligned_decisions", "signal_feed"]

SIGNAL_LINES = ("direction", "probability", "score", "decision")


class SignalFeed(bt.feeds.PandasData):
    """OHLCV plus the lines of a ``SignalFrame``; NaN where no decision was made.

    ``decision`` is the row number of the decision in its ``SignalFrame``, so a
    strategy can record which decision caused an order without touching the model.
    The datetime is the bar time in the exchange's time zone, without tz info
    (backtrader works in naive time).
    """

    lines = SIGNAL_LINES
    params = tuple((name, -1) for name in SIGNAL_LINES)


def aligned_decisions(bars: pd.DataFrame, decisions: pd.DataFrame | None,
                      name: str = "data") -> pd.DataFrame:
    """The signal lines on ``bars``' index (NaN where no decision was made): direction,
    probability, score and decision (the row in ``decisions``).

    A decision whose time is not a bar time is an error: a signal decides at bar closes.
    """
    lines = pd.DataFrame(np.nan, index=bars.index, columns=list(SIGNAL_LINES))
    if decisions is None or not len(decisions):
        return lines
    inside = decisions.index[(decisions.index >= bars.index[0])
                             & (decisions.index <= bars.index[-1])]
    orphans = inside.difference(bars.index)
    if len(orphans):
        raise ValueError(f"signal {name!r} decided at {orphans[0]}, which is not "
                         f"a bar time ({len(orphans)} such decisions)")
    aligned = decisions.reindex(bars.index)
    for line in ("direction", "probability", "score"):
        lines[line] = aligned[line].astype(float)
    position = pd.Series(np.arange(len(decisions), dtype=float), index=decisions.index)
    lines["decision"] = position.reindex(bars.index)
    return lines


def signal_feed(bars: pd.DataFrame, decisions: pd.DataFrame | None,
                name: str = "data") -> SignalFeed:
    """A feed over ``bars`` with ``decisions`` (a ``SignalFrame``'s frame) on the bars they
    were made at (see ``aligned_decisions``)."""
    frame = bars.loc[:, ["open", "high", "low", "close", "volume"]].copy()
    frame[list(SIGNAL_LINES)] = aligned_decisions(bars, decisions, name)
    frame.index = frame.index.tz_localize(None)
    return SignalFeed(dataname=frame, name=name)
