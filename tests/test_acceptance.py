"""End to end on the real S&P 500 sample shipped by `arch`: pinned figures and exact reruns."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pandas as pd
import pytest

from tests.pins import buy_and_hold_final_equity
from xai_backtest.data_feeds.samples import load_sample_bars
from xai_backtest.engine.config import load_config
from xai_backtest.engine.runner import run_backtest
from xai_backtest.strategies.costs import Costs

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    # the second run loads every fold model from the cache the first one filled
    config = load_config(ROOT / "configs" / "sp500_ma_crossover.yaml",
                         {"output_dir": str(out), "cache_dir": str(out / "cache")})
    first = run_backtest(config, progress=False)
    second = run_backtest(config.model_copy(update={"tearsheet": False}), progress=False)
    return first, second


@pytest.mark.slow
def test_pinned_figures(runs):
    first, _ = runs
    table = first.comparison
    # from the first run of configs/sp500_ma_crossover.yaml (commit cce59f3, 2026-11-21),
    # unchanged since; fold models and fills are deterministic, so a change here is a
    # change of the engine's or the signal's rules and says so in its commit
    assert round(table.loc["final_equity", "ma_crossover"], 2) == 276228.52
    assert table.loc["trades", "ma_crossover"] == 8
    config = first.config
    bars = load_sample_bars(config.data.sample).loc[first.equity.index]
    expected = buy_and_hold_final_equity(bars, config.cash, Costs(**config.costs.model_dump()))
    assert table.loc["final_equity", "buy_and_hold"] == pytest.approx(expected, abs=0.005)
    assert table.loc["trades", "buy_and_hold"] == 1


@pytest.mark.slow
def test_run_folder_contents(runs):
    first, _ = runs
    folder = first.folder
    for name in ("config.yaml", "config.sha256", "run.json", "trades.csv", "trades.parquet",
                 "equity.csv", "summary.csv", "signals.parquet", "explanations.jsonl",
                 "tearsheet.html"):
        assert (folder / name).is_file(), name
    status = json.loads((folder / "run.json").read_text())
    assert status["status"] == "complete"
    assert status["config_hash"] == first.config.hash()
    assert (folder / "config.sha256").read_text().strip() == first.config.hash()
    html = (folder / "tearsheet.html").read_text()
    assert "buy and hold" in html.lower()
    trades = pd.read_parquet(folder / "trades.parquet")
    signal_trades = trades[trades["strategy"] == "ma_crossover"]
    assert signal_trades["entry_explanation"].notna().all()
    assert signal_trades["entry_explanation_id"].str.startswith("ma_crossover@").all()
    assert len((folder / "explanations.jsonl").read_text().splitlines()) == len(
        set(signal_trades["entry_explanation_id"]) | set(
            signal_trades["exit_explanation_id"].dropna()))


@pytest.mark.slow
def test_rerun_is_identical(runs):
    first, second = runs
    assert first.folder != second.folder
    pd.testing.assert_frame_equal(first.trades, second.trades)
    pd.testing.assert_frame_equal(first.equity, second.equity)
    pd.testing.assert_frame_equal(first.comparison, second.comparison)
    a = pd.read_csv(first.folder / "trades.csv")
    b = pd.read_csv(second.folder / "trades.csv")
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.slow
def test_a_crash_in_the_report_step_loses_no_trades(tmp_path, monkeypatch):
    from xai_backtest.engine import run_folder

    class BrokenTearsheets(run_folder.BackgroundTearsheets):
        def wait(self):
            super().wait()
            raise RuntimeError("injected failure in the report step")

    monkeypatch.setattr(run_folder, "BackgroundTearsheets", BrokenTearsheets)
    config = load_config(ROOT / "configs" / "sp500_ma_crossover.yaml",
                         {"output_dir": str(tmp_path), "data.start": "2010-01-01",
                          "cache_dir": None})
    with pytest.raises(RuntimeError, match="injected"):
        run_backtest(config, progress=False)
    (folder,) = tmp_path.iterdir()
    assert json.loads((folder / "run.json").read_text())["status"] == "incomplete"
    trades = pd.read_csv(folder / "trades.csv")
    assert len(trades) > 0
    assert not any(p.name.endswith(".tmp") for p in folder.iterdir())


@pytest.mark.slow
def test_sigint_leaves_a_folder_marked_incomplete(tmp_path):
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "run_backtest.py"), "--output-dir", str(tmp_path),
         "--retrain-every", "5"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = ""  # the marker: the first fit's progress bar, drawn once the run folder exists
    while "walk-forward" not in seen:
        chunk = proc.stderr.read(1)  # blocks until the run writes; "" when it has ended
        assert chunk, f"the run ended before its first fit: {seen[-500:]}"
        seen += chunk
    assert list(tmp_path.glob("*/run.json"))
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "incomplete" in err
    (folder,) = tmp_path.iterdir()
    assert json.loads((folder / "run.json").read_text())["status"] == "incomplete"
    assert not [p for p in folder.rglob("*") if ".tmp" in p.name]


@pytest.mark.slow
def test_run_json_records_the_library_versions(tmp_path):
    config = load_config(ROOT / "configs" / "sp500_ma_crossover.yaml",
                         {"output_dir": str(tmp_path), "tearsheet": False, "cache_dir": None,
                          "data.start": "2014-01-01"})
    status = json.loads((run_backtest(config, progress=False).folder / "run.json").read_text())
    assert {"python", "numpy", "pandas", "torch"} <= set(status["versions"])


@pytest.mark.slow
def test_a_strategy_that_never_trades_warns_nothing(tmp_path):
    import warnings

    config = load_config(ROOT / "configs" / "sp500_ma_crossover.yaml",
                         {"output_dir": str(tmp_path), "tearsheet": False, "cache_dir": None,
                          "data.start": "2012-01-01", "strategy.threshold": 0.99})
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        result = run_backtest(config, progress=False)
    assert result.comparison.loc["trades", "ma_crossover"] == 0


def test_a_swallowed_interrupt_still_stops_the_run(tmp_path, monkeypatch):
    """A library that catches everything (a bare except) swallows KeyboardInterrupt; the
    recorded Ctrl-C is raised again at the next fold."""
    from xai_backtest.signals.ma_crossover import MACrossover
    from xai_backtest.storage import interrupts

    fitted = []

    def fit_that_swallows(self, history):
        fitted.append(1)
        if len(fitted) == 2:
            # Ctrl-C arrives inside library code that swallows every exception
            with contextlib.suppress(BaseException):
                interrupts._on_sigint(2, None)
        return original(self, history)

    original = MACrossover.fit
    monkeypatch.setattr(MACrossover, "fit", fit_that_swallows)
    config = load_config(ROOT / "configs" / "sp500_ma_crossover.yaml",
                         {"output_dir": str(tmp_path), "tearsheet": False, "cache_dir": None,
                          "walk_forward.retrain_every": 63})
    with interrupts.honour_interrupts(), pytest.raises(KeyboardInterrupt):
        run_backtest(config, progress=False)
    assert len(fitted) == 2  # stopped at the next fold, not after all of them
    interrupts.check_interrupt()  # and forgotten once the guarded block ended
