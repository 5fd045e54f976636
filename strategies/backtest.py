"""Run one strategy over bars through backtrader and collect equity and fills."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import backtrader as bt
import numpy as np
import pandas as pd

from xai_backtest.data_feeds.bt_feeds import signal_feed
from xai_backtest.signals.base import SignalFrame
from xai_backtest.strategies.buy_and_hold import BuyAndHold
from xai_backtest.strategies.costs import Costs
from xai_backtest.strategies.fast import FAST_PARAMS, fast_path_refusal, simulate
from xai_backtest.strategies.guard import guarded
from xai_backtest.strategies.recorder import FillRecorder
from xai_backtest.strategies.signal_strategy import SignalStrategy, StrategyDataError

__all__ = ["ENGINES", "BacktestResult", "FastPathError", "run_strategy"]


@dataclass(frozen=True)
class BacktestResult:
    """Equity and exposure at each bar close, fills and refused orders of one strategy run
    (``rejected``: time, bar, broker status such as Margin, signed size, reason).

    ``fills`` has one row per executed order: time, bar, signed size, price, commission,
    the causing decision's row, the reason, and the slippage paid against the bar's open.
    ``engine`` says which engine ran: ``backtrader`` or ``fast``.
    """

    name: str
    equity: pd.Series
    exposure: pd.Series
    fills: pd.DataFrame
    rejected: pd.DataFrame
    cash: float
    engine: str = "backtrader"

    @property
    def returns(self) -> pd.Series:
        return self.equity.pct_change().fillna(0.0)


ENGINES = ("auto", "fast", "backtrader")


class FastPathError(StrategyDataError):
    """``engine="fast"`` asked for a strategy the fast path does not model."""


def run_strategy(name: str, bars: pd.DataFrame, signals: SignalFrame | None,
                 strategy: type[bt.Strategy] = SignalStrategy, *,
                 costs: Costs | None = None, cash: float = 100_000.0,
                 engine: str = "backtrader", **params: object) -> BacktestResult:
    """Backtest ``strategy`` on ``bars`` with the decisions in ``signals`` (default costs on).

    ``engine``: ``backtrader`` (the reference), ``fast`` (the vectorised path of
    strategies/fast.py, refused with the reason for a strategy it does not model) or
    ``auto`` (fast where it applies, else backtrader).
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    costs = costs or Costs()
    refusal = fast_path_refusal(strategy, params) if engine != "backtrader" else None
    if engine == "fast" and refusal:
        raise FastPathError(f"engine 'fast' cannot run {name!r}: {refusal}; use engine "
                            "'auto' (backtrader runs it) or 'backtrader'")
    if engine != "backtrader" and refusal is None:
        run = simulate(bars, None if signals is None else signals.frame, costs=costs,
                       cash=cash, buy_and_hold=strategy is BuyAndHold, name=name,
                       **{k: v for k, v in params.items() if k in FAST_PARAMS})
        return _result(name, bars, run.equity, run.exposure, run.fills, run.rejected, cash,
                       "fast")
    return _run_backtrader(name, bars, signals, strategy, costs, cash, params)


def _run_backtrader(name: str, bars: pd.DataFrame, signals: SignalFrame | None,
                    strategy: type[bt.Strategy], costs: Costs, cash: float,
                    params: dict[str, object]) -> BacktestResult:
    """backtrader with preloaded data, vectorised ``runonce`` and no observers: the fastest
    settings that leave results unchanged."""
    cerebro = bt.Cerebro(stdstats=False, preload=True, runonce=True, cheat_on_open=True,
                         quicknotify=True)
    cerebro.adddata(signal_feed(bars, None if signals is None else signals.frame, name=name))
    cerebro.broker.setcash(cash)
    costs.apply(cerebro.broker)
    cerebro.addstrategy(_guarded(strategy), **params)
    cerebro.addanalyzer(FillRecorder, _name="recorder")
    (strat,) = cerebro.run()
    # SignalStrategy ties each fill to its exact decision row; other strategies are recorded
    record = strat if isinstance(strat, SignalStrategy) else strat.analyzers.recorder
    fills = pd.DataFrame([vars(f) for f in record.fills],
                         columns=["bar", "size", "price", "commission", "decision", "reason"])
    rejected = pd.DataFrame(record.rejected, columns=["bar", "status", "size", "reason"])
    return _result(name, bars, record.equity, record.exposure, fills, rejected, cash,
                   "backtrader")


def _result(name: str, bars: pd.DataFrame, equity: Sequence[float] | np.ndarray,
            exposure: Sequence[bool] | np.ndarray, fills: pd.DataFrame,
            rejected: pd.DataFrame, cash: float, engine: str) -> BacktestResult:
    index = bars.index
    curve = pd.Series(equity, index=index[: len(equity)], name=name, dtype=float)
    exposed = pd.Series(exposure, index=curve.index, name=name, dtype=bool)
    fills.insert(0, "time", index[fills["bar"].to_numpy(dtype=int)] if len(fills) else
                 pd.DatetimeIndex([], tz=index.tz))
    opens = bars["open"].to_numpy()[fills["bar"].to_numpy(dtype=int)]
    fills["slippage"] = (fills["price"] - opens).abs() * fills["size"].abs()
    rejected.insert(0, "time", index[rejected["bar"].to_numpy(dtype=int)] if len(rejected)
                    else pd.DatetimeIndex([], tz=index.tz))
    return BacktestResult(name=name, equity=curve, exposure=exposed, fills=fills,
                          rejected=rejected, cash=cash, engine=engine)


def _guarded(strategy: type[bt.Strategy]) -> type[bt.Strategy]:
    """``strategy`` with its ``next`` and ``next_open`` under the look-ahead guard (a
    ``SignalStrategy`` guards its own)."""
    if issubclass(strategy, SignalStrategy):
        return strategy
    methods = {name: guarded(getattr(strategy, name)) for name in ("next", "next_open")}
    return type(strategy.__name__, (strategy,), {**methods, "__module__": strategy.__module__})
