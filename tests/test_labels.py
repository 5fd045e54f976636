"""Direction labels: the return a next-open trade earns, and close to close."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xai_backtest.engine.report import direction_quality
from xai_backtest.signals.base import SignalFrame
from xai_backtest.signals.labels import direction_labels


@pytest.fixture
def bars():
    index = pd.bdate_range("2022-01-03", periods=5, tz="UTC")
    # a gap up overnight then a fall during the day: the two labels disagree at bar 0
    return pd.DataFrame({"open": [100, 105, 104, 104, 110], "high": [101, 106, 105, 105, 111],
                         "low": [99, 103, 103, 102, 109], "close": [100, 103, 104, 103, 110],
                         "volume": 1.0}, index=index)


def test_open_to_open_is_the_return_a_next_open_fill_earns(bars):
    labels = direction_labels(bars, "open_to_open")
    # t0: open t1 105 -> open t2 104 down; t1: 104 -> 104 not up; t2: 104 -> 110 up
    assert labels.tolist() == ["down", "down", "up", None, None]


def test_close_to_close_includes_the_overnight_gap(bars):
    labels = direction_labels(bars, "close_to_close")
    assert labels.tolist() == ["up", "up", "down", "up", None]


def test_the_report_scores_decisions_under_both_labels(bars):
    index = bars.index[:3]
    decisions = SignalFrame.up_down("s", index, up=np.array([True, True, True]),
                                    score=np.ones(3), probability=np.ones(3))
    scores = direction_quality(decisions, bars)
    assert scores["open_to_open"].accuracy == pytest.approx(1 / 3)
    assert scores["close_to_close"].accuracy == pytest.approx(2 / 3)
    assert scores["open_to_open"].majority_accuracy == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="label basis"):
        direction_labels(bars, "high_to_low")


def test_five_trend_is_scored_on_every_decision_with_none_counted():
    from tests.conftest import make_daily_bars
    from xai_backtest.data_feeds.market_data import MarketData
    from xai_backtest.engine.report import _subset_quality
    from xai_backtest.signals.five_trend import FiveTrendDNN

    data = MarketData(make_daily_bars(300))
    signal = FiveTrendDNN()
    scored, trained = signal.evaluation_labels(data), signal.labels(data)
    assert (scored == "none").sum() > 0  # days without a clear pattern are outcomes too
    assert trained[scored == "none"].isna().all()  # ...that training leaves out
    assert trained.notna().sum() < scored.notna().sum()
    index = scored.dropna().index
    decisions = SignalFrame("five_trend", pd.DataFrame({
        "known_at": index, "score": 0.0, "label": "upward", "probability": 0.5,
        "direction": 1, "fold": -1}, index=index))
    (quality,) = _subset_quality(decisions.frame, scored, trained).values()
    assert quality.n == int(trained.notna().sum())
