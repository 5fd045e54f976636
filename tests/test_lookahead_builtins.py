"""Every registered signal passes the run-time look-ahead check (a new built-in cannot
ship without a case here), and the check catches a leak planted in a built-in's input."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from tests.conftest import make_daily_bars
from tests.minute_data import make_minute_bars
from tests.news_data import make_news_data
from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.engine.folds import PerInstrument
from xai_backtest.engine.lookahead_guard import check_lookahead
from xai_backtest.signals.five_trend import FiveTrendDNN
from xai_backtest.signals.gadf_cnn import GADFCNN
from xai_backtest.signals.ma_crossover import MACrossover
from xai_backtest.signals.news_lstm import NewsLSTM
from xai_backtest.signals.ohlc_lstm import OHLCLSTM
from xai_backtest.signals.registry import SIGNAL_KINDS
from xai_backtest.signals.sklearn_signal import SklearnSignal
from xai_backtest.signals.vader import VaderSentiment
from xai_backtest.signals.walk_forward import LookAheadError, WalkForwardSignal

DAILY = MarketData(make_daily_bars(360, seed=3))
NEWS = make_news_data(200)
#: kind -> (a small instance, data, walk-forward min_train)
CASES = {
    "ma_crossover": (lambda: MACrossover(fast=5, slow=20), DAILY, 60),
    "gadf_cnn": (lambda: GADFCNN(filters=4, epochs=2, min_samples=20, seed=0),
                 MarketData(make_minute_bars(days=50, seed=1)), 30),
    "five_trend": (lambda: FiveTrendDNN(epochs=2, background=20, lime_samples=50, seed=0),
                   DAILY, 120),
    "news_lstm": (lambda: NewsLSTM(max_len=8, embedding_dim=4, filters=4, lstm_units=4,
                                   epochs=2, lime_samples=40, lime_words=4, seed=0), NEWS, 100),
    "vader": (lambda: VaderSentiment(), NEWS, 100),
    "ohlc_lstm": (lambda: OHLCLSTM(window=5, units=4, epochs=2, seed=0), DAILY, 120),
    "sklearn": (lambda: SklearnSignal(model=LogisticRegression()), DAILY, 120),
}


def test_every_registered_signal_has_a_case():
    assert set(CASES) == set(SIGNAL_KINDS)


def _walk(kind: str) -> tuple[WalkForwardSignal, MarketData]:
    make, data, min_train = CASES[kind]
    model = WalkForwardSignal(make(), min_train=min_train, retrain_every=40, progress=False)
    return model.fit(data), data


@pytest.mark.parametrize("kind", list(CASES))
def test_a_built_in_signal_passes_the_check(kind):
    import torch

    torch.set_num_threads(1)
    model, data = _walk(kind)
    decisions = model.predict(data)
    check = check_lookahead({kind: PerInstrument(kind, {"x": model})}, {"x": data},
                            {kind: {"x": decisions}}, cuts=3, seed=0)
    assert len(check.cuts[kind]) == 3


def test_a_leak_planted_in_a_built_in_input_is_caught(monkeypatch):
    """The moving averages read one bar ahead: the check names the average."""
    original = MACrossover._averages

    def ahead(self, bars: pd.DataFrame) -> pd.DataFrame:
        return original(self, bars).shift(-1)

    monkeypatch.setattr(MACrossover, "_averages", ahead)
    model, data = _walk("ma_crossover")
    with pytest.raises(LookAheadError, match="first input that changed: '(fast|slow|close)'"):
        check_lookahead({"ma": PerInstrument("ma", {"x": model})}, {"x": data},
                        {"ma": {"x": model.predict(data)}}, cuts=3, seed=0)
