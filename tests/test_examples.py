"""Every example runs as a new user would run it, from another folder, and writes a report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def _run(args: list[str], cwd: Path) -> Path:
    """Run a command in ``cwd``; return the run folder it reports."""
    proc = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("run folder:"))
    folder = Path(line.split(":", 1)[1].strip())
    folder = folder if folder.is_absolute() else cwd / folder
    assert (folder / "report.html").is_file()
    return folder


@pytest.mark.slow
def test_own_strategy_with_a_stop_loss_from_yaml(tmp_path):
    folder = _run([str(ROOT / "run_backtest.py"), "--config",
                   str(EXAMPLES / "stop_loss.yaml"), "--quiet", "--no-tearsheet",
                   "--end", "2014-12-31"], tmp_path)
    trades = pd.read_csv(folder / "trades.csv")
    mine = trades[trades["strategy"] == "ma_crossover"]
    assert "stop_loss" in set(mine["exit_reason"])
    assert mine["entry_explanation_id"].notna().all()  # every entry tied to its decision


@pytest.mark.slow
def test_two_instances_of_one_signal_in_one_report(tmp_path):
    folder = _run([str(ROOT / "run_backtest.py"), "--config",
                   str(EXAMPLES / "two_instances.yaml"), "--quiet", "--no-tearsheet",
                   "--end", "2014-12-31"], tmp_path)
    summary = pd.read_csv(folder / "summary.csv", index_col=0)
    assert {"sma_fast", "sma_slow", "ensemble", "buy_and_hold"} <= set(summary.columns)
    report = (folder / "report.html").read_text()
    assert "sma_fast" in report and "sma_slow" in report


def _run_script(script: Path, cwd: Path) -> tuple[str, Path]:
    proc = subprocess.run([sys.executable, str(script)], cwd=cwd, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = cwd / next(x for x in proc.stdout.splitlines() if "report:" in x).split(
        "report:")[-1].strip()
    assert report.is_file()
    return proc.stdout, report.parent


@pytest.mark.slow
def test_own_rule_signal_from_python(tmp_path):
    out, folder = _run_script(EXAMPLES / "own_rule_signal.py", tmp_path)
    trades = pd.read_csv(folder / "trades.csv")
    rsi = trades[trades["strategy"] == "rsi"]
    assert len(rsi) > 10
    assert rsi["entry_explanation"].str.match(r"rsi = [\d.]+ -> up").all()
    assert not (tmp_path / ".cache" / "models").exists()  # a rule has no model to cache


@pytest.mark.slow
def test_own_sklearn_model_with_shap(tmp_path):
    out, folder = _run_script(EXAMPLES / "own_sklearn_model.py", tmp_path)
    assert "(shap_tree, probability)" in out and "fold models: 22" in out
    explanations = [json.loads(line) for line in
                    (folder / "explanations.jsonl").read_text().splitlines()]
    gbm = [e for e in explanations if e["signal"] == "gbm"]
    assert gbm and all(e["raw"]["additivity_error"][0] < 1e-5 for e in gbm)


@pytest.mark.slow
def test_the_readme_example_runs_as_written(tmp_path):
    readme = (ROOT / "README.md").read_text()
    code = readme.split("```python\n", 1)[1].split("```", 1)[0]
    assert len(code.strip().splitlines()) < 25
    script = tmp_path / "readme_example.py"
    script.write_text(code)
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert list(tmp_path.glob("runs/*-rsi/report.html"))
