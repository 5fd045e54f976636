"""An order the broker refuses is never silent: CLI first lines, report, CSV, run.json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]

GREEDY = '''
import math

import backtrader as bt


class Greedy(bt.Strategy):
    """Asks for twice the cash it has on every up decision while flat."""

    def next(self):
        if not self.position and self.data.direction[0] > 0:
            self.buy(size=2 * self.broker.getvalue() / self.data.close[0], reason="greedy")
'''


@pytest.mark.slow
def test_refused_orders_are_reported_everywhere(tmp_path):
    (tmp_path / "greedy_strategy.py").write_text(GREEDY)
    config = tmp_path / "greedy.yaml"
    config.write_text("name: greedy\n"
                      "data: {source: sample, sample: sp500, start: 2012-01-01}\n"
                      "walk_forward: {min_train: 252, retrain_every: 252}\n"
                      "signals: [{kind: ma_crossover, fast: 5, slow: 20}]\n"
                      "strategy: {kind: 'greedy_strategy:Greedy'}\n"
                      "tearsheet: false\ncache_dir: null\n")
    proc = subprocess.run([sys.executable, str(ROOT / "run_backtest.py"), "--config",
                           str(config), "--quiet", "--output-dir", str(tmp_path / "runs")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    first = proc.stdout.splitlines()[0]
    assert first.startswith("WARNING: the broker refused") and "ma_crossover:" in first
    (folder,) = (tmp_path / "runs").iterdir()
    rejected = pd.read_csv(folder / "rejected_orders.csv")
    assert len(rejected) > 0 and set(rejected["status"]) == {"Margin"}
    assert set(rejected["reason"]) == {"greedy"}
    status = json.loads((folder / "run.json").read_text())
    assert status["rejected_orders"]["ma_crossover"] == len(rejected[rejected["strategy"]
                                                                       == "ma_crossover"])
    report = (folder / "report.html").read_text()
    assert "order(s) refused by the broker" in report


def test_a_buy_without_cash_is_named_in_the_first_line():
    from pathlib import Path

    import pandas as pd

    from xai_backtest.engine.cli import _refused_warning

    rejected = pd.DataFrame({"strategy": ["five_trend", "five_trend"],
                             "status": ["NoCash", "Margin"]})
    line = _refused_warning(rejected, Path("r.csv"))
    assert line.startswith("WARNING: 2 order(s) refused (Margin 1, NoCash 1; five_trend: 2)")
    assert "a portfolio retries at the next open" in line
