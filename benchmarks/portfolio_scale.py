"""A universe at scale: 30 NIFTY 50 stocks x 10 years, the five-trend DNN pooled, end to end.

Loads the Kaggle NIFTY 50 stocks from ../shared/data (one file per stock; repeated rows
removed and unadjusted splits adjusted, all counted), keeps the 30 with the longest
history over 2010-01-01 .. 2020-02-28, fits the five-trend DNN pooled over all of them
walk-forward (yearly refit, the paper's network, 10 epochs as in the default run), trades
the portfolio (equal weight among instruments with a long decision, 10% cap, 5% band,
costs on), runs
the equal-weight buy-and-hold references, and explains every decision that caused a
fill with its faithfulness measured. Prints the time of each stage, the peak memory and
the portfolio beside equal-weight buy-and-hold.

    python benchmarks/portfolio_scale.py [--data ../shared/data] [--instruments 30]
        [--epochs 10] [--lime-samples 300] [--band 0.05]
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import pandas as pd

from xai_backtest.data_feeds import MarketData, build_universe
from xai_backtest.data_feeds.universe_files import load_symbol_folder
from xai_backtest.reports.metrics import max_drawdown, sharpe
from xai_backtest.signals.five_trend import FiveTrendDNN
from xai_backtest.signals.pooled import PooledWalkForward
from xai_backtest.strategies import equal_weight_references, run_portfolio

ROOT = Path(__file__).resolve().parents[1]
START, END = "2010-01-01", "2020-02-29"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--instruments", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lime-samples", type=int, default=300)
    parser.add_argument("--band", type=float, default=0.05)
    args = parser.parse_args()
    stages: dict[str, float] = {}
    started = time.perf_counter()

    def stage(name: str) -> None:
        nonlocal started
        stages[name] = time.perf_counter() - started
        print(f"{name}: {stages[name]:.1f} s", flush=True)
        started = time.perf_counter()

    files = load_symbol_folder(args.data / "nifty50_kaggle_2000_2020", tz="Asia/Kolkata")
    window = [(name, frame.loc[START:END]) for name, frame in files.frames]
    longest = sorted(window, key=lambda item: -len(item[1]))[:args.instruments]
    universe = build_universe(sorted(longest), min_bars=500)
    datas = {name: MarketData(universe.bars[name]) for name in universe.names}
    stage(f"load {len(universe.names)} instruments, {len(universe.calendar):,} dates")
    signal = FiveTrendDNN(epochs=args.epochs, lime_samples=args.lime_samples, seed=0)
    pooled = PooledWalkForward(signal, min_train=504, retrain_every=252, embargo=10,
                               name="five_trend").fit(datas)
    decisions = pooled.predict(datas)
    stage(f"pooled fit and predict ({len(pooled.folds_)} folds, "
          f"{sum(len(d) for d in decisions.values()):,} decisions)")
    first = min(d.frame.index[0] for d in decisions.values())
    traded = build_universe([(n, universe.bars[n].loc[first:]) for n in universe.names])
    result = run_portfolio(traded, decisions, name="five_trend_portfolio", threshold=0.4,
                           cap=0.1, band=args.band)
    references = equal_weight_references(traded)
    stage(f"portfolio and references ({len(result.fills):,} fills)")
    signal_fills = result.fills[result.fills["decision"] >= 0]
    print(f"{signal_fills['explanation_id'].nunique():,} decisions caused the "
          f"{len(signal_fills):,} signal fills", flush=True)  # ids name the instrument
    wanted = {name: sorted(set(group["decision_time"]))
              for name, group in signal_fills.groupby("instrument")}
    explained = sum(len(e) for e in pooled.explain(datas, wanted).values())
    stage(f"explanations with faithfulness ({explained:,} decisions)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"total {sum(stages.values()):.1f} s, peak memory {peak:,.0f} MB")
    rows = {name: r.equity for name, r in {"portfolio": result, **references}.items()}
    table = pd.DataFrame({name: {"final equity": equity.iloc[-1],
                                 "total return": equity.iloc[-1] / equity.iloc[0] - 1,
                                 "Sharpe": sharpe(equity.pct_change().dropna()),
                                 "max drawdown": max_drawdown(equity.pct_change().dropna())}
                          for name, equity in rows.items()})
    print(table.round(4).to_string())


if __name__ == "__main__":
    main()
