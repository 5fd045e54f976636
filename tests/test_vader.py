from __future__ import annotations

import numpy as np
import pytest

from tests.news_data import make_news_data
from xai_backtest.signals.vader import (
    FINANCE_LEXICON,
    VaderSentiment,
    vader_blindness,
    vader_scores,
)


def test_vader_is_blind_to_market_verbs_until_the_finance_lexicon_is_added():
    plain = vader_scores(["Sensex slumps, Nifty tanks", "Sensex rallies, Nifty surges"])
    # VADER knows none of the four verbs; it reads the index name 'nifty' as praise
    np.testing.assert_array_equal(plain[0], plain[1])
    assert plain[0, 0] > 0
    finance = vader_scores(["Sensex slumps, Nifty tanks", "Sensex rallies, Nifty surges"],
                           finance_lexicon=True)
    assert finance[0, 0] < 0 < finance[1, 0]
    assert len(FINANCE_LEXICON) > 50


def test_blindness_names_the_direction_words_vader_does_not_know():
    texts = ["sensex rallies today"] * 40 + ["sensex slumps today"] * 40
    up = [1] * 40 + [0] * 40
    plain = vader_blindness(texts, up)
    assert set(plain.direction_words) == {"rallies", "slumps"}
    assert plain.unknown_share == 1.0 and plain.neutral_share == 1.0
    extended = vader_blindness(texts, up, finance_lexicon=True)
    assert extended.unknown_share == 0.0
    assert extended.correlation == pytest.approx(1.0)


def test_explanation_parts_add_up_to_the_log_odds():
    data = make_news_data()
    signal = VaderSentiment().fit(data)
    decisions = signal.predict(data).frame
    for e in signal.explain(data, list(decisions.index[-3:])):
        p = decisions.loc[e.decision_time, "probability"]
        assert e.base_value + e.values.sum() == pytest.approx(np.log(p / (1 - p)), abs=1e-9)
