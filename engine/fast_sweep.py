"""Research sweeps on the fast path: strategy and cost keys over one set of decisions.

When every run of a sweep differs from the others only in keys the strategy reads
(``strategy.threshold``, ``allow_short``, ``position_size``, ``sizing``, ``lot_size``,
``position_cash``, ``close_at_end``), ``costs.*`` or ``cash``, the signals are fitted and
predicted once (from the model cache when it holds them) and every point is simulated on
the fast path, which equals backtrader to 1e-9. Each row carries the figures of every
strategy of the run and, per signal, the deflated Sharpe ratio (Bailey and Lopez de Prado
2014): the probability that the point's true Sharpe ratio beats buy-and-hold's, after
allowing for the number of points tried. No run folders are written; the table lands in
``<output_dir>/<sweep name>/results.csv``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from xai_backtest.data_feeds.bt_feeds import aligned_decisions
from xai_backtest.engine.config import RunConfig
from xai_backtest.engine.data import load_market_data
from xai_backtest.engine.runner import (
    ALWAYS_LONG,
    BUY_AND_HOLD,
    ENSEMBLE,
    ensemble_of,
    signal_decisions,
)
from xai_backtest.engine.sweep import SweepRun
from xai_backtest.reports.metrics import TRADING_DAYS
from xai_backtest.reports.significance import deflated_sharpes, per_period_sharpe
from xai_backtest.signals.base import SignalFrame
from xai_backtest.storage.atomic import atomic_write
from xai_backtest.strategies.costs import Costs
from xai_backtest.strategies.fast import FAST_PARAMS, Run, Tape, fast_path_refusal, simulate_lines
from xai_backtest.strategies.references import always_long

__all__ = ["best_points", "fast_sweep_refusal", "run_fast_sweep"]

_POINT_KEYS = ("name", "costs", "cash", "engine", "output_dir", "tearsheet")


def _decision_part(config: RunConfig) -> dict[str, Any]:
    """The config without what a fast sweep point may change."""
    payload = {k: v for k, v in config.to_dict().items() if k not in _POINT_KEYS}
    payload["strategy"] = {k: v for k, v in payload["strategy"].items()
                           if k not in FAST_PARAMS}
    return payload


def fast_sweep_refusal(runs: list[SweepRun]) -> str | None:
    """Why ``runs`` cannot be a fast sweep, or None when they can."""
    first = _decision_part(runs[0].config)
    for run in runs:
        config = run.config
        if config.engine == "backtrader":
            return f"run {run.name} asks for engine 'backtrader'"
        refusal = fast_path_refusal(config.strategy.strategy_class,
                                    config.strategy.strategy_params())
        if refusal:
            return f"run {run.name}: {refusal}"
        if _decision_part(config) != first:
            return (f"run {run.name} changes more than strategy, cost and cash keys (its "
                    "signals or data differ), so each run needs its own decisions")
    return None


@dataclass(frozen=True)
class _Lines:
    direction: np.ndarray
    probability: np.ndarray
    rows: np.ndarray

    @classmethod
    def of(cls, bars: pd.DataFrame, decisions: SignalFrame) -> _Lines:
        lines = aligned_decisions(bars, decisions.frame, decisions.signal)
        return cls(*(lines[k].to_numpy() for k in ("direction", "probability", "decision")))


class _Scorer:
    """Daily figures of an equity curve on fixed bars (numpy only)."""

    def __init__(self, bars: pd.DataFrame) -> None:
        days = bars.index.normalize()
        self.last_of_day = np.flatnonzero(np.r_[days[1:] != days[:-1], True])
        self.years = max((days[-1] - days[0]).days / 365.25, 1 / 365.25)
        self.opens = bars["open"].to_numpy()

    def daily_returns(self, equity: np.ndarray, cash: float) -> np.ndarray:
        daily = equity[self.last_of_day]
        return daily / np.r_[cash, daily[:-1]] - 1

    def figures(self, run: Run, cash: float) -> dict[str, float]:
        returns = self.daily_returns(run.equity, cash)
        final = float(run.equity[-1])
        std = returns.std(ddof=1) if len(returns) > 1 else 0.0
        curve = np.r_[1.0, np.cumprod(1 + returns)]
        slippage = np.abs(run.fill_price - self.opens[run.fill_bar]) * np.abs(run.fill_size)
        return {"total_return": final / cash - 1,
                "cagr": (final / cash) ** (1 / self.years) - 1,
                "sharpe": float(np.sqrt(TRADING_DAYS) * returns.mean() / std) if std > 0
                else 0.0,
                "max_drawdown": float(np.min(curve / np.maximum.accumulate(curve) - 1)),
                "trades": run.entries,
                "exposure": float(run.exposure.mean()),
                "costs_paid": float(run.fill_commission.sum() + slippage.sum()),
                "rejected_orders": len(run.rejected_bar),
                "final_equity": final}


def run_fast_sweep(name: str, runs: list[SweepRun], progress: bool = True,
                   on_point: Callable[[int], None] | None = None) -> pd.DataFrame:
    """Every point of ``runs`` on the fast path over one set of decisions; writes and
    returns the results table (see the module doc)."""
    base = runs[0].config
    started = time.perf_counter()
    data, _ = load_market_data(base.data) if base.data.source != "python" else (None, None)
    if data is None:
        raise ValueError("a fast sweep loads its data from the config; data.source 'python' "
                         "is not supported")
    decided = signal_decisions(base, data, progress)
    bars = decided.bars
    tape = Tape.of(bars)
    scorer = _Scorer(bars)
    signals = {n: d for n, d in decided.decisions.items() if n != ENSEMBLE}
    lines = {n: _Lines.of(bars, d) for n, d in signals.items()}
    lines[ALWAYS_LONG] = _Lines.of(bars, always_long(next(iter(signals.values()))))
    own = {s.name: s.threshold for s in base.signals if s.threshold is not None}
    ensembles: dict[float, _Lines] = {}
    references: dict[tuple, dict[str, float]] = {}
    nothing = np.full(len(bars), np.nan)
    setup = time.perf_counter() - started
    rows, returns = [], {n: [] for n in decided.decisions}
    for number, run in enumerate(tqdm(runs, desc=f"fast sweep {name}", unit="point",
                                      disable=not progress, leave=False)):
        config = run.config
        costs = Costs(**config.costs.model_dump())
        params = {k: v for k, v in config.strategy.strategy_params().items()
                  if k in FAST_PARAMS}
        row: dict[str, Any] = {"run": run.name, "status": "ok", "engine": "fast",
                               "config_hash": config.hash()}
        row.update(dict(run.values))

        def play(strategy: str, signal_lines: _Lines, threshold: float,
                 row: dict[str, Any] = row, costs: Costs = costs,
                 params: dict[str, Any] = params, cash: float = config.cash) -> Run:
            result = simulate_lines(tape, signal_lines.direction, signal_lines.probability,
                                    signal_lines.rows, costs=costs, cash=cash,
                                    **{**params, "threshold": threshold})
            row.update({f"{strategy}.{k}": v for k, v in scorer.figures(result, cash).items()})
            return result

        for signal, signal_lines in lines.items():
            threshold = 0.0 if signal == ALWAYS_LONG else own.get(signal, params["threshold"])
            result = play(signal, signal_lines, threshold)
            if signal in returns:
                returns[signal].append(scorer.daily_returns(result.equity, config.cash))
        if decided.ensemble is not None and decided.ballot is not None:
            threshold = params["threshold"]
            if threshold not in ensembles:
                vote = ensemble_of(config)
                ensembles[threshold] = _Lines.of(bars, vote.combine(vote.ballot(signals)))
            result = play(ENSEMBLE, ensembles[threshold], threshold)
            returns[ENSEMBLE].append(scorer.daily_returns(result.equity, config.cash))
        key = (costs, config.cash)
        if key not in references:
            held = simulate_lines(tape, nothing, nothing, nothing, costs=costs,
                                  cash=config.cash, buy_and_hold=True)
            references[key] = {f"{BUY_AND_HOLD}.{k}": v
                               for k, v in scorer.figures(held, config.cash).items()}
            held_returns = scorer.daily_returns(held.equity, config.cash)
            references[key]["_hurdle"] = float(per_period_sharpe(held_returns))
        row.update({k: v for k, v in references[key].items() if k != "_hurdle"})
        row["_hurdle"] = references[key]["_hurdle"]
        rows.append(row)
        if on_point is not None:
            on_point(number)
    table = pd.DataFrame(rows)
    for signal, series in returns.items():
        if series:
            table[f"{signal}.deflated_sharpe"] = _deflated(series, table["_hurdle"].to_numpy())
    seconds = time.perf_counter() - started
    table = table.drop(columns="_hurdle").assign(seconds=round(seconds / len(runs), 6))
    table.attrs.update(setup_seconds=setup, seconds=seconds,
                       keys=[key for key, _ in runs[0].values])
    folder = runs[0].folder.parent
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / "results.csv", lambda tmp: table.to_csv(tmp, index=False))
    return table


def _deflated(series: list[np.ndarray], hurdles: np.ndarray) -> np.ndarray:
    """Each point's deflated Sharpe ratio given all the points tried (per-period Sharpe
    ratios, buy-and-hold's as the hurdle)."""
    returns = np.vstack(series)
    sharpes = per_period_sharpe(returns)
    variance = float(sharpes.var(ddof=1)) if len(sharpes) > 1 else 0.0
    return deflated_sharpes(returns, hurdles, len(series), variance)


def best_points(table: pd.DataFrame) -> pd.DataFrame:
    """Per signal, the point with the highest Sharpe ratio, its figures and its deflated
    Sharpe ratio given every point tried."""
    out = {}
    for column in table.columns:
        if column.endswith(".deflated_sharpe"):
            signal = column.removesuffix(".deflated_sharpe")
            best = table.loc[table[f"{signal}.sharpe"].idxmax()]
            out[signal] = {"run": best["run"], **{k: best[k] for k in table.attrs["keys"]},
                           "sharpe": best[f"{signal}.sharpe"],
                           "total_return": best[f"{signal}.total_return"],
                           "buy_and_hold_sharpe": best[f"{BUY_AND_HOLD}.sharpe"],
                           "deflated_sharpe": best[column]}
    return pd.DataFrame(out).T
