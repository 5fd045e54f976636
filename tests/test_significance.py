from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from xai_backtest.reports.significance import (
    deflated_sharpe,
    edge_over_benchmark,
    probabilistic_sharpe,
    sharpe_difference_interval,
)


def _series(mean, std, n=1000, seed=0):
    rng = np.random.default_rng(seed)
    return pd.Series(rng.normal(mean, std, n), index=pd.bdate_range("2010-01-01", periods=n))


def test_identical_series_have_zero_difference():
    r = _series(0.0005, 0.01)
    diff, low, high = sharpe_difference_interval(r, r)
    assert diff == 0 and low == 0 and high == 0


def test_a_clear_edge_is_detected_and_noise_is_not():
    bench = _series(0.0002, 0.01, seed=1)
    strong = bench * 0.5 + _series(0.002, 0.005, seed=2)
    assert edge_over_benchmark(strong, bench).interval_low > 0
    noise = bench + _series(0.0, 0.002, seed=3)
    test = edge_over_benchmark(noise, bench)
    assert test.interval_low < 0 < test.interval_high
    assert test.verdict.startswith("Not distinguishable from buy-and-hold: the paired 95% "
                                   "interval of the Sharpe difference")


def test_psr_of_normal_returns_by_hand():
    r = _series(0.001, 0.01, n=500, seed=4)
    sr = r.mean() / r.std(ddof=1)
    skew, kurt = stats.skew(r), stats.kurtosis(r, fisher=False)
    expected = stats.norm.cdf(sr * np.sqrt(499) / np.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2))
    assert probabilistic_sharpe(r, 0.0) == pytest.approx(expected, rel=1e-12)


def test_deflation_raises_the_bar():
    r = _series(0.001, 0.01, n=500, seed=5)
    assert deflated_sharpe(r, 0.0, 20, 0.002) < probabilistic_sharpe(r, 0.0)
    assert deflated_sharpe(r, 0.0, 1, 0.002) == probabilistic_sharpe(r, 0.0)


def test_bootstrap_is_seeded():
    a, b = _series(0.001, 0.01, seed=6), _series(0.0, 0.01, seed=7)
    assert sharpe_difference_interval(a, b, seed=3) == sharpe_difference_interval(a, b, seed=3)


def test_deflated_sharpes_of_many_points_equal_the_one_at_a_time_formula():
    import numpy as np

    from xai_backtest.reports.significance import deflated_sharpe, deflated_sharpes

    rng = np.random.default_rng(4)
    returns = rng.standard_t(4, size=(6, 300)) * 0.01 + rng.normal(0.0005, 0.0003, (6, 1))
    hurdles = rng.normal(0.02, 0.01, 6)
    for trials, variance in ((1, 0.0), (6, 0.002)):
        many = deflated_sharpes(returns, hurdles, trials, variance)
        one = [deflated_sharpe(pd.Series(r), h, trials, variance)
               for r, h in zip(returns, hurdles, strict=True)]
        np.testing.assert_allclose(many, one, rtol=1e-9, atol=1e-12)
