"""SklearnSignal: any classifier with predict_proba, explained by the SHAP fit for it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from tests.conftest import make_daily_bars
from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.engine.config import build_config
from xai_backtest.signals.base import ModelFileError
from xai_backtest.signals.sklearn_signal import SklearnSignal
from xai_backtest.signals.walk_forward import WalkForwardSignal

NOISE = [f"noise_{i}" for i in range(4)]


def _calendar_features(index: pd.DatetimeIndex) -> pd.DataFrame:
    """Five columns drawn from each date alone (no prices, so no look-ahead)."""
    seeds = (index.tz_localize(None).normalize() - pd.Timestamp("1970-01-01")).days
    rows = [np.random.default_rng(int(s)).normal(size=6) for s in seeds]
    return pd.DataFrame(rows, index=index, columns=["signal_a", "signal_b", *NOISE])


def planted_features(bars: pd.DataFrame) -> pd.DataFrame:
    return _calendar_features(bars.index)


def planted_bars(n: int = 500) -> pd.DataFrame:
    """Bars whose next close rises exactly when signal_a + signal_b > 0 today."""
    bars = make_daily_bars(n)
    f = _calendar_features(bars.index)
    step = np.where((f["signal_a"] + f["signal_b"]).to_numpy() > 0, 1.01, 0.99)
    close = 100 * np.cumprod(np.r_[1.0, step[:-1]])
    bars["close"] = close
    bars["open"] = close
    bars["high"] = close * 1.001
    bars["low"] = close * 0.999
    return bars


@pytest.mark.parametrize(("model", "method"), [
    (GradientBoostingClassifier(n_estimators=30, max_depth=2), "shap_tree"),
    (RandomForestClassifier(n_estimators=20, max_depth=3), "shap_tree"),
    (LogisticRegression(), "shap_linear"),
    pytest.param(KNeighborsClassifier(15), "shap_permutation", marks=pytest.mark.slow),
])
def test_each_model_gets_its_shap_explainer_and_the_values_add_up(model, method):
    data = MarketData(planted_bars(400))
    signal = SklearnSignal(model=model, features=planted_features, background=30,
                           label_basis="close_to_close").fit(
        data.until(data.bars.index[300]))
    at = list(signal.predict(data).frame.index[-20:])
    explanations = signal.explain(data, at)
    for e in explanations:
        space = "log-odds" if "linear" in method else "probability"
        assert e.summary.endswith(f"({method}, {space})")
        assert e.raw["additivity_error"][0] < 1e-5
    weight = np.mean([np.abs(e.values) for e in explanations], axis=0)
    names = explanations[0].feature_names
    top_two = {names[i] for i in np.argsort(-weight)[:2]}
    assert top_two == {"signal_a", "signal_b"}, dict(zip(names, weight, strict=True))


def test_saves_without_pickle(tmp_path):
    """(its contract runs in test_signal_contract.py)"""
    data = MarketData(make_daily_bars(400))
    SklearnSignal(model=GradientBoostingClassifier(n_estimators=20)).fit(data).save(
        tmp_path / "model")
    saved = sorted(p.name for p in (tmp_path / "model").iterdir())
    assert "model.skops" in saved


def test_walk_forward_through_the_cache_gives_identical_decisions(tmp_path):
    data = MarketData(make_daily_bars(500))

    def fit():
        return WalkForwardSignal(SklearnSignal(model=RandomForestClassifier(n_estimators=10)),
                                 min_train=200, retrain_every=100, progress=False,
                                 cache_dir=str(tmp_path)).fit(data)

    first, second = fit(), fit()
    assert second.cache_hits_ == len(second.folds_) > 0
    pd.testing.assert_frame_equal(first.predict(data).frame, second.predict(data).frame)
    assert all(m.label_end_ < f.test_start for m, f in zip(first.models_, first.folds_,
                                                           strict=True))


def test_an_untrusted_type_in_the_model_file_is_refused(tmp_path):
    data = MarketData(make_daily_bars(300))
    folder = SklearnSignal().fit(data).save(tmp_path / "m")

    class Untrusted(SklearnSignal):
        trusted_types = ()

    import skops.io as sio

    sio.dump({"model": sio.load(folder / "model.skops"), "extra": pd.Timestamp("2020")},
             folder / "model.skops")
    with pytest.raises(ModelFileError, match="not trusted"):
        Untrusted.load(folder)


def test_named_in_yaml_by_module_paths():
    config = build_config({"signals": [{
        "kind": "sklearn", "model": "sklearn.ensemble:GradientBoostingClassifier",
        "model_params": {"max_depth": 2},
        "features": "tests.test_sklearn_signal:planted_features"}]})
    signal = config.signals[0].build()
    fitted = signal.fit(MarketData(planted_bars(300)))
    assert fitted.model_.max_depth == 2
    with pytest.raises(TypeError, match="no predict_proba"):
        SklearnSignal(model="sklearn.linear_model:LinearRegression").fit(
            MarketData(make_daily_bars(200)))


def test_the_deletion_test_scores_the_planted_features_above_random():
    data = MarketData(planted_bars(400))
    signal = SklearnSignal(model=GradientBoostingClassifier(n_estimators=30, max_depth=2),
                           features=planted_features, background=30,
                           label_basis="close_to_close").fit(data.until(data.bars.index[300]))
    measured = signal.measure(signal.explain(data, list(signal.predict(data).frame.index[-40:])))
    records = [e.faithfulness for e in measured]
    assert all(r["kind"] == "deletion" and r["k"] == 1 for r in records)
    top = np.mean([r["top_k_change"] for r in records])
    random = np.mean([r["random_change"] for r in records])
    assert top > 2 * random
    assert "Faithfulness: setting the top 1 features to their training mean" in measured[0].summary
