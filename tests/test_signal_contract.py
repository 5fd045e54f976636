"""The signal contract (``check_signal``: fit/predict/explain/save/load, no look-ahead,
determinism) over every registered signal kind, as one parametrised test: a new built-in
in ``signals/registry.py`` fails ``test_every_registered_signal_has_a_case`` until it has
a small instance here, and then runs the contract."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import pytest
from sklearn.ensemble import GradientBoostingClassifier

from tests.conftest import make_daily_bars
from tests.minute_data import make_minute_bars
from tests.news_data import make_news_data
from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.signals.base import Signal
from xai_backtest.signals.contract import check_signal
from xai_backtest.signals.five_trend import FiveTrendDNN
from xai_backtest.signals.gadf_cnn import GADFCNN
from xai_backtest.signals.ma_crossover import MACrossover
from xai_backtest.signals.news_lstm import NewsLSTM
from xai_backtest.signals.ohlc_lstm import OHLCLSTM
from xai_backtest.signals.registry import SIGNAL_KINDS
from xai_backtest.signals.sklearn_signal import SklearnSignal
from xai_backtest.signals.vader import VaderSentiment

pytestmark = pytest.mark.usefixtures("one_thread")


@cache
def daily(n: int, seed: int = 0) -> MarketData:
    return MarketData(make_daily_bars(n, seed=seed))


@cache
def minutes() -> MarketData:
    return MarketData(make_minute_bars(days=45, seed=1))


@cache
def news(n: int = 160) -> MarketData:
    return make_news_data(n)


TINY_CNN = {"filters": 4, "epochs": 3, "min_samples": 20, "seed": 0}

#: (kind, variant) -> (a factory of small unfitted instances, the data to check them on);
#: sizes are the smallest that leave the contract enough decisions on each side of its cut
CASES: dict[tuple[str, str], tuple[Callable[[], Signal], Callable[[], MarketData]]] = {
    ("ma_crossover", "daily"): (lambda: MACrossover(fast=5, slow=20), lambda: daily(600)),
    ("gadf_cnn", "minute sessions"): (lambda: GADFCNN(**TINY_CNN), minutes),
    ("gadf_cnn", "daily closes"): (lambda: GADFCNN(frequency="daily", window=20, **TINY_CNN),
                                   lambda: MarketData(make_daily_bars().iloc[:300])),
    ("five_trend", "daily"): (lambda: FiveTrendDNN(epochs=2, background=20, lime_samples=50,
                                                   seed=0), lambda: daily(320, seed=3)),
    ("news_lstm", "headlines"): (lambda: NewsLSTM(max_len=8, embedding_dim=4, filters=4,
                                                  lstm_units=4, epochs=2, lime_samples=40,
                                                  lime_words=4, seed=0), news),
    ("vader", "headlines"): (VaderSentiment, news),
    ("ohlc_lstm", "daily"): (lambda: OHLCLSTM(window=5, units=4, epochs=2, seed=0), news),
    ("sklearn", "gradient boosting"): (
        lambda: SklearnSignal(model=GradientBoostingClassifier(n_estimators=20)),
        lambda: daily(400)),
}


def test_every_registered_signal_has_a_case():
    assert {kind for kind, _ in CASES} == set(SIGNAL_KINDS)


@pytest.mark.parametrize(("kind", "variant"), list(CASES), ids=[f"{k}-{v}" for k, v in CASES])
def test_every_registered_signal_meets_the_contract(kind, variant, tmp_path):
    make, data = CASES[kind, variant]
    assert type(make()).__module__ + ":" + type(make()).__name__ == SIGNAL_KINDS[kind]
    check_signal(make, data(), folder=tmp_path)
    assert (tmp_path / "model").is_dir()  # the round trip saved the model there
