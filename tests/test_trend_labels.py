from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xai_backtest.signals.trend_labels import CLASSES, NONE, LabelRuleError, trend_labels

H = 10
U = np.linspace(0, 1, H + 1)


def _label(path: np.ndarray, **kwargs: float) -> str:
    """Label of bar 0 when the next H closes follow ``path`` (relative moves)."""
    closes = np.r_[100 * (1 + path), np.full(3, 100.0)]
    series = pd.Series(closes, index=pd.bdate_range("2021-01-04", periods=len(closes),
                                                   tz="UTC"))
    return trend_labels(series, horizon=H, **kwargs).iloc[0]


@pytest.mark.parametrize(("shape", "path"), [
    ("upward", 0.06 * U),
    ("downward", -0.06 * U),
    ("rounded_top", 0.2 * U * (1 - U)),
    ("rounded_bottom", -0.2 * U * (1 - U)),
    ("double_top", 0.05 * np.sin(2 * np.pi * U) ** 2),
])
def test_each_shape_gets_its_class(shape, path):
    assert _label(path) == shape
    noisy = path + np.random.default_rng(0).normal(0, 0.002, len(path)) * (U > 0)
    assert _label(noisy) == shape


def test_a_small_range_is_no_clear_trend():
    assert _label(0.01 * U) == NONE  # +1% < min_range 2%
    assert _label(0.01 * U, min_range=0.005) == "upward"


def test_a_poor_fit_is_no_clear_trend():
    zigzag = 0.03 * (np.arange(H + 1) % 2)
    assert _label(zigzag) == NONE
    assert _label(zigzag, min_fit=-1.0) in CLASSES


def test_the_last_horizon_bars_have_no_label():
    series = pd.Series(np.linspace(100, 130, 30),
                       index=pd.bdate_range("2021-01-04", periods=30, tz="UTC"))
    labels = trend_labels(series, horizon=H)
    assert labels.iloc[-H:].isna().all()
    assert labels.iloc[:-H].eq("upward").all()


def test_labels_use_only_the_next_horizon_bars():
    series = pd.Series(100 * np.exp(np.random.default_rng(1).normal(0, 0.02, 60).cumsum()),
                       index=pd.bdate_range("2021-01-04", periods=60, tz="UTC"))
    base = trend_labels(series, horizon=H)
    changed = series.copy()
    changed.iloc[40:] *= 1.5  # bars from 40 on: labels up to bar 29 must not move
    again = trend_labels(changed, horizon=H)
    assert base.iloc[:30].tolist() == again.iloc[:30].tolist()


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"horizon": 2}, "horizon"), ({"min_range": -0.1}, "min_range"), ({"min_fit": 2.0},
                                                                       "min_fit")])
def test_bad_parameters_are_named(kwargs, match):
    series = pd.Series(np.arange(30.0) + 1, index=pd.bdate_range("2021-01-04", periods=30,
                                                                 tz="UTC"))
    with pytest.raises(LabelRuleError, match=match):
        trend_labels(series, **kwargs)
