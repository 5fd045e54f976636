"""A run over a universe of instruments: one portfolio per signal on one cash account.

Each signal runs per instrument (a walk-forward model per instrument, the default; spread
over worker processes with ``fit_workers``) or pooled (``pooled: true``: one model per
fold on every instrument's bars before the cut). An instrument with too little history
for a signal's windows is dropped with a note naming it and why; the rest run. Each
signal's decisions drive ``PortfolioStrategy`` over the universe from the latest signal's
first decision on; the references run through the same engine on the same dates:
equal-weight buy-and-hold rebalanced (within the strategy's band) and held, always long
in every instrument under the strategy's rules, and each instrument bought and held alone.
Every fill that a decision caused is explained by the model that made it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.data_feeds.universe import Universe
from xai_backtest.engine.config import ConfigError, RunConfig, SignalConfig
from xai_backtest.engine.data import load_universe
from xai_backtest.engine.executor import make_executor
from xai_backtest.engine.lookahead_guard import guard_lookahead
from xai_backtest.engine.report import write_universe_report
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
from xai_backtest.explainers.base import Explanation
from xai_backtest.reports.comparison import comparison_table
from xai_backtest.reports.metrics import summarize
from xai_backtest.reports.tearsheet import BackgroundTearsheets, TearsheetJob
from xai_backtest.reports.trade_log import build_portfolio_trade_log
from xai_backtest.signals.base import SignalFrame, library_versions
from xai_backtest.signals.pooled import PooledWalkForward, instrument_signal
from xai_backtest.signals.walk_forward import WalkForwardError, WalkForwardSignal
from xai_backtest.storage.atomic import atomic_write
from xai_backtest.storage.cache import content_hash
from xai_backtest.strategies import BuyAndHold, Costs
from xai_backtest.strategies.backtest import run_strategy
from xai_backtest.strategies.portfolio import (
    PortfolioResult,
    contributions,
    equal_weight_references,
    portfolio_params,
    run_portfolio,
)
from xai_backtest.strategies.references import (
    ALWAYS_LONG,
    BUY_AND_HOLD,
    EQUAL_WEIGHT_REBALANCED,
    always_long,
    on_instrument,
)

__all__ = ["UniverseModels", "run_universe_backtest"]


#: a signal's fitted walk-forward: one pooled model set, or one per instrument
UniverseModels = PooledWalkForward | dict[str, WalkForwardSignal]


def run_universe_backtest(config: RunConfig, progress: bool = True,
                          folder: Path | None = None, *,
                          data: Mapping[str, MarketData] | None = None) -> RunResult:
    """Run the portfolio backtest ``config`` describes (``config.data.is_universe``) and
    write its run folder; see the module docstring. ``data`` maps each instrument of
    ``config.data.instruments`` to its bars when ``config.data.source`` is ``"python"``."""
    started = time.perf_counter()
    seed_everything(config.seed, config.threads)
    watch = Stopwatch()
    with watch.stage("load data"):
        universe, notes = load_universe(config.data, given=data)
    models = {spec.name: _models(spec, config, universe, progress) for spec in config.signals}
    universe, dropped = _drop_short(universe, models)
    notes += [f"{name}: dropped, {why}" for name, why in dropped.items()]
    datas = {name: MarketData(bars, symbol=name) for name, bars in universe.bars.items()}
    folder = start_run_folder(config, folder)
    for note in notes:
        print(f"note: {note}")
    decisions = {name: _fit_predict(name, model, datas, config, watch, progress)
                 for name, model in models.items()}
    with watch.stage("look-ahead check"):
        lookahead = guard_lookahead(folder, config, models, datas, decisions)
    start = max(min(frame.frame.index[0] for frame in frames.values())
                for frames in decisions.values())
    traded = universe.since(start)
    notes += [f"{name}: dropped, {why}" for name, why in traded.dropped.items()
              if name not in universe.dropped]
    decisions = {signal: {i: f.between(start, None) for i, f in frames.items()
                          if i in traded.bars and len(f.between(start, None).frame)}
                 for signal, frames in decisions.items()}
    costs = Costs(**config.costs.model_dump())
    with watch.stage("backtests"):
        results, alone = _backtests(config, traded, decisions, costs, progress)
    explanations = _explain_fills(models, datas, decisions, results, watch, progress)
    closes = traded.closes()
    own = {**decisions, ALWAYS_LONG: _always_long(decisions)}
    trade_logs = {name: build_portfolio_trade_log(result, closes, own.get(name, {}),
                                                  explanations)
                  for name, result in results.items()}
    trades = pd.concat(trade_logs.values(), ignore_index=True)
    with watch.stage("explanation figures"):
        draw_figures(explanations, trades, folder / "figures", progress, config.cache_dir,
                     workers=2)
    for side in ("entry", "exit"):
        trades[f"{side}_figure"] = [figure_path(explanations, key)
                                    for key in trades[f"{side}_explanation_id"]]
    equity = pd.DataFrame({name: r.equity for name, r in results.items()})
    contribution = pd.DataFrame({name: contributions(results[name], closes)
                                 for name in [*decisions, EQUAL_WEIGHT_REBALANCED]}).fillna(0.0)
    rejected = _rejected(results)
    jobs = ({name: TearsheetJob(folder / ("tearsheet.html" if i == 0 else
                                          f"tearsheet-{name}.html"),
                                results[name].equity, results[EQUAL_WEIGHT_REBALANCED].equity,
                                config.cash, title=f"{config.name}: {name} vs equal-weight "
                                "buy and hold")
             for i, name in enumerate(decisions)} if config.tearsheet else {})
    with BackgroundTearsheets(list(jobs.values()), config.cache_dir) as tearsheet_writer:
        with watch.stage("write outputs"):
            comparison = comparison_table({name: summarize(result, trade_logs[name])
                                           for name, result in results.items()})
            _write_outputs(folder, trades, explanations, equity, results, decisions,
                           comparison, contribution, alone, rejected)
        with watch.stage("tearsheets (background)"):
            tearsheet_writer.wait()
    with watch.stage("report"):
        truth = {signal: {name: (frame, *_labels(models[signal], name, datas[name]))
                          for name, frame in frames.items()}
                 for signal, frames in decisions.items()}
        write_universe_report(folder, config, traded, notes, results, equity, trades,
                              comparison, contribution, alone,
                              {name: job.path.name for name, job in jobs.items()},
                              explanations, list(decisions), rejected, truth,
                              checks=lookahead.sentence())
    seconds = time.perf_counter() - started
    write_status(folder, config, "complete", seconds=round(seconds, 3),
                 stages=watch.rounded(), peak_memory_mb=round(peak_memory_mb(), 1),
                 instruments=traded.names, notes=notes, lookahead_check=lookahead.record(),
                 explained={n: sum(e.signal.startswith(f"{n}[") for e in explanations.values())
                            for n in decisions},
                 trades={n: int((trades["strategy"] == n).sum()) for n in results},
                 fills={n: len(r.fills) for n, r in results.items()},
                 rejected_orders={n: len(r.rejected) for n, r in results.items()},
                 data_hash=content_hash(*(traded.bars[n] for n in traded.names))[:16],
                 versions=library_versions())
    return RunResult(folder=folder, config=config, comparison=comparison, trades=trades,
                     equity=equity, signals={instrument_signal(s, i): f
                                             for s, frames in decisions.items()
                                             for i, f in frames.items()},
                     explanations=explanations, models=models, rejected=rejected,
                     seconds=seconds)


def _models(spec: SignalConfig, config: RunConfig, universe: Universe,
            progress: bool) -> UniverseModels:
    """The unfitted walk-forward of one signal: pooled, or one per instrument."""
    walk = spec.walk_forward or config.walk_forward
    options = dict(scheme=walk.scheme, min_train=walk.min_train,
                   retrain_every=walk.retrain_every, window=walk.window,
                   embargo=walk.embargo, progress=progress,
                   faithfulness=config.faithfulness)

    def base():  # a fresh signal, seeded by the run where it takes a seed
        signal = spec.build()
        if getattr(signal, "seed", 0) is None:
            signal.seed = config.seed
        return signal

    if spec.pooled:
        try:
            return PooledWalkForward(base(), name=spec.name, cache_dir=config.cache_dir,
                                     instrument_feature=spec.instrument_feature, **options)
        except TypeError as e:
            raise ConfigError(f"signal {spec.name!r}: {e} (set pooled: false)") from e
    return {name: WalkForwardSignal(base(), name=instrument_signal(spec.name, name),
                                    cache_dir=config.cache_dir, **options)
            for name in universe.names}


def _drop_short(universe: Universe,
                models: Mapping[str, UniverseModels]) -> tuple[Universe, dict[str, str]]:
    """The universe less the instruments some signal cannot decide on (too little history
    for its windows or its walk-forward warm-up), and why each was dropped."""
    dropped: dict[str, str] = {}
    for signal, model in models.items():
        for name, bars in universe.bars.items():
            if name in dropped:
                continue
            data = MarketData(bars, symbol=name)
            if isinstance(model, PooledWalkForward):
                if not len(model.base.decision_times(data)):
                    dropped[name] = (f"{len(bars)} bars are too few for signal {signal!r}'s "
                                     "windows (no decision time)")
                continue
            try:
                model[name].plan(data)
            except WalkForwardError as e:
                dropped[name] = f"too little history for signal {signal!r}: {e}"
    for model in models.values():
        if not isinstance(model, PooledWalkForward):
            for name in dropped:
                model.pop(name, None)
    return (universe.without(dropped) if dropped else universe), dropped


def _fit_predict(signal: str, model: UniverseModels, datas: Mapping[str, MarketData],
                 config: RunConfig, watch: Stopwatch,
                 progress: bool) -> dict[str, SignalFrame]:
    """Each instrument's out-of-sample decisions of one signal (fitting its models)."""
    with watch.stage(f"fit and predict {signal}"):
        if isinstance(model, PooledWalkForward):
            return model.fit(datas).predict(datas)
        names = list(model)
        if config.fit_workers > 1 and _built_in(model[names[0]]):
            executor = make_executor(config.fit_executor, config.fit_workers)
            for name in names:
                model[name].progress = False  # workers print nothing
            fitted = executor.map(_fit_one, [(model[n], datas[n]) for n in names])
            model.update(dict(zip(names, fitted, strict=True)))
        else:
            for name in tqdm(names, desc=f"{signal}: instruments", unit="instrument",
                             disable=not progress):
                model[name].fit(datas[name])
        return {name: model[name].predict(datas[name]) for name in names}


def _built_in(model: WalkForwardSignal) -> bool:
    """A built-in signal class, which a worker process can import by name."""
    return type(model.base).__module__.startswith("xai_backtest.")


def _fit_one(task: tuple[WalkForwardSignal, MarketData]) -> WalkForwardSignal:
    model, data = task
    return model.fit(data)


def _always_long(decisions: Mapping[str, Mapping[str, SignalFrame]]
                 ) -> dict[str, SignalFrame]:
    """Long in every instrument at each of the first signal's decision times."""
    first = next(iter(decisions.values()))
    return {name: SignalFrame(instrument_signal(ALWAYS_LONG, name), always_long(f).frame)
            for name, f in first.items()}


def _backtests(config: RunConfig, universe: Universe,
               decisions: Mapping[str, Mapping[str, SignalFrame]], costs: Costs,
               progress: bool) -> tuple[dict[str, PortfolioResult], pd.DataFrame]:
    """Each signal's portfolio and the references; and each instrument bought and held
    alone (a table: instrument -> total return, Sharpe, max drawdown, bars, missing)."""
    params = portfolio_params(**config.strategy.strategy_params())
    thresholds = {s.name: s.threshold for s in config.signals if s.threshold is not None}
    runs = {name: (frames, {**params, "threshold": thresholds.get(name,
                                                                  params["threshold"])})
            for name, frames in decisions.items()}
    runs[ALWAYS_LONG] = (_always_long(decisions), {**params, "threshold": 0.0})
    results = {name: run_portfolio(universe, frames, name=name, costs=costs,
                                   cash=config.cash, **kw)
               for name, (frames, kw) in tqdm(runs.items(), desc="portfolios",
                                              disable=not progress, leave=False)}
    results.update(equal_weight_references(universe, costs, config.cash,
                                           band=float(params["band"])))
    alone = {}
    for name, bars in tqdm(universe.bars.items(), desc="each instrument bought and held",
                           disable=not progress, leave=False):
        result = run_strategy(on_instrument(BUY_AND_HOLD, name), bars, None, BuyAndHold,
                              costs=costs, cash=config.cash, engine="auto")
        alone[name] = summarize(result, pd.DataFrame({"status": [], "net_pnl": [],
                                                      "return_pct": []}))
    table = pd.DataFrame({name: {"total_return": p.total_return, "sharpe": p.sharpe,
                                 "max_drawdown": p.max_drawdown}
                          for name, p in alone.items()}).T
    table["bars"] = [len(universe.bars[n]) for n in table.index]
    table["missing"] = [universe.missing.get(n, 0) for n in table.index]
    return results, table


def _explain_fills(models: Mapping[str, UniverseModels], datas: Mapping[str, MarketData],
                   decisions: Mapping[str, Mapping[str, SignalFrame]],
                   results: Mapping[str, PortfolioResult], watch: Stopwatch,
                   progress: bool) -> dict[str, Explanation]:
    """The explanation of every decision that caused a fill, by the model that made it."""
    out: dict[str, Explanation] = {}
    for signal, model in models.items():
        fills = results[signal].fills
        fills = fills[fills["decision_time"].notna()]
        at = {name: sorted(set(times)) for name, times in
              fills.groupby("instrument")["decision_time"]}
        with watch.stage(f"explain {signal}"):
            if isinstance(model, PooledWalkForward):
                found = model.explain(datas, at)
            else:
                found = {name: model[name].explain(datas[name], times)
                         for name, times in tqdm(at.items(), desc=f"explain {signal}",
                                                 disable=not progress, leave=False)}
        out.update({e.id: e for explained in found.values() for e in explained})
    return out


def _labels(model: UniverseModels, instrument: str,
            data: MarketData) -> tuple[pd.Series, pd.Series]:
    """An instrument's labels the signal is scored on, and those it trains on."""
    base = model.base if isinstance(model, PooledWalkForward) else model[instrument].base
    return base.evaluation_labels(data), base.labels(data)


def _rejected(results: Mapping[str, PortfolioResult]) -> pd.DataFrame:
    """Every order the broker refused, of every portfolio, in time order."""
    frames = [r.rejected.assign(strategy=name) for name, r in results.items()
              if len(r.rejected)]
    columns = ["strategy", "time", "bar", "instrument", "status", "size", "reason"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns].sort_values("time", kind="stable")


def _write_outputs(folder: Path, trades: pd.DataFrame, explanations: dict[str, Explanation],
                   equity: pd.DataFrame, results: Mapping[str, PortfolioResult],
                   decisions: Mapping[str, Mapping[str, SignalFrame]],
                   comparison: pd.DataFrame, contribution: pd.DataFrame,
                   alone: pd.DataFrame, rejected: pd.DataFrame) -> None:
    """Trade log first (so a later failure loses no trades), then the rest."""
    write_trades_first(folder, trades, explanations, equity)
    fills = pd.concat([r.fills.assign(strategy=n) for n, r in results.items()],
                      ignore_index=True)
    atomic_write(folder / "fills.csv", lambda tmp: fills.to_csv(tmp, index=False))
    weights = pd.concat({n: r.weights for n, r in results.items()}, names=["strategy"])
    atomic_write(folder / "weights.parquet", lambda tmp: weights.to_parquet(tmp))
    signals = pd.concat({(s, i): f.frame for s, frames in decisions.items()
                         for i, f in frames.items()}, names=["signal", "instrument"])
    atomic_write(folder / "signals.parquet", lambda tmp: signals.to_parquet(tmp))
    atomic_write(folder / "summary.csv", lambda tmp: comparison.to_csv(tmp))
    atomic_write(folder / "contributions.csv", lambda tmp: contribution.to_csv(tmp))
    atomic_write(folder / "instruments.csv", lambda tmp: alone.to_csv(tmp))
    atomic_write(folder / "rejected_orders.csv", lambda tmp: rejected.to_csv(tmp, index=False))
