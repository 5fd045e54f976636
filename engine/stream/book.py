"""The paper account of a stream: the run's own engine over the bars so far.

Every strategy of the run (each signal's, the vote's and the references) is run by
``backtest_all`` (engine/trade_signal.py: the fast path or backtrader, whichever the run
uses, with its costs) over the bars up to the bar that just closed, plus one provisional
bar at that bar's close. The engine is causal (a fill at a bar depends on the bars and
decisions up to it), so the fills and equity up to the closed bar are the backtest's,
and the fills the engine makes on the provisional bar are the orders its rules place at
the next open, sized at the last close. The paper broker fills those orders with the
engine's fill once the next bar has come.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from xai_backtest.data_feeds.universe import Universe
from xai_backtest.engine import trade_portfolio
from xai_backtest.engine.config import RunConfig
from xai_backtest.engine.trade_signal import align, backtest_all
from xai_backtest.signals.base import SignalFrame

__all__ = ["Book", "book_one", "book_universe"]


@dataclass(frozen=True)
class Book:
    """Each strategy's fills at the closed bar, its equity after it, the orders its rules
    place at the next open, and the orders the broker refused (a portfolio's rows name
    their instrument)."""

    time: pd.Timestamp
    fills: dict[str, pd.DataFrame]
    equity: dict[str, float]
    orders: dict[str, pd.DataFrame]
    rejected: dict[str, pd.DataFrame]


def provisional(bars: pd.DataFrame, interval: pd.Timedelta | None) -> pd.DataFrame:
    """``bars`` and one more bar at the last close (no range, no volume), one
    ``interval`` later: what the strategy's rules would do at the next open."""
    last = bars.iloc[-1]
    stamp = bars.index[-1] + (interval or pd.Timedelta(days=1))
    extra = pd.DataFrame({"open": last["close"], "high": last["close"],
                          "low": last["close"], "close": last["close"], "volume": 0.0},
                         index=pd.DatetimeIndex([stamp], tz=bars.index.tz))
    return pd.concat([bars, extra.astype(bars.dtypes.to_dict())])


def book_one(config: RunConfig, bars: pd.DataFrame, decisions: Mapping[str, SignalFrame],
             interval: pd.Timedelta | None) -> Book | None:
    """The account after the last bar of ``bars`` (None until every signal has made a
    decision: the backtest trades from the latest signal's first decision on)."""
    if not decisions or any(not len(frame) for frame in decisions.values()):
        return None
    aligned = align(config, dict(decisions), bars)
    if not len(aligned.bars):
        return None
    results = backtest_all(config, provisional(aligned.bars, interval), aligned.decisions)
    return _book(aligned.bars.index[-1], len(aligned.bars), results)


def book_universe(config: RunConfig, universe: Universe,
                  decisions: Mapping[str, Mapping[str, SignalFrame]],
                  interval: pd.Timedelta | None) -> Book | None:
    """The portfolio account after the last date of ``universe`` (its bars so far; its
    sessions and what was dropped are the stream's universe at start): every portfolio
    and reference of engine/trade_portfolio.py on one cash account each."""
    if not decisions or any(not frames or any(not len(f) for f in frames.values())
                            for frames in decisions.values()):
        return None
    aligned = trade_portfolio.align(decisions, universe)
    ahead = replace(aligned.traded, bars={name: provisional(bars, interval) for name, bars
                                          in aligned.traded.bars.items()}).without({})
    ahead = replace(ahead, missing=aligned.traded.missing)
    traded = trade_portfolio.backtests(config, replace(aligned, traded=ahead), progress=False)
    return _book(aligned.traded.calendar[-1], len(aligned.traded.calendar), traded.results)


def _book(now: pd.Timestamp, n: int, results: Mapping[str, Any]) -> Book:
    """The account at bar ``n - 1`` of ``results`` (run over ``n`` bars and the
    provisional one)."""
    return Book(
        time=now,
        fills={name: r.fills[r.fills["bar"] == n - 1] for name, r in results.items()},
        equity={name: float(r.equity.iloc[n - 1]) for name, r in results.items()},
        orders={name: r.fills[r.fills["bar"] == n] for name, r in results.items()},
        rejected={name: r.rejected[r.rejected["bar"] == n - 1] for name, r in results.items()})
