"""Engine overhead: our signal strategy vs a bare backtrader strategy on the same signal column.

Ours runs with its look-ahead guard on; the bare one with backtrader's plain line
access. Both read a precomputed daily decision (made at 10:15 on each NIFTY session) from the
same feed of ~190,000 minute bars and trade it with the same costs; the bare one is
the least a backtrader user would write. Prints bars/second of each and the ratio.

    python benchmarks/engine_overhead.py [--data ../shared/data/nifty_minute] [--repeat 3]
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from datetime import time as clock
from pathlib import Path

import backtrader as bt
import numpy as np
import pandas as pd
from backtrader.linebuffer import LineBuffer

from xai_backtest.data_feeds import NSE, filter_session, load_bars
from xai_backtest.data_feeds.bt_feeds import signal_feed
from xai_backtest.signals.base import SignalFrame
from xai_backtest.strategies import guard
from xai_backtest.strategies.backtest import run_strategy
from xai_backtest.strategies.costs import Costs

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "nifty_minute"


class BareStrategy(bt.Strategy):
    """Reads the signal line and targets a position with backtrader's own helper."""

    def next(self) -> None:
        direction = self.data.direction[0]
        if not math.isnan(direction):
            self.order_target_percent(target=0.99 if direction > 0 else 0.0)


def daily_decisions(bars: pd.DataFrame, seed: int = 0) -> SignalFrame:
    """One random long/flat decision per session, at the 10:15 bar."""
    at = bars.index[bars.index.time == clock(10, 15)]
    rng = np.random.default_rng(seed)
    direction = rng.integers(0, 2, len(at))
    frame = pd.DataFrame({"known_at": at, "score": direction.astype(float),
                          "label": np.where(direction, "up", "down"), "probability": 1.0,
                          "direction": direction, "fold": -1}, index=at)
    return SignalFrame("random", frame)


def run_bare(bars: pd.DataFrame, signals: SignalFrame) -> float:
    """Bare backtrader, with its own unguarded line access restored for the run."""
    guarded_getitem = LineBuffer.__getitem__
    LineBuffer.__getitem__ = guard._plain_getitem  # type: ignore[method-assign]
    try:
        return _timed_bare(bars, signals)
    finally:
        LineBuffer.__getitem__ = guarded_getitem  # type: ignore[method-assign]


def _timed_bare(bars: pd.DataFrame, signals: SignalFrame) -> float:
    cerebro = bt.Cerebro(stdstats=False, preload=True, runonce=True)
    cerebro.adddata(signal_feed(bars, signals.frame))
    cerebro.broker.setcash(100_000)
    Costs().apply(cerebro.broker)
    cerebro.addstrategy(BareStrategy)
    start = time.perf_counter()
    cerebro.run()
    return time.perf_counter() - start


def run_ours(bars: pd.DataFrame, signals: SignalFrame) -> float:
    start = time.perf_counter()
    run_strategy("ours", bars, signals)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    bars, _ = filter_session(load_bars(args.data), NSE)
    signals = daily_decisions(bars)
    bare = min(run_bare(bars, signals) for _ in range(args.repeat))
    ours = min(run_ours(bars, signals) for _ in range(args.repeat))
    n = len(bars)
    print(f"{n:,} minute bars, {len(signals)} decisions, best of {args.repeat}")
    print(f"{'engine':<28}{'seconds':>10}{'bars/s':>12}")
    print(f"{'bare backtrader strategy':<28}{bare:>10.2f}{n / bare:>12,.0f}")
    print(f"{'our SignalStrategy':<28}{ours:>10.2f}{n / ours:>12,.0f}")
    print(f"overhead ratio (ours / bare): {ours / bare:.3f}  (target <= 1.15)")


if __name__ == "__main__":
    main()
