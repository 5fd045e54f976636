"""Research sweeps on the fast path: strategy and cost keys over one set of decisions.

When every run of a sweep differs from the others only in keys the strategy reads
(``strategy.threshold``, ``allow_short``, ``position_size``, ``sizing``, ``lot_size``,
``position_cash``, ``close_at_end``), ``costs.*`` or ``cash``, the signals are fitted and
predicted once (from the model cache when it holds them) and every point is simulated on
the fast path, which equals backtrader to 1e-9. Each row carries the figures of every
strategy of the run and, per signal, the deflated Sharpe ratio (Bailey and Lopez de Prado
2014): the probability that the point's true Sharpe ratio is above zero, after allowing
for the trials counted (the ``trials`` column: the points' config ``trials``, which the
sweep sets to its number of points plus any the base config states). It compares with
zero, not with buy-and-hold's realised Sharpe, which is an estimate with its own error.
No run folders are written; the table lands in ``<output_dir>/<sweep name>/results.csv``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from xai_backtest.data_feeds.bt_feeds import aligned_decisions
from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.engine.config import RunConfig
from xai_backtest.engine.data import load_market_data
from xai_backtest.engine.runner import signal_decisions
from xai_backtest.engine.sweep import SweepRun
from xai_backtest.engine.trade_signal import ensemble_of
from xai_backtest.reports.metrics import max_drawdown, sharpe
from xai_backtest.reports.significance import (
    deflated_sharpes,
    null_sharpe_variance,
    per_period_sharpe,
)
from xai_backtest.signals.base import SignalFrame
from xai_backtest.storage.atomic import atomic_write
from xai_backtest.strategies.costs import Costs
from xai_backtest.strategies.fast import FAST_PARAMS, Run, Tape, fast_path_refusal, simulate_lines
from xai_backtest.strategies.references import ALWAYS_LONG, BUY_AND_HOLD, ENSEMBLE, always_long

__all__ = ["FIGURES", "best_points", "fast_sweep_refusal", "run_fast_sweep"]

#: the figures of each strategy in a fast sweep's row (``<strategy>.<figure>``: _Scorer's)
FIGURES = ("total_return", "cagr", "sharpe", "max_drawdown", "trades", "exposure",
           "costs_paid", "rejected_orders", "final_equity")
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

    def figures(self, run: Run, returns: np.ndarray, cash: float) -> dict[str, float]:
        """The figures of ``run``, whose daily returns are ``returns``."""
        final = float(run.equity[-1])
        slippage = np.abs(run.fill_price - self.opens[run.fill_bar]) * np.abs(run.fill_size)
        return {"total_return": final / cash - 1,
                "cagr": (final / cash) ** (1 / self.years) - 1,
                "sharpe": sharpe(returns) if len(returns) > 1 else 0.0,
                "max_drawdown": max_drawdown(returns),
                "trades": run.entries,
                "exposure": float(run.exposure.mean()),
                "costs_paid": float(run.fill_commission.sum() + slippage.sum()),
                "rejected_orders": len(run.rejected_bar),
                "final_equity": final}


def run_fast_sweep(name: str, runs: list[SweepRun], progress: bool = True,
                   data: MarketData | None = None) -> pd.DataFrame:
    """Every point of ``runs`` on the fast path over one set of decisions; writes and
    returns the results table (see the module doc). ``data``: the bars when
    ``data.source`` is ``python`` (Backtest's)."""
    base = runs[0].config
    if (base.data.source == "python") != (data is not None):
        raise ValueError("a fast sweep takes data=MarketData(...) exactly when data.source "
                         f"is 'python' (it is {base.data.source!r})")
    started = time.perf_counter()
    data = data if data is not None else load_market_data(base.data)[0]
    decided = signal_decisions(base, data, progress)
    bars = decided.bars
    tape = Tape.of(bars)
    scorer = _Scorer(bars)
    signals = {n: d for n, d in decided.decisions.items() if n != ENSEMBLE}
    lines = {n: _Lines.of(bars, d) for n, d in signals.items()}
    lines[ALWAYS_LONG] = _Lines.of(bars, always_long(next(iter(signals.values()))))
    own = {s.name: s.threshold for s in base.signals if s.threshold is not None}
    ensembles: dict[float, _Lines] = {}
    references: dict[tuple[Costs, float], dict[str, float]] = {}
    nothing = np.full(len(bars), np.nan)
    setup = time.perf_counter() - started
    rows = []
    returns: dict[str, list[np.ndarray]] = {n: [] for n in decided.decisions}
    for run in tqdm(runs, desc=f"fast sweep {name}", unit="point", disable=not progress,
                    leave=False):
        config = run.config
        costs = Costs(**config.costs.model_dump())
        params = {k: v for k, v in config.strategy.strategy_params().items()
                  if k in FAST_PARAMS}
        row: dict[str, Any] = {"run": run.name, "status": "ok", "engine": "fast",
                               "config_hash": config.hash(), "trials": config.trials,
                               **dict(run.values)}
        plays = [(signal, signal_lines,
                  0.0 if signal == ALWAYS_LONG else own.get(signal, params["threshold"]))
                 for signal, signal_lines in lines.items()]
        if decided.ensemble is not None and decided.ballot is not None:
            threshold = params["threshold"]
            if threshold not in ensembles:  # the members vote at the strategy's threshold
                vote = ensemble_of(config)
                assert vote is not None  # the points share the base's ensemble
                ensembles[threshold] = _Lines.of(bars, vote.combine(vote.ballot(signals)))
            plays.append((ENSEMBLE, ensembles[threshold], threshold))
        for strategy, signal_lines, threshold in plays:
            result = simulate_lines(tape, signal_lines.direction, signal_lines.probability,
                                    signal_lines.rows, costs=costs, cash=config.cash,
                                    **{**params, "threshold": threshold})
            daily = scorer.daily_returns(result.equity, config.cash)
            row.update({f"{strategy}.{k}": v
                        for k, v in scorer.figures(result, daily, config.cash).items()})
            if strategy in returns:
                returns[strategy].append(daily)
        key = (costs, config.cash)
        if key not in references:
            held = simulate_lines(tape, nothing, nothing, nothing, costs=costs,
                                  cash=config.cash, buy_and_hold=True)
            daily = scorer.daily_returns(held.equity, config.cash)
            references[key] = {f"{BUY_AND_HOLD}.{k}": v for k, v in
                               scorer.figures(held, daily, config.cash).items()}
        row.update(references[key])
        rows.append(row)
    table = pd.DataFrame(rows)
    for signal, series in returns.items():
        if series:
            table[f"{signal}.deflated_sharpe"] = _deflated(series, base.trials)
    seconds = time.perf_counter() - started
    table = table.assign(seconds=round(seconds / len(runs), 6))
    table.attrs.update(setup_seconds=setup, seconds=seconds,
                       keys=[key for key, _ in runs[0].values])
    folder = runs[0].folder.parent
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / "results.csv", lambda tmp: table.to_csv(tmp, index=False))
    return table


def _deflated(series: list[np.ndarray], trials: int | None) -> np.ndarray:
    """Each point's deflated Sharpe ratio against zero given ``trials`` (None: the points
    tried), the trials' Sharpe spread measured over the points."""
    returns = np.vstack(series)
    sharpes = per_period_sharpe(returns)
    variance = (float(sharpes.var(ddof=1)) if len(sharpes) > 1
                else null_sharpe_variance(returns.shape[1]))
    return deflated_sharpes(returns, np.zeros(len(series)), trials or len(series), variance)


def best_points(table: pd.DataFrame) -> pd.DataFrame:
    """Per signal, the point with the highest Sharpe ratio, its figures and its deflated
    Sharpe ratio (chance its true Sharpe is above zero) given the trials counted."""
    out = {}
    for column in table.columns:
        if column.endswith(".deflated_sharpe"):
            signal = column.removesuffix(".deflated_sharpe")
            best = table.loc[table[f"{signal}.sharpe"].idxmax()]
            out[signal] = {"run": best["run"], **{k: best[k] for k in table.attrs["keys"]},
                           "sharpe": best[f"{signal}.sharpe"],
                           "total_return": best[f"{signal}.total_return"],
                           "buy_and_hold_sharpe": best[f"{BUY_AND_HOLD}.sharpe"],
                           "deflated_sharpe": best[column], "trials": best["trials"]}
    return pd.DataFrame(out).T
