"""RuleSignal: a rule with nothing to learn, checked by the public contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xai_backtest import Backtest
from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.signals.contract import ContractError, check_signal
from xai_backtest.signals.rule import RuleSignal


def rsi(close: pd.Series, period: int) -> pd.Series:
    change = close.diff()
    gain = change.clip(lower=0).rolling(period).mean()
    loss = (-change.clip(upper=0)).rolling(period).mean()
    return 100 - 100 / (1 + gain / loss)


class RSIRule(RuleSignal):
    name = "rsi"

    def __init__(self, period: int = 14, low: float = 30.0, high: float = 70.0):
        self.period = period
        self.low = low
        self.high = high

    def indicators(self, bars):
        return pd.DataFrame({f"rsi_{self.period}": rsi(bars["close"], self.period)})

    def rule(self, values):
        value = values.iloc[:, 0]
        return np.select([value < self.low, value > self.high], [1, -1], 0)


class PeekingRule(RSIRule):
    def indicators(self, bars):  # uses tomorrow's close: look-ahead the contract catches
        return pd.DataFrame({"next_return": bars["close"].shift(-1) / bars["close"] - 1})

    def rule(self, values):
        return np.where(values["next_return"] > 0, 1, -1)


def test_a_rule_meets_the_contract(daily_bars, tmp_path):
    check_signal(RSIRule(), MarketData(daily_bars), folder=tmp_path)


def test_the_contract_catches_a_rule_that_reads_the_future(daily_bars):
    with pytest.raises(ContractError, match="look-ahead"):
        check_signal(PeekingRule(), MarketData(daily_bars))


def test_decisions_and_explanations_are_the_values_the_rule_read(daily_bars):
    data = MarketData(daily_bars)
    signal = RSIRule(period=5).fit(data)
    frame = signal.predict(data).frame
    values = rsi(daily_bars["close"], 5).dropna()
    assert frame.index.equals(values.index)
    expected = np.select([values < 30, values > 70], [1, -1], 0)
    assert (frame["direction"].to_numpy() == expected).all()
    assert (frame["probability"] == 1.0).all()  # certain: trades at any threshold
    stamp = frame.index[frame["direction"] == 1][0]
    (explanation,) = signal.explain(data, [stamp])
    assert explanation.feature_names == ("rsi_5",)
    assert explanation.data[0] == pytest.approx(values[stamp])
    assert explanation.summary.endswith("-> up") and explanation.method == "rule"


@pytest.mark.slow
def test_a_rule_trades_at_the_default_threshold(tmp_path):
    result = Backtest({"source": "sample", "start": "2010-01-01"}, signals=[RSIRule()],
                      output_dir=str(tmp_path), tearsheet=False, cache_dir=None,
                      walk_forward={"min_train": 252, "retrain_every": 252}).run(progress=False)
    trades = result.trades[result.trades["strategy"] == "rsi"]
    assert len(trades) > 0
    assert trades["entry_explanation"].str.contains("rsi_14 =").all()


@pytest.mark.parametrize(("rule", "message"), [
    (lambda values: np.full(len(values), 2), "must give -1, 0, 1 or NaN"),
    (lambda values: np.ones(3), "must give -1, 0, 1 or NaN per row"),
])
def test_a_broken_rule_fails_clearly(daily_bars, rule, message):
    class Broken(RSIRule):
        pass

    Broken.rule = lambda self, values: rule(values)
    data = MarketData(daily_bars)
    with pytest.raises(ValueError, match=message):
        Broken().fit(data).predict(data)


class CountsBarsAhead(RuleSignal):
    """Reads how many bars follow each row: no later value changes it, so redrawing the
    future does not catch it; deciding on the bars up to each row does."""

    name = "ahead"

    def indicators(self, bars):
        return pd.DataFrame({"bars_after": np.arange(len(bars))[::-1].astype(float)},
                            index=bars.index)

    def rule(self, values):
        return np.where(values["bars_after"] > 3, 1, -1)


def test_the_contract_checks_prefix_invariance(daily_bars):
    with pytest.raises(ContractError, match="prefix invariance: signal 'ahead' made 'down'"):
        check_signal(CountsBarsAhead(), MarketData(daily_bars))
