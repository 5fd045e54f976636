from __future__ import annotations

import numpy as np
import pytest

from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.signals.ma_crossover import MACrossover


@pytest.mark.parametrize(("basis", "start", "end"), [
    ("open_to_open", lambda b: b["open"].shift(-1), lambda b: b["open"].shift(-2)),
    ("close_to_close", lambda b: b["close"], lambda b: b["close"].shift(-1)),
])
def test_probabilities_are_training_hit_rates(daily_bars, basis, start, end):
    data = MarketData(daily_bars)
    signal = MACrossover(fast=5, slow=20, label_basis=basis).fit(data)
    close = daily_bars["close"]
    fast, slow = close.rolling(5).mean(), close.rolling(20).mean()
    rose = end(daily_bars) > start(daily_bars)
    valid = slow.notna() & end(daily_bars).notna()
    up = (fast > slow) & valid
    expected = ((rose & up).sum() + 1) / (up.sum() + 2)
    assert signal.p_up_ == pytest.approx(expected, abs=1e-12)
    assert signal.label_end_ == daily_bars.index[-1]  # the last label reads the last bar


def test_explanation_parts_add_up_to_the_score(daily_bars):
    data = MarketData(daily_bars)
    signal = MACrossover(fast=5, slow=20).fit(data)
    decisions = signal.predict(data).frame
    at = list(decisions.index[-5:])
    for e in signal.explain(data, at):
        assert e.values.sum() == pytest.approx(decisions.loc[e.decision_time, "score"], abs=1e-12)
        assert e.feature_names == ("sma_5", "sma_20")


def test_bad_windows_are_refused(daily_bars):
    with pytest.raises(ValueError, match="fast < slow"):
        MACrossover(fast=20, slow=5).fit(MarketData(daily_bars))


def test_labels_look_one_bar_ahead(daily_bars):
    data = MarketData(daily_bars)
    labels = MACrossover(fast=5, slow=20).labels(data)
    close = daily_bars["close"]
    assert labels.iloc[0] == ("up" if close.iloc[20] > close.iloc[19] else "down")
    assert labels.iloc[-1] is None
    assert np.all(labels.index == daily_bars.index[19:])
