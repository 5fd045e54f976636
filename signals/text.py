"""Text pipeline of the news signals: tokeniser, vocabulary fitted on training text, padding.

Tokens are the runs of word characters of the lower-cased text (``\\w+``), which is
also how LIME splits a headline, so LIME's word removals map one-to-one onto tokens.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["OOV", "PAD", "TOKEN_PATTERN", "Vocabulary", "tokenize"]

TOKEN_PATTERN = r"\w+"
PAD = 0  # index of padding
OOV = 1  # index of every word outside the vocabulary
_TOKEN = re.compile(TOKEN_PATTERN)


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens of ``text``."""
    return _TOKEN.findall(text.lower())


@dataclass(frozen=True)
class Vocabulary:
    """The ``max_words`` most frequent training tokens; index 0 pads, 1 is out-of-vocabulary.

    Ties in frequency are broken alphabetically, so the same text gives the same
    vocabulary. Fit it on the training window only: a word first seen later is OOV.
    """

    words: tuple[str, ...]

    @classmethod
    def fit(cls, texts: Iterable[str], max_words: int = 2000) -> Vocabulary:
        if max_words < 1:
            raise ValueError(f"max_words must be >= 1, got {max_words}")
        counts = Counter(token for text in texts for token in tokenize(text))
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        return cls(tuple(word for word, _ in ranked[:max_words]))

    def __len__(self) -> int:
        """Size of the embedding table: the words plus padding and OOV."""
        return len(self.words) + 2

    def __contains__(self, word: object) -> bool:
        return word in self._index

    @property
    def _index(self) -> dict[str, int]:
        cached = self.__dict__.get("_index_cache")
        if cached is None:
            cached = {word: i + 2 for i, word in enumerate(self.words)}
            object.__setattr__(self, "_index_cache", cached)
        return cached

    def encode(self, texts: Sequence[str], length: int) -> np.ndarray:
        """Token indices, shape ``(len(texts), length)``: the first ``length`` tokens, padded
        with ``PAD`` at the start (as Keras does) so a recurrent layer ends on the last word."""
        if length < 1:
            raise ValueError(f"length must be >= 1, got {length}")
        index = self._index
        out = np.full((len(texts), length), PAD, dtype=np.int64)
        for row, text in enumerate(texts):
            ids = [index.get(token, OOV) for token in tokenize(text)[:length]]
            out[row, length - len(ids):] = ids
        return out
