from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xai_backtest.signals.trend_features import (
    FAMILIES,
    LAGS,
    WARMUP,
    WINDOW,
    daily_features,
    family_sums,
    feature_names,
    lag_sums,
    window_features,
)

CLOSES = [100, 101, 99, 102, 104, 103, 105, 107, 106, 108, 110, 109, 111, 113, 112, 115, 114,
          116, 118, 117, 119, 121, 120, 122, 124, 123, 125, 127, 126, 128, 130, 129]


@pytest.fixture
def close() -> pd.Series:
    index = pd.bdate_range("2020-01-01", periods=len(CLOSES), tz="America/New_York")
    return pd.Series(np.array(CLOSES, dtype=float), index=index)


def _rsi(prices: list[float]) -> float:
    moves = np.diff(prices)
    gain, loss = moves[moves > 0].sum() / len(moves), -moves[moves < 0].sum() / len(moves)
    return 100 * gain / (gain + loss)


def test_features_match_hand_computation(close):
    t = 20  # any bar after the warm-up
    c = CLOSES
    row = daily_features(close).iloc[t]
    window5 = c[t - 4:t + 1]
    one_day = [c[i] / c[i - 1] - 1 for i in range(t - 4, t + 1)]
    expected = {
        "close": c[t],
        "return_1": c[t] / c[t - 1] - 1, "return_15": c[t] / c[t - 15] - 1,
        "ma_5": sum(window5) / 5, "ma_15": sum(c[t - 14:t + 1]) / 15,
        "volatility_5": float(np.std(one_day, ddof=1)),
        "rsi_5": _rsi(c[t - 5:t + 1]), "rsi_15": _rsi(c[t - 15:t + 1]),
        "momentum_1": c[t] - c[t - 1], "momentum_10": c[t] - c[t - 10],
    }
    for name, value in expected.items():
        assert row[name] == pytest.approx(value, rel=1e-12), name
    assert list(daily_features(close).columns) == list(FAMILIES)


def test_warmup_rows_are_empty_and_the_first_full_row_is_complete(close):
    frame = daily_features(close)
    assert frame.iloc[:WARMUP].isna().all().all()
    assert frame.iloc[WARMUP:].notna().all().all()


def test_rsi_of_a_flat_stretch_is_50():
    flat = pd.Series(100.0, index=pd.bdate_range("2020-01-01", periods=20, tz="UTC"))
    assert (daily_features(flat)["rsi_5"].dropna() == 50).all()


def test_window_columns_are_family_at_lag(close):
    daily = daily_features(close)
    raw = window_features(close, relative_prices=False)
    assert len(raw.columns) == 270 == len(feature_names())
    assert raw.columns[0] == "close @ t-14" and raw.columns[14] == "close @ t"
    t = raw.index[-1]
    position = close.index.get_loc(t)
    assert raw.loc[t, "rsi_5 @ t-3"] == daily["rsi_5"].iloc[position - 3]
    assert raw.index[0] == close.index[WARMUP + WINDOW - 1]


def test_relative_prices_divide_price_families_by_the_decision_close(close):
    raw = window_features(close, relative_prices=False)
    rel = window_features(close, relative_prices=True)
    t = rel.index[-1]
    assert rel.loc[t, "close @ t"] == 1.0
    assert rel.loc[t, "ma_5 @ t-2"] == pytest.approx(raw.loc[t, "ma_5 @ t-2"] / close[t])
    assert rel.loc[t, "momentum_5 @ t-1"] == pytest.approx(raw.loc[t, "momentum_5 @ t-1"]
                                                          / close[t])
    assert rel.loc[t, "rsi_10 @ t-4"] == raw.loc[t, "rsi_10 @ t-4"]


def test_features_are_causal(close):
    before = window_features(close)
    changed = close.copy()
    changed.iloc[25:] *= 1.7
    after = window_features(changed)
    cut = close.index[25]
    pd.testing.assert_frame_equal(before[before.index < cut], after[after.index < cut])


def test_family_and_lag_sums_cover_every_input():
    values = np.arange(270, dtype=float)
    assert family_sums(values).shape == (len(FAMILIES),)
    assert lag_sums(values).shape == (len(LAGS),)
    assert family_sums(values).sum() == lag_sums(values).sum() == values.sum()
    assert family_sums(values)[0] == values[:WINDOW].sum()
    assert lag_sums(values)[-1] == values[WINDOW - 1::WINDOW].sum()
