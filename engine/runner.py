"""A whole run: data -> walk-forward signals -> backtests -> trade log, explanations, report.

``run_backtest(config)`` is what the command line calls, and what a notebook can
call. Outputs land in ``<output_dir>/<YYYYmmdd-HHMMSS>-<name>/``. The trade log
is written before the tearsheet, and ``run.json`` says ``"complete"`` only when
every file is in place, so a failure late in the run loses no trades and leaves
the folder marked incomplete.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import backtrader as bt
import pandas as pd
from tqdm.auto import tqdm

from xai_backtest.data_feeds.cleaning import CleaningReport
from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.data_feeds.sessions import SESSIONS
from xai_backtest.engine.config import ConfigError, RunConfig, SignalConfig
from xai_backtest.engine.data import load_market_data
from xai_backtest.engine.lookahead_guard import LookAheadCheck, guard_lookahead
from xai_backtest.engine.prefit import Prefit, prefit_signals
from xai_backtest.engine.report import rejected_orders, write_run_report
from xai_backtest.engine.run_folder import (
    RunResult,
    draw_figures,
    figure_path,
    peak_memory_mb,
    start_run_folder,
    write_status,
    write_trades_first,
)
from xai_backtest.engine.seeding import seed_everything
from xai_backtest.engine.stopwatch import Stopwatch
from xai_backtest.engine.universe_run import run_universe_backtest
from xai_backtest.explainers.base import Explanation, explanation_id
from xai_backtest.reports.comparison import comparison_table
from xai_backtest.reports.metrics import summarize
from xai_backtest.reports.tearsheet import BackgroundTearsheets, TearsheetJob
from xai_backtest.reports.trade_log import build_trade_log, decision_times_of_fills
from xai_backtest.signals.base import SignalFrame, library_versions
from xai_backtest.signals.device import OnDevice
from xai_backtest.signals.ensemble import Ballot, Ensemble
from xai_backtest.signals.walk_forward import WalkForwardSignal
from xai_backtest.storage.atomic import atomic_write
from xai_backtest.storage.cache import content_hash
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

__all__ = ["Decisions", "RunResult", "backtest_all", "ensemble_of", "run_backtest",
           "signal_decisions"]



def build_signal(spec: SignalConfig, config: RunConfig, progress: bool) -> WalkForwardSignal:
    """The walk-forward signal a config entry describes, named after the instance; the run
    seed fills a ``seed`` param."""
    signal = spec.build()
    if getattr(signal, "seed", 0) is None:
        signal.seed = config.seed
    walk = spec.walk_forward or config.walk_forward
    return WalkForwardSignal(signal, name=spec.name, scheme=walk.scheme,
                             min_train=walk.min_train,
                             retrain_every=walk.retrain_every, window=walk.window,
                             embargo=walk.embargo, progress=progress,
                             cache_dir=config.cache_dir, faithfulness=config.faithfulness)


def run_backtest(config: RunConfig, progress: bool = True, folder: Path | None = None, *,
                 data: MarketData | Mapping[str, MarketData] | None = None,
                 parallel: bool = True,
                 loaded: tuple[MarketData, list[CleaningReport]] | None = None) -> RunResult:
    """Run the backtest ``config`` describes and write its run folder (by default a new
    ``<output_dir>/<time>-<name>/``; an existing ``folder`` is cleanly replaced).
    ``data`` gives the bars (and headlines) from Python; then ``config.data.source`` is
    ``"python"`` (a universe: instrument name -> ``MarketData``). ``parallel=False`` keeps
    the run on one core (a sweep's worker does): no second interpreter fitting signals
    (engine/prefit.py), figures drawn here and tearsheets written here, not in the
    background. ``loaded`` is ``load_market_data(config.data)`` done already (a sweep loads
    each data set once)."""
    if (data is None) != (config.data.source != "python"):
        raise ConfigError("pass data=MarketData(...) exactly when data.source is 'python' "
                          f"(data.source is {config.data.source!r}, data is "
                          f"{'given' if data is not None else 'missing'})")
    if config.data.is_universe:
        return run_universe_backtest(config, progress, folder,
                                     data=data if isinstance(data, Mapping) else None)
    if isinstance(data, Mapping):
        raise ConfigError("data maps instruments to bars, but the config holds no universe: "
                          "list data.instruments (Backtest does when given a mapping)")
    started = time.perf_counter()
    seed_everything(config.seed, config.threads)
    watch = Stopwatch()
    with watch.stage("load data"):
        data, cleaning = ((data, []) if data is not None else loaded if loaded is not None
                          else load_market_data(config.data))
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
    models = {spec.name: build_signal(spec, config, progress) for spec in config.signals}
    for model in models.values():
        model.plan(data)  # fold errors (too little data, absurd counts) before any output
    # the run folder appears only once the data loaded, the strategy can trade it and the
    # walk-forward folds can be built
    folder = start_run_folder(config, folder)
    for report in cleaning:
        report.warn()
    decided = _decide(config, models, data, watch, parallel)
    decisions, ensemble, ballot, bars = (decided.decisions, decided.ensemble, decided.ballot,
                                         decided.bars)
    with watch.stage("look-ahead check"):
        symbol = data.symbol or "data"
        lookahead = guard_lookahead(folder, config, {n: {symbol: m} for n, m in models.items()},
                                    {symbol: data},
                                    {n: {symbol: decisions[n]} for n in models})
    with watch.stage("backtests"):
        results = backtest_all(config, bars, decisions, progress)

    jobs = _tearsheet_jobs(folder, config, results, decisions)
    with BackgroundTearsheets(list(jobs.values()), config.cache_dir,
                              background=parallel) as tearsheet_writer:
        supporters = _supporters(ensemble, ballot, decisions, results)
        explanations = _explain_trades(models, decisions, results, data, watch, progress,
                                       supporters)
        if ensemble is not None and ballot is not None:
            with watch.stage(f"explain {ENSEMBLE}"):
                for explanation in ensemble.explain(ballot, list(supporters),
                                                    decisions[ENSEMBLE]):
                    explanations[explanation.id] = explanation
        trade_logs = {name: build_trade_log(result, bars, decisions.get(name), explanations)
                      for name, result in results.items()}
        trades = pd.concat(trade_logs.values(), ignore_index=True)
        with watch.stage("explanation figures"):
            draw_figures(explanations, trades, folder / "figures", progress,
                         config.cache_dir, workers=2 if parallel else 1)
        for side in ("entry", "exit"):
            trades[f"{side}_figure"] = [figure_path(explanations, key) for key in
                                        trades[f"{side}_explanation_id"]]
        trades["entry_supporting_explanations"] = [
            " | ".join(f"{explanations[k].signal}: {explanations[k].summary}"
                       for k in (explanation_id(n, at)
                                 for n, at in supporters.get(when, {}).items()))
            if strategy == ENSEMBLE else None
            for strategy, when in zip(trades["strategy"], trades["entry_decision_time"],
                                      strict=True)]
        equity = pd.DataFrame({name: r.equity for name, r in results.items()})
        rejected = rejected_orders(results)
        with watch.stage("write outputs"):
            comparison = _write_outputs(folder, trades, explanations, equity, results, decisions,
                                        trade_logs)
            atomic_write(folder / "rejected_orders.csv",
                         lambda tmp: rejected.to_csv(tmp, index=False))
        with watch.stage("tearsheets (background)"):
            tearsheet_writer.wait()
    with watch.stage("report"):
        truth = {name: (model.evaluation_labels(data), model.labels(data))
                 for name, model in models.items()}
        write_run_report(folder, config, results, equity, decisions, truth, trades,
                         comparison, {name: job.path.name for name, job in jobs.items()}, bars,
                         explanations, checks=_checks(lookahead, cleaning))
    seconds = time.perf_counter() - started
    write_status(folder, config, "complete", seconds=round(seconds, 3),
                 stages=watch.rounded(), peak_memory_mb=round(peak_memory_mb(), 1),
                 explained={n: sum(e.signal == n for e in explanations.values())
                            for n in decisions},
                 faithfulness_seconds={n: round(m.measure_seconds_, 3)
                                       for n, m in models.items()},
                 cleaning=[r.summary() for r in cleaning],
                 lookahead_check=lookahead.record(),
                 fold_models={n: {"fitted": m.cache_misses_, "from_cache": m.cache_hits_}
                              for n, m in models.items()},
                 trades={n: int((trades["strategy"] == n).sum()) for n in results},
                 rejected_orders={n: len(r.rejected) for n, r in results.items()},
                 engines={n: r.engine for n, r in results.items()},
                 devices={n: m.base.resolved_device() for n, m in models.items()
                          if isinstance(m.base, OnDevice)},
                 data_hash=content_hash(data.bars, data.headlines)[:16],
                 versions=library_versions())
    return RunResult(folder=folder, config=config, comparison=comparison, trades=trades,
                     equity=equity, signals=decisions, explanations=explanations,
                     models=models, rejected=rejected, seconds=seconds)


def _checks(lookahead: LookAheadCheck, cleaning: list[CleaningReport]) -> str:
    """What the report says was checked: look-ahead, and the data notes (price jumps
    flagged, splits adjusted)."""
    notes = [f"{r.source}: {note}" for r in cleaning for note in r.notes]
    return " ".join([lookahead.sentence(), *(["Data notes: " + "; ".join(notes) + "."]
                                             if notes else [])])


@dataclass(frozen=True)
class Decisions:
    """Every signal's walk-forward decisions (and the ensemble's) on the bars from the
    latest signal's first decision on, which every strategy trades."""

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
    models = {spec.name: build_signal(spec, config, progress) for spec in config.signals}
    return _decide(config, models, data, Stopwatch(), prefit)


def _decide(config: RunConfig, models: dict[str, WalkForwardSignal], data: MarketData,
            watch: Stopwatch, prefit: bool) -> Decisions:
    """Every signal's decisions; with ``prefit`` (and where engine/prefit.py applies) a
    second interpreter fits, meanwhile, the signals it claims before the run does."""
    decisions = {}
    shared = [n for n in prefit_signals(config) if not models[n].is_cached(data)] \
        if prefit else []
    with Prefit(config, shared) as second:
        theirs = []
        for name, model in models.items():
            if not second.claim(name):  # the second interpreter fits it
                theirs.append(name)
                continue
            with watch.stage(f"fit and predict {name}"):
                decisions[name] = model.fit(data).predict(data)
        if theirs:
            with watch.stage("fits in the second interpreter"):
                second.wait()
        for name in theirs:
            with watch.stage(f"fit and predict {name}"):
                decisions[name] = models[name].fit(data).predict(data)
    start = max(frame.frame.index[0] for frame in decisions.values())
    decisions = {name: decisions[name].between(start, None) for name in models}
    ensemble = ensemble_of(config)
    ballot = ensemble.ballot(decisions) if ensemble is not None else None
    if ensemble is not None and ballot is not None:
        decisions[ENSEMBLE] = ensemble.combine(ballot)
    return Decisions(models=models, decisions=decisions, ensemble=ensemble, ballot=ballot,
                     bars=data.bars[data.bars.index >= start])


def _write_outputs(folder: Path, trades: pd.DataFrame, explanations: dict[str, Explanation],
                   equity: pd.DataFrame, results: dict[str, BacktestResult],
                   decisions: dict[str, SignalFrame],
                   trade_logs: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Trade log first (so a later failure loses no trades), then the rest; returns the
    comparison table."""
    write_trades_first(folder, trades, explanations, equity)
    signals_frame = pd.concat({n: f.frame for n, f in decisions.items()}, names=["signal"])
    atomic_write(folder / "signals.parquet", lambda tmp: signals_frame.to_parquet(tmp))
    comparison = comparison_table({name: summarize(result, trade_logs[name])
                                   for name, result in results.items()})
    atomic_write(folder / "summary.csv", lambda tmp: comparison.to_csv(tmp))
    return comparison


def ensemble_of(config: RunConfig) -> Ensemble | None:
    """The vote ``config.ensemble`` describes, or None."""
    spec = config.ensemble
    if spec is None:
        return None
    own = {s.name: s.threshold for s in config.signals if s.threshold is not None}
    return Ensemble(method=spec.method, threshold=config.strategy.threshold, margin=spec.margin,
                    thresholds=own)  # members vote with the thresholds they trade with


def _supporters(ensemble: Ensemble | None, ballot: Ballot | None,
                decisions: dict[str, SignalFrame],
                results: dict[str, BacktestResult]) -> dict[pd.Timestamp, dict[str, pd.Timestamp]]:
    """For each decision of the ensemble that caused a fill: the members that voted for
    it and the times of their votes (empty without an ensemble)."""
    if ensemble is None or ballot is None:
        return {}
    frame = decisions[ENSEMBLE].frame
    return {when: ensemble.supporters(ballot, when, int(frame.loc[when, "direction"]))
            for when in decision_times_of_fills(results[ENSEMBLE], decisions[ENSEMBLE])}


def backtest_all(config: RunConfig, bars: pd.DataFrame, decisions: dict[str, SignalFrame],
                 progress: bool = False, engine: str | None = None) -> dict[str, BacktestResult]:
    """Each signal's strategy, then the references: always long on the first signal's
    decision times (same strategy rules), always flat, and buy-and-hold; on ``engine``
    (default: the config's)."""
    costs = Costs(**config.costs.model_dump())
    strategy = config.strategy.strategy_class
    params = config.strategy.strategy_params()
    if "exit_time" in params and params["exit_time"] is None:
        params["exit_time"] = SESSIONS[config.data.session].close
    thresholds = {spec.name: spec.threshold for spec in config.signals
                  if spec.threshold is not None}
    own_threshold = "threshold" in params

    def with_threshold(name: str) -> dict[str, object]:
        if not own_threshold:
            return params
        return {**params, "threshold": thresholds.get(name, params["threshold"])}

    runs: dict[str, tuple[SignalFrame | None, type[bt.Strategy], dict[str, object]]] = {
        name: (frame, strategy, with_threshold(name)) for name, frame in decisions.items()}
    first = next(iter(decisions.values()))
    # always long under the same rules; a strategy without a threshold keeps its own rules
    runs[ALWAYS_LONG] = (always_long(first), strategy,
                         {**params, "threshold": 0.0} if own_threshold else params)
    runs[ALWAYS_FLAT] = (None, SignalStrategy, {})
    runs[BUY_AND_HOLD] = (None, BuyAndHold, {})
    return {name: run_strategy(name, bars, frame, cls, costs=costs, cash=config.cash,
                               engine=engine or config.engine, **kw)
            for name, (frame, cls, kw) in tqdm(runs.items(), desc="backtests",
                                               disable=not progress, leave=False)}


def _tearsheet_jobs(folder: Path, config: RunConfig, results: dict[str, BacktestResult],
                    decisions: dict[str, SignalFrame]) -> dict[str, TearsheetJob]:
    """Signal name -> its QuantStats tearsheet vs buy-and-hold (none when
    ``config.tearsheet`` is false); the first signal's is ``tearsheet.html``."""
    if not config.tearsheet:
        return {}
    return {name: TearsheetJob(folder / ("tearsheet.html" if i == 0 else
                                         f"tearsheet-{name}.html"),
                               results[name].equity, results[BUY_AND_HOLD].equity,
                               config.cash, title=f"{config.name}: {name} vs buy and hold")
            for i, name in enumerate(decisions)}


def _explain_trades(models: dict[str, WalkForwardSignal], decisions: dict[str, SignalFrame],
                    results: dict[str, BacktestResult], data: MarketData, watch: Stopwatch,
                    progress: bool,
                    supporters: dict[pd.Timestamp, dict[str, pd.Timestamp]],
                    ) -> dict[str, Explanation]:
    """Explanations of the decisions that became fills, and of the members' votes behind
    the ensemble's fills; no other decision. One call per signal for both."""
    votes: dict[str, set[pd.Timestamp]] = {}
    for voters in supporters.values():
        for name, at in voters.items():
            votes.setdefault(name, set()).add(at)
    out: dict[str, Explanation] = {}
    for name in tqdm(list(models), desc="explanations", disable=not progress, leave=False):
        times = sorted(set(decision_times_of_fills(results[name], decisions[name]))
                       | votes.get(name, set()))
        with watch.stage(f"explain {name}"):
            for explanation in models[name].explain(data, times):
                out[explanation.id] = explanation
    return out
