"""Property-based no-look-ahead for the model signals' feature pipelines: a fitted model's
decisions, probabilities and explanations at or before a random time t do not change when
every bar and headline after t changes at random.

Each model is fitted once (small, on data before a fixed cut); hypothesis then draws t,
the random factors and the replacement headline text.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import make_daily_bars
from tests.minute_data import make_minute_bars
from tests.news_data import make_news_data
from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.signals.contract import perturb_after
from xai_backtest.signals.five_trend import FiveTrendDNN
from xai_backtest.signals.gadf_cnn import GADFCNN
from xai_backtest.signals.news_lstm import NewsLSTM
from xai_backtest.signals.ohlc_lstm import OHLCLSTM

SETTINGS = settings(max_examples=8, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])
DAILY = MarketData(make_daily_bars(320, seed=3))
CASES = {
    "gadf_cnn minute": (lambda: GADFCNN(filters=4, epochs=2, min_samples=20, seed=0),
                        MarketData(make_minute_bars(days=40, seed=1))),
    "gadf_cnn daily": (lambda: GADFCNN(frequency="daily", window=20, filters=4, epochs=2,
                                       min_samples=20, seed=0), DAILY),
    "five_trend": (lambda: FiveTrendDNN(epochs=2, background=20, lime_samples=50, seed=0),
                   DAILY),
    "news_lstm": (lambda: NewsLSTM(max_len=8, embedding_dim=4, filters=4, lstm_units=4,
                                   epochs=2, lime_samples=40, lime_words=4, seed=0),
                  make_news_data(160)),
    "ohlc_lstm": (lambda: OHLCLSTM(window=5, units=4, epochs=2, seed=0), DAILY),
}


@pytest.fixture(scope="module", params=list(CASES))
def fitted(request):
    import torch

    torch.set_num_threads(1)
    make, data = CASES[request.param]
    model = make()
    times = model.decision_times(data)
    model.fit(data.until(times[len(times) // 2]))
    return model, data, model.predict(data).frame


@SETTINGS
@given(where=st.floats(0.55, 0.95), seed=st.integers(0, 2**16), scale=st.floats(1.01, 4.0),
       text=st.sampled_from(["stocks soar to a record", "banks slump as rates jump", "x"]))
def test_decisions_up_to_t_ignore_everything_after_t(fitted, where, seed, scale, text):
    model, data, decisions = fitted
    t = decisions.index[int(where * (len(decisions) - 1))]
    changed = perturb_after(data, t + pd.Timedelta(microseconds=1), seed, scale, text)
    again = model.predict(changed).frame
    pd.testing.assert_frame_equal(decisions[decisions.index <= t], again[again.index <= t])
    (before,) = model.explain(data, [t])
    (after,) = model.explain(changed, [t])
    assert before.equals(after)
