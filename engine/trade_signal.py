"""The trade stage of one instrument: each signal's strategy, the vote, and the references.

The signal strategy (or the intraday one, or a user's backtrader strategy) trades each
signal's decisions from the latest signal's first decision on, on the fast path or
backtrader (``engine``); always long under the same rules, always flat and buy-and-hold
run through the same engine and costs. ``ensemble`` adds the signals' vote, whose fills
carry the explanations of the members that voted for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import backtrader as bt
import pandas as pd
from tqdm.auto import tqdm

from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.data_feeds.sessions import SESSIONS
from xai_backtest.engine.config import RunConfig
from xai_backtest.engine.report import rejected_orders, write_run_report
from xai_backtest.engine.run_folder import (
    Tearsheets,
    Written,
    add_figure_paths,
    draw_figures,
    write_trades_first,
)
from xai_backtest.engine.stopwatch import Stopwatch
from xai_backtest.explainers.base import Explanation, explanation_id
from xai_backtest.reports.comparison import comparison_table
from xai_backtest.reports.metrics import summarize
from xai_backtest.reports.trade_log import TEXT, build_trade_log, decision_times_of_fills
from xai_backtest.signals.base import SignalFrame
from xai_backtest.signals.ensemble import Ballot, Ensemble
from xai_backtest.storage.atomic import atomic_write
from xai_backtest.strategies import BuyAndHold, Costs, SignalStrategy
from xai_backtest.strategies.backtest import BacktestResult, FastPathError, run_strategy
from xai_backtest.strategies.fast import fast_path_refusal
from xai_backtest.strategies.references import (
    ALWAYS_FLAT,
    ALWAYS_LONG,
    BUY_AND_HOLD,
    ENSEMBLE,
    always_long,
)
from xai_backtest.strategies.signal_strategy import StrategyDataError

__all__ = ["SignalDecisions", "align", "backtest_all", "check_strategy", "ensemble_of",
           "finish", "strategy_runs", "to_explain"]


@dataclass(frozen=True)
class SignalDecisions:
    """Every signal's decisions (and the vote's) from the latest signal's first decision
    on, and the bars from then, which every strategy trades."""

    decisions: dict[str, SignalFrame]
    ensemble: Ensemble | None
    ballot: Ballot | None
    bars: pd.DataFrame


def check_strategy(config: RunConfig, data: MarketData) -> None:
    """Refuse, before any work, a strategy that cannot trade these bars."""
    strategy = config.strategy.strategy_class
    if config.strategy.allow_short and not config.data.shortable:
        raise StrategyDataError("strategy.allow_short is true, but data.shortable is false "
                                "(this instrument or account cannot be sold short); set "
                                "allow_short: false, or shortable: true if it can")
    if config.engine == "fast":
        refusal = fast_path_refusal(strategy, config.strategy.strategy_params())
        if refusal:
            raise FastPathError(f"engine 'fast' cannot run this strategy: {refusal}; set "
                                "engine: auto (backtrader runs it) or backtrader")
    check = getattr(strategy, "check_tradable", None)
    if check is not None:
        check(data.bars, config.strategy.strategy_params())


def align(config: RunConfig, decisions: Mapping[str, SignalFrame],
          bars: pd.DataFrame) -> SignalDecisions:
    """The decisions every strategy trades: from the latest signal's first decision on,
    with the vote when the config asks for one."""
    start = max(frame.frame.index[0] for frame in decisions.values())
    trimmed = {name: frame.between(start, None) for name, frame in decisions.items()}
    ensemble = ensemble_of(config)
    ballot = ensemble.ballot(trimmed) if ensemble is not None else None
    if ensemble is not None and ballot is not None:
        trimmed[ENSEMBLE] = ensemble.combine(ballot)
    return SignalDecisions(decisions=trimmed, ensemble=ensemble, ballot=ballot,
                           bars=bars[bars.index >= start])


def ensemble_of(config: RunConfig) -> Ensemble | None:
    """The vote ``config.ensemble`` describes, or None."""
    spec = config.ensemble
    if spec is None:
        return None
    own = {s.name: s.threshold for s in config.signals if s.threshold is not None}
    return Ensemble(method=spec.method, threshold=config.strategy.threshold, margin=spec.margin,
                    thresholds=own)  # members vote with the thresholds they trade with


Run = tuple[SignalFrame | None, type[bt.Strategy], dict[str, object]]


def backtest_all(config: RunConfig, bars: pd.DataFrame, decisions: dict[str, SignalFrame],
                 progress: bool = False, engine: str | None = None) -> dict[str, BacktestResult]:
    """Each signal's strategy, then the references: always long on the first signal's
    decision times (same strategy rules), always flat, and buy-and-hold; on ``engine``
    (default: the config's)."""
    costs = Costs(**config.costs.model_dump())
    return {name: run_strategy(name, bars, frame, cls, costs=costs, cash=config.cash,
                               engine=engine or config.engine, **kw)
            for name, (frame, cls, kw) in tqdm(strategy_runs(config, decisions).items(),
                                               desc="backtests", disable=not progress,
                                               leave=False)}


def strategy_runs(config: RunConfig, decisions: dict[str, SignalFrame]) -> dict[str, Run]:
    """What ``backtest_all`` runs: per strategy name, its decisions, strategy class and
    parameters."""
    strategy = config.strategy.strategy_class
    params = config.strategy.strategy_params()
    if "exit_time" in params and params["exit_time"] is None:
        session = getattr(config.data, "session", "none")
        if session not in SESSIONS:
            raise StrategyDataError(f"strategy {config.strategy.kind!r} closes each day at "
                                    "the session's close, but the data names no exchange "
                                    "session; set strategy.exit_time (e.g. '15:20') or "
                                    "data.session")
        params["exit_time"] = SESSIONS[session].close
    thresholds = {spec.name: spec.threshold for spec in config.signals
                  if spec.threshold is not None}
    own_threshold = "threshold" in params

    def with_threshold(name: str) -> dict[str, object]:
        if not own_threshold:
            return params
        return {**params, "threshold": thresholds.get(name, params["threshold"])}

    runs: dict[str, Run] = {
        name: (frame, strategy, with_threshold(name)) for name, frame in decisions.items()}
    first = next(iter(decisions.values()))
    # always long under the same rules; a strategy without a threshold keeps its own rules
    runs[ALWAYS_LONG] = (always_long(first), strategy,
                         {**params, "threshold": 0.0} if own_threshold else params)
    runs[ALWAYS_FLAT] = (None, SignalStrategy, {})
    runs[BUY_AND_HOLD] = (None, BuyAndHold, {})
    return runs


def to_explain(aligned: SignalDecisions, results: Mapping[str, BacktestResult],
               signals: list[str]) -> dict[str, list[pd.Timestamp]]:
    """Per signal, the decision times that caused a fill, and the members' votes behind
    the vote's fills."""
    times = {name: set(decision_times_of_fills(results[name], aligned.decisions[name]))
             for name in signals}
    for voters in _supporters(aligned, results).values():
        for name, at in voters.items():
            times[name].add(at)
    return {name: sorted(found) for name, found in times.items()}


def _supporters(aligned: SignalDecisions, results: Mapping[str, BacktestResult]
                ) -> dict[pd.Timestamp, dict[str, pd.Timestamp]]:
    """For each decision of the vote that caused a fill: the members that voted for it
    and the times of their votes (empty without a vote)."""
    if aligned.ensemble is None or aligned.ballot is None:
        return {}
    frame = aligned.decisions[ENSEMBLE].frame
    return {when: aligned.ensemble.supporters(aligned.ballot, when,
                                              int(frame.loc[when, "direction"]))
            for when in decision_times_of_fills(results[ENSEMBLE], aligned.decisions[ENSEMBLE])}


def finish(folder: Path, config: RunConfig, aligned: SignalDecisions,
           results: dict[str, BacktestResult], explanations: dict[str, Explanation],
           truth: Mapping[str, tuple[pd.Series, pd.Series]], tearsheets: Tearsheets,
           checks: str, watch: Stopwatch, progress: bool, parallel: bool) -> Written:
    """The vote's explanations, trade logs, figures, outputs and the report (after the
    tearsheets written meanwhile)."""
    decisions = aligned.decisions
    supporters = _supporters(aligned, results)
    if aligned.ensemble is not None and aligned.ballot is not None:
        with watch.stage(f"explain {ENSEMBLE}"):
            for explanation in aligned.ensemble.explain(aligned.ballot, list(supporters),
                                                        decisions[ENSEMBLE]):
                explanations[explanation.id] = explanation
    trade_logs = {name: build_trade_log(result, aligned.bars, decisions.get(name),
                                        explanations)
                  for name, result in results.items()}
    trades = pd.concat(trade_logs.values(), ignore_index=True)
    with watch.stage("explanation figures"):
        draw_figures(explanations, trades, folder / "figures", progress,
                     config.cache_dir, workers=2 if parallel else 1)
    add_figure_paths(trades, explanations)
    trades["entry_supporting_explanations"] = pd.Series([
        " | ".join(f"{explanations[k].signal}: {explanations[k].summary}"
                   for k in (explanation_id(n, at)
                             for n, at in supporters.get(when, {}).items()))
        if strategy == ENSEMBLE else None
        for strategy, when in zip(trades["strategy"], trades["entry_decision_time"],
                                  strict=True)], index=trades.index, dtype=TEXT)
    equity = pd.DataFrame({name: r.equity for name, r in results.items()})
    rejected = rejected_orders(results)
    with watch.stage("write outputs"):
        write_trades_first(folder, trades, explanations, equity)
        signals_frame = pd.concat({n: f.frame for n, f in decisions.items()},
                                  names=["signal"])
        atomic_write(folder / "signals.parquet", lambda tmp: signals_frame.to_parquet(tmp))
        comparison = comparison_table({name: summarize(result, trade_logs[name])
                                       for name, result in results.items()})
        atomic_write(folder / "summary.csv", lambda tmp: comparison.to_csv(tmp))
        atomic_write(folder / "rejected_orders.csv",
                     lambda tmp: rejected.to_csv(tmp, index=False))
    with watch.stage("tearsheets (background)"):
        tearsheets.writer.wait()
    with watch.stage("report"):
        write_run_report(folder, config, results, equity, decisions, truth, trades,
                         comparison, tearsheets.files, aligned.bars, explanations,
                         checks=checks)
    return Written(comparison=comparison, trades=trades, equity=equity, rejected=rejected)
