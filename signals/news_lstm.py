"""News LSTM-CNN signal (after "Explainable stock prices prediction from financial news
articles using sentiment analysis", PeerJ CS 2021), explained per decision with LIME.

Each headline is lower-cased and tokenised, mapped through a vocabulary of the
``max_words`` most frequent training words (fitted on the training window only),
padded to ``max_len`` tokens and fed to embedding -> Conv1D -> MaxPool1D(2) ->
LSTM(``lstm_units``); the LSTM's last state, concatenated with the headline's VADER
``compound, pos, neg, neu`` scores (``use_vader``), goes to one sigmoid unit giving
P(up). Training: binary cross-entropy against the next-session direction of the
headline's decision (see signals/news_base.py), Adam, early stopping and learning
rate halving on a validation slice made of the last ``validation`` fraction of the
training window's news days.

A decision's score is the mean P(up) of its headlines (days without news make no
decision). ``explain`` splits that mean exactly into each headline's part
(``(P_i - 0.5) / n``) and runs lime's ``LimeTextExplainer`` over the whole pipeline
(tokeniser, vocabulary, VADER, network) on the ``lime_headlines`` headlines (three by
default) that pushed hardest towards the decision, with a fixed seed; a word's value is
its LIME weight over ``n``, its share of the day's mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import numpy as np
import pandas as pd

from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.explainers.base import Explanation, UpOrDown, explanation
from xai_backtest.explainers.measured import Deleted, DeletionWords, MeasuredSignal
from xai_backtest.signals.base import SignalFrame
from xai_backtest.signals.device import OnDevice, resolve_device
from xai_backtest.signals.labels import LabelBasis
from xai_backtest.signals.news_base import NewsSignal
from xai_backtest.signals.text import Vocabulary
from xai_backtest.signals.vader import VADER_FEATURES, vader_scores

__all__ = ["NewsLSTM"]


class NewsLSTM(MeasuredSignal, OnDevice, NewsSignal):
    """Headline LSTM-CNN with VADER inputs; decisions average headline P(up) per day."""

    name = "news_lstm"
    state_attrs = ("net_",)

    def __init__(self, max_words: int = 2000, max_len: int = 32, embedding_dim: int = 32,
                 filters: int = 32, kernel_size: int = 3, lstm_units: int = 100,
                 use_vader: bool = True, finance_lexicon: bool = False, epochs: int = 10,
                 batch_size: int = 64, learning_rate: float = 1e-3, patience: int = 2,
                 validation: float = 0.15, lime_samples: int = 500, lime_headlines: int = 3,
                 lime_words: int = 8, label_basis: LabelBasis = "open_to_open",
                 seed: int | None = None,
                 device: str = "auto") -> None:
        self.max_words = max_words
        self.label_basis = label_basis
        self.max_len = max_len
        self.embedding_dim = embedding_dim
        self.filters = filters
        self.kernel_size = kernel_size
        self.lstm_units = lstm_units
        self.use_vader = use_vader
        self.finance_lexicon = finance_lexicon
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.patience = patience
        self.validation = validation
        self.lime_samples = lime_samples
        self.lime_headlines = lime_headlines
        self.lime_words = lime_words
        self.seed = seed
        self.device = device
        self._check_device()

    # -- headline level -------------------------------------------------------------------
    def _new_net(self, vocab_size: int) -> Any:
        from xai_backtest.signals._news_nets import HeadlineNet

        extras = len(VADER_FEATURES) if self.use_vader else 0
        return HeadlineNet(vocab_size, self.embedding_dim, self.filters, self.kernel_size,
                           self.lstm_units, extras)

    def _inputs(self, texts: Sequence[str]) -> list[np.ndarray]:
        vocabulary = self._vocabulary()
        tokens = vocabulary.encode(texts, self.max_len)
        extras = (vader_scores(texts, self.finance_lexicon) if self.use_vader
                  else np.zeros((len(texts), 0), dtype=np.float32))
        return [tokens, extras]

    def _vocabulary(self) -> Vocabulary:
        cached = self.__dict__.get("_vocab")
        if cached is None or cached.words != tuple(self.words_):
            cached = Vocabulary(tuple(self.words_))
            self._vocab = cached
        return cached

    def fit_headlines(self, texts: Sequence[str], up: Sequence[bool],
                      val_texts: Sequence[str], val_up: Sequence[bool]) -> Self:
        """Fit vocabulary and network on headline texts and their up/down targets, with early
        stopping on the validation headlines (the signal's ``fit`` and the paper protocol)."""
        import torch

        from xai_backtest.signals._news_nets import train_net

        if not 0 < self.validation < 0.5:
            raise ValueError(f"validation must be in (0, 0.5), got {self.validation}")
        if len(texts) == 0 or len(val_texts) == 0:
            raise ValueError(f"need training and validation headlines, got {len(texts)} and "
                             f"{len(val_texts)}")
        seed = self._seed()
        self.words_ = Vocabulary.fit(texts, self.max_words).words
        torch.manual_seed(seed)
        self.net_ = self._new_net(len(self._vocabulary()))
        self.history_ = train_net(
            self.net_, self._inputs(texts), np.asarray(up, dtype=np.float32),
            self._inputs(val_texts), np.asarray(val_up, dtype=np.float32), loss="bce",
            epochs=self.epochs, batch_size=self.batch_size, learning_rate=self.learning_rate,
            patience=self.patience, seed=seed, device=resolve_device(self.device))
        self.n_train_headlines_ = len(texts)
        return self

    def headline_probability(self, texts: Sequence[str], net: Any = None) -> np.ndarray:
        """P(up) of each headline text through the full pipeline (with ``net`` in place of
        the fitted network when given: the randomisation check's)."""
        from xai_backtest.signals._news_nets import predict_net

        if not hasattr(self, "net_"):
            self.check_fitted()
        logits = predict_net(self.net_ if net is None else net, self._inputs(list(texts)))
        return (1 / (1 + np.exp(-logits.astype(np.float64))))

    # -- the signal contract ---------------------------------------------------------------
    def fit(self, history: MarketData) -> Self:
        headlines = self.training_headlines(history)
        days = np.sort(headlines["decision_time"].unique())
        n_val = max(1, int(round(self.validation * len(days))))
        valid = headlines["decision_time"].to_numpy() >= days[-n_val]
        train = headlines[~valid]
        held = headlines[valid]
        self.fit_headlines(train["text"].tolist(), (train["label"] == "up").tolist(),
                           held["text"].tolist(), (held["label"] == "up").tolist())
        self.validation_start_ = pd.Timestamp(days[-n_val])
        return self

    def _day_probability(self, headlines: pd.DataFrame) -> pd.Series:
        p_up = self.headline_probability(headlines["text"].tolist())
        return pd.Series(p_up, index=headlines.index).groupby(
            headlines["decision_time"]).mean()

    def predict(self, data: MarketData) -> SignalFrame:
        self.check_fitted()
        p_up = self._day_probability(self.day_headlines(data))
        return SignalFrame.from_p_up(self.name, pd.DatetimeIndex(p_up.index), p_up.to_numpy())

    def explain(self, data: MarketData, at: Sequence[pd.Timestamp]) -> list[Explanation]:
        self.check_fitted()
        headlines = self.day_headlines(data)
        out = []
        for stamp in at:
            stamp = pd.Timestamp(stamp)
            day = headlines[headlines["decision_time"] == stamp]
            if day.empty:
                raise ValueError(f"{stamp} is not a decision time of {self.name} (no headline "
                                 "reached it)")
            out.append(self._explain_day(stamp, day))
        return out

    def _explain_day(self, stamp: pd.Timestamp, day: pd.DataFrame) -> Explanation:
        """The day's mean P(up) split exactly into each headline's part, and LIME word
        weights of the ``lime_headlines`` headlines that pushed most towards the decision,
        scaled to their share of the day's mean."""
        from xai_backtest.explainers.faithfulness import exact
        from xai_backtest.explainers.lime_text import news_sentence

        texts = day["text"].tolist()
        p_head = self.headline_probability(texts)
        n = len(texts)
        part = (p_head - 0.5) / n  # 0.5 + sum(part) is the day's mean P(up), exactly
        p_day = float(p_head.mean())
        side = UpOrDown(p_day >= 0.5)
        picked = np.argsort(-side.sign * part, kind="stable")[:self.lime_headlines]
        words: list[str] = []
        values: list[float] = []
        which: list[float] = []
        scores, intercepts = [], []
        for i in picked:
            weights = self._lime(texts[i])
            words += list(weights.words)
            values += [side.sign * v / n for v in weights.weights]
            which += [float(i)] * len(weights.words)
            scores.append(weights.score)
            intercepts.append(weights.intercept)
        summary = news_sentence(texts, part, picked, words, values, which, scores, side.label,
                                p_day)
        return explanation(
            "lime_text", self.name, stamp, prediction=side.label,
            probability=side.probability(p_day), base_value=0.5, values=np.array(values),
            feature_names=words, summary=summary, data=np.array(which), texts=texts,
            raw={"headline_probability": p_head, "headline_part": part,
                 "lime_headline": picked.astype(float), "lime_score": np.array(scores),
                 "lime_intercept": np.array(intercepts)},
            faithfulness={"headline_split": exact(
                "the day's mean P(up) is 0.5 plus the headlines' parts")})

    def _lime(self, text: str, net: Any = None) -> Any:
        from xai_backtest.explainers.lime_text import lime_text_weights

        def classify(batch: list[str]) -> np.ndarray:
            p = self.headline_probability(batch, net)
            return np.column_stack([1 - p, p])

        return lime_text_weights(text, classify, seed=self._seed(),
                                 num_samples=self.lime_samples, num_features=self.lime_words)

    # -- faithfulness: what MeasuredSignal needs ------------------------------------------------
    def deletion_words(self) -> DeletionWords:
        return DeletionWords("{k} words removed from their headlines", verb="removing",
                             inputs="words", output="the day's mean P(up)")

    def deletion(self, explanations: Sequence[Explanation], seed: int) -> Deleted:
        """Each explanation's top words removed from their headlines vs as many random words
        of the same headlines, the change of the day's P of the predicted class; one batch
        of headlines for the fold."""
        from xai_backtest.explainers.lime_text import word_deletion

        return word_deletion(explanations, self.headline_probability, seed=seed)

    def randomised_net(self) -> Any:
        return self.net_

    def randomisation(self, explanations: Sequence[Explanation], net: Any) -> np.ndarray:
        """Rank correlation of the first explained headline's LIME weights with its LIME
        weights under ``net``, per explanation."""
        from xai_backtest.explainers import faithfulness
        from xai_backtest.explainers.lime_text import word_weights_on

        found = []
        for e in explanations:
            first = e.texts[int(e.raw["lime_headline"][0])]
            trained = word_weights_on(first, e.feature_names, e.values,
                                      e.data == e.raw["lime_headline"][0])
            twin = self._lime(first, net)
            randomised = word_weights_on(first, twin.words, twin.weights)
            found.append(faithfulness.randomisation_correlation(trained, randomised)[0])
        return np.array(found)

    def measured_fields(self, explanation: Explanation) -> dict[str, Any]:
        return {"headline_split": dict(explanation.faithfulness["headline_split"])}

    def _seed(self) -> int:
        return 0 if self.seed is None else self.seed

    # -- persistence -----------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {"net_": self.net_.state_dict()}

    def _set_state(self, state: dict[str, Any]) -> None:
        self.net_ = self._new_net(len(self._vocabulary()))
        self.net_.load_state_dict(state["net_"])
        self.net_.eval()

