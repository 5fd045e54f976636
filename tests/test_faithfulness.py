"""Faithfulness measures on models whose right answer is planted, and their records."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xai_backtest.explainers.base import Explanation
from xai_backtest.explainers.faithfulness import (
    deletion_changes,
    deletion_record,
    exact,
    randomisation_correlation,
    randomised_copy,
    sanity_fields,
    verdict,
)
from xai_backtest.explainers.gradcam import gradcam_heatmaps, time_importance
from xai_backtest.explainers.lime_tabular import lime_weights
from xai_backtest.explainers.lime_text import lime_text_weights, word_deletion
from xai_backtest.explainers.shap_explainer import deep_shap
from xai_backtest.signals.gadf_cnn import GADFCNN
from xai_backtest.signals.news_lstm import NewsLSTM

STAMP = pd.Timestamp("2020-01-02", tz="UTC")


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def two_feature_model():
    """A network over 8 inputs that uses inputs 1 and 5 only (its first layer reads nothing
    else), trained to tell whether their sum is positive."""
    import torch
    from torch import nn

    from xai_backtest.signals._trend_net import predict_proba

    rng = np.random.default_rng(0)
    x = rng.normal(size=(1500, 8))
    y = torch.as_tensor((x[:, 1] + x[:, 5] > 0).astype(np.int64))
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2)).double()
    mask = torch.zeros(16, 8, dtype=torch.float64)
    mask[:, [1, 5]] = 1
    optimiser = torch.optim.Adam(net.parameters(), lr=0.02)
    inputs = torch.as_tensor(x)
    for _ in range(300):
        with torch.no_grad():
            net[0].weight.mul_(mask)
        optimiser.zero_grad()
        nn.functional.cross_entropy(net(inputs), y).backward()
        optimiser.step()
    with torch.no_grad():
        net[0].weight.mul_(mask)
    net.eval()
    rows = rng.normal(size=(40, 8))
    rows = rows[np.abs(rows[:, 1] + rows[:, 5]) > 0.5][:25]  # clear decisions
    return net, x[:100], rows, lambda r: predict_proba(net, r)


@pytest.mark.slow
def test_shap_and_lime_name_exactly_the_two_features_the_model_uses(two_feature_model):
    net, background, rows, proba = two_feature_model
    shap = deep_shap(net, background, rows)
    shap_top = [set(np.argsort(-np.abs(v))[:2]) for v in shap.values]
    assert all(top == {1, 5} for top in shap_top)
    for row, target in zip(rows, shap.classes, strict=True):
        lime = lime_weights(proba, background, row, int(target), [f"x{i}" for i in range(8)],
                            ["a", "b"], num_features=2, num_samples=600, seed=0)
        assert set(np.flatnonzero(lime.weights)) == {1, 5}


def test_deletion_ranks_the_right_explanation_above_a_shuffled_one(two_feature_model):
    net, background, rows, proba = two_feature_model
    shap = deep_shap(net, background, rows)
    shuffled = np.random.default_rng(1).permuted(shap.values, axis=1)
    right, right_random = deletion_changes(rows, shap.values, 0.0, proba, shap.classes, k=2)
    wrong, _ = deletion_changes(rows, shuffled, 0.0, proba, shap.classes, k=2)
    assert right.mean() > 2 * wrong.mean()
    assert right.mean() > 2 * right_random.mean()
    record = deletion_record(2, "zero", float(right.mean()), right_random)
    assert record["better_than_random"] and record["ratio"] > 2
    assert verdict(record).startswith("better than random")


def test_randomisation_check_flags_an_explainer_that_returns_its_input(two_feature_model):
    net, background, rows, _ = two_feature_model
    twin = randomised_copy(net, seed=1)

    def identity(_model, x):  # an "explainer" that ignores the model
        return x

    same = randomisation_correlation(identity(net, rows), identity(twin, rows))
    assert all(sanity_fields(rho)["randomisation_flagged"] for rho in same)
    shap = deep_shap(net, background, rows)
    from xai_backtest.explainers.shap_explainer import deep_shap_of_classes

    randomised = deep_shap_of_classes(twin, background, rows, shap.classes)
    rho = randomisation_correlation(shap.values, randomised)
    assert np.nanmean(rho) < 0.5
    assert not any(p1.equal(p2) for p1, p2 in zip(net.parameters(), twin.parameters(),
                                                  strict=True))


@pytest.mark.slow
def test_grad_cam_puts_the_top_minutes_where_the_label_was_planted():
    """Windows of 30 minutes whose class is the direction of minutes 10-15 only (a large move
    there, noise elsewhere): the top minutes of the CAM must fall in that span."""
    from xai_backtest.signals._gadf_net import build_net, predict_proba, train_net

    rng = np.random.default_rng(0)
    n, w = 600, 30
    closes = 100 + rng.normal(0, 0.05, (n, w)).cumsum(axis=1)
    up = rng.random(n) < 0.5
    move = np.where(up, 1.0, -1.0)[:, None] * np.linspace(0.2, 1.2, 6)[None, :]
    closes[:, 10:16] += move
    closes[:, 16:] += move[:, -1:]
    signal = GADFCNN(window=w)
    images = signal.images(closes)
    import torch

    torch.manual_seed(0)
    net = build_net("small", 1, 8, 0.0)
    train_net(net, images[:500], up[:500].astype(np.int64), valid=100, epochs=25,
              batch_size=32, learning_rate=0.01, weight_decay=0.0, patience=6, seed=0)
    test = slice(500, None)
    p_up = predict_proba(net, images[test])
    assert ((p_up >= 0.5) == up[test]).mean() > 0.9
    importance = time_importance(gradcam_heatmaps(net, images[test], (p_up >= 0.5).astype(int),
                                                  "first", "layercam"))
    top = np.argsort(-importance, axis=1)[:, :6]
    assert ((top >= 9) & (top <= 16)).mean() > 0.5


def _news_model():
    rng = np.random.default_rng(0)
    filler = ["market", "bank", "shares", "index", "trade", "report", "oil", "rates", "stocks",
              "week", "firm", "data"]
    texts, up = [], []
    for i in range(600):
        words = list(rng.choice(filler, 5))
        key = i % 2 == 0
        if key:
            words.insert(int(rng.integers(0, 5)), "surge")
        texts.append(" ".join(words))
        up.append(key)
    model = NewsLSTM(max_len=8, embedding_dim=8, filters=8, lstm_units=8, epochs=12,
                     learning_rate=5e-3, patience=4, use_vader=False, seed=0)
    return model.fit_headlines(texts[:500], up[:500], texts[500:], up[500:])


def test_lime_picks_the_one_word_a_news_model_is_keyed_on():
    model = _news_model()
    text = "bank shares surge oil week"
    assert model.headline_probability([text])[0] > 0.8
    assert model.headline_probability(["bank shares oil week"])[0] < 0.2

    def classify(batch):
        p = model.headline_probability(batch)
        return np.column_stack([1 - p, p])

    weights = lime_text_weights(text, classify, seed=0, num_samples=300, num_features=5)
    assert weights.words[0] == "surge" and weights.weights[0] > 0
    day = Explanation(method="lime_text", signal="news", decision_time=STAMP, prediction="up",
                      probability=0.9, base_value=0.5, values=weights.weights,
                      feature_names=weights.words, data=np.zeros(len(weights.words)),
                      summary="", texts=(text,),
                      raw={"headline_probability": model.headline_probability([text]),
                           "lime_headline": [0.0]})
    [(k, top, random, longest)] = word_deletion([day], model.headline_probability, k=1)
    assert k == 1 and top > 0.5 and top > 3 * random.mean()


def test_the_news_split_is_exact_and_measured(tmp_path):
    from tests.news_data import make_news_data

    data = make_news_data(160)
    model = NewsLSTM(max_len=8, embedding_dim=4, filters=4, lstm_units=4, epochs=2,
                     lime_samples=40, lime_words=4, seed=0)
    times = model.decision_times(data)
    model.fit(data.until(times[100]))
    explained = model.measure(model.explain(data, list(times[110:114])))
    for e in explained:
        p_up = e.probability if e.prediction == "up" else 1 - e.probability
        assert e.raw["headline_part"].sum() + 0.5 == pytest.approx(p_up, abs=1e-12)
        assert len(e.raw["lime_headline"]) == min(3, len(e.texts))
        assert e.faithfulness["kind"] == "deletion"
        assert e.faithfulness["headline_split"]["kind"] == "exact"
        assert "Faithfulness: removing the top" in e.summary
        assert Explanation.from_json(e.to_json()).equals(e)


def test_exact_explanations_are_labelled_not_scored():
    assert verdict(exact("the rule decides")) == "exact"
    assert verdict({}) == "not measured"
