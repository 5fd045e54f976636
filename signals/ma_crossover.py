"""Baseline signal: moving-average crossover with probabilities learned walk-forward.

The class is ``up`` when the fast simple moving average of closes is above the
slow one, else ``down``. ``fit`` learns how often each class was right about the
next bar's close-to-close move in the training window (Laplace-smoothed), which
becomes the decision's probability. The explanation splits the score (the gap
between the averages, as a fraction of the close) into the two averages' parts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import numpy as np
import pandas as pd

from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.explainers.base import Explanation, UpOrDown, explanation
from xai_backtest.signals.base import Signal, SignalFrame
from xai_backtest.signals.labels import LabelBasis, direction_labels, label_reach

__all__ = ["MACrossover"]


class MACrossover(Signal):
    """Fast/slow simple-moving-average crossover on closes."""

    name = "ma_crossover"

    def __init__(self, fast: int = 50, slow: int = 200,
                 label_basis: LabelBasis = "open_to_open") -> None:
        self.fast = fast
        self.slow = slow
        self.label_basis = label_basis

    def _averages(self, bars: pd.DataFrame) -> pd.DataFrame:
        if not 1 <= self.fast < self.slow:
            raise ValueError(f"need 1 <= fast < slow, got fast={self.fast}, slow={self.slow}")
        close = bars["close"]
        return pd.DataFrame({
            "close": close,
            "fast": close.rolling(self.fast).mean(),
            "slow": close.rolling(self.slow).mean(),
        }).iloc[self.slow - 1:]

    def decision_times(self, data: MarketData) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(data.bars.index[self.slow - 1:])

    def inputs(self, data: MarketData) -> pd.DataFrame:
        return self._averages(data.bars)

    def labels(self, data: MarketData) -> pd.Series:
        """Direction after each decision under ``label_basis`` (signals/labels.py): by
        default the return a next-open trade earns, open t+1 to open t+2."""
        return direction_labels(data.bars, self.label_basis).reindex(self.decision_times(data))

    def fit(self, history: MarketData) -> Self:
        averages = self._averages(history.bars)
        truth = self.labels(history)
        known = truth.notna().to_numpy()  # the last bar's label needs a bar we lack
        if not known.any():
            raise ValueError(f"history of {len(history.bars)} bars is too short for "
                             f"slow={self.slow}; need at least {self.slow + 1}")
        up_class = (averages["fast"] > averages["slow"]).to_numpy()[known]
        rose = (truth.to_numpy()[known] == "up")
        self.p_up_ = (np.sum(rose & up_class) + 1) / (np.sum(up_class) + 2)
        self.p_down_ = (np.sum(~rose & ~up_class) + 1) / (np.sum(~up_class) + 2)
        self.n_train_ = int(known.sum())
        self.train_start_ = history.bars.index[0]
        self.train_end_ = history.bars.index[-1]
        last = np.flatnonzero(known)[-1] + self.slow - 1
        self.label_end_ = history.bars.index[last + label_reach(self.label_basis)]
        return self

    def predict(self, data: MarketData) -> SignalFrame:
        self.check_fitted()
        averages = self._averages(data.bars)
        gap = ((averages["fast"] - averages["slow"]) / averages["close"]).to_numpy()
        up = gap > 0
        return SignalFrame.up_down(self.name, averages.index, up=up, score=gap,
                                   probability=np.where(up, self.p_up_, self.p_down_))

    def explain(self, data: MarketData, at: Sequence[pd.Timestamp]) -> list[Explanation]:
        self.check_fitted()
        averages = self._averages(data.bars)
        out = []
        for stamp in at:
            row = averages.loc[pd.Timestamp(stamp)]
            fast_part = row["fast"] / row["close"] - 1
            slow_part = -(row["slow"] / row["close"] - 1)
            side = UpOrDown(row["fast"] > row["slow"])
            right = self.p_up_ if side.up else self.p_down_
            gap = fast_part + slow_part
            relation = "above" if side.up else "below"
            summary = (f"SMA{self.fast} {row['fast']:,.2f} is {abs(gap):.2%} of the close "
                       f"{relation} SMA{self.slow} {row['slow']:,.2f}, so {side.label}; that "
                       f"class was right {right:.1%} of the time in training")
            out.append(explanation(
                "rule", self.name, stamp, prediction=side.label, probability=right,
                values=np.array([fast_part, slow_part]),
                feature_names=(f"sma_{self.fast}", f"sma_{self.slow}"),
                data=np.array([row["fast"], row["slow"]]), summary=summary,
                exact="the two averages' parts add up to the gap decided on"))
        return out
