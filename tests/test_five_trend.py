from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import xai_backtest.signals.five_trend as five_trend
from tests.conftest import make_daily_bars
from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.reports.trade_log import build_trade_log, decision_times_of_fills
from xai_backtest.signals.five_trend import (
    FiveTrendDNN,
    InsufficientHistoryError,
    TrendParameterError,
)
from xai_backtest.signals.trend_benchmarks import BENCHMARKS, BenchmarkError, fit_predict
from xai_backtest.signals.trend_features import FAMILIES, WINDOW
from xai_backtest.signals.walk_forward import WalkForwardSignal
from xai_backtest.strategies.backtest import run_strategy


def small(**kwargs: object) -> FiveTrendDNN:
    params = {"epochs": 2, "background": 20, "lime_samples": 50, "seed": 0} | kwargs
    return FiveTrendDNN(**params)


@pytest.fixture(scope="module")
def data() -> MarketData:
    return MarketData(make_daily_bars(320, seed=3))


@pytest.fixture(scope="module")
def fitted(data) -> FiveTrendDNN:
    return small().fit(data.until(data.bars.index[260]))


def test_importing_the_signal_does_not_import_torch():
    code = "import sys, xai_backtest.signals.five_trend; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_shap_adds_up_to_the_explained_logit(data, fitted):
    import torch

    at = list(fitted.decision_times(data)[-6:])
    features = fitted.features(data).loc[at]
    with torch.no_grad():
        logits = fitted.net_(torch.as_tensor(fitted.scale(features))).numpy()
    for i, e in enumerate(fitted.explain(data, at)):
        target = fitted.classes_.index(e.prediction)
        assert e.raw["logit"][0] == pytest.approx(logits[i, target], abs=1e-12)
        assert e.values.sum() + e.base_value == pytest.approx(logits[i, target], abs=1e-5)
        assert e.raw["family_shap"].sum() == pytest.approx(e.values.sum(), abs=1e-9)
        assert e.raw["lag_shap"].sum() == pytest.approx(e.values.sum(), abs=1e-9)
        assert len(e.values) == len(FAMILIES) * WINDOW == 270
        assert e.raw["lime_weights"].shape == (270,)
        assert "pushed" in e.summary and e.prediction.replace("_", " ") in e.summary
        np.testing.assert_array_equal(e.data, features.iloc[i].to_numpy())


def test_lime_is_deterministic_and_about_the_same_decision(data, fitted):
    at = list(fitted.decision_times(data)[-2:])
    first = fitted.explain_lime(data, at, samples=100)
    second = fitted.explain_lime(data, at, samples=100)
    decisions = fitted.predict(data).frame
    for a, b, stamp in zip(first, second, at, strict=True):
        assert a.equals(b)
        assert a.method == "lime_tabular"
        assert a.prediction == decisions.loc[stamp, "label"]
        assert np.count_nonzero(a.values) == 10


def test_smote_sees_only_the_training_fold(data, monkeypatch):
    seen: list[np.ndarray] = []
    real = five_trend.smote_resample

    def spy(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
        seen.append(x.copy())
        return real(x, y, seed)

    monkeypatch.setattr(five_trend, "smote_resample", spy)
    signal = WalkForwardSignal(small(epochs=1), min_train=150, retrain_every=60, embargo=5,
                               progress=False).fit(data)
    assert len(seen) == len(signal.folds_) >= 2
    for x, fold, model in zip(seen, signal.folds_, signal.models_, strict=True):
        history = data.between(fold.train_start, fold.train_end)
        train, _ = model.training_samples(history)
        np.testing.assert_array_equal(x, model.scale(train))  # exactly the training rows
        assert train.index[-1] < fold.train_end < fold.test_start
        assert model.label_end_ < fold.train_end  # label windows end before the embargo gap


def test_every_trade_has_an_explanation(data):
    signal = WalkForwardSignal(small(epochs=1), min_train=150, retrain_every=60,
                               progress=False).fit(data)
    decisions = signal.predict(data)
    bars = data.bars[data.bars.index >= decisions.frame.index[0]]
    result = run_strategy("five_trend", bars, decisions, threshold=0.0, allow_short=True)
    times = decision_times_of_fills(result, decisions)
    explanations = {e.id: e for e in signal.explain(data, times)}
    trades = build_trade_log(result, bars, decisions, explanations)
    assert len(trades) >= 2
    assert trades["entry_explanation"].notna().all()
    assert trades["entry_explanation"].str.contains("pushed").all()


def test_direction_follows_the_class(data, fitted):
    frame = fitted.predict(data).frame
    expected = frame["label"].map(five_trend.DIRECTION)
    assert (frame["direction"] == expected).all()
    assert ((frame["score"] >= -1) & (frame["score"] <= 1)).all()


def test_no_trend_as_a_sixth_class(data):
    model = small(no_trend="class", epochs=1).fit(data.until(data.bars.index[200]))
    assert model.classes_[-1] == "none" and model.net_.layers[-1].out_features == 6


def test_class_weights_instead_of_smote(data):
    model = small(balance="class_weight", epochs=1).fit(data.until(data.bars.index[200]))
    assert model.n_resampled_ == model.n_train_


def test_bad_hyperparameters_are_named(data):
    with pytest.raises(TrendParameterError, match="dropout"):
        small(dropout=1.5).fit(data)


def test_too_short_history_says_what_to_do(data):
    with pytest.raises(InsufficientHistoryError, match="min_train"):
        small().fit(data.until(data.bars.index[45]))


@pytest.mark.parametrize("name", BENCHMARKS)
def test_benchmarks_predict_training_classes(name):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(60, 270)), np.repeat([0, 1, 2], [30, 20, 10])
    predicted = fit_predict(name, x, y, x[:7], seed=0, n_estimators=5)
    assert predicted.shape == (7,) and set(predicted) <= {0, 1, 2}
    if name == "majority":
        assert (predicted == 0).all()


def test_unknown_benchmark_is_refused():
    with pytest.raises(BenchmarkError, match="random_forest"):
        fit_predict("xgboost", np.zeros((4, 2)), np.array([0, 1, 0, 1]), np.zeros((1, 2)), 0)


def test_close_is_described_against_its_own_window(fitted):
    x = np.ones(270)
    x[:WINDOW - 1] = 1.1  # the closes before t were higher: the close at t is low
    families = np.zeros(len(FAMILIES))
    families[0] = 1.0
    text = fitted._sentence(families, x, np.zeros(270), "upward", 1.0, 0.0)
    assert text.startswith("close low (+1.00, 100%") and "pushed towards upward" in text


def test_the_sentence_names_what_pushed_towards_and_what_pushed_against(fitted):
    families = np.zeros(len(FAMILIES))
    families[[0, 3, 5]] = [0.8, -0.5, 0.2]
    text = fitted._sentence(families, np.ones(270), np.zeros(270), "upward", 1.0, 0.5)
    towards, against = text.split("; ")
    assert "pushed towards upward" in towards and "(+0.80, " in towards and "(+0.20, " in towards
    assert f"{FAMILIES[3]}" in against and "(-0.50, 33%) pushed against it" in against
    only_against = fitted._sentence(-np.abs(families), np.ones(270), np.zeros(270),
                                    "downward", -1.0, 0.5)
    assert "pushed against downward" in only_against and "towards" not in only_against


def test_a_poor_lime_fit_is_called_unreliable_and_agreement_is_counted():
    from xai_backtest.signals.five_trend import LIME_MIN_R2, _lime_sentence, top_k_overlap

    rules = [("rsi_15 @ t", 0.2), ("close @ t", -0.1)]
    assert "unreliable" in _lime_sentence(rules, LIME_MIN_R2 - 0.01, 0.4)
    good = _lime_sentence(rules, 0.9, 0.4)
    assert "unreliable" not in good and "share 2 of their top 5 inputs" in good
    shap = np.array([5.0, -4.0, 3.0, 0.1, 0.2, 2.0, 1.0])
    lime = np.array([0.0, 0.3, 0.0, 0.9, 0.8, 0.1, 0.7])
    assert top_k_overlap(shap, lime) == 0.6  # {0,1,2,5,6} & {1,3,4,5,6}
