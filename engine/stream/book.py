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

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd

from xai_backtest.data_feeds.universe import Universe
from xai_backtest.engine import trade_portfolio
from xai_backtest.engine.config import RunConfig
from xai_backtest.engine.trade_signal import align, strategy_runs
from xai_backtest.signals.base import SignalFrame
from xai_backtest.strategies.backtest import BacktestResult, run_strategy
from xai_backtest.strategies.costs import Costs
from xai_backtest.strategies.fast import fast_path_refusal

__all__ = ["Book", "SignalBook", "book_universe"]


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


@dataclass(frozen=True)
class _Restart:
    """Where a strategy's run restarts: the first bar, and the cash it had (flat) then."""

    start: pd.Timestamp
    cash: float


class SignalBook:
    """The account of one instrument, kept from bar to bar.

    Each strategy runs on the fast path over every bar (milliseconds), or on backtrader.
    A backtrader run over more than ``restart_after`` bars (minute bars) would take
    seconds a bar, so it restarts from the latest bar at least ``check`` bars back
    before which the strategy was flat and at which nothing filled, with the cash it
    had then: once the restarted run is seen to equal the full one over those ``check``
    bars. Every ``audit_every`` bars the full run is made again; a restarted run that
    differs from it is reported through ``report`` and dropped (full runs from then on).
    """

    def __init__(self, config: RunConfig, interval: pd.Timedelta | None,
                 report: Callable[[str], None], restart_after: int = 2_000,
                 check: int = 400, audit_every: int = 400) -> None:
        self.config, self.interval, self.report = config, interval, report
        self.restart_after, self.check, self.audit_every = restart_after, check, audit_every
        self.costs = Costs(**config.costs.model_dump())
        self._restarts: dict[str, _Restart | None] = {}
        self._booked: dict[str, int] = {}

    def book(self, bars: pd.DataFrame, decisions: Mapping[str, SignalFrame]) -> Book | None:
        """The account after the last bar of ``bars`` (None until every signal has made a
        decision: the backtest trades from the latest signal's first decision on)."""
        if not decisions or any(not len(frame) for frame in decisions.values()):
            return None
        aligned = align(self.config, dict(decisions), bars)
        if not len(aligned.bars):
            return None
        ahead = provisional(aligned.bars, self.interval)
        results = {name: self._run(name, ahead, *run)
                   for name, run in strategy_runs(self.config, aligned.decisions).items()}
        return _book(aligned.bars.index[-1], len(aligned.bars), results)

    def _run(self, name: str, bars: pd.DataFrame, frame: SignalFrame | None,
             strategy: type[bt.Strategy], params: dict[str, object]) -> BacktestResult:
        def run(start: int = 0, cash: float = self.config.cash) -> BacktestResult:
            part = None if frame is None else frame.between(bars.index[start], None)
            out = run_strategy(name, bars.iloc[start:], part, strategy, costs=self.costs,
                               cash=cash, engine=self.config.engine, **params)
            return _shifted(out, start, bars) if start else out

        fast = self.config.engine != "backtrader" and fast_path_refusal(strategy,
                                                                       params) is None
        if fast or len(bars) <= self.restart_after:
            return run()
        self._booked[name] = booked = self._booked.get(name, 0) + 1
        restart = self._restarts.get(name)
        if restart is not None and booked % self.audit_every:
            return run(int(bars.index.get_loc(restart.start)), restart.cash)
        full = run()
        if restart is not None:
            part = run(int(bars.index.get_loc(restart.start)), restart.cash)
            if not _same(part, full, int(bars.index.get_loc(restart.start))):
                self.report(f"{name}: the run restarted at {restart.start} differs from the "
                            "full run; booking with full runs from now on")
                self._restarts[name] = None
                return full
        self._restarts[name] = self._restart(full, bars, run)
        return full

    def _restart(self, full: BacktestResult, bars: pd.DataFrame,
                 run: Callable[[int, float], BacktestResult]) -> _Restart | None:
        """The latest bar at least ``check`` bars back to restart ``full`` from, checked."""
        n = len(bars)
        filled = np.zeros(n)
        np.add.at(filled, full.fills["bar"].to_numpy(dtype=int), 1)
        held = np.zeros(n)
        np.add.at(held, full.fills["bar"].to_numpy(dtype=int), full.fills["size"].to_numpy())
        flat_after = np.abs(np.cumsum(held)) < 1e-12
        ok = np.flatnonzero(flat_after[:-1] & (filled[1:] == 0)) + 1
        ok = ok[ok <= n - self.check]
        if not len(ok):
            return None
        start = int(ok[-1])
        cash = float(full.equity.iloc[start - 1])
        return _Restart(bars.index[start], cash) if _same(run(start, cash), full,
                                                          start) else None


def _shifted(result: BacktestResult, start: int, bars: pd.DataFrame) -> BacktestResult:
    """A run over ``bars[start:]`` with its fills and refusals numbered on ``bars``."""
    fills = result.fills.assign(bar=result.fills["bar"] + start)
    rejected = result.rejected.assign(bar=result.rejected["bar"] + start)
    return replace(result, fills=fills, rejected=rejected)


def _same(part: BacktestResult, full: BacktestResult, start: int) -> bool:
    """Whether ``part`` (restarted at bar ``start``) has ``full``'s fills and equity."""
    theirs = full.fills[full.fills["bar"] >= start].reset_index(drop=True)
    mine = part.fills.reset_index(drop=True)
    columns = ["bar", "size", "price", "commission"]
    return (len(theirs) == len(mine)
            and np.allclose(theirs[columns].to_numpy(float), mine[columns].to_numpy(float),
                            rtol=0, atol=1e-9)
            and np.allclose(part.equity.to_numpy(), full.equity.iloc[start:].to_numpy(),
                            rtol=1e-12, atol=1e-9))


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
        equity={name: float(r.equity.loc[now]) for name, r in results.items()},
        orders={name: r.fills[r.fills["bar"] == n] for name, r in results.items()},
        rejected={name: r.rejected[r.rejected["bar"] == n - 1] for name, r in results.items()})
