from __future__ import annotations

import numpy as np
import pandas as pd

from tests.news_data import make_news_data
from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.signals.news_lstm import NewsLSTM
from xai_backtest.signals.ohlc_lstm import OHLCLSTM
from xai_backtest.signals.text import OOV, PAD, Vocabulary, tokenize


def test_tokenize_lowercases_and_splits_on_non_word_characters():
    assert tokenize("Sensex slumps 300 pts; SBI, ICICI drag") == [
        "sensex", "slumps", "300", "pts", "sbi", "icici", "drag"]


def test_vocabulary_keeps_the_most_frequent_words_ties_alphabetical():
    vocabulary = Vocabulary.fit(["b a c", "a b", "a d"], max_words=2)
    assert vocabulary.words == ("a", "b")
    assert len(vocabulary) == 4  # two words, padding and OOV


def test_encode_pads_at_the_start_truncates_and_maps_unknown_words_to_oov():
    vocabulary = Vocabulary(("market", "falls"))
    out = vocabulary.encode(["Market falls sharply", "one two three four five"], length=4)
    np.testing.assert_array_equal(out[0], [PAD, 2, 3, OOV])
    np.testing.assert_array_equal(out[1], [OOV] * 4)


def _small_lstm() -> NewsLSTM:
    return NewsLSTM(max_len=8, embedding_dim=4, filters=4, lstm_units=4, epochs=1,
                    lime_samples=40, seed=0)


def test_vocabulary_is_fitted_on_the_training_window_only():
    data = make_news_data(120)
    cut = data.bars.index[80]
    headlines = data.headlines.copy()
    late = headlines["available_at"] >= cut
    headlines.loc[late, "text"] = headlines.loc[late, "text"] + " zebra"
    data = MarketData(data.bars, headlines, data.symbol)
    at_cut = _small_lstm().fit(data.until(cut))
    assert "zebra" not in at_cut.words_
    encoded = at_cut._vocabulary().encode(["zebra"], 8)
    assert encoded[0, -1] == OOV
    assert "zebra" in _small_lstm().fit(data).words_


def test_ohlc_scaler_is_fitted_on_the_training_window_only():
    data = make_news_data(200)
    cut = data.bars.index[120]
    model = OHLCLSTM(window=5, units=4, epochs=1, seed=0).fit(data.until(cut))
    before = data.bars[data.bars.index < cut]
    np.testing.assert_allclose(model.scale_max_, before[["open", "high", "low", "close"]].max())
    np.testing.assert_allclose(model.scale_min_, before[["open", "high", "low", "close"]].min())
    assert model.train_end_ < cut and isinstance(model.train_end_, pd.Timestamp)
