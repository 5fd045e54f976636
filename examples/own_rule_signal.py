"""Bring your own rule: an RSI mean-reversion signal, backtested against buy-and-hold.

    python examples/own_rule_signal.py

No `if __name__ == "__main__":` guard is needed: the run starts no process that
re-imports this script.
"""

import numpy as np
import pandas as pd

from xai_backtest import Backtest, RuleSignal


class RSIMeanReversion(RuleSignal):
    name = "rsi"

    def __init__(self, period: int = 14, high: float = 70.0):
        self.period, self.high = period, high

    def indicators(self, bars):
        change = bars["close"].diff()
        gain = change.clip(lower=0).rolling(self.period).mean()
        loss = (-change.clip(upper=0)).rolling(self.period).mean()
        return pd.DataFrame({"rsi": 100 - 100 / (1 + gain / loss)})

    def rule(self, values):  # long unless overbought; shorts off by default: -1 is flat
        return np.where(values["rsi"] > self.high, -1, 1)


result = Backtest("sp500", signals=[RSIMeanReversion()], tearsheet=False).run()
print(result.comparison.loc[["total_return", "sharpe", "trades"]])
print(result.trades[["entry_time", "exit_time", "net_pnl", "entry_explanation"]].head())
print("report:", result.report)
