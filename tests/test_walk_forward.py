from __future__ import annotations

import pandas as pd
import pytest

from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.signals.ma_crossover import MACrossover
from xai_backtest.signals.walk_forward import WalkForwardSignal, walk_forward_folds

TIMES = pd.bdate_range("2020-01-01", periods=100, tz="UTC")


def test_expanding_folds_cover_every_test_time_once():
    folds = walk_forward_folds(TIMES, min_train=40, retrain_every=15)
    assert [f.test_start for f in folds] == list(TIMES[40::15])
    assert all(f.train_start == TIMES[0] for f in folds)
    assert folds[-1].test_end is None
    for f, g in zip(folds, folds[1:], strict=False):
        assert f.test_end == g.test_start


def test_no_training_time_at_or_after_the_cut():
    for fold in walk_forward_folds(TIMES, min_train=30, retrain_every=10, embargo=3):
        assert fold.train_end <= fold.test_start
        assert fold.train_end == TIMES[TIMES.get_loc(fold.test_start) - 3]


def test_rolling_window_length():
    folds = walk_forward_folds(TIMES, scheme="rolling", window=20, min_train=30,
                               retrain_every=10)
    for fold in folds:
        span = TIMES.get_loc(fold.train_end) - TIMES.get_loc(fold.train_start)
        assert span == 20


@pytest.mark.parametrize("kwargs", [dict(min_train=0), dict(retrain_every=0),
                                    dict(embargo=-1), dict(scheme="rolling"),
                                    dict(min_train=100)])
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        walk_forward_folds(TIMES, **{"min_train": 40, **kwargs})


def test_fold_models_never_train_on_labels_reaching_their_test_block(daily_bars):
    data = MarketData(daily_bars)
    signal = WalkForwardSignal(MACrossover(5, 20), min_train=100, retrain_every=50,
                               embargo=2, progress=False).fit(data)
    for fold, model in zip(signal.folds_, signal.models_, strict=True):
        assert model.train_end_ < fold.train_end <= fold.test_start
        assert model.label_end_ < fold.test_start  # purge: labels end before the test block
        assert model.label_end_ < fold.train_end   # embargo honoured as well


def test_predictions_come_from_the_fold_of_their_time(daily_bars):
    data = MarketData(daily_bars)
    signal = WalkForwardSignal(MACrossover(5, 20), min_train=100, retrain_every=50,
                               progress=False).fit(data)
    decisions = signal.predict(data).frame
    assert decisions.index[0] == signal.folds_[0].test_start
    for fold in signal.folds_:
        block = decisions[(decisions.index >= fold.test_start)
                          & ((decisions.index < fold.test_end) if fold.test_end else True)]
        assert (block["fold"] == fold.number).all()
        model = signal.models_[fold.number]
        up = block["label"] == "up"
        assert (block.loc[up, "probability"] == model.p_up_).all()
    explanation = signal.explain(data, [decisions.index[-1]])[0]
    assert explanation.fold == signal.folds_[-1].number


def test_explaining_a_warm_up_time_is_an_error(daily_bars):
    data = MarketData(daily_bars)
    signal = WalkForwardSignal(MACrossover(5, 20), min_train=100, progress=False).fit(data)
    with pytest.raises(ValueError, match="before the first out-of-sample decision"):
        signal.explain(data, [daily_bars.index[50]])


def test_walk_forward_has_no_look_ahead(daily_bars):
    from xai_backtest.signals.contract import perturb_after

    data = MarketData(daily_bars)
    cut = daily_bars.index[400]
    make = lambda: WalkForwardSignal(MACrossover(5, 20), min_train=100,  # noqa: E731
                                     retrain_every=30, progress=False)
    before = make().fit(data).predict(data).frame
    after = make().fit(perturb_after(data, cut)).predict(perturb_after(data, cut)).frame
    pd.testing.assert_frame_equal(before[before.index < cut], after[after.index < cut])


def test_a_fold_whose_labels_reach_the_test_block_is_refused_at_run_time(daily_bars):
    from xai_backtest.data_feeds.market_data import MarketData
    from xai_backtest.signals.ma_crossover import MACrossover
    from xai_backtest.signals.walk_forward import LookAheadError, WalkForwardSignal

    class Leaky(MACrossover):
        """Claims (as a leaky labeller would) that its labels read the bar at the cut."""

        name = "leaky"

        def fit(self, history):
            super().fit(history)
            self.label_end_ = history.bars.index[-1] + pd.Timedelta(days=1)
            return self

    signal = WalkForwardSignal(Leaky(fast=5, slow=20), min_train=100, retrain_every=100,
                               progress=False)
    with pytest.raises(LookAheadError, match="signal 'leaky', fold 0"):
        signal.fit(MarketData(daily_bars))


def test_absurd_fold_counts_are_refused_with_the_fix():
    from xai_backtest.signals.walk_forward import WalkForwardError

    times = pd.date_range("2021-01-04 09:15", periods=60_000, freq="min", tz="Asia/Kolkata")
    with pytest.raises(WalkForwardError, match="resample") as info:
        walk_forward_folds(times, min_train=504, retrain_every=21)
    assert "2,834 walk-forward folds" in str(info.value)
    with pytest.raises(WalkForwardError, match="min_train"):
        walk_forward_folds(times[:10], min_train=504)
