"""Luck verdicts that claim no more than they know (issue 24, item 2): the verdict is the
paired block-bootstrap interval of the Sharpe difference, PSR compares with zero, and the
deflated Sharpe counts the trials the config states (a sweep writes its size there)."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from xai_backtest.engine.config import ConfigError, build_config
from xai_backtest.engine.report import _edges
from xai_backtest.engine.sweep import expand_sweep
from xai_backtest.reports.html_report import ReportInputs, write_report
from xai_backtest.reports.significance import (
    deflated_sharpe,
    edge_over_benchmark,
    probabilistic_sharpe,
)

INTERVAL = r"\[([+-]\d+\.\d\d), ([+-]\d+\.\d\d)\]"
DAYS = pd.bdate_range("2012-01-02", periods=1500)


def _normal(mean: float, std: float, seed: int) -> pd.Series:
    return pd.Series(np.random.default_rng(seed).normal(mean, std, len(DAYS)), index=DAYS)


def _shown_interval(verdict: str) -> tuple[float, float]:
    found = re.search(INTERVAL, verdict)
    assert found, verdict
    return float(found.group(1)), float(found.group(2))


def test_buy_and_hold_plus_noise_is_not_distinguishable_with_the_paired_interval_shown():
    held = _normal(0.0004, 0.01, seed=1)
    strategy = held + _normal(0.0, 0.002, seed=4)  # no edge: the benchmark plus noise
    test = edge_over_benchmark(strategy, held)
    assert test.interval_low < 0 < test.interval_high
    assert test.verdict.startswith("Not distinguishable from buy-and-hold: the paired 95% "
                                   "interval of the Sharpe difference (strategy minus "
                                   "buy-and-hold, observed ")
    assert test.verdict.endswith("includes zero.")
    low, high = _shown_interval(test.verdict)
    assert low == pytest.approx(test.interval_low, abs=0.005)
    assert high == pytest.approx(test.interval_high, abs=0.005)


def test_a_planted_edge_beats_buy_and_hold_with_the_paired_interval_shown():
    held = _normal(0.0004, 0.01, seed=1)
    strategy = held + _normal(0.0002, 0.002, seed=3)  # the benchmark plus ~5% a year
    test = edge_over_benchmark(strategy, held)
    assert test.verdict.startswith("Beats buy-and-hold: the paired 95% interval")
    assert test.verdict.endswith("lies above zero.")
    low, high = _shown_interval(test.verdict)
    assert 0 < low <= high
    assert low == pytest.approx(test.interval_low, abs=0.005)
    worse = edge_over_benchmark(held - _normal(0.0002, 0.002, seed=3), held)
    assert worse.verdict.startswith("Worse than buy-and-hold: the paired 95% interval")
    assert _shown_interval(worse.verdict)[1] < 0


def test_noise_is_called_not_distinguishable_about_as_often_as_the_level_says():
    days = pd.bdate_range("2015-01-01", periods=500)
    calls = []
    for seed in range(40):
        rng = np.random.default_rng(seed)
        held = pd.Series(rng.normal(0.0004, 0.01, len(days)), index=days)
        strategy = held + rng.normal(0.0, 0.002, len(days))
        calls.append(edge_over_benchmark(strategy, held).verdict.split(":")[0])
    assert calls.count("Not distinguishable from buy-and-hold") >= 34  # 95% expected
    assert set(calls) <= {"Not distinguishable from buy-and-hold", "Beats buy-and-hold",
                          "Worse than buy-and-hold"}


def test_the_paired_test_sees_a_small_edge_the_unpaired_sharpes_would_not():
    """The planted edge is small beside each series' own noise: the two Sharpe ratios'
    separate errors overlap, yet the paired difference is clear."""
    held = _normal(0.0004, 0.01, seed=1)
    strategy = held + _normal(0.0002, 0.002, seed=3)
    n = len(held)
    single_error = np.sqrt(252 / (n - 1))  # annualised standard error of one Sharpe
    difference = edge_over_benchmark(strategy, held).sharpe_difference
    assert difference < 2 * single_error  # unpaired, not distinguishable
    assert edge_over_benchmark(strategy, held).interval_low > 0  # paired, it beats


def test_psr_compares_with_zero_and_says_so():
    held = _normal(0.0004, 0.01, seed=1)
    strategy = held + _normal(0.0, 0.002, seed=4)
    test = edge_over_benchmark(strategy, held)
    assert test.probabilistic_sharpe == probabilistic_sharpe(strategy, 0.0)
    assert test.secondary.startswith(f"Chance its true Sharpe is above zero: "
                                     f"{test.probabilistic_sharpe:.0%} (probabilistic Sharpe "
                                     "ratio)")
    assert "exceeds" not in test.sentence and "buy-and-hold's" not in test.secondary


def _results(seed: int, signals: int = 1) -> dict[str, SimpleNamespace]:
    held = 1e5 * (1 + _normal(0.0004, 0.01, seed)).cumprod()
    out = {"buy_and_hold": SimpleNamespace(equity=held, cash=1e5)}
    for k in range(signals):
        noise = _normal(0.0003, 0.003, seed + 10 + k)
        out[f"s{k}"] = SimpleNamespace(
            equity=1e5 * (1 + held.pct_change().fillna(0) + noise).cumprod(), cash=1e5)
    return out


def test_trials_in_the_config_reach_the_deflated_sharpe_and_the_report(tmp_path):
    results = _results(5)
    stated = _edges(results, ["s0"], build_config({"trials": 40}))["s0"]
    counted = _edges(results, ["s0"], build_config({}))["s0"]
    assert stated.trials == 40 and counted.trials == 1
    assert stated.probabilistic_sharpe == counted.probabilistic_sharpe
    assert counted.deflated_sharpe == counted.probabilistic_sharpe  # one trial: no deflation
    assert stated.deflated_sharpe < counted.deflated_sharpe
    returns = results["s0"].equity.resample("D").last().dropna().pct_change()
    returns.iloc[0] = results["s0"].equity.iloc[0] / 1e5 - 1
    assert stated.deflated_sharpe == pytest.approx(
        deflated_sharpe(returns, 0.0, 40, 1 / (len(returns) - 1)), rel=1e-9)
    assert (f"{stated.deflated_sharpe:.0%} after deflating for 40 trials (the config's "
            "trials: 40)") in stated.secondary
    assert ("not deflated: 1 trial counted (the 1 signal in this run; a config's trials: "
            "counts every configuration tried)") in counted.secondary
    equity = pd.DataFrame({n: r.equity for n, r in results.items()})
    inputs = ReportInputs(title="trials", subtitle="", equity=equity, trades=pd.DataFrame(
        columns=["trade", "strategy", "side", "entry_time", "exit_time", "net_pnl",
                 "return_pct"]), comparison=pd.DataFrame({"s0": {"sharpe": 1.0}}),
        edges={"s0": stated})
    page = write_report(tmp_path / "report.html", inputs).read_text()
    assert "<li><b>s0</b>: " in page and stated.verdict in page
    assert "<span class=secondary>" in page and "after deflating for 40 trials" in page


def test_without_trials_the_signals_of_the_run_are_counted():
    edges = _edges(_results(6, signals=3), ["s0", "s1", "s2"], build_config({}))
    assert {e.trials for e in edges.values()} == {3}
    assert all("after deflating for 3 trials (the 3 signals in this run" in e.secondary
               for e in edges.values())


def test_a_sweep_writes_its_size_into_every_run_and_adds_what_the_base_states(tmp_path):
    grid = {"strategy.threshold": [0.5, 0.55, 0.6], "costs.commission": [0.0, 0.001]}
    runs = expand_sweep("g", {"output_dir": str(tmp_path)}, grid)
    assert {r.config.trials for r in runs} == {6}
    assert "trials: 6" in runs[0].config.to_yaml()  # the resolved config in the run folder
    before = expand_sweep("g", {"output_dir": str(tmp_path), "trials": 10}, grid)
    assert {r.config.trials for r in before} == {16}
    with pytest.raises(ConfigError, match="trials"):
        build_config({"trials": 0})


def test_a_fast_sweep_records_its_trials_and_deflates_against_zero(tmp_path):
    from xai_backtest.engine.fast_sweep import best_points, run_fast_sweep

    base = {"data": {"start": "2016-01-01"}, "tearsheet": False, "cache_dir": None,
            "walk_forward": {"min_train": 200, "retrain_every": 63},
            "signals": [{"kind": "ma_crossover", "fast": 10, "slow": 40}],
            "output_dir": str(tmp_path), "trials": 5}
    runs = expand_sweep("f", base, {"strategy.threshold": [0.5, 0.6, 0.7]})
    table = run_fast_sweep("f", runs, progress=False)
    assert (table["trials"] == 8).all()  # 3 points plus the 5 the base states
    written = pd.read_csv(tmp_path / "f" / "results.csv")
    assert (written["trials"] == 8).all()
    assert best_points(table).loc["ma_crossover", "trials"] == 8
    dsr = table["ma_crossover.deflated_sharpe"].to_numpy()
    assert ((dsr >= 0) & (dsr <= 1)).all()
    sharpes = table["ma_crossover.sharpe"].to_numpy() / np.sqrt(252)
    # against zero: the point with the higher Sharpe has the higher deflated Sharpe
    assert np.argmax(dsr) == np.argmax(sharpes)


@pytest.mark.slow
def test_a_run_that_states_its_trials_says_so_in_its_report(tmp_path):
    from xai_backtest.engine.runner import run_backtest

    config = build_config({
        "name": "stated-trials", "data": {"start": "2016-01-01"}, "trials": 12,
        "walk_forward": {"min_train": 200, "retrain_every": 63},
        "signals": [{"kind": "ma_crossover", "fast": 10, "slow": 40}],
        "output_dir": str(tmp_path), "cache_dir": None, "tearsheet": False,
        "faithfulness": False})
    result = run_backtest(config, progress=False)
    page = result.report.read_text()
    assert "after deflating for 12 trials (the config&#x27;s trials: 12)" in page or \
           "after deflating for 12 trials (the config's trials: 12)" in page
    assert re.search(r"<li><b>ma_crossover</b>: (Beats|Worse than|Not distinguishable from) "
                     r"buy-and-hold: the paired 95% interval", page)
    assert "trials: 12" in (result.folder / "config.yaml").read_text()
    run = json.loads((result.folder / "run.json").read_text())
    assert run["trials"] == {"count": 12, "source": "the config's trials: 12"}


def test_the_paired_interval_is_annualised_with_the_calendars_sessions():
    """A universe's verdict scales with its calendar's sessions a year, not 252."""
    from xai_backtest.reports.significance import sharpe_difference_interval

    rng = np.random.default_rng(5)
    index = pd.bdate_range("2015-01-01", periods=600, tz="UTC")
    strategy = pd.Series(rng.normal(6e-4, 0.01, 600), index)
    benchmark = pd.Series(rng.normal(3e-4, 0.01, 600), index)
    on_252 = sharpe_difference_interval(strategy, benchmark, seed=1)
    on_260 = sharpe_difference_interval(strategy, benchmark, seed=1, periods=260)
    np.testing.assert_allclose(on_260, np.array(on_252) * np.sqrt(260 / 252), rtol=1e-12)
