"""A pooled model per fold over several instruments: no look-ahead within or across them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.conftest import make_daily_bars
from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.data_feeds.universe import build_universe
from xai_backtest.signals.five_trend import FiveTrendDNN
from xai_backtest.signals.ma_crossover import MACrossover
from xai_backtest.signals.pooled import PooledWalkForward
from xai_backtest.signals.walk_forward import LookAheadError

pytestmark = pytest.mark.usefixtures("one_thread")
SMALL = {"epochs": 2, "lime_samples": 0, "seed": 0, "batch_size": 64}


def _universe(seed_shift: int = 0) -> dict[str, MarketData]:
    universe = build_universe([(f"x{i}", make_daily_bars(420, seed=i + seed_shift))
                               for i in range(3)])
    return {n: MarketData(universe.bars[n]) for n in universe.names}


def _pooled() -> PooledWalkForward:
    return PooledWalkForward(FiveTrendDNN(**SMALL), min_train=150, retrain_every=100,
                             embargo=10, progress=False)


def test_perturbing_every_instrument_after_t_leaves_decisions_up_to_t_unchanged():
    datas = _universe()
    before = _pooled().fit(datas).predict(datas)
    cut = next(iter(datas.values())).bars.index[300]
    rng = np.random.default_rng(7)
    changed = {}
    for name, data in datas.items():
        bars = data.bars.copy()
        late = bars.index > cut
        bars.loc[late, ["open", "high", "low", "close"]] *= rng.uniform(
            0.5, 1.5, (int(late.sum()), 1))
        changed[name] = MarketData(bars)
    after = _pooled().fit(changed).predict(changed)
    for name in datas:
        early = before[name].frame.index <= cut
        assert early.sum() > 50
        pd.testing.assert_frame_equal(before[name].frame[early], after[name].frame[early])
        assert not before[name].frame[~early].equals(after[name].frame[~early])


def test_each_instrument_is_explained_by_its_fold_model_with_faithfulness():
    datas = _universe()
    pooled = _pooled().fit(datas)
    decisions = pooled.predict(datas)
    at = {"x1": list(decisions["x1"].frame.index[[0, -1]]),
          "x2": list(decisions["x2"].frame.index[:2])}
    explained = pooled.explain(datas, at)
    assert [e.decision_time for e in explained["x1"]] == at["x1"]
    assert all(e.faithfulness["kind"] == "deletion" for e in explained["x1"])
    assert [e.fold for e in explained["x2"]] == [0, 0]
    assert explained["x1"][0].id == f"five_trend[x1]@{at['x1'][0].isoformat()}"
    assert decisions["x1"].signal == "five_trend[x1]"  # so portfolio fills find them
    one = pooled.explain({"x1": datas["x1"]}, {"x1": at["x1"]})["x1"]
    for alone, batched in zip(one, explained["x1"], strict=True):  # batched over instruments
        assert alone.prediction == batched.prediction and alone.fold == batched.fold
        np.testing.assert_allclose(alone.values, batched.values, atol=1e-9)
    fold = pooled.folds_[0]
    own = [len(FiveTrendDNN(**SMALL).training_samples(
        data.between(fold.train_start, fold.train_end))[1]) for data in datas.values()]
    assert pooled.models_[0].n_train_ == sum(own) and min(own) > 0  # all three pooled


def test_a_label_reaching_the_cut_is_refused_and_a_rule_cannot_be_pooled():
    class Leaky(FiveTrendDNN):
        def fit_pooled(self, histories):
            super().fit_pooled(histories)
            self.label_end_ = pd.Timestamp("2100-01-01", tz="UTC")
            return self

    datas = _universe()
    with pytest.raises(LookAheadError, match="fold 0"):
        PooledWalkForward(Leaky(**SMALL), min_train=150, retrain_every=100,
                          progress=False).fit(datas)
    with pytest.raises(TypeError, match="cannot be pooled"):
        PooledWalkForward(MACrossover())


@pytest.mark.slow
def test_pooled_fold_models_are_cached_by_every_instruments_history(tmp_path):
    datas = _universe()

    def fitted(universe):
        return PooledWalkForward(FiveTrendDNN(**SMALL), min_train=150, retrain_every=100,
                                 embargo=10, progress=False, cache_dir=str(tmp_path)).fit(
                                     universe)

    cold = fitted(datas)
    warm = fitted(datas)
    assert (cold.cache_misses_, warm.cache_hits_, warm.cache_misses_) == (
        len(cold.folds_), len(cold.folds_), 0)
    for name in datas:
        pd.testing.assert_frame_equal(cold.predict(datas)[name].frame,
                                      warm.predict(datas)[name].frame)
    bars = datas["x2"].bars.copy()  # one close of one instrument, inside the last fold only
    last = cold.folds_[-1]
    stamp = bars.index[bars.index < last.train_end][-20]
    assert stamp >= cold.folds_[-2].train_end
    bars.loc[stamp, "close"] *= 1.01
    edited = fitted({**datas, "x2": MarketData(bars)})
    assert (edited.cache_hits_, edited.cache_misses_) == (len(cold.folds_) - 1, 1)


@pytest.mark.slow
def test_the_instrument_as_a_feature_is_an_input_explained_like_the_others():
    datas = _universe()
    pooled = PooledWalkForward(FiveTrendDNN(**SMALL), min_train=150, retrain_every=100,
                               embargo=10, progress=False, instrument_feature=True).fit(datas)
    assert pooled.models_[0].instruments == ("x0", "x1", "x2")
    decisions = pooled.predict(datas)
    at = {n: list(f.frame.index[-3:]) for n, f in decisions.items()}
    explained = pooled.explain(datas, at)
    for name, explanations in explained.items():
        for e in explanations:
            assert e.feature_names[-3:] == ("instrument = x0", "instrument = x1",
                                            "instrument = x2")
            assert list(e.data[-3:]) == [float(name == n) for n in ("x0", "x1", "x2")]
            logit, = e.raw["logit"]
            assert e.values.sum() == pytest.approx(logit - e.base_value, abs=1e-6)
            assert len(e.raw["instrument_shap"]) == 3
    plain = _pooled().fit(datas).predict(datas)
    assert any(not plain[n].frame["probability"].equals(decisions[n].frame["probability"])
               for n in datas)  # the model reads the new inputs

    class Poolable:  # pools, but has no instrument inputs
        name = "poolable"

        def fit_pooled(self, histories):
            return self

        def get_params(self):
            return {}

    with pytest.raises(TypeError, match="no instrument inputs"):
        PooledWalkForward(Poolable(), instrument_feature=True)
