"""Is a strategy's edge over buy-and-hold distinguishable from luck?

The verdict is a paired test on the difference: a circular block bootstrap of the paired
daily return series (blocks keep volatility clustering and the pairing keeps the two
series' correlation) gives a confidence interval of the annualised Sharpe difference,
strategy minus benchmark; the strategy beats the benchmark when the interval lies above
zero, is worse when it lies below, and is not distinguishable when it holds zero.

A secondary line gives the probabilistic Sharpe ratio (Bailey and López de Prado, 2012)
against zero: the chance the strategy's true Sharpe is above zero. It does not compare
with buy-and-hold, whose realised Sharpe is itself an estimate with its own error (the
paired interval carries that error). The deflated version (2014) raises the zero hurdle
to the expected best Sharpe of ``trials`` unskilled strategies: the configurations the
user tried (a config's ``trials:``; a sweep writes its size there), else the number of
signals in the run, and the sentence says which count it used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from xai_backtest.reports.metrics import TRADING_DAYS

__all__ = ["EdgeTest", "TooFewReturns", "deflated_sharpe", "deflated_sharpes",
           "edge_over_benchmark", "expected_max_sharpe", "null_sharpe_variance",
           "per_period_sharpe", "probabilistic_sharpe", "sharpe_difference_interval"]

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
    #: the secondary line: the chance the true Sharpe is above zero, plain and deflated
    secondary: str = ""
    #: which count of trials the deflated Sharpe used, in words
    trials_source: str = ""

    @property
    def sentence(self) -> str:
        """The verdict followed by the secondary line."""
        return f"{self.verdict} {self.secondary}".strip()


def per_period_sharpe(r: np.ndarray) -> np.ndarray:
    """Per-period Sharpe along the last axis."""
    std = r.std(axis=-1, ddof=1)
    return np.divide(r.mean(axis=-1), std, out=np.zeros_like(std), where=std > 0)


def sharpe_difference_interval(strategy: pd.Series, benchmark: pd.Series, *, block: int = 20,
                               resamples: int = 2000, level: float = 0.95,
                               seed: int = 0, periods: float = TRADING_DAYS
                               ) -> tuple[float, float, float]:
    """Sharpe difference annualised with ``periods`` returns a year, and its
    circular-block-bootstrap interval."""
    pair = pd.concat([strategy, benchmark], axis=1, join="inner").to_numpy().T
    n = pair.shape[1]
    if n < 2 * block:
        raise TooFewReturns(f"{n} paired returns are too few for a block bootstrap with "
                            f"blocks of {block} (it needs at least {2 * block})")
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, n, size=(resamples, -(-n // block)))
    index = ((starts[:, :, None] + np.arange(block)) % n).reshape(resamples, -1)[:, :n]
    sampled = pair[:, index]  # (2, resamples, n)
    scale = np.sqrt(periods)
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


def null_sharpe_variance(periods: int) -> float:
    """Sampling variance of an unskilled strategy's per-period Sharpe estimate over
    ``periods`` returns (normal returns, true Sharpe zero): the spread of the trials'
    Sharpe ratios when the run has too few of them to measure it."""
    return 1.0 / max(periods - 1, 1)


def expected_max_sharpe(trials: int, trial_sharpe_variance: float) -> float:
    """Expected largest per-period Sharpe of ``trials`` unskilled strategies whose Sharpe
    ratios spread with ``trial_sharpe_variance`` (0 for one trial)."""
    if trials <= 1 or trial_sharpe_variance <= 0:
        return 0.0
    return float(np.sqrt(trial_sharpe_variance) * (
        (1 - EULER_GAMMA) * stats.norm.ppf(1 - 1 / trials)
        + EULER_GAMMA * stats.norm.ppf(1 - 1 / (trials * np.e))))


def deflated_sharpe(returns: pd.Series, hurdle: float, trials: int,
                    trial_sharpe_variance: float) -> float:
    """PSR against the expected best of ``trials`` unskilled strategies above ``hurdle``."""
    return probabilistic_sharpe(returns, hurdle + expected_max_sharpe(trials,
                                                                      trial_sharpe_variance))


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
    expected_max = expected_max_sharpe(trials, trial_sharpe_variance)
    denominator = np.sqrt(np.maximum(1 - skew * sr + (kurt - 1) / 4 * sr**2, 1e-12))
    return stats.norm.cdf((sr - (hurdles + expected_max)) * np.sqrt(n - 1) / denominator)


def edge_over_benchmark(strategy: pd.Series, benchmark: pd.Series, *, trials: int = 1,
                        trial_sharpe_variance: float | None = None, seed: int = 0,
                        level: float = 0.95, name: str = "buy-and-hold",
                        trials_source: str = "", periods: float = TRADING_DAYS) -> EdgeTest:
    """The paired verdict of ``strategy`` daily returns against ``benchmark``'s (``name``:
    the benchmark in the verdict's words), and the secondary line: PSR against zero and
    the deflated Sharpe for ``trials`` (``trials_source``: which count that is, in words;
    ``trial_sharpe_variance``: the spread of the trials' per-period Sharpe ratios, None for
    that of unskilled strategies over this many returns; ``periods``: returns a year, to
    annualise). A statistic too few returns
    cannot support is NaN and the sentence says "not computed" and why; nothing is raised."""
    trials = max(int(trials), 1)
    counted = f" ({trials_source})" if trials_source else ""
    try:
        diff, low, high = sharpe_difference_interval(strategy, benchmark, seed=seed,
                                                     level=level, periods=periods)
    except TooFewReturns as e:
        diff, low, high = _observed_difference(strategy, benchmark, periods), np.nan, np.nan
        observed = f" ({diff:+.2f})" if np.isfinite(diff) else ""
        verdict = (f"Edge not tested: the paired {level:.0%} interval of the Sharpe difference"
                   f"{observed} is not computed: {e}; a longer run can test it.")
    else:
        what = (f"the paired {level:.0%} interval of the Sharpe difference (strategy minus "
                f"{name}, observed {diff:+.2f}) [{low:+.2f}, {high:+.2f}]")
        if low > 0:
            verdict = f"Beats {name}: {what} lies above zero."
        elif high < 0:
            verdict = f"Worse than {name}: {what} lies below zero."
        else:
            verdict = f"Not distinguishable from {name}: {what} includes zero."
    n = len(strategy)
    if n < MIN_PSR_RETURNS:
        psr = dsr = np.nan
        secondary = (f"Chance its true Sharpe is above zero: not computed: {n} returns are "
                     f"too few (the probabilistic Sharpe ratio needs at least "
                     f"{MIN_PSR_RETURNS}); trials counted: {trials}{counted}.")
    else:
        variance = (null_sharpe_variance(n) if trial_sharpe_variance is None
                    else trial_sharpe_variance)
        psr = probabilistic_sharpe(strategy, 0.0)
        dsr = deflated_sharpe(strategy, 0.0, trials, variance)
        deflated = (f"{dsr:.0%} after deflating for {trials} trials{counted}" if trials > 1
                    else f"not deflated: 1 trial counted{counted}")
        secondary = (f"Chance its true Sharpe is above zero: {psr:.0%} (probabilistic Sharpe "
                     f"ratio); {deflated}.")
    return EdgeTest(sharpe_difference=diff, interval_low=low, interval_high=high, level=level,
                    probabilistic_sharpe=psr, deflated_sharpe=dsr, trials=trials,
                    verdict=verdict, secondary=secondary, trials_source=trials_source)


def _observed_difference(strategy: pd.Series, benchmark: pd.Series,
                         periods: float) -> float:
    """Annualised Sharpe difference of the paired returns (NaN with fewer than two)."""
    pair = pd.concat([strategy, benchmark], axis=1, join="inner").to_numpy().T
    if pair.shape[1] < 2:
        return float("nan")
    return float(np.sqrt(periods) * (per_period_sharpe(pair[0]) - per_period_sharpe(pair[1])))
