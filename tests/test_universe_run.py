"""A run over a universe of instruments from a YAML config, end to end (issue 12)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.pins import equal_weight_held_final_equity
from xai_backtest.data_feeds.samples import load_sample_bars
from xai_backtest.data_feeds.universe import UniverseError
from xai_backtest.engine.config import load_config
from xai_backtest.engine.runner import run_backtest
from xai_backtest.strategies.costs import Costs

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "sp500_nasdaq_portfolio.yaml"

# end-to-end universe runs; the fast tier covers universes in test_universe_files.py,
# test_universe_reader.py, test_portfolio.py and test_pooled.py
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def two_indices(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    config = load_config(CONFIG, {"output_dir": str(out), "tearsheet": False,
                                  "cache_dir": None})
    return run_backtest(config, progress=False)


def test_two_indices_against_equal_weight_buy_and_hold(two_indices):
    """Pinned: the MA-crossover portfolio of the S&P 500 and NASDAQ samples and its
    references, through one broker (costs on every leg)."""
    final = two_indices.comparison.loc["final_equity"]
    # from this test's first run (commit c5f3443, 2026-12-03), unchanged since
    assert final["ma_crossover"] == pytest.approx(183_086.08, abs=0.01)
    assert final["equal_weight_rebalanced"] == pytest.approx(231_230.72, abs=0.01)
    config = two_indices.config
    dates = set(two_indices.equity.index.date)  # the universe's calendar is in UTC dates
    bars = {name: frame[[d in dates for d in frame.index.date]] for name, frame in
            ((n, load_sample_bars(n)) for n in ("sp500", "nasdaq"))}
    held = equal_weight_held_final_equity(bars, config.cash, Costs(**config.costs.model_dump()))
    assert final["equal_weight_held"] == pytest.approx(held, abs=0.005)
    assert two_indices.comparison.loc["trades", "ma_crossover"] == 8
    status = json.loads((two_indices.folder / "run.json").read_text())
    assert status["status"] == "complete"
    assert status["instruments"] == ["sp500", "nasdaq"]


def test_every_fill_has_its_decision_and_explanation(two_indices):
    fills = pd.read_csv(two_indices.folder / "fills.csv")
    signal = fills[fills["strategy"] == "ma_crossover"]
    assert len(signal) and signal["decision"].ge(0).all()
    explained = {json.loads(line)["id"] for line in
                 (two_indices.folder / "explanations.jsonl").read_text().splitlines()}
    assert set(signal["explanation_id"]) <= explained
    for instrument, group in signal.groupby("instrument"):
        assert group["explanation_id"].str.startswith(f"ma_crossover[{instrument}]@").all()
    trades = two_indices.trades[two_indices.trades["strategy"] == "ma_crossover"]
    assert set(trades["instrument"]) == {"sp500", "nasdaq"}
    assert trades["entry_explanation"].notna().all()
    assert trades.loc[trades["status"] == "closed", "exit_explanation"].notna().all()


def test_contributions_add_up_to_the_total_return(two_indices):
    contributions = pd.read_csv(two_indices.folder / "contributions.csv", index_col=0)
    total = two_indices.comparison.loc["total_return"]
    for strategy in contributions.columns:
        assert contributions[strategy].sum() == pytest.approx(total[strategy], abs=1e-9)


def test_trade_log_prices_every_fill(two_indices):
    """The round trips' net P&L, plus open positions at the last close, is the portfolio's
    P&L: no fill is lost between trades."""
    trades = two_indices.trades
    for strategy in ("ma_crossover", "equal_weight_rebalanced"):
        pnl = trades.loc[trades["strategy"] == strategy, "net_pnl"].sum()
        final = two_indices.comparison.loc["final_equity", strategy]
        assert pnl == pytest.approx(final - 100_000, abs=1e-6)


def test_the_report_shows_the_portfolio(two_indices):
    page = two_indices.report.read_text()
    assert "id=portfolio" in page and "id=instrument-filter" in page
    assert "equal_weight_rebalanced" in page
    alone = pd.read_csv(two_indices.folder / "instruments.csv", index_col=0)
    assert list(alone.index) == ["sp500", "nasdaq"]


def _write_bars(path: Path, bars: pd.DataFrame) -> Path:
    frame = bars.copy()
    frame.index = frame.index.tz_localize(None).rename("date")
    frame.to_csv(path)
    return path


def _config(tmp_path: Path, instruments: list[dict], **extra):
    return load_config(CONFIG, {"output_dir": str(tmp_path / "runs"), "tearsheet": False,
                                "cache_dir": None, "data.instruments": instruments,
                                "data.start": "2012-01-01", **extra})


def test_too_short_and_unreadable_instruments_are_left_out_with_a_note(tmp_path):
    short = _write_bars(tmp_path / "short.csv", load_sample_bars("sp500").loc["2018-06-01":])
    (tmp_path / "broken.csv").write_text("date,open\nnot a date,1\n")
    result = run_backtest(_config(tmp_path, [
        {"name": "sp500", "source": "sample", "sample": "sp500"},
        {"name": "young", "source": "file", "path": str(short), "tz": "America/New_York"},
        {"name": "broken", "source": "file", "path": str(tmp_path / "broken.csv")},
        {"name": "unserved", "source": "yfinance", "symbol": "ZZZZ"},
        {"name": "nasdaq", "source": "sample", "sample": "nasdaq"}],
        **{"data.offline": True, "data.cache_dir": str(tmp_path / "yf")}), progress=False)
    status = json.loads((result.folder / "run.json").read_text())
    assert status["instruments"] == ["sp500", "nasdaq"]
    notes = " | ".join(status["notes"])
    assert "young: dropped, too little history for signal 'ma_crossover'" in notes
    assert "broken: left out" in notes
    assert "unserved: left out" in notes and "ZZZZ" in notes
    assert set(result.trades["instrument"].dropna()) <= {"sp500", "nasdaq"}


def test_a_universe_with_nothing_readable_is_an_error_and_leaves_no_folder(tmp_path):
    with pytest.raises(UniverseError, match="no instrument of the universe could be loaded"):
        run_backtest(_config(tmp_path, [
            {"name": "a", "source": "file", "path": str(tmp_path / "none.csv")}]),
            progress=False)
    assert not (tmp_path / "runs").exists()


def test_calendars_of_two_exchanges_are_aligned_never_filled(tmp_path, shared_data):
    """NIFTY 50 (Indian holidays) beside the S&P 500 (US holidays): a date one exchange
    was shut is missing for it, counted, and never traded."""
    result = run_backtest(_config(tmp_path, [
        {"name": "sp500", "source": "sample", "sample": "sp500"},
        {"name": "nifty50", "source": "file", "path": str(shared_data / "nifty50_daily.csv"),
         "tz": "Asia/Kolkata"}], **{"data.end": "2018-12-31"}), progress=False)
    status = json.loads((result.folder / "run.json").read_text())
    notes = " | ".join(status["notes"])
    assert "sp500: no bar on" in notes and "nifty50: no bar on" in notes
    fills = pd.read_csv(result.folder / "fills.csv", parse_dates=["time"])
    us = load_sample_bars("sp500")  # an instrument fills only on its own dates
    us_dates = set(us.index.tz_localize(None).normalize())
    sp_fills = fills[fills["instrument"] == "sp500"]["time"].dt.tz_localize(None)
    assert set(sp_fills) <= us_dates
    assert np.isfinite(result.equity.to_numpy()).all()


def test_per_instrument_fits_on_worker_processes_match_one_process(tmp_path, two_indices):
    config = load_config(CONFIG, {"output_dir": str(tmp_path), "tearsheet": False,
                                  "cache_dir": None, "fit_workers": 2})
    spread = run_backtest(config, progress=False)
    pd.testing.assert_frame_equal(spread.equity, two_indices.equity)
    for name, frame in two_indices.decisions.items():
        pd.testing.assert_frame_equal(spread.decisions[name].frame, frame.frame)


def test_the_saved_config_of_a_universe_run_reruns(two_indices):
    config = load_config(two_indices.folder / "config.yaml")
    assert config.hash() == two_indices.config.hash()
    assert config.data.is_universe and config.strategy.kind == "portfolio"


def test_a_universe_from_python_frames_equals_the_yaml_run(tmp_path, two_indices):
    """A script in another folder, public API only: Backtest over a mapping of frames."""
    import subprocess
    import sys

    script = tmp_path / "my_portfolio.py"
    script.write_text(
        "from xai_backtest import Backtest\n"
        "from xai_backtest.data_feeds import load_sample_bars\n"
        "bars = {n: load_sample_bars(n).loc['2010-01-01':] for n in ('sp500', 'nasdaq')}\n"
        "result = Backtest(bars, signals=['ma_crossover'],\n"
        "                  strategy={'kind': 'portfolio', 'band': 0.05},\n"
        "                  walk_forward={'min_train': 252, 'retrain_every': 63},\n"
        "                  tearsheet=False, cache_dir=None, output_dir='runs').run(False)\n"
        "print(round(result.comparison.loc['final_equity', 'ma_crossover'], 2))\n")
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    expected = two_indices.comparison.loc["final_equity", "ma_crossover"]
    assert float(proc.stdout.split()[-1]) == pytest.approx(expected, abs=0.01)
