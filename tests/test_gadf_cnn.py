from __future__ import annotations

import subprocess
import sys
from datetime import time

import numpy as np
import pandas as pd
import pytest

from tests.minute_data import make_minute_bars
from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.explainers.figures import render_figure
from xai_backtest.explainers.gradcam import deletion_test, describe, time_importance
from xai_backtest.reports.trade_log import build_trade_log, decision_times_of_fills
from xai_backtest.signals.contract import perturb_after
from xai_backtest.signals.gadf_cnn import GADFCNN, GADFParameterError
from xai_backtest.signals.walk_forward import WalkForwardSignal
from xai_backtest.strategies.backtest import run_strategy
from xai_backtest.strategies.intraday import IntradayStrategy

TINY = {"filters": 4, "epochs": 3, "min_samples": 20, "seed": 0}


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def minute_data() -> MarketData:
    return MarketData(make_minute_bars(days=45, seed=1))


def test_decides_at_the_end_of_the_first_hour(minute_data):
    times = GADFCNN().decision_times(minute_data)
    assert len(times) == 45
    assert set(times.time) == {time(10, 15)}


def test_decision_of_day_d_ignores_everything_after_its_first_hour(minute_data):
    signal = GADFCNN()
    day = signal.decision_times(minute_data)[30]
    model = GADFCNN(**TINY).fit(minute_data.until(day.normalize()))
    changed = perturb_after(minute_data, day + pd.Timedelta(minutes=1), seed=7)
    before = model.predict(minute_data).frame
    after = model.predict(changed).frame
    pd.testing.assert_frame_equal(before.loc[:day], after.loc[:day])
    assert model.explain(minute_data, [day])[0].equals(model.explain(changed, [day])[0])
    assert not before.loc[day + pd.Timedelta(days=1):].equals(
        after.loc[day + pd.Timedelta(days=1):])


def test_short_and_gappy_first_hours_are_filled_or_skipped_and_counted():
    bars = make_minute_bars(days=6, seed=2)
    day = bars.index.normalize()
    dates = day.unique()
    minute = bars.index.strftime("%H:%M")
    drop = (
        ((day == dates[0]) & minute.isin(["09:16", "09:17", "09:40", "09:41", "09:42"]))
        | ((day == dates[1]) & (minute > "09:30") & (minute < "09:45"))  # 14 minutes missing
        | ((day == dates[2]) & (minute >= "10:05"))  # session ends inside the first hour
        | ((day == dates[3]) & (minute == "10:15"))  # decision bar missing
    )
    data = MarketData(bars[~drop])
    found = GADFCNN(max_fill=5).windows(data)
    assert found.skipped == {"first hour has a gap longer than max_fill=5 minutes": 1,
                             "session ended within the first hour": 1}
    assert found.filled == 5 + 1
    assert list(found.times.normalize()) == [dates[0], dates[3], dates[4], dates[5]]
    assert found.times[1].time() == time(10, 16)
    first = found.closes[0]
    kept = bars[~drop]
    assert first[0] == first[1] == kept.loc[kept.index.normalize() == dates[0], "open"].iloc[0]
    assert first[24] == first[25] == first[26] == first[23]  # 09:40-09:42 carry 09:39
    assert len(GADFCNN(max_fill=20).windows(data).times) == 5


def test_labels_tradable_and_paper(minute_data):
    bars = minute_data.bars
    first_day = bars[bars.index.normalize() == bars.index[0].normalize()]
    at = first_day.index[first_day.index.time == time(10, 15)][0]
    tradable = GADFCNN().labels(minute_data)[at]
    paper = GADFCNN(label="paper").labels(minute_data)[at]
    last = first_day["close"].iloc[-1]
    assert tradable == ("up" if last > first_day.loc[at, "close"] else "down")
    assert paper == ("up" if last > first_day["open"].iloc[0] else "down")
    open_day = MarketData(bars[bars.index < at + pd.Timedelta(hours=1)])
    assert GADFCNN().labels(open_day).iloc[-1] is None


def test_explanations_of_every_trade(minute_data, tmp_path):
    model = WalkForwardSignal(GADFCNN(**TINY), min_train=25, retrain_every=10, progress=False)
    decisions = model.fit(minute_data).predict(minute_data)
    bars = minute_data.bars[minute_data.bars.index >= decisions.frame.index[0]]
    result = run_strategy("gadf_cnn", bars, decisions, IntradayStrategy, threshold=0.0,
                          allow_short=True, exit_time=time(15, 30))
    times = decision_times_of_fills(result, decisions)
    assert len(times) == len(decisions)  # threshold 0 with shorts: a trade every day
    explanations = model.explain(minute_data, times)
    by_id = {e.id: e for e in explanations}
    trades = build_trade_log(result, bars, decisions, by_id)
    assert trades["entry_explanation"].notna().all()
    for e in explanations:
        assert e.method == "gradcam" and e.fold is not None
        assert e.values.shape == (60,) and e.data.shape == (60,)
        assert e.feature_names[0] == "09:16" and e.feature_names[-1] == "10:15"
        assert e.raw["heatmap"].shape == e.raw["gadf"].shape == (60, 60)
        np.testing.assert_allclose(e.values, time_importance(e.raw["heatmap"][None])[0],
                                   rtol=1e-6)
        assert "weighed most" in e.summary or "zero heatmap" in e.summary
        assert e.prediction == decisions.frame.loc[e.decision_time, "label"]
    drawn = render_figure(explanations[0], tmp_path)
    assert (tmp_path / drawn.figure).stat().st_size > 10_000


def test_summary_names_the_span_and_the_move():
    importance = np.zeros(6)
    importance[2:4] = [0.9, 1.0]
    closes = np.array([100.0, 101, 99, 98, 98, 100])
    text = describe(importance, closes, ["09:16", "09:17", "09:18", "09:19", "09:20", "09:21"],
                    "down", 0.61)
    assert text == ("Grad-CAM for 'down' (p=0.61): 09:18-09:19 weighed most (importance 0.95 "
                    "of 1); price fell 2.97% there (101.00 to 98.00), and the window as a "
                    "whole rose 0.00%.")


def test_deletion_test_separates_the_steps_a_model_uses():
    rng = np.random.default_rng(0)
    closes = 100 + rng.normal(0, 1, (50, 20)).cumsum(axis=1)

    def proba_up(windows):  # a "model" that reads steps 5..7 only
        return 1 / (1 + np.exp(-(windows[:, 5:8].mean(axis=1) - windows.mean(axis=1))))

    right = np.zeros_like(closes)
    right[:, 5:8] = 1
    result = deletion_test(closes, right, proba_up, k=3)
    assert result.passed and result.top_k_change > 2 * result.random_change
    wrong = np.zeros_like(closes)
    wrong[:, 15:18] = 1
    assert not deletion_test(closes, wrong, proba_up, k=3).passed
    with pytest.raises(ValueError, match="k must be"):
        deletion_test(closes, right, proba_up, k=20)


@pytest.mark.slow
def test_grad_cam_on_the_first_block_is_faithful_on_a_planted_pattern():
    data = MarketData(make_minute_bars(days=150, seed=0))
    signal = GADFCNN(filters=8, epochs=30, learning_rate=0.01, patience=8, cam_layer="first")
    found = signal.windows(data)
    cut = found.times[105]
    model = signal.fit(data.until(cut))
    test = found.times >= cut
    truth = model.labels(data)[test]
    assert (model.predict(data).frame.loc[test, "label"] == truth).mean() > 0.65
    importance = np.array([e.values for e in model.explain(data, list(found.times[test]))])
    result = deletion_test(found.closes[test], importance, model.proba_up, k=6)
    assert result.top_k_change > result.random_change


def test_bad_parameters_and_data_are_refused(daily_bars, minute_data):
    with pytest.raises(GADFParameterError, match="window must be >= 4"):
        GADFCNN(window=3).decision_times(minute_data)
    with pytest.raises(GADFParameterError, match="frequency='daily'"):
        GADFCNN().decision_times(MarketData(daily_bars))
    with pytest.raises(GADFParameterError, match="min_samples=40"):
        GADFCNN(filters=4).fit(minute_data.until(minute_data.bars.index[20 * 375]))
    fitted = GADFCNN(**TINY).fit(minute_data.until(minute_data.bars.index[30 * 375]))
    with pytest.raises(ValueError, match="not a decision time"):
        fitted.explain(minute_data, [minute_data.bars.index[5]])


def test_importing_the_signal_does_not_import_torch():
    code = "import sys, xai_backtest.signals.gadf_cnn; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@pytest.mark.parametrize("method", ["gradcam", "gradcam++", "xgradcam", "hirescam", "layercam",
                                    "scorecam", "eigencam"])
def test_every_cam_method_gives_a_heatmap_per_image(method):
    import torch

    from xai_backtest.explainers.gradcam import gradcam_heatmaps
    from xai_backtest.signals._gadf_net import build_net

    torch.manual_seed(0)
    net = build_net("small", 1, 4, 0.0).eval()
    images = np.random.default_rng(0).uniform(-1, 1, (3, 1, 20, 20)).astype(np.float32)
    for layer in ("first", "last"):
        heat = gradcam_heatmaps(net, images, [0, 1, 1], layer, method)
        assert heat.shape == (3, 20, 20)
        assert heat.min() >= 0 and heat.max() <= 1 + 1e-6


def test_an_unknown_cam_method_is_refused():
    with pytest.raises(GADFParameterError, match="cam_method must be one of"):
        GADFCNN(cam_method="gradcam3")._check_params()
