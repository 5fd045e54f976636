from __future__ import annotations

import pandas as pd
import pytest

from tests.news_data import make_news_data
from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.engine.config import load_config
from xai_backtest.explainers.figures import render_figure
from xai_backtest.reports.trade_log import decision_times_of_fills
from xai_backtest.signals.news_lstm import NewsLSTM
from xai_backtest.signals.vader import VaderSentiment
from xai_backtest.signals.walk_forward import WalkForwardSignal
from xai_backtest.strategies.backtest import run_strategy


def _small(**kwargs) -> NewsLSTM:
    params = dict(max_len=8, embedding_dim=4, filters=4, lstm_units=4, epochs=2,
                  lime_samples=40, lime_words=4, seed=0)
    return NewsLSTM(**{**params, **kwargs})


@pytest.fixture(scope="module")
def news():
    return make_news_data(160)


@pytest.mark.parametrize("make", [_small, VaderSentiment])
def test_a_headline_dated_d_never_affects_a_decision_before_the_close_of_d(news, make):
    model = make().fit(news.until(news.bars.index[100]))
    day = news.bars.index[120]
    headlines = news.headlines.copy()
    dated = headlines["timestamp"].dt.normalize() == day
    headlines.loc[dated, "text"] = "sensex tanks tanks tanks record low"
    changed = MarketData(news.bars, headlines, news.symbol)
    before = model.predict(news).frame
    after = model.predict(changed).frame
    upto = before.index <= day  # the decision at bar d is made at the close of d
    pd.testing.assert_frame_equal(before[upto], after[after.index <= day])
    assert not before[~upto].equals(after[after.index > day])  # it does reach later ones


def test_lime_explanation_is_present_and_reproducible_for_every_trade(news, tmp_path):
    model = WalkForwardSignal(_small(), min_train=60, retrain_every=40, progress=False)
    decisions = model.fit(news).predict(news)
    bars = news.bars[news.bars.index >= decisions.frame.index[0]]
    result = run_strategy("news_lstm", bars, decisions, threshold=0.5, allow_short=True)
    traded = decision_times_of_fills(result, decisions)
    assert traded
    first, again = model.explain(news, traded), model.explain(news, traded)
    for a, b in zip(first, again, strict=True):
        assert a.equals(b)
        assert a.method == "lime_text" and a.fold is not None
        assert a.prediction == decisions.frame.loc[a.decision_time, "label"]
        assert len(a.values) > 0 and "pushed" in a.summary
        assert "lime_score" in a.raw
    drawn = render_figure(first[0], tmp_path)
    assert (tmp_path / drawn.figure).stat().st_size > 0


def test_saved_model_reloads_with_its_vocabulary(news, tmp_path):
    model = _small().fit(news)
    loaded = NewsLSTM.load(model.save(tmp_path / "m"))
    assert loaded.words_ == list(model.words_)
    texts = news.headlines["text"].tolist()[:20]
    assert (loaded.headline_probability(texts) == model.headline_probability(texts)).all()


@pytest.mark.parametrize("name", ["sensex_news_lstm", "nyt_sp500_news_lstm"])
def test_run_configs_validate(name):
    config = load_config(f"configs/{name}.yaml")
    assert config.data.headlines is not None
    assert [s.kind for s in config.signals] == ["news_lstm", "vader"]
