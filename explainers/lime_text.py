"""LIME word weights of a text classifier (lime's ``LimeTextExplainer``), the sentence that
says which words of which headlines pushed the day's decision, the word-deletion test, the
highlighted headlines and the bar figure of a ``lime_text`` Explanation."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xai_backtest.explainers.base import Explanation

__all__ = ["LIME_TEXT_MIN_R2", "LONGEST_WORDS", "WordWeights", "headline_name",
           "highlighted_headlines_html", "lime_text_weights", "news_sentence", "remove_words",
           "render_lime_text", "word_deletion", "word_tokens", "word_weights_on"]

#: below this local R^2 a LIME text surrogate does not describe the model near the headline
LIME_TEXT_MIN_R2 = 0.3
_SPLIT = re.compile(r"\W+")  # LIME's default split_expression
_SPLIT_KEEP = re.compile(r"(\W+)")


@dataclass(frozen=True)
class WordWeights:
    """LIME's local linear model of one text: each word's weight on the explained class's
    probability, the intercept and the fit score (R² of the local model on its samples)."""

    text: str
    words: tuple[str, ...]
    weights: tuple[float, ...]
    intercept: float
    score: float


def lime_text_weights(text: str, predict_proba: Callable[[list[str]], np.ndarray], *,
                      seed: int, num_samples: int = 500, num_features: int = 8,
                      label: int = 1, class_names: Sequence[str] = ("down", "up")
                      ) -> WordWeights:
    """Explain ``predict_proba`` (texts -> class probabilities, the full pipeline from raw
    text) at ``text``. A fresh explainer seeded with ``seed`` per call, so the weights do
    not depend on what was explained before."""
    from lime.lime_text import LimeTextExplainer

    explainer = LimeTextExplainer(class_names=list(class_names), bow=True, random_state=seed)
    result = explainer.explain_instance(text, predict_proba, labels=(label,),
                                        num_features=num_features, num_samples=num_samples)
    pairs = result.as_list(label=label)
    return WordWeights(text=text, words=tuple(w for w, _ in pairs),
                       weights=tuple(float(v) for _, v in pairs),
                       intercept=float(result.intercept[label]), score=float(result.score))


def headline_name(text: str, words: int = 4) -> str:
    """A headline's first ``words`` words, to name it in a sentence."""
    tokens = text.split()
    return " ".join(tokens[:words]) + ("..." if len(tokens) > words else "")


def news_sentence(texts: Sequence[str], part: np.ndarray, picked: np.ndarray,
                  words: Sequence[str], values: Sequence[float], which: Sequence[float],
                  scores: Sequence[float], label: str, p_day: float) -> str:
    """The day's decision in words: the exact headline split, then "'slumps' (in 'SBI
    shares slump...') and 'rate cut' (in 'RBI signals...') pushed towards down; 'gains'
    (...) pushed against", then LIME's fit per explained headline."""
    n = len(texts)
    share = float(part[picked].sum())
    if n == 1:
        head = f"{label} (P(up)={p_day:.2f} from the day's one headline)."
    else:
        m = len(picked)
        head = (f"{label} (mean P(up)={p_day:.2f} over {n} headlines, 0.50 {p_day - 0.5:+.3f} "
                f"split exactly by headline; the {m if m > 1 else ''}"
                f"{' headlines' if m > 1 else 'headline'} that pushed most towards {label} "
                f"give{'' if m > 1 else 's'} {share:+.3f}).")
    ranked = sorted(zip(words, values, which, strict=True), key=lambda w: -w[1])

    def named(word: str, index: float) -> str:
        return f"'{word}' (in '{headline_name(texts[int(index)])}')"

    pushing = [named(w, i) for w, v, i in ranked if v > 0][:2]
    against = [named(w, i) for w, v, i in reversed(ranked) if v < 0][:1]
    words_part = (" and ".join(pushing) + f" pushed towards {label}" if pushing
                  else f"no word pushed towards {label}")
    if against:
        words_part += f"; {against[0]} pushed against"
    weak = [str(j + 1) for j, score in enumerate(scores) if score < LIME_TEXT_MIN_R2]
    fits = ", ".join(f"{score:.2f}" for score in scores)
    caveat = (f"; below {LIME_TEXT_MIN_R2} for headline {', '.join(weak)}: unreliable there"
              if weak else "")
    return f"{head} {words_part} (LIME local fit R\u00b2 {fits}{caveat})."


def word_tokens(text: str) -> list[str]:
    """The distinct words of ``text`` as LIME splits it (non-word characters separate)."""
    return list(dict.fromkeys(t for t in _SPLIT.split(text) if t))


def remove_words(text: str, words: Sequence[str]) -> str:
    """``text`` without every occurrence of ``words`` (as LIME removes a word)."""
    gone = set(words)
    return "".join(t for t in _SPLIT_KEEP.split(text) if t not in gone)


def word_weights_on(text: str, words: Sequence[str], weights: Sequence[float] | np.ndarray,
                    keep: Sequence[bool] | np.ndarray | None = None) -> np.ndarray:
    """The weights of ``words`` (where ``keep``) laid out over the distinct words of
    ``text`` (0 for the words without one)."""
    tokens = word_tokens(text)
    out = np.zeros(len(tokens))
    index = {t: j for j, t in enumerate(tokens)}
    for j, (word, weight) in enumerate(zip(words, weights, strict=True)):
        if (keep is None or keep[j]) and word in index:
            out[index[word]] = weight
    return out


#: how a word-deletion record names its model-free ranking
LONGEST_WORDS = "the longest words of the explained headlines first"


def word_deletion(explanations: Sequence[Explanation],
                  headline_probability: Callable[[list[str]], np.ndarray], k: int = 3,
                  draws: int = 8,
                  seed: int = 0) -> list[tuple[int, float, np.ndarray, float | None]]:
    """Per ``lime_text`` explanation: ``(k, top change, random changes (draws,), model-free
    change)`` of the day's P of the predicted class when its ``k`` words of largest |value|
    are removed from their headlines, when ``k`` random words of the explained headlines
    are (seeded), and when their ``k`` longest words are (the model-free ranking, ``
    LONGEST_WORDS``). Only the changed headlines are scored again, all in one call."""
    rng = np.random.default_rng(seed)
    jobs: list[tuple[int, int, int, str]] = []  # explanation, variant, headline, new text
    sizes = []
    for e_index, e in enumerate(explanations):
        explained = [int(i) for i in e.raw["lime_headline"]]
        pool = [(w, i) for i in explained for w in word_tokens(e.texts[i])]
        size = min(k, len(e.values), len(pool))
        sizes.append(size)
        order = np.argsort(-np.abs(e.values), kind="stable")[:size]
        headline_of = np.asarray(e.data)
        variants = [[(e.feature_names[j], int(headline_of[j])) for j in order]]
        variants += [[pool[j] for j in rng.choice(len(pool), size, replace=False)]
                     for _ in range(draws)]
        longest = sorted(range(len(pool)), key=lambda j: -len(pool[j][0]))[:size]
        variants.append([pool[j] for j in longest])
        for v_index, removed in enumerate(variants):
            for i in sorted({h for _, h in removed}):
                jobs.append((e_index, v_index, i, remove_words(
                    e.texts[i], [w for w, h in removed if h == i])))
    p_new = headline_probability([job[3] for job in jobs]) if jobs else np.zeros(0)
    moved = [np.zeros(2 + draws) for _ in explanations]
    for (e_index, v_index, i, _), p in zip(jobs, p_new, strict=True):
        e = explanations[e_index]
        moved[e_index][v_index] += (p - e.raw["headline_probability"][i]) / len(e.texts)
    return [(size, float(abs(m[0])), np.abs(m[1:-1]), float(abs(m[-1])))
            for size, m in zip(sizes, moved, strict=True)]


def highlighted_headlines_html(explanation: Explanation) -> str:
    """The day's headlines as HTML, the explained ones first, each with its exact part of
    the day's P(up) and its LIME words highlighted (green towards the decision, red
    against, stronger for larger weights); static, no script."""
    part = explanation.raw["headline_part"]
    sign = 1.0 if explanation.prediction == "up" else -1.0
    explained = [int(i) for i in explanation.raw["lime_headline"]]
    order = explained + [i for i in np.argsort(-sign * part, kind="stable")
                         if int(i) not in explained]
    scale = float(np.abs(explanation.values).max()) if len(explanation.values) else 0.0
    items = []
    for i in order:
        i = int(i)
        weights = {w: v for w, v, h in zip(explanation.feature_names, explanation.values,
                                             np.asarray(explanation.data), strict=True)
                   if int(h) == i}
        pieces = []
        for token in _SPLIT_KEEP.split(explanation.texts[i]):
            if token in weights and scale > 0:
                v = weights[token]
                alpha = 0.15 + 0.6 * abs(v) / scale
                color = f"rgba(42,157,91,{alpha:.2f})" if v > 0 else f"rgba(192,57,43,{alpha:.2f})"
                pieces.append(f"<mark style='background:{color}' title='{v:+.4f}'>"
                              f"{html.escape(token)}</mark>")
            else:
                pieces.append(html.escape(token))
        tag = "explained" if i in explained else ""
        items.append(f"<li class='{tag}'><span class=part>{sign * part[i]:+.3f}</span> "
                     f"{''.join(pieces)}</li>")
    return (f"<ol class=headlines title='part of each headline towards "
            f"{html.escape(explanation.prediction)}'>{''.join(items)}</ol>")


def render_lime_text(explanation: Explanation, path: str | Path, top: int = 12) -> None:
    """Bars of the LIME word weights towards the predicted class (green towards, red
    against), titled with the decision and LIME's local fit score."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = explanation.top(top)
    order = np.arange(len(shown))[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(shown) + 1.6))
    colors = ["#2a9d5b" if v >= 0 else "#c0392b" for v in shown.values[order]]
    ax.barh(np.arange(len(shown)), shown.values[order], color=colors)
    labels = [shown.feature_names[i] if not shown.texts or shown.data is None else
              f"{shown.feature_names[i]} ({headline_name(shown.texts[int(shown.data[i])], 3)})"
              for i in order]
    ax.set_yticks(np.arange(len(shown)), labels, fontsize=8)
    ax.axvline(0, color="black", linewidth=0.6)
    ax.set_xlabel(f"LIME weight towards '{explanation.prediction}', as a share of the day's "
                  "mean P(up)")
    fit = explanation.raw.get("lime_score")
    fit_text = f", LIME R\u00b2={fit[0]:.2f}" if fit is not None and len(fit) else ""
    ax.set_title(f"{explanation.signal} {explanation.decision_time:%Y-%m-%d}: "
                 f"{explanation.prediction} (p={explanation.probability:.2f}{fit_text})",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
