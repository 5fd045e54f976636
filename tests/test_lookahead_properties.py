"""Property-based no-look-ahead: for random cut times and random changes of everything
after the cut (prices, volumes, headlines), every decision, probability and explanation
at or before the cut is unchanged; and no fold trains on a label reaching its test block.

The neural signals run the same property in their own test modules on small models;
here it runs on the walk-forward pipeline with the fast signals, with many examples.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import make_daily_bars
from tests.news_data import make_news_data
from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.signals.contract import perturb_after
from xai_backtest.signals.ma_crossover import MACrossover
from xai_backtest.signals.vader import VaderSentiment
from xai_backtest.signals.walk_forward import WalkForwardSignal

pytestmark = pytest.mark.slow  # per model, fast in test_lookahead_models.py

BARS = make_daily_bars(260, seed=11)
NEWS = make_news_data(200, seed=5)
SETTINGS = settings(max_examples=20, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])


def _walk_forward(base, data):
    return WalkForwardSignal(base, min_train=60, retrain_every=25, progress=False).fit(data)


def _check(base, data, cut_at, seed, scale, text):
    times = base.decision_times(data)
    cut = times[cut_at % len(times)]
    changed = perturb_after(data, cut + pd.Timedelta(microseconds=1), seed, scale, text)
    a, b = _walk_forward(base, data), _walk_forward(base, changed)
    da, db = a.predict(data).frame, b.predict(changed).frame
    pd.testing.assert_frame_equal(da[da.index <= cut], db[db.index <= cut])
    asked = list(da.index[da.index <= cut][-2:])
    if asked:
        for x, y in zip(a.explain(data, asked), b.explain(changed, asked), strict=True):
            assert x.equals(y)
    for fold, model in zip(a.folds_, a.models_, strict=True):
        assert model.label_end_ < fold.test_start


@SETTINGS
@given(cut_at=st.integers(70, 250), seed=st.integers(0, 2**16), scale=st.floats(1.01, 5.0))
def test_ma_crossover_walk_forward(cut_at, seed, scale):
    _check(MACrossover(5, 20), MarketData(BARS), cut_at, seed, scale, "markets crash")


@SETTINGS
@given(cut_at=st.integers(70, 190), seed=st.integers(0, 2**16), scale=st.floats(1.01, 5.0),
       text=st.sampled_from(["markets crash as panic spreads", "stocks soar to record",
                             "rbi policy unchanged"]))
def test_vader_walk_forward(cut_at, seed, scale, text):
    _check(VaderSentiment(), NEWS, cut_at, seed, scale, text)
