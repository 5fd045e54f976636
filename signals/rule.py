"""``RuleSignal``: a trading rule with nothing to learn, explained by the values it read.

Subclass it and write two small functions of past bars::

    class RSIMeanReversion(RuleSignal):
        name = "rsi"

        def __init__(self, period: int = 14, low: float = 30, high: float = 70):
            self.period, self.low, self.high = period, low, high

        def indicators(self, bars):
            return pd.DataFrame({"rsi": rsi(bars["close"], self.period)})

        def rule(self, values):
            return np.select([values["rsi"] < self.low, values["rsi"] > self.high], [1, -1], 0)

``indicators(bars)`` returns one row per bar, each computed from that bar and earlier
ones only (rolling windows, not centred; no ``shift(-k)``). ``rule(values)`` maps each
row to a direction: +1 long, -1 short, 0 flat, or NaN for no decision at that bar (the
strategy keeps its position: a crossover rule decides only where the averages cross).
The decision's probability is 1 (a rule
is certain of what it says, so it trades at any threshold) unless ``probability(values)``
is overridden. The explanation of a decision is the indicator values of its row: an
exact account of the rule, not an estimate. Return the levels a rule compares with from
``thresholds()`` (``{"rsi": (self.low, self.high)}``) and its sentence says where each value
stood: "rsi = 76.3 > 70 -> down".
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, Self

import numpy as np
import pandas as pd

from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.explainers.base import Explanation, explanation
from xai_backtest.signals.base import Signal, SignalFrame
from xai_backtest.signals.labels import direction_labels

__all__ = ["RuleSignal"]

_LABELS = {1: "up", 0: "flat", -1: "down"}


class RuleSignal(Signal):
    """Base class of rules: implement ``indicators`` and ``rule`` (see the module doc)."""

    name = "rule"
    learns = False

    @abstractmethod
    def indicators(self, bars: pd.DataFrame) -> pd.DataFrame:
        """The named values the rule reads, one row per bar, from bars up to that row."""

    @abstractmethod
    def rule(self, values: pd.DataFrame) -> Any:
        """Direction (+1, 0, -1, or NaN: no decision) of each row of ``values``."""

    def probability(self, values: pd.DataFrame) -> Any:
        """Confidence in each row's direction, in [0, 1]; 1 by default."""
        return np.ones(len(values))

    def thresholds(self) -> Mapping[str, float | Sequence[float]]:
        """Optional: the levels the rule compares each indicator with, e.g. ``{"rsi":
        (self.low, self.high)}``; the sentence then says where each value stands against
        them ("rsi = 76.3 > 70 -> down"). Empty by default."""
        return {}

    def describe(self, values: pd.Series, direction: int) -> str:
        """The sentence of one decision: its values, each against its ``thresholds``, and
        the direction."""
        levels = self.thresholds()
        parts = ", ".join(_against(str(k), float(v), levels.get(str(k), ()))
                          for k, v in values.items())
        return f"{parts} -> {_LABELS[direction]}"

    # -- the contract ------------------------------------------------------------------------
    def _values(self, bars: pd.DataFrame) -> pd.DataFrame:
        values = self.indicators(bars)
        if not isinstance(values, pd.DataFrame) or not values.index.equals(bars.index):
            raise TypeError(f"{type(self).__name__}.indicators must return a DataFrame on the "
                            "bars' index (one row per bar)")
        return values.dropna()

    def decision_times(self, data: MarketData) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self._values(data.bars).index)

    def inputs(self, data: MarketData) -> pd.DataFrame:
        return self.indicators(data.bars)

    def fit(self, history: MarketData) -> Self:
        """Nothing to learn; records the window it was given."""
        if not len(history.bars):
            raise ValueError(f"{type(self).__name__}.fit got no bars")
        self.train_start_ = history.bars.index[0]
        self.train_end_ = history.bars.index[-1]
        self.label_end_ = history.bars.index[0]  # no label is used
        return self

    def _decisions(self, values: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        """The rows that decide (rule not NaN), their directions and probabilities."""
        direction = np.asarray(self.rule(values), dtype=float)
        probability = np.asarray(self.probability(values), dtype=float)
        decided = ~np.isnan(direction) if direction.shape == (len(values),) else None
        if decided is None or not np.isin(direction[decided], (-1, 0, 1)).all():
            raise ValueError(f"{type(self).__name__}.rule must give -1, 0, 1 or NaN per row, "
                             f"got {np.unique(direction)[:5]} (shape {direction.shape})")
        if probability.shape != direction.shape or (
                (probability[decided] < 0) | (probability[decided] > 1)).any():
            raise ValueError(f"{type(self).__name__}.probability must give one value in "
                             "[0, 1] per row")
        return values[decided], direction[decided].astype(int), probability[decided]

    def predict(self, data: MarketData) -> SignalFrame:
        self.check_fitted()
        values, direction, probability = self._decisions(self._values(data.bars))
        frame = pd.DataFrame({"known_at": values.index, "score": direction * probability,
                              "label": [_LABELS[d] for d in direction],
                              "probability": probability, "direction": direction,
                              "fold": -1}, index=values.index)
        return SignalFrame(self.name, frame)

    def explain(self, data: MarketData, at: Sequence[pd.Timestamp]) -> list[Explanation]:
        """The indicator values each decision read (``values``) and the rule's sentence."""
        self.check_fitted()
        values, direction, probability = self._decisions(self._values(data.bars))
        row_of = {t: i for i, t in enumerate(values.index)}
        out = []
        for stamp in at:
            i = row_of[pd.Timestamp(stamp)]
            row = values.iloc[i]
            out.append(explanation(
                "rule", self.name, values.index[i], prediction=_LABELS[int(direction[i])],
                probability=probability[i], values=row.to_numpy(dtype=float),
                feature_names=values.columns, data=row.to_numpy(dtype=float),
                summary=self.describe(row, int(direction[i])),
                exact="the rule's own inputs decide"))
        return out

    def labels(self, data: MarketData) -> pd.Series:
        return direction_labels(data.bars, "open_to_open").reindex(self.decision_times(data))


def _against(name: str, value: float, levels: float | Sequence[float]) -> str:
    """``name = value`` and where it stands against ``levels``: "> 70" above them all,
    "< 30" below them all, ", at the threshold" on one, ", between 30 and 70" else."""
    text = f"{name} = {value:.4g}"
    ordered = sorted(np.atleast_1d(np.asarray(levels, dtype=float)).tolist())
    if not ordered or np.isnan(value):
        return text
    if value in ordered:
        return f"{text}, at the threshold"
    if value > ordered[-1]:
        return f"{text} > {ordered[-1]:g}"
    if value < ordered[0]:
        return f"{text} < {ordered[0]:g}"
    below = max(level for level in ordered if level < value)
    above = min(level for level in ordered if level > value)
    return f"{text}, between {below:g} and {above:g}"
