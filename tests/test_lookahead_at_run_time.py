"""Look-ahead in a user's own signal stops the run before any report claims an edge."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from xai_backtest import Backtest, RuleSignal, SklearnSignal
from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.data_feeds.samples import load_sample_bars
from xai_backtest.signals.contract import ContractError, check_signal
from xai_backtest.signals.walk_forward import LookAheadError

FAST = dict(tearsheet=False, cache_dir=None, faithfulness=False,
            walk_forward={"min_train": 100, "retrain_every": 50},
            data={"source": "sample", "sample": "sp500", "start": "2010-01-01",
                  "end": "2013-12-31"})


class NextBar(RuleSignal):
    """Tomorrow's return as today's indicator: the best-known way a backtest lies."""

    name = "next_bar"

    def indicators(self, bars):
        return pd.DataFrame({"momentum": bars["close"].pct_change(5),
                             "next_ret": bars["close"].shift(-1) / bars["close"] - 1})

    def rule(self, values):
        return np.where(values["next_ret"] > 0, 1, -1)


class Centred(RuleSignal):
    """A centred moving average reads two bars ahead."""

    name = "centred"

    def indicators(self, bars):
        return pd.DataFrame({"sma_5_centred": bars["close"].rolling(5, center=True).mean(),
                             "close": bars["close"]})

    def rule(self, values):
        return np.where(values["close"] < values["sma_5_centred"], 1, -1)


class Honest(RuleSignal):
    """No __init__ of its own, past bars only."""

    name = "honest"

    def indicators(self, bars):
        return pd.DataFrame({"sma_20": bars["close"].rolling(20).mean(),
                             "close": bars["close"]})

    def rule(self, values):
        return np.where(values["close"] > values["sma_20"], 1, -1)


def leaky_features(bars: pd.DataFrame) -> pd.DataFrame:
    """A scikit-learn feature set with the next bar's return hidden among honest ones."""
    close = bars["close"]
    return pd.DataFrame({"ret_1": close.pct_change(), "ret_5": close.pct_change(5),
                         "fwd_ret": close.shift(-1) / close - 1})


def leaky_model() -> SklearnSignal:
    return SklearnSignal(model=LogisticRegression(), features=leaky_features)


@pytest.mark.parametrize(("signal", "leak"), [(NextBar(), "'next_ret'"),
                                              (Centred(), "'sma_5_centred'"),
                                              (leaky_model(), "'fwd_ret'")],
                         ids=["shift(-1)", "rolling(center=True)", "sklearn forward feature"])
def test_a_leaking_signal_stops_the_run_naming_the_leaking_input(signal, leak, tmp_path):
    with pytest.raises(LookAheadError) as caught:
        Backtest(signals=[signal], output_dir=str(tmp_path), **FAST).run(progress=False)
    message = str(caught.value)
    assert f"first input that changed: {leak}" in message
    assert "changed when only the bars and headlines from then on were redrawn" in message
    assert len(message.splitlines()) <= 5 and len(message) < 800
    run = json.loads(next(tmp_path.glob("*/run.json")).read_text())
    assert run["status"] == "failed" and leak in run["error"]
    assert not list(tmp_path.glob("*/report.html"))  # no report claims an edge


def test_an_honest_rule_passes_and_the_check_is_timed(tmp_path):
    result = Backtest(signals=[Honest()], output_dir=str(tmp_path), **FAST).run(
        progress=False)
    run = json.loads((result.folder / "run.json").read_text())
    check = run["lookahead_check"]
    assert check["status"] == "passed" and len(check["cuts"]["honest"]) == 3
    assert 0 < check["seconds"] < run["seconds"]
    assert run["stages"]["look-ahead check"] == pytest.approx(check["seconds"], abs=0.05)
    assert "Look-ahead checked at run time" in (result.folder / "report.html").read_text()


def honest_features(bars: pd.DataFrame) -> pd.DataFrame:
    close = bars["close"]
    return pd.DataFrame({"ret_1": close.pct_change(), "ret_5": close.pct_change(5)})


@pytest.mark.slow
def test_a_pass_is_kept_with_the_fold_models_and_a_leak_never_is(tmp_path):
    options = {**FAST, "cache_dir": str(tmp_path / "cache"), "output_dir": str(tmp_path)}
    honest = SklearnSignal(model=LogisticRegression(), features=honest_features)
    records = [json.loads((Backtest(signals=[honest], **options).run(progress=False).folder
                           / "run.json").read_text())["lookahead_check"] for _ in range(2)]
    assert [r["from_cache"] for r in records] == [False, True]
    assert records[0]["cuts"] == records[1]["cuts"]
    for _ in range(2):  # a leak is found again on a warm cache
        with pytest.raises(LookAheadError, match="'fwd_ret'"):
            Backtest(signals=[leaky_model()], **options).run(progress=False)


@pytest.mark.slow
def test_turned_off_the_report_says_it_was_not_checked(tmp_path):
    result = Backtest(signals=[NextBar()], output_dir=str(tmp_path), check={"lookahead": False},
                      **FAST).run(progress=False)
    run = json.loads((result.folder / "run.json").read_text())
    assert run["lookahead_check"] == {"status": "off"}
    assert "Look-ahead was not checked" in (result.folder / "report.html").read_text()


def test_a_universe_run_is_checked_too(tmp_path):
    bars = load_sample_bars("sp500").loc["2008":"2012"]
    universe = {"a": bars, "b": bars.assign(volume=1.0)}
    with pytest.raises(LookAheadError, match="'next_ret'"):
        Backtest(universe, signals=[NextBar()], strategy="portfolio", tearsheet=False,
                 cache_dir=None, faithfulness=False, output_dir=str(tmp_path),
                 walk_forward={"min_train": 100, "retrain_every": 50}).run(progress=False)


def test_check_signal_says_the_same_in_a_few_lines(daily_bars):
    with pytest.raises(ContractError) as caught:
        check_signal(NextBar(), MarketData(daily_bars))
    message = str(caught.value)
    assert "first input that changed: 'next_ret'" in message
    assert len(message) < 800


USER_MODULE = textwrap.dedent('''
    import numpy as np
    import pandas as pd
    from xai_backtest import RuleSignal

    class Peek(RuleSignal):
        name = "peek"

        def indicators(self, bars):
            return pd.DataFrame({"next_ret": bars["close"].shift(-1) / bars["close"] - 1})

        def rule(self, values):
            return np.where(values["next_ret"] > 0, 1, -1)
''')


@pytest.mark.slow
def test_the_cli_stops_a_leaking_signal_in_a_few_lines(tmp_path):
    (tmp_path / "peeking_rules_xyz.py").write_text(USER_MODULE)
    done = subprocess.run(
        [sys.executable, str(Path(__file__).parents[1] / "run_backtest.py"),
         "--signal", "peeking_rules_xyz:Peek", "--start", "2010-01-01", "--end", "2013-12-31",
         "--min-train", "100", "--retrain-every", "50", "--no-tearsheet", "--no-cache",
         "--quiet", "--output-dir", str(tmp_path / "runs")],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 2, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    error = [i for i, line in enumerate(lines) if line.startswith("error: look-ahead")]
    assert error, done.stderr[-2000:]
    assert "first input that changed: 'next_ret'" in "\n".join(lines[error[0]:])
    assert "Traceback" not in done.stderr
