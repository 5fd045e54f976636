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
decision). ``explain`` runs lime's ``LimeTextExplainer`` over the whole pipeline
(tokeniser, vocabulary, VADER, network) on the ``lime_headlines`` headlines that
pushed hardest towards the decision, with a fixed seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import numpy as np
import pandas as pd

from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.explainers.base import Explanation
from xai_backtest.signals.base import SignalFrame
from xai_backtest.signals.device import OnDevice, resolve_device
from xai_backtest.signals.labels import LabelBasis
from xai_backtest.signals.news_base import NewsSignal
from xai_backtest.signals.text import Vocabulary
from xai_backtest.signals.vader import VADER_FEATURES, vader_scores

__all__ = ["NewsLSTM"]


class NewsLSTM(OnDevice, NewsSignal):
    """Headline LSTM-CNN with VADER inputs; decisions average headline P(up) per day."""

    name = "news_lstm"
    state_attrs = ("net_",)

    def __init__(self, max_words: int = 2000, max_len: int = 32, embedding_dim: int = 32,
                 filters: int = 32, kernel_size: int = 3, lstm_units: int = 100,
                 use_vader: bool = True, finance_lexicon: bool = False, epochs: int = 10,
                 batch_size: int = 64, learning_rate: float = 1e-3, patience: int = 2,
                 validation: float = 0.15, lime_samples: int = 500, lime_headlines: int = 1,
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

    def headline_probability(self, texts: Sequence[str]) -> np.ndarray:
        """P(up) of each headline text through the full pipeline."""
        from xai_backtest.signals._news_nets import predict_net

        if not hasattr(self, "net_"):
            self.check_fitted()
        logits = predict_net(self.net_, self._inputs(list(texts)))
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
        from xai_backtest.explainers.lime_text import lime_text_weights, push_sentence

        texts = day["text"].tolist()
        p_head = self.headline_probability(texts)
        p_day = float(p_head.mean())
        up = p_day >= 0.5
        label, sign = ("up", 1.0) if up else ("down", -1.0)
        picked = np.argsort(-sign * p_head, kind="stable")[:self.lime_headlines]

        def classify(batch: list[str]) -> np.ndarray:
            p = self.headline_probability(batch)
            return np.column_stack([1 - p, p])

        words: list[str] = []
        values: list[float] = []
        which: list[float] = []
        scores, intercepts, sentences = [], [], []
        for rank, i in enumerate(picked, start=1):
            weights = lime_text_weights(texts[i], classify, seed=self._seed(),
                                        num_samples=self.lime_samples,
                                        num_features=self.lime_words)
            towards = [sign * v for v in weights.weights]
            suffix = f" [h{rank}]" if len(picked) > 1 else ""
            words += [w + suffix for w in weights.words]
            values += towards
            which += [float(rank)] * len(towards)
            scores.append(weights.score)
            intercepts.append(sign * weights.intercept)
            sentences.append(f"Headline '{texts[i]}' (P(up)={p_head[i]:.2f}): "
                             f"{push_sentence(weights.words, towards, label)} "
                             f"(LIME local fit R\u00b2={weights.score:.2f}).")
        summary = (f"{label} (mean P(up)={p_day:.2f} over {len(texts)} headline"
                   f"{'s' if len(texts) > 1 else ''}). " + " ".join(sentences))
        return Explanation(
            method="lime_text", signal=self.name, decision_time=stamp, prediction=label,
            probability=p_day if up else 1 - p_day, base_value=intercepts[0],
            values=np.array(values), feature_names=tuple(words), summary=summary,
            data=np.array(which),
            raw={"lime_score": np.array(scores), "lime_intercept": np.array(intercepts),
                 "headline_probability": p_head[picked]})

    def _seed(self) -> int:
        return 0 if self.seed is None else self.seed

    # -- persistence -----------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {"net_": self.net_.state_dict()}

    def _set_state(self, state: dict[str, Any]) -> None:
        self.net_ = self._new_net(len(self._vocabulary()))
        self.net_.load_state_dict(state["net_"])
        self.net_.eval()

