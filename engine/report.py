"""Assemble the inputs of the HTML report from a finished run and write ``report.html``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from xai_backtest.data_feeds.universe import Universe
from xai_backtest.engine.config import RunConfig
from xai_backtest.engine.data import price_basis
from xai_backtest.engine.run_folder import write_edges
from xai_backtest.explainers.base import Explanation
from xai_backtest.explainers.lime_text import highlighted_headlines_html
from xai_backtest.reports.calibration import calibration_table, render_calibration
from xai_backtest.reports.explanation_quality import faithfulness_summary, winners_and_losers
from xai_backtest.reports.html_report import ModelReport, ReportInputs, write_report
from xai_backtest.reports.metrics import daily_returns, periods_per_year
from xai_backtest.reports.model_quality import Quality, classification_quality, confusion
from xai_backtest.reports.portfolio_view import PortfolioView
from xai_backtest.reports.significance import EdgeTest, edge_over_benchmark
from xai_backtest.signals.base import SignalFrame
from xai_backtest.signals.labels import LABEL_BASES, direction_labels
from xai_backtest.strategies.backtest import BacktestResult
from xai_backtest.strategies.costs import Costs
from xai_backtest.strategies.portfolio import PortfolioResult, portfolio_params
from xai_backtest.strategies.references import BUY_AND_HOLD, EQUAL_WEIGHT_REBALANCED

__all__ = ["rejected_orders", "write_run_report", "write_universe_report"]

BENCHMARK = BUY_AND_HOLD
PORTFOLIO_BENCHMARK = EQUAL_WEIGHT_REBALANCED


def write_run_report(folder: Path, config: RunConfig, results: Mapping[str, BacktestResult],
                     equity: pd.DataFrame, decisions: Mapping[str, SignalFrame],
                     truth: Mapping[str, tuple[pd.Series, pd.Series]],
                     trades: pd.DataFrame, comparison: pd.DataFrame,
                     tearsheets: Mapping[str, str], bars: pd.DataFrame,
                     explanations: Mapping[str, Explanation], checks: str = "") -> Path:
    """Write ``folder/report.html``: comparison, edges, model quality, faithfulness of the
    explanations, why trades won or lost, equity, trades; ``checks`` (what the run-time
    look-ahead check did) closes the subtitle."""
    models = [_model_report(folder, name, decisions[name], scored, trained, bars)
              for name, (scored, trained) in truth.items() if scored.notna().any()]
    times = results[BENCHMARK].equity.index
    strategy = config.strategy
    sizing = {"fractional": "fractional units", "shares": "whole shares",
              "lots": f"lots of {strategy.lot_size}"}[strategy.sizing]
    amount = (f"{strategy.position_size:.2%} of the equity left after any exit at that open"
              if strategy.position_cash is None else
              f"{strategy.position_cash:,.2f} (or the equity left after any exit, if less)")
    subtitle = (f"{len(times):,} bars from {times[0]:%Y-%m-%d} to {times[-1]:%Y-%m-%d}; "
                f"config {config.hash()}; costs {Costs(**config.costs.model_dump()).describe()}; "
                "decisions at a bar's close fill at "
                f"the next open, sized in {sizing} at {amount}; {price_basis(config.data)}; "
                f"{_engines(results)}. {checks}")
    edges = _edges(results, list(decisions), config)
    write_edges(folder, edges)
    inputs = ReportInputs(title=f"{config.name}", subtitle=subtitle, comparison=comparison,
                          edges=edges,
                          equity=equity, trades=trades, models=models, tearsheets=tearsheets,
                          rejected=rejected_orders(results), prices=bars,
                          **_explanation_pages(config, list(decisions), trades, explanations))
    return write_report(folder / "report.html", inputs)


def write_universe_report(folder: Path, config: RunConfig, universe: Universe,
                          notes: Sequence[str], results: Mapping[str, PortfolioResult],
                          equity: pd.DataFrame, trades: pd.DataFrame,
                          comparison: pd.DataFrame, contribution: pd.DataFrame,
                          alone: pd.DataFrame, tearsheets: Mapping[str, str],
                          explanations: Mapping[str, Explanation], signals: list[str],
                          rejected: pd.DataFrame,
                          truth: Mapping[str, Mapping[str, tuple[SignalFrame, pd.Series,
                                                                   pd.Series]]],
                          checks: str = "") -> Path:
    """Write ``folder/report.html`` of a run over a universe: every portfolio against
    equal-weight buy-and-hold, model quality pooled over the instruments, weights over
    time, contributions, correlations, each instrument alone, faithfulness, why trades
    won or lost, and the trades with their instrument."""
    times = equity.index
    subtitle = (f"{len(universe.names)} instruments, {len(times):,} session dates from "
                f"{times[0]:%Y-%m-%d} to {times[-1]:%Y-%m-%d}; config {config.hash()}; costs "
                f"{Costs(**config.costs.model_dump()).describe()} on every leg; "
                f"{_portfolio_rule(config)}; decisions at a close fill at the next open "
                "of their own exchange, sized on the prices known then, sells before buys; "
                f"Sharpe ratios annualised with the calendar's "
                f"{universe.sessions_per_year():.1f} sessions a year; "
                f"{price_basis(config.data)}; engine: backtrader. {checks}")
    closes = universe.closes()
    view = PortfolioView(
        weights={n: results[n].weights for n in [*signals, PORTFOLIO_BENCHMARK]},
        contributions=contribution, correlations=closes.pct_change(fill_method=None).corr(),
        instruments=alone, notes=list(notes))
    models = [_model_report(folder, name, *_pooled(truth[name])) for name in signals
              if any(scored.notna().any() for _, scored, _ in truth[name].values())]
    edges = _edges(results, signals, config, PORTFOLIO_BENCHMARK,
                   "equal-weight buy-and-hold (rebalanced)")
    write_edges(folder, edges)
    inputs = ReportInputs(title=config.name, subtitle=subtitle, comparison=comparison,
                          edges=edges,
                          equity=equity, trades=trades, models=models, tearsheets=tearsheets,
                          benchmark=PORTFOLIO_BENCHMARK, rejected=rejected, portfolio=view,
                          **_explanation_pages(config, signals, trades, explanations,
                                               by_prefix=True))
    return write_report(folder / "report.html", inputs)


def _portfolio_rule(config: RunConfig) -> str:
    """The portfolio strategy's rule in words."""
    p = portfolio_params(**config.strategy.strategy_params())
    weighting = {"equal": "equal weight", "probability": "weights proportional to the "
                 "probability above the threshold",
                 "inverse_vol": f"inverse-volatility weights ({p['vol_window']} days)"}
    shorts = "long or short" if p["allow_short"] else "long only"
    return (f"{weighting[p['weighting']]} among instruments whose decision clears "
            f"{p['threshold']:.2f}, {shorts}, at most {p['cap']:.0%} each, rebalanced when a "
            f"weight drifts more than {p['band']:.0%} from its target")


def _pooled(truth: Mapping[str, tuple[SignalFrame, pd.Series, pd.Series]]
            ) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """One signal's decision frame and labels over every instrument, indexed by
    (instrument, time), to score the signal pooled."""
    def pooled(parts: dict[str, pd.DataFrame | pd.Series]) -> pd.DataFrame | pd.Series:
        return pd.concat(parts, names=["instrument", "time"])  # one index, joined exactly

    return (pooled({n: f.frame for n, (f, _, _) in truth.items()}),
            pooled({n: s for n, (_, s, _) in truth.items()}),
            pooled({n: t for n, (_, _, t) in truth.items()}))


def _explanation_pages(config: RunConfig, signals: list[str], trades: pd.DataFrame,
                       explanations: Mapping[str, Explanation],
                       by_prefix: bool = False) -> dict[str, Any]:
    """The report's faithfulness verdicts, winners-vs-losers analyses and highlighted
    headlines (``by_prefix``: a signal owns the explanations of ``signal[instrument]``)."""
    own = {name: [e for e in explanations.values() if e.signal == name or
                  (by_prefix and e.signal.startswith(f"{name}["))] for name in signals}
    why = [found for name in signals if (found := winners_and_losers(
        name, trades, explanations, seed=config.seed)) is not None]
    return {"faithfulness": [faithfulness_summary(name, own[name]) for name in signals
                             if own[name]] if config.faithfulness else [],
            "why": why,
            "highlights": {key: highlighted_headlines_html(e) for key, e in explanations.items()
                           if e.method == "lime_text" and e.texts}}


def _engines(results: Mapping[str, BacktestResult]) -> str:
    """Which engine ran which strategy, in words."""
    by_engine: dict[str, list[str]] = {}
    for name, result in results.items():
        by_engine.setdefault(result.engine, []).append(name)
    if len(by_engine) == 1:
        return f"engine: {next(iter(by_engine))}"
    return "engines: " + "; ".join(f"{engine} ({', '.join(names)})"
                                   for engine, names in by_engine.items())


def rejected_orders(results: Mapping[str, BacktestResult]) -> pd.DataFrame:
    """Every order the broker refused, of every strategy, in time order."""
    frames = [r.rejected.assign(strategy=name) for name, r in results.items()
              if len(r.rejected)]
    columns = ["strategy", "time", "bar", "status", "size", "reason"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns].sort_values("time", kind="stable")


def _edges(results: Mapping[str, BacktestResult | PortfolioResult], signals: list[str],
           config: RunConfig, benchmark: str = BENCHMARK,
           name: str = "buy-and-hold") -> dict[str, EdgeTest]:
    """Each signal's paired verdict against ``benchmark``; the deflated Sharpe counts the
    config's ``trials`` when it states them, else the signals of this run, and says which.
    The trials' Sharpe spread is that of this run's signals when it has two or more, else
    that of unskilled strategies over as many returns."""
    bench = daily_returns(results[benchmark].equity, results[benchmark].cash)
    returns = {n: daily_returns(results[n].equity, results[n].cash) for n in signals}
    sharpes = pd.Series({n: r.mean() / r.std(ddof=1) if r.std(ddof=1) > 0 else 0.0
                         for n, r in returns.items()})  # a strategy that never trades: 0
    variance = float(sharpes.var(ddof=1)) if len(sharpes) > 1 else None
    trials, source = trials_counted(config, len(signals))
    periods = periods_per_year(results[benchmark])
    return {n: edge_over_benchmark(r, bench, trials=trials, trial_sharpe_variance=variance,
                                   seed=config.seed, name=name, trials_source=source,
                                   periods=periods)
            for n, r in returns.items()}


def trials_counted(config: RunConfig, signals: int) -> tuple[int, str]:
    """The number of trials the deflated Sharpe counts, and where it comes from in words."""
    if config.trials is not None:
        return config.trials, f"the config's trials: {config.trials}"
    return signals, (f"the {signals} signal{'s' if signals != 1 else ''} in this run; "
                     "a config's trials: counts every configuration tried")


def direction_quality(decisions: SignalFrame, bars: pd.DataFrame) -> dict[str, Quality]:
    """Accuracy of the up/down decisions under each direction label, beside the majority
    baseline; empty for signals with other classes (the five trends)."""
    frame = decisions.frame
    if not set(frame["label"]) <= {"up", "down"}:
        return {}
    out: dict[str, Quality] = {}
    for basis in LABEL_BASES:
        truth = direction_labels(bars, basis).reindex(frame.index)
        known = truth.notna().to_numpy()
        if known.any():
            out[basis] = classification_quality(truth[known], frame["label"][known],
                                                ["down", "up"])
    return out


def _model_report(folder: Path, name: str, decisions: SignalFrame | pd.DataFrame,
                  truth: pd.Series, trained: pd.Series,
                  bars: pd.DataFrame | None = None) -> ModelReport:
    """Scored on every decision (``truth``); where the signal trains on a subset of days
    (``trained`` labels), the score on that subset is a second, labelled number. Over a
    universe, ``decisions`` is the decision frame of every instrument (no ``bars``)."""
    frame = decisions.frame if isinstance(decisions, SignalFrame) else decisions
    joined = frame[["label"]].join(truth.rename("truth"), how="inner").dropna()
    classes = sorted(set(joined["truth"]) | set(joined["label"]))
    figure = f"figures/calibration-{name}.svg"
    (folder / "figures").mkdir(exist_ok=True)
    render_calibration(calibration_table(frame, truth), folder / figure,
                       title=f"{name}: calibration (walk-forward, out of sample)")
    return ModelReport(signal=name, protocol="walk-forward, out of sample",
                       quality=classification_quality(joined["truth"], joined["label"],
                                                      classes),
                       confusion=confusion(joined["truth"], joined["label"], classes),
                       calibration_figure=figure,
                       by_label={**(direction_quality(decisions, bars)
                                    if isinstance(decisions, SignalFrame) and bars is not None
                                    else {}),
                                 **_subset_quality(frame, truth, trained)})


def _subset_quality(frame: pd.DataFrame, truth: pd.Series,
                    trained: pd.Series) -> dict[str, Quality]:
    """Quality on the days that have a training label, when that is fewer than all."""
    if trained.notna().sum() == truth.notna().sum():
        return {}
    joined = frame[["label"]].join(trained.rename("truth"), how="inner").dropna()
    classes = sorted(set(joined["truth"]) | set(joined["label"]))
    return {"only the days with a training label (e.g. a clear pattern)":
            classification_quality(joined["truth"], joined["label"], classes)}
