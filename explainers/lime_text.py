"""LIME word weights of a text classifier (lime's ``LimeTextExplainer``), the sentence that
says which words of which headlines pushed the day's decision, the word-deletion test, the
highlighted headlines and the figure of a ``lime_text`` Explanation (SVG: the headlines in
their own case with coloured words and their weights, a legend, the class probabilities and
the bars of the largest weights)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xai_backtest.explainers.base import Explanation
from xai_backtest.explainers.svg import legend, nice_ticks, x_axis

__all__ = ["LIME_TEXT_MIN_R2", "LONGEST_WORDS", "WordWeights", "headline_name",
           "SHOWN_HEADLINES", "headline_weights", "highlighted_headlines_html", "is_stopword",
           "lime_text_weights", "news_sentence", "remove_words", "render_lime_text",
           "up_weights", "word_deletion", "word_tokens", "word_weights_on"]

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


def up_weights(explanation: Explanation) -> np.ndarray:
    """The explanation's word values as weights towards up (they are stored towards the
    predicted class)."""
    return explanation.values * (1.0 if explanation.prediction == "up" else -1.0)


def headline_weights(explanation: Explanation, i: int) -> dict[str, float]:
    """Lower-cased word -> its weight towards up in headline ``i`` (words are matched to the
    text without regard to case: the model reads lower-cased tokens)."""
    out: dict[str, float] = {}
    for word, value, h in zip(explanation.feature_names, up_weights(explanation),
                              np.asarray(explanation.data), strict=True):
        if int(h) == i:
            out[word.lower()] = out.get(word.lower(), 0.0) + float(value)
    return out


def _headline_order(explanation: Explanation) -> list[int]:
    """The explained headlines first, then the others by their part towards the decision."""
    sign = 1.0 if explanation.prediction == "up" else -1.0
    explained = [int(i) for i in explanation.raw["lime_headline"]]
    part = explanation.raw["headline_part"]
    return explained + [int(i) for i in np.argsort(-sign * part, kind="stable")
                        if int(i) not in explained]


def highlighted_headlines_html(explanation: Explanation) -> str:
    """The day's headlines as HTML in their own case, the explained ones first, each with
    its exact part of the day's P(up) and its LIME words highlighted (green towards up, red
    towards down, stronger for larger weights, the weight after the word); static, no
    script."""
    part = explanation.raw["headline_part"]
    sign = 1.0 if explanation.prediction == "up" else -1.0
    explained = {int(i) for i in explanation.raw["lime_headline"]}
    scale = float(np.abs(explanation.values).max()) if len(explanation.values) else 0.0
    items = []
    for i in _headline_order(explanation):
        weights = headline_weights(explanation, i)
        pieces = []
        for token in _SPLIT_KEEP.split(explanation.texts[i]):
            v = weights.get(token.lower())
            if v is not None and scale > 0:
                alpha = 0.15 + 0.6 * abs(v) / scale
                color = f"rgba(42,157,91,{alpha:.2f})" if v > 0 else f"rgba(192,57,43,{alpha:.2f})"
                pieces.append(f"<mark style='background:{color}' title='{v:+.4f} towards up'>"
                              f"{html.escape(token)}<sub>{v:+.3f}</sub></mark>")
            else:
                pieces.append(html.escape(token))
        tag = "explained" if i in explained else ""
        items.append(f"<li class='{tag}'><span class=part>{sign * part[i]:+.3f}</span> "
                     f"{''.join(pieces)}</li>")
    return (f"<ol class=headlines title='part of each headline towards "
            f"{html.escape(explanation.prediction)}; green words push towards up, red towards "
            f"down'>{''.join(items)}</ol>")


_UP, _DOWN, _INK = "#1a7f37", "#c0392b", "#57606a"
#: how many headlines of a day the news figure lists
SHOWN_HEADLINES = 12


def is_stopword(word: str) -> bool:
    """A word of scikit-learn's English stop-word list (any case)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return word.lower() in ENGLISH_STOP_WORDS


def render_lime_text(explanation: Explanation, path: str | Path, top: int = 12) -> None:
    """The news figure, as SVG: the class probabilities, a colour legend, the day's
    headlines in their own case with each LIME word coloured (green towards up, red towards
    down) and its weight written after it, then bars of the ``top`` weights on an axis.
    Stopwords keep their weight (the model reads them; hiding them would misstate what moved
    it) and are marked \u00b0."""
    width, left = 920, 150
    p_up = explanation.probability if explanation.prediction == "up" else (
        1 - explanation.probability)
    texts = explanation.texts
    fit = explanation.raw.get("lime_score")
    fits = ", ".join(f"{v:.2f}" for v in fit) if fit is not None and len(fit) else "-"
    parts = [f"<text x='{width / 2}' y='20' text-anchor='middle' font-size='13'>"
             f"{html.escape(explanation.signal)} {explanation.decision_time:%Y-%m-%d}: "
             f"{html.escape(explanation.prediction)}</text>",
             f"<text class='probabilities' x='{width / 2}' y='40' text-anchor='middle' "
             f"font-size='12' font-weight='bold'>P(up) = {p_up:.2f} \u00b7 P(down) = "
             f"{1 - p_up:.2f}</text>",
             f"<text x='{width / 2}' y='56' text-anchor='middle' fill='{_INK}'>the mean over "
             f"the day's {len(texts)} headline{'s' if len(texts) != 1 else ''}; LIME local fit "
             f"R\u00b2 {fits}</text>"]
    parts += legend([(_UP, "towards up"), (_DOWN, "towards down")], left, 78, size=11)
    parts.append(f"<text x='{left + 220}' y='78' fill='{_INK}'>the number after a word: its "
                 "LIME weight on the day's P(up); \u00b0 stopword (weight kept)</text>")
    y = 104
    parts.append(f"<text x='{left - 10}' y='{y}' text-anchor='end' fill='{_INK}'>"
                 f"# P(up) (part)</text><text x='{left}' y='{y}' fill='{_INK}'>headline</text>")
    order = _headline_order(explanation)
    for number, i in enumerate(order[:SHOWN_HEADLINES], start=1):
        y += 18
        p_head = float(explanation.raw["headline_probability"][i])
        part = float(explanation.raw["headline_part"][i])
        parts.append(f"<text x='{left - 10}' y='{y}' text-anchor='end' font-family='monospace'"
                     f" font-size='10'>{number}  {p_head:.2f} ({part:+.3f})</text>")
        lines = _headline_lines(texts[i], headline_weights(explanation, i), 118)
        for k, line in enumerate(lines):
            parts.append(f"<text class='headline' x='{left}' y='{y + 16 * k}'>{line}</text>")
        y += 16 * (len(lines) - 1)
    if len(order) > SHOWN_HEADLINES:
        y += 18
        parts.append(f"<text x='{left}' y='{y}' fill='{_INK}'>and {len(order) - SHOWN_HEADLINES}"
                     " more headlines (no LIME words)</text>")
    bars, bottom = _word_bars(explanation, top, y + 34, left, width)
    parts += bars
    height = int(bottom + 10)
    head = (f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
            f"viewBox='0 0 {width} {height}' font-family='sans-serif' font-size='11'>"
            f"<rect width='{width}' height='{height}' fill='white'/>")
    Path(path).write_text(head + "".join(parts) + "</svg>", encoding="utf-8")


def _headline_lines(text: str, weights: dict[str, float], chars: int) -> list[str]:
    """``text`` in its own case as SVG text lines of about ``chars`` characters: each word
    with a weight coloured by its direction, bold, its weight after it in small type."""
    lines: list[str] = []
    line: list[str] = []
    used = 0
    for token in _SPLIT_KEEP.split(text):
        weight = weights.get(token.lower())
        shown = len(token) + (8 if weight is not None else 0)
        if used + shown > chars and line and not token.isspace():
            lines.append("".join(line))
            line, used = [], 0
        if weight is None:
            line.append(html.escape(token))
        else:
            colour = _UP if weight > 0 else _DOWN
            mark = "\u00b0" if is_stopword(token) else ""
            line.append(f"<tspan class='word' fill='{colour}' font-weight='bold'>"
                        f"{html.escape(token)}{mark}</tspan><tspan font-size='8' fill='{colour}' "
                        f"dy='3'>{weight:+.4f}</tspan><tspan dy='-3'> </tspan>")
        used += shown
    lines.append("".join(line))
    return lines


def _word_bars(explanation: Explanation, top: int, y: float, left: float,
               width: float) -> tuple[list[str], float]:
    """Bars of the ``top`` LIME weights towards up on one axis; and the y below them."""
    shown = explanation.top(top)
    values = up_weights(shown)
    scale = float(np.abs(values).max()) if len(values) else 0.0
    scale = scale or 1.0
    half = (width - left - 60) / 2
    zero = left + half

    def x(v: float) -> float:
        return zero + v / scale * half

    number = {h: k for k, h in enumerate(_headline_order(explanation), start=1)}
    parts = [f"<text x='{left - 10}' y='{y}' text-anchor='end' font-weight='bold'>"
             f"the {len(shown)} largest weights</text>"]
    for name, value, h in zip(shown.feature_names, values, np.asarray(shown.data), strict=True):
        y += 17
        mark = "\u00b0" if is_stopword(name) else ""
        a, b = sorted((zero, x(float(value))))
        written = _as_written(explanation.texts[int(h)], name) if explanation.texts else name
        parts.append(f"<text x='{left - 10}' y='{y}' text-anchor='end'>{html.escape(written)}"
                     f"{mark} (headline {number[int(h)]})</text><rect x='{a:.1f}' y='{y - 11}' "
                     f"width='{max(b - a, 0.8):.1f}' height='13' "
                     f"fill='{_UP if value > 0 else _DOWN}'><title>{value:+.4f}</title></rect>"
                     f"<text x='{b + 4 if value > 0 else a - 4:.1f}' y='{y}' font-size='10' "
                     f"text-anchor='{'start' if value > 0 else 'end'}' fill='{_INK}'>"
                     f"{value:+.4f}</text>")
    parts.append(f"<line x1='{zero}' x2='{zero}' y1='{y - 17 * len(shown) - 4}' y2='{y + 4}' "
                 "stroke='black' stroke-width='0.6'/>")
    parts += x_axis(nice_ticks(-scale, scale, 5), x, y + 8, zero - half, zero + half,
                    "LIME weight on the day's P(up) (positive: towards up)")
    return parts, y + 50


def _as_written(text: str, word: str) -> str:
    """``word`` as ``text`` spells it (its first occurrence in any case), else as given."""
    return next((t for t in _SPLIT.split(text) if t.lower() == word.lower()), word)
