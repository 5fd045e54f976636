"""Is a strategy's edge over buy-and-hold distinguishable from luck?

Two views, both on daily returns:

* a circular block bootstrap of the paired return series (blocks keep volatility
  clustering and the pairing keeps the two series' correlation) giving a confidence
  interval of the annualised Sharpe difference, strategy minus buy-and-hold;
* the probabilistic Sharpe ratio (Bailey and López de Prado, 2012) of the strategy
  against buy-and-hold's Sharpe as the hurdle, and its deflated version (2014), which
  raises the hurdle for the number of strategies tried in the run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from xai_backtest.reports.metrics import TRADING_DAYS

__all__ = ["EdgeTest", "TooFewReturns", "deflated_sharpe", "deflated_sharpes",
           "edge_over_benchmark", "per_period_sharpe", "probabilistic_sharpe",
           "sharpe_difference_interval"]

EULER_GAMMA = 0.5772156649015329
#: the fewest returns whose skew and kurtosis the probabilistic Sharpe ratio reads
MIN_PSR_RETURNS = 3


class TooFewReturns(ValueError):
    """A statistic that needs more returns than the run has; the message says how many."""


@dataclass(frozen=True)
class EdgeTest:
    """The evidence that a strategy beats its benchmark, and the verdict in words; a
    statistic a short run cannot support is NaN, and the verdict says it was not computed."""

    sharpe_difference: float
    interval_low: float
    interval_high: float
    level: float
    probabilistic_sharpe: float
    deflated_sharpe: float
    trials: int
    verdict: str


def per_period_sharpe(r: np.ndarray) -> np.ndarray:
    """Per-period Sharpe along the last axis."""
    std = r.std(axis=-1, ddof=1)
    return np.divide(r.mean(axis=-1), std, out=np.zeros_like(std), where=std > 0)


def sharpe_difference_interval(strategy: pd.Series, benchmark: pd.Series, *, block: int = 20,
                               resamples: int = 2000, level: float = 0.95,
                               seed: int = 0) -> tuple[float, float, float]:
    """Annualised Sharpe difference and its circular-block-bootstrap interval."""
    pair = pd.concat([strategy, benchmark], axis=1, join="inner").to_numpy().T
    n = pair.shape[1]
    if n < 2 * block:
        raise TooFewReturns(f"{n} paired returns are too few for a block bootstrap with "
                            f"blocks of {block} (it needs at least {2 * block})")
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, n, size=(resamples, -(-n // block)))
    index = ((starts[:, :, None] + np.arange(block)) % n).reshape(resamples, -1)[:, :n]
    sampled = pair[:, index]  # (2, resamples, n)
    scale = np.sqrt(TRADING_DAYS)
    diffs = scale * (per_period_sharpe(sampled[0]) - per_period_sharpe(sampled[1]))
    observed = scale * float(per_period_sharpe(pair[0]) - per_period_sharpe(pair[1]))
    tail = (1 - level) / 2
    low, high = np.quantile(diffs, [tail, 1 - tail])
    return observed, float(low), float(high)


def probabilistic_sharpe(returns: pd.Series, hurdle: float) -> float:
    """P(true per-period Sharpe > ``hurdle``) given skew and kurtosis of ``returns``."""
    r = returns.to_numpy()
    n = len(r)
    sr = float(per_period_sharpe(r))
    skew = float(stats.skew(r))
    kurt = float(stats.kurtosis(r, fisher=False))
    denominator = np.sqrt(max(1 - skew * sr + (kurt - 1) / 4 * sr**2, 1e-12))
    return float(stats.norm.cdf((sr - hurdle) * np.sqrt(n - 1) / denominator))


def deflated_sharpe(returns: pd.Series, hurdle: float, trials: int,
                    trial_sharpe_variance: float) -> float:
    """PSR against the expected best of ``trials`` unskilled strategies above ``hurdle``."""
    if trials <= 1 or trial_sharpe_variance <= 0:
        return probabilistic_sharpe(returns, hurdle)
    expected_max = np.sqrt(trial_sharpe_variance) * (
        (1 - EULER_GAMMA) * stats.norm.ppf(1 - 1 / trials)
        + EULER_GAMMA * stats.norm.ppf(1 - 1 / (trials * np.e)))
    return probabilistic_sharpe(returns, hurdle + float(expected_max))


def deflated_sharpes(returns: np.ndarray, hurdles: np.ndarray, trials: int,
                     trial_sharpe_variance: float) -> np.ndarray:
    """``deflated_sharpe`` of each row of ``returns`` (points x periods) at once."""
    n = returns.shape[1]
    mean = returns.mean(axis=1)
    std = returns.std(axis=1, ddof=1)
    sr = np.divide(mean, std, out=np.zeros_like(mean), where=std > 0)
    centred = returns - mean[:, None]
    m2 = (centred**2).mean(axis=1)
    safe = np.where(m2 > 0, m2, 1.0)
    skew = np.where(m2 > 0, (centred**3).mean(axis=1) / safe**1.5, 0.0)
    kurt = np.where(m2 > 0, (centred**4).mean(axis=1) / safe**2, 3.0)
    expected_max = 0.0
    if trials > 1 and trial_sharpe_variance > 0:
        expected_max = np.sqrt(trial_sharpe_variance) * (
            (1 - EULER_GAMMA) * stats.norm.ppf(1 - 1 / trials)
            + EULER_GAMMA * stats.norm.ppf(1 - 1 / (trials * np.e)))
    denominator = np.sqrt(np.maximum(1 - skew * sr + (kurt - 1) / 4 * sr**2, 1e-12))
    return stats.norm.cdf((sr - (hurdles + expected_max)) * np.sqrt(n - 1) / denominator)


def edge_over_benchmark(strategy: pd.Series, benchmark: pd.Series, *, trials: int = 1,
                        trial_sharpe_variance: float = 0.0, seed: int = 0,
                        level: float = 0.95, name: str = "buy-and-hold") -> EdgeTest:
    """Bootstrap interval, PSR and DSR of ``strategy`` daily returns vs ``benchmark``'s
    (``name``: the benchmark in the verdict's words). A statistic too few returns cannot
    support is NaN and the verdict says "not computed" and why; nothing is raised."""
    try:
        diff, low, high = sharpe_difference_interval(strategy, benchmark, seed=seed,
                                                     level=level)
    except TooFewReturns as e:
        diff, low, high = _observed_difference(strategy, benchmark), np.nan, np.nan
        observed = f" ({diff:+.2f})" if np.isfinite(diff) else ""
        verdict = (f"Edge not tested: the {level:.0%} interval of the Sharpe difference"
                   f"{observed} is not computed: {e}; a longer run can test it.")
    else:
        span = f"[{low:+.2f}, {high:+.2f}]"
        if low > 0:
            verdict = (f"Beats {name}: the {level:.0%} interval of the Sharpe difference "
                       f"{span} lies above zero.")
        elif high < 0:
            verdict = (f"Worse than {name}: the {level:.0%} interval of the Sharpe difference "
                       f"{span} lies below zero.")
        else:
            verdict = (f"Not distinguishable from luck: the {level:.0%} interval of the "
                       f"Sharpe difference {span} includes zero.")
    n = len(strategy)
    if n < MIN_PSR_RETURNS:
        psr = dsr = np.nan
        verdict += (f" Chance its true Sharpe exceeds {name}'s: not computed: {n} returns "
                    f"are too few (the probabilistic Sharpe ratio needs at least "
                    f"{MIN_PSR_RETURNS}).")
    else:
        hurdle = float(per_period_sharpe(benchmark.to_numpy()))
        psr = probabilistic_sharpe(strategy, hurdle)
        dsr = deflated_sharpe(strategy, hurdle, trials, trial_sharpe_variance)
        verdict += (f" Chance its true Sharpe exceeds {name}'s: {psr:.0%}"
                    + (f" ({dsr:.0%} after allowing for {trials} strategies tried)."
                       if trials > 1 else "."))
    return EdgeTest(sharpe_difference=diff, interval_low=low, interval_high=high, level=level,
                    probabilistic_sharpe=psr, deflated_sharpe=dsr, trials=trials,
                    verdict=verdict)


def _observed_difference(strategy: pd.Series, benchmark: pd.Series) -> float:
    """Annualised Sharpe difference of the paired returns (NaN with fewer than two)."""
    pair = pd.concat([strategy, benchmark], axis=1, join="inner").to_numpy().T
    if pair.shape[1] < 2:
        return float("nan")
    return float(np.sqrt(TRADING_DAYS) * (per_period_sharpe(pair[0]) - per_period_sharpe(pair[1])))
