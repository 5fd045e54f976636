"""backtrader feeds that carry a signal's decisions beside OHLCV."""

from __future__ import annotations

import backtrader as bt
import numpy as np
import pandas as pd

__all__ = ["SignalFeed", "signal_feed"]

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


def signal_feed(bars: pd.DataFrame, decisions: pd.DataFrame | None,
                name: str = "data") -> SignalFeed:
    """A feed over ``bars`` with ``decisions`` (a ``SignalFrame``'s frame) on the bars they
    were made at.

    A decision whose time is not a bar time is an error: a signal decides at bar closes.
    """
    frame = bars.loc[:, ["open", "high", "low", "close", "volume"]].copy()
    if decisions is None or not len(decisions):
        for line in SIGNAL_LINES:
            frame[line] = np.nan
    else:
        inside = decisions.index[(decisions.index >= bars.index[0])
                                 & (decisions.index <= bars.index[-1])]
        orphans = inside.difference(bars.index)
        if len(orphans):
            raise ValueError(f"signal {name!r} decided at {orphans[0]}, which is not "
                             f"a bar time ({len(orphans)} such decisions)")
        aligned = decisions.reindex(bars.index)
        frame["direction"] = aligned["direction"].astype(float)
        frame["probability"] = aligned["probability"].astype(float)
        frame["score"] = aligned["score"].astype(float)
        position = pd.Series(np.arange(len(decisions), dtype=float), index=decisions.index)
        frame["decision"] = position.reindex(bars.index)
    frame.index = frame.index.tz_localize(None)
    return SignalFeed(dataname=frame, name=name)
