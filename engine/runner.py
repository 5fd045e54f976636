"""The one pipeline of a run, for one instrument or a universe of them.

``run_backtest(config)`` is what the command line calls, and what a notebook can call.
Its stages, each with typed inputs and outputs:

1. **load** (``Market``): every instrument's ``MarketData``; one instrument is a universe
   of one; cleaning counts and notes.
2. **plan** (``engine/folds.py``): each signal's walk-forward over the instruments, per
   instrument or pooled, with its folds built (errors before any output); in a universe,
   instruments too short for a signal are dropped with a note.
3. **fit/predict**: every signal's out-of-sample decisions per instrument, then the
   run-time **look-ahead check** (engine/lookahead_guard.py).
4. **trade**: chosen by the strategy: the signal (or intraday, or a user's) strategy on
   one instrument (engine/trade_signal.py, backtrader or the fast path), or a portfolio
   over a universe (engine/trade_portfolio.py); the references through the same engine.
5. **explain and measure**: each decision that caused a fill, by the fold model that
   made it, with its faithfulness record.
6. **write**: trade log first, then explanations, figures, outputs, tearsheets (written in
   the background meanwhile) and the report; ``run.json`` says ``complete`` last.

Outputs land in ``<output_dir>/<YYYYmmdd-HHMMSS>-<name>/``; a failure late in the run
loses no trades and leaves the folder marked incomplete.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from xai_backtest.data_feeds.cleaning import CleaningReport
from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.data_feeds.universe import Universe
from xai_backtest.engine import trade_portfolio
from xai_backtest.engine.config import ConfigError, RunConfig, SignalConfig
from xai_backtest.engine.data import load_market_data, load_universe
from xai_backtest.engine.folds import FoldModels, PerInstrument, build_fold_models, too_short
from xai_backtest.engine.lookahead_guard import LookAheadCheck, guard_lookahead
from xai_backtest.engine.prefit import Prefit, prefit_signals
from xai_backtest.engine.report import trials_counted
from xai_backtest.engine.run_folder import (
    RunResult,
    Written,
    peak_memory_mb,
    start_run_folder,
    start_tearsheets,
    write_status,
)
from xai_backtest.engine.seeding import seed_everything
from xai_backtest.engine.stopwatch import Stopwatch
from xai_backtest.engine.trade_signal import (
    SignalDecisions,
    align,
    backtest_all,
    check_strategy,
    ensemble_of,
    to_explain,
)
from xai_backtest.engine.trade_signal import finish as finish_signal
from xai_backtest.explainers.base import Explanation
from xai_backtest.signals.base import SignalFrame, library_versions
from xai_backtest.signals.device import OnDevice
from xai_backtest.signals.ensemble import Ballot, Ensemble
from xai_backtest.signals.pooled import instrument_signal
from xai_backtest.signals.walk_forward import WalkForwardError, WalkForwardSignal
from xai_backtest.storage.cache import content_hash
from xai_backtest.strategies.references import BUY_AND_HOLD, EQUAL_WEIGHT_REBALANCED

__all__ = ["Decisions", "Market", "RunResult", "backtest_all", "build_signal", "ensemble_of",
           "run_backtest", "signal_decisions"]


@dataclass(frozen=True)
class Outcome:
    """The trade and write stages' output: what was written, every explanation, the
    decisions by frame name, the strategies traded and their run.json entries."""

    written: Written
    explanations: dict[str, Explanation]
    decisions: dict[str, SignalFrame]
    signals_traded: list[str]
    status: dict[str, object]


@dataclass(frozen=True)
class Market:
    """The load stage's output: every instrument's data (one instrument: a universe of
    one, ``universe`` None), what cleaning removed or repaired, and notes in words."""

    datas: dict[str, MarketData]
    universe: Universe | None
    cleaning: list[CleaningReport]
    notes: list[str]

    @property
    def single(self) -> MarketData:
        """The data of a one-instrument run."""
        return next(iter(self.datas.values()))


def run_backtest(config: RunConfig, progress: bool = True, folder: Path | None = None, *,
                 data: MarketData | Mapping[str, MarketData] | None = None,
                 parallel: bool = True,
                 loaded: tuple[MarketData, list[CleaningReport]] | None = None) -> RunResult:
    """Run the backtest ``config`` describes and write its run folder (by default a new
    ``<output_dir>/<time>-<name>/``; an existing ``folder`` is cleanly replaced).
    ``data`` gives the bars (and headlines) from Python when ``config.data.source`` is
    ``"python"`` (a universe: instrument name -> ``MarketData``). ``parallel=False`` keeps
    a one-instrument run on one core (a sweep's worker does): no second interpreter
    fitting signals (engine/prefit.py), figures and tearsheets written here. ``loaded``
    is ``load_market_data(config.data)`` done already (a sweep loads each data set once)."""
    started = time.perf_counter()
    seed_everything(config.seed, config.threads)
    watch = Stopwatch()
    with watch.stage("load data"):
        market = _load(config, data, loaded)
    if market.universe is None:
        check_strategy(config, market.single)
    signals = _plan(config, market, progress)
    market = _drop_short(market, signals)
    folder = start_run_folder(config, folder)  # data loaded, strategy fits it, folds built
    _say_notes(market)
    decisions = _fit_predict(config, signals, market, watch, progress, parallel)
    with watch.stage("look-ahead check"):
        lookahead = guard_lookahead(folder, config, signals, market.datas, decisions)
    checks = _checks(lookahead, market.cleaning)
    trade = _trade_one if market.universe is None else _trade_universe
    outcome = trade(folder, config, market, signals, decisions, checks, watch, progress,
                    parallel)
    seconds = time.perf_counter() - started
    written, explanations = outcome.written, outcome.explanations
    write_status(folder, config, "complete", seconds=round(seconds, 3),
                 stages=watch.rounded(), peak_memory_mb=round(peak_memory_mb(), 1),
                 instruments=list(market.datas), notes=market.notes,
                 cleaning=[r.summary() for r in market.cleaning],
                 lookahead_check=lookahead.record(),
                 trials=dict(zip(("count", "source"),
                                 trials_counted(config, len(config.signals)), strict=True)),
                 explained={n: sum(e.signal == n or e.signal.startswith(f"{n}[")
                                   for e in explanations.values())
                            for n in outcome.signals_traded},
                 faithfulness_seconds={n: round(_measure_seconds(s), 3)
                                       for n, s in signals.items()},
                 fold_models={n: _cache_stats(s) for n, s in signals.items()},
                 trades={n: int((written.trades["strategy"] == n).sum())
                         for n in written.equity.columns},
                 **outcome.status,
                 devices={n: s.base.resolved_device() for n, s in signals.items()
                          if isinstance(s.base, OnDevice)},
                 data_hash=content_hash(*(d.bars for d in market.datas.values()),
                                        *(d.headlines for d in market.datas.values()))[:16],
                 versions=library_versions())
    return RunResult(folder=folder, config=config, comparison=written.comparison,
                     trades=written.trades, equity=written.equity,
                     decisions=outcome.decisions, signals=dict(signals),
                     explanations=explanations, rejected=written.rejected,
                     notes=market.notes, seconds=seconds)


# -- load ------------------------------------------------------------------------------------
def _load(config: RunConfig, data: MarketData | Mapping[str, MarketData] | None,
          loaded: tuple[MarketData, list[CleaningReport]] | None) -> Market:
    if (data is None) != (config.data.source != "python"):
        raise ConfigError("pass data=MarketData(...) exactly when data.source is 'python' "
                          f"(data.source is {config.data.source!r}, data is "
                          f"{'given' if data is not None else 'missing'})")
    if config.data.is_universe:
        universe, notes = load_universe(config.data,
                                        given=data if isinstance(data, Mapping) else None)
        datas = {name: MarketData(bars, symbol=name) for name, bars in universe.bars.items()}
        return Market(datas=datas, universe=universe, cleaning=[], notes=notes)
    if isinstance(data, Mapping):
        raise ConfigError("data maps instruments to bars, but the config holds no universe: "
                          "list data.instruments (Backtest does when given a mapping)")
    one, cleaning = ((data, []) if data is not None else loaded if loaded is not None
                     else load_market_data(config.data))
    return Market(datas={one.symbol or "data": one}, universe=None, cleaning=cleaning,
                  notes=[r.summary() for r in cleaning if r.removed or r.repaired or r.notes])


def _say_notes(market: Market) -> None:
    if market.universe is None:
        for report in market.cleaning:
            report.warn()
        return
    for note in market.notes:
        print(f"note: {note}")


# -- plan ------------------------------------------------------------------------------------
def build_signal(spec: SignalConfig, config: RunConfig, progress: bool) -> WalkForwardSignal:
    """The walk-forward signal of one config entry on one instrument (the second
    interpreter of engine/prefit.py fits these)."""
    models = build_fold_models(spec, config, ["data"], progress, universe=False)
    assert isinstance(models, PerInstrument)
    return models["data"]


def _plan(config: RunConfig, market: Market, progress: bool) -> dict[str, FoldModels]:
    """Each signal's walk-forward over the instruments. On one instrument its folds are
    built here (errors before any output); a universe drops short instruments instead."""
    universe = market.universe is not None
    signals: dict[str, FoldModels] = {
        spec.name: build_fold_models(spec, config, list(market.datas), progress, universe)
        for spec in config.signals}
    if not universe:
        for signal, model in signals.items():
            assert isinstance(model, PerInstrument)
            for name, walk in model.walks.items():
                try:
                    walk.plan(market.datas[name])
                except WalkForwardError as e:
                    raise WalkForwardError(f"signal {signal!r}: {e}") from e
    return signals


def _drop_short(market: Market, signals: Mapping[str, FoldModels]) -> Market:
    """A universe less the instruments some signal cannot decide on, with a note each."""
    if market.universe is None:
        return market
    dropped = too_short(signals, market.datas)
    if not dropped:
        return market
    for model in signals.values():
        if isinstance(model, PerInstrument):
            model.drop(list(dropped))
    universe = market.universe.without(dropped)
    return Market(datas={n: d for n, d in market.datas.items() if n not in dropped},
                  universe=universe, cleaning=market.cleaning,
                  notes=market.notes + [f"{name}: dropped, {why}"
                                        for name, why in dropped.items()])


# -- fit and predict ---------------------------------------------------------------------------
def _fit_predict(config: RunConfig, signals: Mapping[str, FoldModels], market: Market,
                 watch: Stopwatch, progress: bool, parallel: bool
                 ) -> dict[str, dict[str, SignalFrame]]:
    """Every signal's decisions per instrument. On one instrument, with ``parallel`` (and
    where engine/prefit.py applies), a second interpreter fits, meanwhile, the signals it
    claims before the run does."""
    if market.universe is not None:
        out = {}
        for name, model in signals.items():
            with watch.stage(f"fit and predict {name}"):
                out[name] = model.fit(market.datas).predict(market.datas)
        return out
    data = market.single
    walks = {name: _only(model) for name, model in signals.items()}
    frames = _decide_one(config, walks, data, watch, parallel)
    return {name: {next(iter(market.datas)): frame} for name, frame in frames.items()}


def _only(model: FoldModels) -> WalkForwardSignal:
    assert isinstance(model, PerInstrument) and len(model.walks) == 1
    return next(iter(model.walks.values()))


def _decide_one(config: RunConfig, walks: dict[str, WalkForwardSignal], data: MarketData,
                watch: Stopwatch, prefit: bool) -> dict[str, SignalFrame]:
    decisions = {}
    shared = [n for n in prefit_signals(config) if not walks[n].is_cached(data)] \
        if prefit else []
    with Prefit(config, shared) as second:
        theirs = []
        for name, walk in walks.items():
            if not second.claim(name):  # the second interpreter fits it
                theirs.append(name)
                continue
            with watch.stage(f"fit and predict {name}"):
                decisions[name] = walk.fit(data).predict(data)
        if theirs:
            with watch.stage("fits in the second interpreter"):
                second.wait()
        for name in theirs:
            with watch.stage(f"fit and predict {name}"):
                decisions[name] = walks[name].fit(data).predict(data)
    return {name: decisions[name] for name in walks}


@dataclass(frozen=True)
class Decisions:
    """Every signal's walk-forward decisions on one instrument (and the vote's), from the
    latest signal's first decision on, and the bars every strategy trades."""

    models: dict[str, WalkForwardSignal]
    decisions: dict[str, SignalFrame]
    ensemble: Ensemble | None
    ballot: Ballot | None
    bars: pd.DataFrame


def signal_decisions(config: RunConfig, data: MarketData, progress: bool = False,
                     prefit: bool = True) -> Decisions:
    """Fit (or load from the cache) and predict every signal of ``config`` on ``data``: the
    decisions a run trades, without backtests, explanations or files (seeded and threaded
    as the run is, so the fold models and the cache entries are the same)."""
    seed_everything(config.seed, config.threads)
    walks = {spec.name: build_signal(spec, config, progress) for spec in config.signals}
    aligned = align(config, _decide_one(config, walks, data, Stopwatch(), prefit), data.bars)
    return Decisions(models=walks, decisions=aligned.decisions, ensemble=aligned.ensemble,
                     ballot=aligned.ballot, bars=aligned.bars)


# -- trade, explain, write ---------------------------------------------------------------------
def _explain(signals: Mapping[str, FoldModels], datas: Mapping[str, MarketData],
             at: Mapping[str, Mapping[str, list[pd.Timestamp]]], watch: Stopwatch
             ) -> dict[str, Explanation]:
    """Each asked decision explained (and measured) by the fold model that made it."""
    out: dict[str, Explanation] = {}
    for name, times in at.items():
        with watch.stage(f"explain {name}"):
            found = signals[name].explain(datas, times)
        out.update({e.id: e for explained in found.values() for e in explained})
    return out


def _trade_one(folder: Path, config: RunConfig, market: Market,
               signals: Mapping[str, FoldModels],
               decisions: Mapping[str, Mapping[str, SignalFrame]], checks: str,
               watch: Stopwatch, progress: bool, parallel: bool) -> Outcome:
    """The signal strategy's trade stage on one instrument (engine/trade_signal.py)."""
    data, instrument = market.single, next(iter(market.datas))
    aligned: SignalDecisions = align(
        config, {name: frames[instrument] for name, frames in decisions.items()}, data.bars)
    with watch.stage("backtests"):
        results = backtest_all(config, aligned.bars, aligned.decisions, progress)
    tearsheets = start_tearsheets(folder, config,
                                  {n: results[n].equity for n in aligned.decisions},
                                  results[BUY_AND_HOLD].equity, "buy and hold", parallel)
    with tearsheets.writer:  # written in the background while the trades are explained
        asked = to_explain(aligned, results, list(signals))
        explanations = _explain(signals, market.datas,
                                {n: {instrument: t} for n, t in asked.items()}, watch)
        truth = {name: (_only(model).evaluation_labels(data), _only(model).labels(data))
                 for name, model in signals.items()}
        written = finish_signal(folder, config, aligned, results, explanations, truth,
                                tearsheets, checks, watch, progress, parallel)
    return Outcome(written=written, explanations=explanations, decisions=aligned.decisions,
                   signals_traded=list(aligned.decisions),
                   status={"rejected_orders": {n: len(r.rejected) for n, r in results.items()},
                           "engines": {n: r.engine for n, r in results.items()}})


def _trade_universe(folder: Path, config: RunConfig, market: Market,
                    signals: Mapping[str, FoldModels],
                    decisions: Mapping[str, Mapping[str, SignalFrame]], checks: str,
                    watch: Stopwatch, progress: bool, parallel: bool) -> Outcome:
    """The portfolio's trade stage over a universe (engine/trade_portfolio.py)."""
    assert market.universe is not None
    aligned = trade_portfolio.align(decisions, market.universe)
    market.notes.extend(aligned.notes)
    with watch.stage("backtests"):
        traded = trade_portfolio.backtests(config, aligned, progress)
    results = traded.results
    explanations = _explain(signals, market.datas,
                            trade_portfolio.to_explain(aligned, traded, list(signals)), watch)
    tearsheets = start_tearsheets(folder, config,
                                  {n: results[n].equity for n in aligned.decisions},
                                  results[EQUAL_WEIGHT_REBALANCED].equity,
                                  "equal-weight buy and hold", background=True)
    with tearsheets.writer:
        truth = {signal: {name: (frame, *_labels(signals[signal], name, market.datas[name]))
                          for name, frame in frames.items()}
                 for signal, frames in aligned.decisions.items()}
        written = trade_portfolio.finish(folder, config, aligned, traded, explanations,
                                         market.notes, truth, tearsheets, checks, watch,
                                         progress)
    return Outcome(written=written, explanations=explanations,
                   decisions={instrument_signal(s, i): f
                              for s, frames in aligned.decisions.items()
                              for i, f in frames.items()},
                   signals_traded=list(aligned.decisions),
                   status={"rejected_orders": {n: len(r.rejected) for n, r in results.items()},
                           "fills": {n: len(r.fills) for n, r in results.items()},
                           "engines": {n: "backtrader" for n in results}})


def _labels(model: FoldModels, instrument: str,
            data: MarketData) -> tuple[pd.Series, pd.Series]:
    """An instrument's labels the signal is scored on, and those it trains on."""
    base = model[instrument].base if isinstance(model, PerInstrument) else model.base
    return base.evaluation_labels(data), base.labels(data)


def _checks(lookahead: LookAheadCheck, cleaning: list[CleaningReport]) -> str:
    """What the report says was checked: look-ahead, and the data notes (price jumps
    flagged, splits adjusted)."""
    notes = [f"{r.source}: {note}" for r in cleaning for note in r.notes]
    return " ".join([lookahead.sentence(), *(["Data notes: " + "; ".join(notes) + "."]
                                             if notes else [])])


def _measure_seconds(model: FoldModels) -> float:
    walks = model.walks.values() if isinstance(model, PerInstrument) else [model]
    return sum(getattr(w, "measure_seconds_", 0.0) for w in walks)


def _cache_stats(model: FoldModels) -> dict[str, int]:
    walks = model.walks.values() if isinstance(model, PerInstrument) else [model]
    return {"fitted": sum(getattr(w, "cache_misses_", 0) for w in walks),
            "from_cache": sum(getattr(w, "cache_hits_", 0) for w in walks)}
