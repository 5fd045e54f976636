"""VADER sentiment per headline, its blindness to finance words, and a VADER-only signal.

VADER (vaderSentiment) scores general English: of the verbs market reports use
for direction ("rallies", "slumps", "surges", "tanks", "slips") most are not in
its lexicon, so such headlines score neutral. ``vader_blindness`` measures that on
a corpus, and ``FINANCE_LEXICON`` optionally extends VADER with finance terms.

``FINANCE_LEXICON`` source: hand-written for this project (not a published
dictionary): market-direction verbs and nouns of index reports, each with a valence
on VADER's -4..+4 scale (moves up ~ +1.5..+2.5, moves down ~ -1.5..-2.5); its size
is ``len(FINANCE_LEXICON)`` (reported by the benchmark). Words already in VADER's
lexicon are overwritten only where listed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Self

import numpy as np
import pandas as pd

from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.explainers.base import Explanation, UpOrDown, explanation
from xai_backtest.signals.base import SignalFrame
from xai_backtest.signals.labels import LabelBasis
from xai_backtest.signals.news_base import NewsSignal
from xai_backtest.signals.text import tokenize

if TYPE_CHECKING:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

__all__ = ["FINANCE_LEXICON", "VADER_FEATURES", "Blindness", "VaderSentiment",
           "vader_blindness", "vader_scores"]

VADER_FEATURES = ("compound", "pos", "neg", "neu")

_UP = {"rise": 1.8, "rises": 1.8, "rising": 1.6, "rose": 1.8, "surge": 2.4, "surges": 2.4,
       "surged": 2.4, "soar": 2.6, "soars": 2.6, "soared": 2.6, "rally": 2.2, "rallies": 2.2,
       "rallied": 2.2, "jump": 2.0, "jumps": 2.0, "jumped": 2.0, "climb": 1.6, "climbs": 1.6,
       "climbed": 1.6, "advance": 1.5, "advances": 1.5, "advanced": 1.5, "up": 1.0,
       "higher": 1.2, "firm": 1.2, "firmer": 1.2, "bullish": 2.2, "rebound": 1.8,
       "rebounds": 1.8, "rebounded": 1.8, "recover": 1.6, "recovers": 1.6, "outperform": 1.8,
       "upgrade": 1.8, "upgrades": 1.8, "reclaims": 1.6, "extends": 0.5, "record": 1.2,
       "peak": 1.2, "buying": 0.8, "inflows": 1.2, "beats": 1.6}
_DOWN = {"fall": -1.8, "falls": -1.8, "fell": -1.8, "falling": -1.6, "drop": -1.8,
         "drops": -1.8, "dropped": -1.8, "slump": -2.4, "slumps": -2.4, "slumped": -2.4,
         "plunge": -2.8, "plunges": -2.8, "plunged": -2.8, "tank": -2.6, "tanks": -2.6,
         "tanked": -2.6, "slip": -1.4, "slips": -1.4, "slipped": -1.4, "decline": -1.6,
         "declines": -1.6, "declined": -1.6, "crashes": -3.0, "sink": -2.0, "sinks": -2.0,
         "slide": -1.8, "slides": -1.8, "tumble": -2.4, "tumbles": -2.4, "tumbled": -2.4,
         "down": -1.0, "bearish": -2.2, "selloff": -2.4, "underperform": -1.8,
         "downgrade": -1.8, "downgrades": -1.8, "slowdown": -1.6, "volatile": -1.0,
         "volatility": -1.0, "outflows": -1.2, "drag": -1.4, "drags": -1.4, "dragged": -1.4,
         "snaps": -1.0, "misses": -1.6, "default": -2.0}
FINANCE_LEXICON: dict[str, float] = {**_UP, **_DOWN}


@cache
def _analyzer(finance_lexicon: bool) -> SentimentIntensityAnalyzer:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    if finance_lexicon:
        analyzer.lexicon.update(FINANCE_LEXICON)
    return analyzer


@cache
def _scores(text: str, finance_lexicon: bool) -> tuple[float, float, float, float]:
    scores = _analyzer(finance_lexicon).polarity_scores(text)
    return tuple(float(scores[k]) for k in VADER_FEATURES)  # type: ignore[return-value]


def vader_scores(texts: Sequence[str], finance_lexicon: bool = False) -> np.ndarray:
    """VADER ``compound, pos, neg, neu`` of each text, shape ``(len(texts), 4)``."""
    out = np.zeros((len(texts), len(VADER_FEATURES)), dtype=np.float32)
    for row, text in enumerate(texts):
        out[row] = _scores(text, finance_lexicon)
    return out


@dataclass(frozen=True)
class Blindness:
    """How much of a headline corpus VADER does not see.

    ``neutral_share``: headlines whose compound score is exactly 0.
    ``direction_words``: the most frequent corpus words whose presence moves the share of
    same-day up days most (``|log odds| >= 0.5``, at least ``min_count`` headlines).
    ``unknown_share``: the share of those words missing from VADER's lexicon.
    ``correlation``: Pearson correlation of the compound score with same-day up (1/0).
    """

    headlines: int
    neutral_share: float
    direction_words: tuple[str, ...]
    unknown_words: tuple[str, ...]
    unknown_share: float
    correlation: float


def vader_blindness(texts: Sequence[str], same_day_up: Sequence[int],
                    finance_lexicon: bool = False, min_count: int = 30,
                    top: int = 40) -> Blindness:
    """Measure VADER's blindness on ``texts`` labelled with the direction of their own day."""
    up = np.asarray(same_day_up, dtype=float)
    scores = vader_scores(texts, finance_lexicon)
    lexicon = _analyzer(finance_lexicon).lexicon
    present: dict[str, list[int]] = {}
    for row, text in enumerate(texts):
        for token in set(tokenize(text)):
            present.setdefault(token, []).append(row)
    base = (up.sum() + 1) / (len(up) - up.sum() + 1)
    odds = {}
    for word, rows in present.items():
        if len(rows) >= min_count and word.isalpha():
            hits = up[rows].sum()
            odds[word] = np.log((hits + 1) / (len(rows) - hits + 1) / base)
    ranked = sorted((w for w in odds if abs(odds[w]) >= 0.5),
                    key=lambda w: (-len(present[w]), w))[:top]
    unknown = tuple(w for w in ranked if w not in lexicon)
    compound = scores[:, 0]
    correlation = float(np.corrcoef(compound, up)[0, 1]) if compound.std() > 0 else 0.0
    return Blindness(headlines=len(texts), neutral_share=float(np.mean(compound == 0)),
                     direction_words=tuple(ranked), unknown_words=unknown,
                     unknown_share=len(unknown) / len(ranked) if ranked else 0.0,
                     correlation=correlation)


class VaderSentiment(NewsSignal):
    """Baseline: logistic regression of next-session direction on the day's mean VADER scores.

    Each decision averages ``compound, pos, neg, neu`` over its headlines; ``fit`` learns
    one logistic regression on the training window's days. The explanation splits the
    log-odds of the predicted class into each feature's part, ``coef * (x - mean)``.
    """

    name = "vader"

    def __init__(self, finance_lexicon: bool = False, regularization: float = 1.0,
                 label_basis: LabelBasis = "open_to_open") -> None:
        self.finance_lexicon = finance_lexicon
        self.regularization = regularization
        self.label_basis = label_basis

    def _day_features(self, headlines: pd.DataFrame) -> pd.DataFrame:
        scores = vader_scores(headlines["text"].tolist(), self.finance_lexicon)
        frame = pd.DataFrame(scores, columns=list(VADER_FEATURES), index=headlines.index)
        frame["decision_time"] = headlines["decision_time"].to_numpy()
        return frame.groupby("decision_time").mean()

    def fit(self, history: MarketData) -> Self:
        from sklearn.linear_model import LogisticRegression

        if self.regularization <= 0:
            raise ValueError(f"regularization must be > 0, got {self.regularization}")
        headlines = self.training_headlines(history)
        days = self._day_features(headlines)
        truth = headlines.groupby("decision_time")["label"].first().reindex(days.index)
        y = (truth == "up").to_numpy().astype(int)
        if len(set(y)) < 2:
            raise ValueError(f"VaderSentiment: the training window has only {truth.iloc[0]!r} "
                             "days; use a longer window")
        model = LogisticRegression(C=self.regularization).fit(days.to_numpy(), y)
        self.coef_ = model.coef_[0].astype(float)
        self.intercept_ = float(model.intercept_[0])
        self.feature_mean_ = days.to_numpy().mean(axis=0)
        self.n_train_days_ = len(days)
        return self

    def _logit(self, features: np.ndarray) -> np.ndarray:
        return features @ np.asarray(self.coef_) + self.intercept_

    def predict(self, data: MarketData) -> SignalFrame:
        self.check_fitted()
        days = self._day_features(self.day_headlines(data))
        p_up = 1 / (1 + np.exp(-self._logit(days.to_numpy())))
        return SignalFrame.from_p_up(self.name, days.index, p_up)

    def explain(self, data: MarketData, at: Sequence[pd.Timestamp]) -> list[Explanation]:
        self.check_fitted()
        days = self._day_features(self.day_headlines(data))
        coef, mean = np.asarray(self.coef_), np.asarray(self.feature_mean_)
        out = []
        for stamp in at:
            x = days.loc[pd.Timestamp(stamp)].to_numpy()
            logit = float(self._logit(x))
            side = UpOrDown(logit >= 0)
            parts = side.sign * coef * (x - mean)
            p_up = 1 / (1 + np.exp(-logit))
            order = np.argsort(-parts)
            summary = (f"mean VADER compound {x[0]:+.3f} over the day's headlines; "
                       f"'{VADER_FEATURES[order[0]]}' pushed most towards {side.label} "
                       f"(P(up)={p_up:.2f})")
            out.append(explanation(
                "rule", self.name, stamp, prediction=side.label,
                probability=side.probability(p_up),
                base_value=side.sign * float(self._logit(mean)), values=parts,
                feature_names=VADER_FEATURES, data=x, summary=summary,
                exact="the coefficient parts add up to the logit"))
        return out
