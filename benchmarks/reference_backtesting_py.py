"""Reference: the same moving-average crossover on our two engines and in backtesting.py.

All three trade the same 50/200-bar SMA crossover, long/flat: buy at the next open after
the fast average crosses above the slow one, sell after it crosses below, as many whole
shares as the equity buys (backtesting.py's default ``buy()``), 5 bp commission, the last
position closed at the last bar's open.
On the S&P 500 daily bars shipped by `arch`, and on the NIFTY minute bars of
../shared/data (when present). backtesting.py is a dev dependency. Prints bars/second of
our fast path, our backtrader engine and backtesting.py, the ratios, and the final
equities, which agree to the cent.

Why an earlier version differed by 9% (321,520.58 vs 295,100.70): it went long on the
*state* fast > slow, so it bought at the open after the first day the 200-day average
existed (1999-10-19, at 1,254.13), while backtesting.py waits for a crossover *event*
(bought 1999-11-12, at 1,381.46, 10.2% higher): that entry alone is worth 25,307.33 of
the gap; fractional vs whole shares is 1,112.55, and the end-of-data close nothing (flat).

    python benchmarks/reference_backtesting_py.py [--repeat 3] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

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


def ours(bars: pd.DataFrame, engine: str) -> tuple[float, float]:
    start = time.perf_counter()
    decisions = crossover_decisions(bars)  # the indicator is part of the measured work
    result = run_strategy("sma", bars, decisions, costs=Costs(0.0005, 0.0), sizing="shares",
                          position_size=1.0, close_at_end=True, engine=engine)
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


def compare(label: str, bars: pd.DataFrame, repeat: int) -> list[str]:
    """One markdown table: seconds, bars/s and final equity of each engine."""
    timings = {"fast path": min((ours(bars, "fast") for _ in range(repeat)),
                                key=lambda r: r[0]),
               "backtrader": min((ours(bars, "backtrader") for _ in range(repeat)),
                                 key=lambda r: r[0]),
               "backtesting.py": min((reference(bars) for _ in range(repeat)),
                                     key=lambda r: r[0])}
    n = len(bars)
    reference_seconds = timings["backtesting.py"][0]
    lines = [f"{label}: {n:,} bars, SMA {FAST}/{SLOW} crossover, best of {repeat}", "",
             "| engine | seconds | bars/s | speed vs backtesting.py | final equity |",
             "|---|---|---|---|---|"]
    for name, (seconds, equity) in timings.items():
        lines.append(f"| {name} | {seconds:.4f} | {n / seconds:,.0f} | "
                     f"{reference_seconds / seconds:.2f}x | {equity:,.2f} |")
    return lines + [""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2]
                        / "shared" / "data")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    try:
        import backtesting  # noqa: F401
    except ImportError:
        raise SystemExit("install the reference first: pip install backtesting") from None
    lines = compare("S&P 500 daily (arch sample)", load_sample_bars("sp500"), args.repeat)
    if (args.data / "nifty_minute").is_dir():
        from xai_backtest.data_feeds import NSE, filter_session, load_bars

        minute, _ = filter_session(load_bars(args.data / "nifty_minute"), NSE)
        lines += compare("NIFTY 50 minute bars (shared data)", minute, args.repeat)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
