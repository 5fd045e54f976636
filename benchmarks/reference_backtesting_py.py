"""Reference: the same moving-average crossover in our engine and in backtesting.py.

Both trade the same 50/200-day SMA crossover, long/flat, on the S&P 500 daily bars
shipped by `arch`: buy at the next open after the fast average crosses above the slow
one, sell after it crosses below, whole shares at 0.9999 of equity, 5 bp commission, the
last position closed at the last bar's open. backtesting.py is a dev dependency. Prints
bars/second of each, the ratio, and both final equities, which agree to the cent.

Why an earlier version differed by 9% (321,520.58 vs 295,100.70): it went long on the
*state* fast > slow, so it bought at the open after the first day the 200-day average
existed (1999-10-19, at 1,254.13), while backtesting.py waits for a crossover *event*
(bought 1999-11-12, at 1,381.46, 10.2% higher): that entry alone is worth 25,307.33 of
the gap; fractional vs whole shares is 1,112.55, and the end-of-data close nothing (flat).

    python benchmarks/reference_backtesting_py.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from xai_backtest.data_feeds import load_sample_bars
from xai_backtest.signals.base import SignalFrame
from xai_backtest.strategies.backtest import run_strategy
from xai_backtest.strategies.costs import Costs

FAST, SLOW = 50, 200


def crossover_decisions(bars: pd.DataFrame) -> SignalFrame:
    """+1 (long) where the fast average crosses above the slow one, 0 (flat) where it
    crosses below; no decision on other bars."""
    close = bars["close"]
    fast, slow = close.rolling(FAST).mean(), close.rolling(SLOW).mean()
    up = ((fast.shift(1) < slow.shift(1)) & (fast > slow)).to_numpy()
    down = ((fast.shift(1) > slow.shift(1)) & (fast < slow)).to_numpy()
    index = bars.index[up | down]
    frame = pd.DataFrame({"known_at": index, "score": 0.0,
                          "label": np.where(up[up | down], "up", "down"), "probability": 1.0,
                          "direction": np.where(up[up | down], 1, 0), "fold": -1}, index=index)
    return SignalFrame("sma", frame)


def ours(bars: pd.DataFrame) -> tuple[float, float]:
    start = time.perf_counter()
    decisions = crossover_decisions(bars)  # the indicator is part of the measured work
    result = run_strategy("sma", bars, decisions, costs=Costs(0.0005, 0.0), sizing="shares",
                          position_size=0.9999, close_at_end=True)
    return time.perf_counter() - start, float(result.equity.iloc[-1])


def reference(bars: pd.DataFrame) -> tuple[float, float]:
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover

    def sma(values: np.ndarray, n: int) -> np.ndarray:
        return pd.Series(values).rolling(n).mean().to_numpy()

    class SmaCross(Strategy):
        def init(self) -> None:
            self.fast = self.I(sma, self.data.Close, FAST)
            self.slow = self.I(sma, self.data.Close, SLOW)

        def next(self) -> None:
            if crossover(self.fast, self.slow):
                self.buy()
            elif crossover(self.slow, self.fast):
                self.position.close()

    frame = bars.rename(columns=str.title).tz_localize(None)
    start = time.perf_counter()
    stats = Backtest(frame, SmaCross, cash=100_000, commission=0.0005,
                     finalize_trades=True).run()
    return time.perf_counter() - start, float(stats["Equity Final [$]"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    bars = load_sample_bars("sp500")
    try:
        import backtesting  # noqa: F401
    except ImportError:
        raise SystemExit("install the reference first: pip install backtesting") from None
    a = min((ours(bars) for _ in range(args.repeat)), key=lambda r: r[0])
    b = min((reference(bars) for _ in range(args.repeat)), key=lambda r: r[0])
    n = len(bars)
    print(f"{n:,} daily bars, SMA {FAST}/{SLOW} crossover, best of {args.repeat}")
    print(f"{'engine':<16}{'seconds':>9}{'bars/s':>10}{'final equity':>15}")
    print(f"{'ours':<16}{a[0]:>9.3f}{n / a[0]:>10,.0f}{a[1]:>15,.2f}")
    print(f"{'backtesting.py':<16}{b[0]:>9.3f}{n / b[0]:>10,.0f}{b[1]:>15,.2f}")
    print(f"ratio (ours bars/s / backtesting.py bars/s): {b[0] / a[0]:.2f}")
    print(f"final equity difference: {a[1] - b[1]:+,.2f} (the same rule, sizing and costs)")


if __name__ == "__main__":
    main()
