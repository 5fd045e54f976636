"""An independent engine reproduced trade for trade: backtesting.py's test-pinned SmaCross.

backtesting.py (a test-only dependency) pins SMA 10/30 close-and-reverse on its GOOG
sample, next-open fills, no commission, 10,000 cash, whole shares at 0.9999 of equity,
open trades closed at the last bar (``finalize_trades=True``): 66 trades, final equity
51,422.99. The same rule as a ``RuleSignal`` through our engine must give the same
entries, exits, prices, sizes and equity.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from xai_backtest import Backtest, RuleSignal

backtesting = pytest.importorskip("backtesting", reason="backtesting.py is a test dependency "
                                  "(pip install -e '.[dev]')")


class SmaCross(RuleSignal):
    """+1 where the fast average crosses above the slow one, -1 below; else no decision."""

    name = "sma_cross"

    def __init__(self, fast: int = 10, slow: int = 30):
        self.fast = fast
        self.slow = slow

    def indicators(self, bars):
        close = bars["close"]
        fast, slow = close.rolling(self.fast).mean(), close.rolling(self.slow).mean()
        return pd.DataFrame({"fast": fast, "slow": slow, "fast_before": fast.shift(1),
                             "slow_before": slow.shift(1)})

    def rule(self, v):
        up = (v["fast_before"] < v["slow_before"]) & (v["fast"] > v["slow"])
        down = (v["fast_before"] > v["slow_before"]) & (v["fast"] < v["slow"])
        return np.select([up, down], [1.0, -1.0], np.nan)


def goog() -> pd.DataFrame:
    from backtesting.test import GOOG

    bars = GOOG.rename(columns=str.lower)[["open", "high", "low", "close", "volume"]]
    bars.index = pd.DatetimeIndex(bars.index).tz_localize("America/New_York")
    return bars.astype(float)


def reference_trades() -> tuple[pd.DataFrame, float]:
    from backtesting import Backtest as ReferenceBacktest
    from backtesting import Strategy
    from backtesting.lib import crossover
    from backtesting.test import GOOG, SMA

    class Reference(Strategy):
        def init(self):
            self.sma1 = self.I(SMA, self.data.Close, 10)
            self.sma2 = self.I(SMA, self.data.Close, 30)

        def next(self):
            if crossover(self.sma1, self.sma2):
                self.position.close()
                self.buy()
            elif crossover(self.sma2, self.sma1):
                self.position.close()
                self.sell()

    stats = ReferenceBacktest(GOOG, Reference, cash=10_000, finalize_trades=True).run()
    return stats._trades, float(stats["Equity Final [$]"])


@pytest.mark.slow
def test_goog_sma_cross_is_reproduced_trade_for_trade(tmp_path):
    result = Backtest(goog(), signals=[SmaCross()], cash=10_000, tearsheet=False,
                      cache_dir=None, output_dir=str(tmp_path),
                      costs={"commission": 0.0, "slippage": 0.0},
                      walk_forward={"min_train": 1, "retrain_every": 10_000},
                      strategy={"threshold": 0.0, "allow_short": True, "sizing": "shares",
                                "position_size": 0.9999, "close_at_end": True}).run(
                                    progress=False)
    ours = result.trades[result.trades["strategy"] == "sma_cross"].reset_index(drop=True)
    reference, final = reference_trades()
    assert final == pytest.approx(51_422.99, abs=0.005)  # backtesting.py's own pin
    assert len(ours) == len(reference) == 66
    def dates(column: pd.Series) -> list[str]:
        return [f"{pd.Timestamp(t):%Y-%m-%d}" for t in column]

    assert dates(ours["entry_time"]) == dates(reference["EntryTime"])
    assert dates(ours["exit_time"]) == dates(reference["ExitTime"])
    assert ours["size"].tolist() == reference["Size"].astype(float).tolist()
    assert ours["entry_price"].to_numpy() == pytest.approx(reference["EntryPrice"], abs=1e-9)
    assert ours["exit_price"].to_numpy() == pytest.approx(reference["ExitPrice"], abs=1e-9)
    assert ours["net_pnl"].to_numpy() == pytest.approx(reference["PnL"], abs=1e-6)
    assert round(result.equity["sma_cross"].iloc[-1], 2) == 51_422.99  # the same pin, ours
    # backtesting.py's first trade on its GOOG test data: a short at that day's open
    assert ours["side"].iloc[0] == "short" and ours["entry_price"].iloc[0] == 180.36
    status = json.loads((result.folder / "run.json").read_text())
    assert status["rejected_orders"]["sma_cross"] == 0  # every reversal filled in one step
