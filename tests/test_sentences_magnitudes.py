"""Explanation sentences carry magnitudes: SHAP values and shares, a rule's thresholds."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from tests.conftest import make_daily_bars
from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.signals.five_trend import FiveTrendDNN
from xai_backtest.signals.rule import RuleSignal
from xai_backtest.signals.sklearn_signal import _sentence as sklearn_sentence
from xai_backtest.signals.trend_features import FAMILIES


class Band(RuleSignal):
    """Short above ``high``, long below ``low`` of the close's distance from its mean, in %."""

    name = "band"

    def __init__(self, low: float = -1.0, high: float = 1.0):
        self.low, self.high = low, high

    def indicators(self, bars):
        close = bars["close"]
        return pd.DataFrame({"gap_pct": 100 * (close / close.rolling(10).mean() - 1)})

    def rule(self, values):
        gap = values["gap_pct"]
        return np.select([gap < self.low, gap > self.high], [1, -1], 0)

    def thresholds(self):
        return {"gap_pct": (self.low, self.high)}


@pytest.mark.parametrize(("value", "direction", "expected"), [
    (76.3, -1, "rsi = 76.3 > 70 -> down"),
    (25.0, 1, "rsi = 25 < 30 -> up"),
    (50.0, 0, "rsi = 50, between 30 and 70 -> flat"),
    (70.0, 0, "rsi = 70, at the threshold -> flat"),
])
def test_a_rule_sentence_states_the_threshold(value, direction, expected):
    class RSI(Band):
        def thresholds(self):
            return {"rsi": (70, 30)}  # any order

    assert RSI().describe(pd.Series({"rsi": value}), direction) == expected


def test_a_rule_without_thresholds_keeps_its_plain_sentence():
    class Plain(Band):
        def thresholds(self):
            return {}

    assert Plain().describe(pd.Series({"gap_pct": 1.5}), -1) == "gap_pct = 1.5 -> down"


def test_every_explained_rule_decision_names_its_threshold():
    data = MarketData(make_daily_bars(80), None, "TEST")
    signal = Band().fit(data)
    frame = signal.predict(data).frame
    at = list(frame.index[frame["direction"] != 0][:5]) + list(
        frame.index[frame["direction"] == 0][:2])
    for e in signal.explain(data, at):
        gap = float(e.data[0])
        if e.prediction == "down":
            assert e.summary == f"gap_pct = {gap:.4g} > 1 -> down"
        elif e.prediction == "up":
            assert e.summary == f"gap_pct = {gap:.4g} < -1 -> up"
        else:
            assert e.summary == f"gap_pct = {gap:.4g}, between -1 and 1 -> flat"


def _shares(text: str) -> dict[str, tuple[float, int]]:
    return {m[0]: (float(m[1]), int(m[2]))
            for m in re.findall(r"(\w+) \w+ \(([+-][\d.]+), (\d+)%", text)}


def test_the_five_trend_sentence_gives_each_family_its_share_and_names_the_largest():
    families = np.zeros(len(FAMILIES))
    families[[0, 3, 5]] = [0.2, -0.6, 0.2]
    text = FiveTrendDNN()._sentence(families, np.ones(270), np.zeros(270), "upward", 1.0, 0.8)
    shares = _shares(text)
    assert shares == {"close": (0.2, 20), FAMILIES[5]: (0.2, 20), FAMILIES[3]: (-0.6, 60)}
    assert f"{FAMILIES[3]} positive (-0.60, 60%, the largest) pushed against it" in text
    assert "total |SHAP| 1.00" in text and "logit 1.00 = base 0.80 +0.20" in text


def test_the_sklearn_shap_sentence_gives_values_and_shares():
    row = pd.Series({"rsi": 71.2, "gap": -0.5, "vol": 0.01})
    text = sklearn_sentence("down", np.array([0.03, -0.01, 0.0]), row, "probability",
                            "shap_tree")
    assert "rsi = 71.2 (+0.03, 75% of |SHAP|) pushed towards down" in text
    assert "gap = -0.5 (-0.01, 25%) pushed against" in text
