"""The trade stage of a universe: one portfolio per signal on one cash account.

Each signal's decisions drive ``PortfolioStrategy`` over the universe from the latest
signal's first decision on; the references run through the same engine on the same
dates: equal-weight buy-and-hold rebalanced (within the strategy's band) and held, always
long in every instrument under the strategy's rules, and each instrument bought and held
alone. Every fill that a decision caused is explained by the model that made it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from xai_backtest.data_feeds.universe import Universe
from xai_backtest.engine.config import RunConfig
from xai_backtest.engine.report import write_universe_report
from xai_backtest.engine.run_folder import (
    Tearsheets,
    Written,
    add_figure_paths,
    draw_figures,
    write_trades_first,
)
from xai_backtest.engine.stopwatch import Stopwatch
from xai_backtest.explainers.base import Explanation
from xai_backtest.reports.comparison import comparison_table
from xai_backtest.reports.metrics import summarize
from xai_backtest.reports.trade_log import build_portfolio_trade_log
from xai_backtest.signals.base import SignalFrame
from xai_backtest.signals.pooled import instrument_signal
from xai_backtest.storage.atomic import atomic_write
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

__all__ = ["PortfolioDecisions", "PortfolioTrades", "align", "backtests", "finish",
           "to_explain"]


@dataclass(frozen=True)
class PortfolioDecisions:
    """Each signal's decisions per instrument from the latest signal's first decision on,
    the universe from then (``traded``), and what that cut dropped (``notes``)."""

    decisions: dict[str, dict[str, SignalFrame]]
    traded: Universe
    notes: list[str]


@dataclass(frozen=True)
class PortfolioTrades:
    """Every portfolio's result, and each instrument bought and held alone (a table)."""

    results: dict[str, PortfolioResult]
    alone: pd.DataFrame


def align(decisions: Mapping[str, Mapping[str, SignalFrame]],
          universe: Universe) -> PortfolioDecisions:
    """The decisions every portfolio trades: from the latest signal's first decision on,
    on the instruments still listed then."""
    start = max(min(frame.frame.index[0] for frame in frames.values())
                for frames in decisions.values())
    traded = universe.since(start)
    notes = [f"{name}: dropped, {why}" for name, why in traded.dropped.items()
             if name not in universe.dropped]
    cut = {signal: {i: f.between(start, None) for i, f in frames.items()
                    if i in traded.bars and len(f.between(start, None).frame)}
           for signal, frames in decisions.items()}
    return PortfolioDecisions(decisions=cut, traded=traded, notes=notes)


def _always_long(decisions: Mapping[str, Mapping[str, SignalFrame]]
                 ) -> dict[str, SignalFrame]:
    """Long in every instrument at each of the first signal's decision times."""
    first = next(iter(decisions.values()))
    return {name: SignalFrame(instrument_signal(ALWAYS_LONG, name), always_long(f).frame)
            for name, f in first.items()}


def backtests(config: RunConfig, aligned: PortfolioDecisions,
              progress: bool) -> PortfolioTrades:
    """Each signal's portfolio and the references, and each instrument bought and held
    alone (instrument -> total return, Sharpe, max drawdown, bars, missing)."""
    universe, decisions = aligned.traded, aligned.decisions
    costs = Costs(**config.costs.model_dump())
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
    return PortfolioTrades(results=results, alone=table)


def to_explain(aligned: PortfolioDecisions, traded: PortfolioTrades,
               signals: list[str]) -> dict[str, dict[str, list[pd.Timestamp]]]:
    """Per signal and instrument, the decision times that caused a fill."""
    out = {}
    for signal in signals:
        fills = traded.results[signal].fills
        fills = fills[fills["decision_time"].notna()]
        out[signal] = {name: sorted(set(times)) for name, times in
                       fills.groupby("instrument")["decision_time"]}
    return out


def finish(folder: Path, config: RunConfig, aligned: PortfolioDecisions,
           traded: PortfolioTrades, explanations: dict[str, Explanation], notes: list[str],
           truth: Mapping[str, Mapping[str, tuple[SignalFrame, pd.Series, pd.Series]]],
           tearsheets: Tearsheets, checks: str, watch: Stopwatch,
           progress: bool) -> Written:
    """Trade logs (round trips per instrument), figures, outputs and the report."""
    results, decisions, universe = traded.results, aligned.decisions, aligned.traded
    closes = universe.closes()
    own = {**decisions, ALWAYS_LONG: _always_long(decisions)}
    trade_logs = {name: build_portfolio_trade_log(result, closes, own.get(name, {}),
                                                  explanations)
                  for name, result in results.items()}
    trades = pd.concat(trade_logs.values(), ignore_index=True)
    with watch.stage("explanation figures"):
        draw_figures(explanations, trades, folder / "figures", progress, config.cache_dir,
                     workers=2)
    add_figure_paths(trades, explanations)
    equity = pd.DataFrame({name: r.equity for name, r in results.items()})
    contribution = pd.DataFrame({name: contributions(results[name], closes)
                                 for name in [*decisions, EQUAL_WEIGHT_REBALANCED]}
                                ).fillna(0.0)
    rejected = _rejected(results)
    with watch.stage("write outputs"):
        comparison = comparison_table({name: summarize(result, trade_logs[name])
                                       for name, result in results.items()})
        _write_outputs(folder, trades, explanations, equity, results, decisions,
                       comparison, contribution, traded.alone, rejected)
    with watch.stage("tearsheets (background)"):
        tearsheets.writer.wait()
    with watch.stage("report"):
        write_universe_report(folder, config, universe, notes, results, equity, trades,
                              comparison, contribution, traded.alone, tearsheets.files,
                              explanations, list(decisions), rejected, truth,
                              checks=checks)
    return Written(comparison=comparison, trades=trades, equity=equity, rejected=rejected)


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
