"""Explanation figures read without the code: axes with ticks and units, colour bars and
legends, labels that do not collide, the original case of headlines, and vector output."""

from __future__ import annotations

import re
import struct
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from xai_backtest.explainers.base import Explanation
from xai_backtest.explainers.figures import FIGURE_RENDERERS, render_figure
from xai_backtest.explainers.lime_text import highlighted_headlines_html
from xai_backtest.explainers.svg import label_width
from xai_backtest.signals.trend_features import FAMILIES, LAGS

WHEN = pd.Timestamp("2021-04-01 15:30", tz="Asia/Kolkata")
NS = "{http://www.w3.org/2000/svg}"


def _svg(path) -> ET.Element:
    return ET.fromstring(path.read_text(encoding="utf-8"))


def _texts(root: ET.Element, cls: str | None = None) -> list[ET.Element]:
    return [t for t in root.iter(f"{NS}text") if cls is None or cls in t.get("class", "").split()]


def _content(element: ET.Element) -> str:
    return "".join(element.itertext())


# -- SHAP waterfall ----------------------------------------------------------------------------
@pytest.fixture
def shap_explanation() -> Explanation:
    rng = np.random.default_rng(3)
    names = [f"{f} @ {lag}" for f in FAMILIES for lag in LAGS]
    return Explanation(method="shap", signal="five_trend", decision_time=WHEN,
                       prediction="upward", probability=0.43, base_value=0.8,
                       values=rng.normal(0, 0.02, len(names)), feature_names=names,
                       summary="s", data=rng.normal(0, 1, len(names)), space="logit")


def test_the_waterfall_has_a_value_axis_marking_the_base_and_the_output(shap_explanation,
                                                                         tmp_path):
    root = _svg(tmp_path / render_figure(shap_explanation, tmp_path).figure)
    markers = [_content(t) for t in _texts(root, "marker-label")]
    base = shap_explanation.base_value
    output = base + shap_explanation.values.sum()
    assert markers == [f"E[f(X)] = {base:.3f}", f"f(x) = {output:.3f}"]
    # the ticks of the main axis (the first one drawn) map values to x linearly, and the
    # E[f(X)] and f(x) lines sit where that map puts them
    first_y = _texts(root, "tick")[0].get("y")
    ticks = [(float(_content(t)), float(t.get("x"))) for t in _texts(root, "tick")
             if t.get("y") == first_y]
    assert len(ticks) >= 3
    slope, intercept = np.polyfit([v for v, _ in ticks], [x for _, x in ticks], 1)
    lines = [ln for ln in root.iter(f"{NS}line") if ln.get("stroke") == "black"
             and ln.get("x1") == ln.get("x2")]
    xs = {round(float(ln.get("x1")), 1) for ln in lines}
    for value in (base, output):
        assert any(abs(x - (slope * value + intercept)) < 0.6 for x in xs), value
    labels = [_content(t) for t in _texts(root, "axis-label")]
    assert labels[0] == "logit of 'upward'"
    assert labels.count("sum of SHAP (logit of 'upward')") == 2  # family and lag panels


def test_the_waterfall_states_the_logit_link_and_the_share_it_shows(shap_explanation,
                                                                    tmp_path):
    root = _svg(tmp_path / render_figure(shap_explanation, tmp_path).figure)
    (subtitle,) = [_content(t) for t in _texts(root, "subtitle")]
    assert "logit" in subtitle and "not a probability" in subtitle and "p=0.43" in subtitle
    (coverage,) = [_content(t) for t in _texts(root, "coverage")]
    size = np.sort(np.abs(shap_explanation.values))[::-1]
    shown = size[:10].sum() / size.sum()
    assert coverage == (f"the 10 shown carry {shown:.0%} of |push| (the sum of |SHAP|); "
                        f"260 others {1 - shown:.0%}")


def test_a_probability_waterfall_says_so(shap_explanation, tmp_path):
    from dataclasses import replace

    e = replace(shap_explanation, space="probability", values=shap_explanation.values[:5],
                feature_names=shap_explanation.feature_names[:5],
                data=shap_explanation.data[:5])
    root = _svg(tmp_path / render_figure(e, tmp_path).figure)
    assert "SHAP in probability" in _content(_texts(root, "subtitle")[0])
    assert _content(_texts(root, "coverage")[0]) == "all 5 features shown (100% of |push|)"


# -- Grad-CAM ----------------------------------------------------------------------------------
@pytest.fixture
def gradcam_explanation() -> Explanation:
    rng = np.random.default_rng(0)
    days = pd.bdate_range("2014-12-04", periods=20).strftime("%Y-%m-%d")
    closes = 2000 + np.cumsum(rng.normal(0, 15, 20))
    heat = rng.uniform(0, 1, (20, 20))
    return Explanation(method="gradcam", signal="gadf_cnn", decision_time=WHEN,
                       prediction="down", probability=0.55, base_value=0.0,
                       values=(heat.mean(0) + heat.mean(1)) / 2, feature_names=tuple(days),
                       summary="Grad-CAM for 'down'", data=closes,
                       raw={"heatmap": heat, "gadf": rng.uniform(-1, 1, (20, 20))})


def _rows_of_ticks(root: ET.Element) -> dict[float, list[ET.Element]]:
    rows: dict[float, list[ET.Element]] = {}
    for t in _texts(root, "tick"):
        if t.get("text-anchor") == "middle":  # horizontal axes
            rows.setdefault(float(t.get("y")), []).append(t)
    return rows


def test_gradcam_date_labels_do_not_collide(gradcam_explanation, tmp_path):
    root = _svg(tmp_path / render_figure(gradcam_explanation, tmp_path).figure)
    dated = [t for t in _texts(root, "tick") if re.fullmatch(r"\d{4}-\d\d-\d\d", _content(t))]
    assert len(dated) >= 3 * 3 + 2 * 3  # under three panels, beside the two images
    for ticks in _rows_of_ticks(root).values():
        ticks = sorted(ticks, key=lambda t: float(t.get("x")))
        for a, b in zip(ticks, ticks[1:], strict=False):
            room = (label_width(_content(a), float(a.get("font-size")))
                    + label_width(_content(b), float(b.get("font-size")))) / 2
            assert float(b.get("x")) - float(a.get("x")) >= room, (_content(a), _content(b))


def test_gradcam_has_colour_bars_and_a_price_axis_with_round_ticks(gradcam_explanation,
                                                                  tmp_path):
    root = _svg(tmp_path / render_figure(gradcam_explanation, tmp_path).figure)
    bars = [g for g in root.iter(f"{NS}g") if g.get("class") == "colour-bar"]
    assert len(bars) == 2
    bar_labels = [_content(t) for g in bars for t in g.iter(f"{NS}text")]
    assert "Grad-CAM importance (1 = the image's max)" in bar_labels
    assert {"0", "0.5", "1"} <= set(bar_labels)
    closes = gradcam_explanation.data
    prices = [float(_content(t).replace(",", "")) for t in _texts(root, "tick")
              if t.get("text-anchor") == "end" and "-" not in _content(t)]
    assert len(prices) >= 3
    steps = np.diff(prices)
    assert np.allclose(steps, steps[0]) and all(p % abs(steps[0]) == 0 for p in prices)
    assert min(prices) >= closes.min() - 0.1 * np.ptp(closes)
    assert max(prices) <= closes.max() + 0.1 * np.ptp(closes)


# -- news --------------------------------------------------------------------------------------
@pytest.fixture
def news_explanation() -> Explanation:
    texts = ("SBI shares slump as RBI holds the rate", "Sensex rallies to a record")
    words = ("sbi", "slump", "the", "rallies", "record")
    values = (0.031, 0.022, 0.004, -0.012, -0.008)  # towards the prediction, down
    return Explanation(method="lime_text", signal="news_lstm", decision_time=WHEN,
                       prediction="down", probability=0.62, base_value=0.5, values=values,
                       feature_names=words, summary="s", data=(0, 0, 0, 1, 1), texts=texts,
                       raw={"headline_probability": [0.30, 0.46],
                            "headline_part": [-0.10, -0.02], "lime_headline": [0, 1],
                            "lime_score": [0.8, 0.7]})


def test_the_news_figure_keeps_the_case_and_carries_a_legend_and_the_probabilities(
        news_explanation, tmp_path):
    drawn = render_figure(news_explanation, tmp_path)
    assert drawn.figure.endswith(".svg")
    root = _svg(tmp_path / drawn.figure)
    headlines = [_content(t) for t in _texts(root, "headline")]
    assert any("SBI" in h and "RBI" in h for h in headlines)
    assert not any("sbi" in h for h in headlines)
    coloured = {_content(w): w.get("fill") for w in root.iter(f"{NS}tspan")
                if w.get("class") == "word"}
    assert coloured["SBI"] == coloured["slump"] == "#c0392b"  # towards down
    assert coloured["rallies"] == "#1a7f37"  # towards up
    legend = [_content(t) for g in root.iter(f"{NS}g") if g.get("class") == "legend"
              for t in g.iter(f"{NS}text")]
    assert legend == ["towards up", "towards down"]
    (probabilities,) = [_content(t) for t in _texts(root, "probabilities")]
    assert probabilities == "P(up) = 0.38 \u00b7 P(down) = 0.62"


def test_the_news_figure_writes_every_weight_and_marks_stopwords(news_explanation, tmp_path):
    path = tmp_path / render_figure(news_explanation, tmp_path).figure
    root = _svg(path)
    headlines = " ".join(_content(t) for t in _texts(root, "headline"))
    shown = {"sbi": "SBI", "slump": "slump", "the": "the\u00b0", "rallies": "rallies",
             "record": "record"}
    for word, value in zip(news_explanation.feature_names, news_explanation.values,
                           strict=True):
        assert f"{shown[word]}{-value:+.4f}" in headlines  # inline, towards up: no hover
    bars = [_content(t) for t in root.iter(f"{NS}text") if "(headline " in _content(t)]
    assert bars[0] == "SBI (headline 1)" and "the\u00b0 (headline 1)" in bars
    assert "SBI\u00b0" not in path.read_text() and "weight kept" in path.read_text()


def test_highlighted_headlines_keep_their_case(news_explanation):
    page = highlighted_headlines_html(news_explanation)
    assert ">SBI<sub>-0.031</sub></mark>" in page and ">sbi<" not in page
    assert "rgba(42,157,91" in page  # 'rallies' towards up is green even though the day is down


# -- vector or 2x ------------------------------------------------------------------------------
def test_every_explanation_figure_is_vector():
    assert {suffix for _, suffix in FIGURE_RENDERERS.values()} == {".svg"}


def _png_dpi(path) -> float:
    data = path.read_bytes()
    at = data.index(b"pHYs")
    per_metre, _, unit = struct.unpack(">IIB", data[at + 4:at + 13])
    assert unit == 1
    return per_metre * 0.0254


def test_the_calibration_figure_is_vector_and_reproducible_or_a_2x_image(tmp_path):
    from xai_backtest.reports.calibration import render_calibration

    table = pd.DataFrame({"decisions": [5, 9], "stated": [0.55, 0.65],
                          "observed": [0.5, 0.7]})
    for name in ("a.svg", "b.svg"):
        render_calibration(table, tmp_path / name, "demo")
    assert (tmp_path / "a.svg").read_bytes() == (tmp_path / "b.svg").read_bytes()
    assert b"<svg" in (tmp_path / "a.svg").read_bytes()
    render_calibration(table, tmp_path / "c.png", "demo")
    assert _png_dpi(tmp_path / "c.png") >= 2 * 96 - 0.5
