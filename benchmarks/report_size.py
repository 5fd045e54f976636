"""Report weight: how big the run report is and how fast Chromium loads it.

Two reports: the default-style run (the S&P 500 50/200-day crossover config with its
defaults, tearsheet off) and a synthetic one of 5,000 trades over 200,000 minute bars,
written by reports/ directly from frames shaped like a run's. For each it prints the
seconds to write it, its size (report.html plus assets/), the time to the load event
and the time until the Bokeh chart has drawn, median of ``--repeat`` loads in headless
Chromium (a fresh page each).

    python benchmarks/report_size.py [--repeat 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from xai_backtest.reports.html_report import ReportInputs, write_report

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
_DRAWN = """() => window.Bokeh && Bokeh.index && Bokeh.index.roots.length > 0 &&
  Bokeh.index.roots.every(v => v.has_finished())"""


def default_report(folder: Path) -> Path:
    """The default-style run's report, written by a full run."""
    from xai_backtest.engine.config import load_config
    from xai_backtest.engine.runner import run_backtest

    config = load_config(ROOT / "configs" / "sp500_ma_crossover.yaml",
                         {"output_dir": str(folder), "tearsheet": False, "cache_dir": None})
    return run_backtest(config, progress=False).report


def synthetic_inputs(trades: int = 5_000, bars: int = 200_000, seed: int = 0) -> ReportInputs:
    """Two strategies' ``trades`` round trips (half each) over ``bars`` minute bars of a
    random walk (NSE hours, 375 a day), with explanation sentences, beside buy-and-hold."""
    rng = np.random.default_rng(seed)
    days = pd.bdate_range("2015-01-01", periods=-(-bars // 375), tz="Asia/Kolkata")
    index = (days.repeat(375) + pd.to_timedelta(np.tile(np.arange(555, 930), len(days)),
                                                unit="min"))[:bars]
    close = 100 * np.exp(np.cumsum(rng.normal(0, 4e-4, bars)))
    open_ = np.r_[close[0], close[:-1]]
    prices = pd.DataFrame({"open": open_, "high": np.maximum(open_, close) * 1.0002,
                           "low": np.minimum(open_, close) * 0.9998, "close": close}, index)
    equity = pd.DataFrame({"model_a": 1e5 * close / close[0] * rng.normal(1, 1e-4, bars),
                           "model_b": 1e5 * np.exp(np.cumsum(rng.normal(0, 3e-4, bars))),
                           "buy_and_hold": 1e5 * close / close[0]}, index)
    rows = []
    for name in ("model_a", "model_b"):
        starts = np.sort(rng.choice(bars - 40, trades // 2, replace=False))
        ends = np.minimum(starts + rng.integers(1, 40, len(starts)), np.r_[starts[1:],
                                                                          bars - 1])
        pnl = (close[ends] - close[starts]) * 100
        rows.append(pd.DataFrame({
            "trade": np.arange(1, len(starts) + 1), "strategy": name, "side": "long",
            "entry_time": index[starts], "exit_time": index[ends],
            "entry_price": open_[starts], "exit_price": open_[ends], "net_pnl": pnl,
            "return_pct": close[ends] / close[starts] - 1,
            "entry_explanation": [f"rsi_14 = {v:.1f} < 30 and the 5-bar return "
                                  f"{r:+.2%} pushed up (p = 0.{k % 90 + 10})"
                                  for k, (v, r) in enumerate(zip(rng.uniform(10, 30, len(
                                      starts)), rng.normal(0, 0.01, len(starts)),
                                      strict=True))],
            "exit_explanation": "the signal turned flat"}))
    comparison = pd.DataFrame({s: {"total_return": equity[s].iloc[-1] / 1e5 - 1}
                               for s in equity.columns})
    return ReportInputs(title="synthetic: 5,000 trades", subtitle="200,000 minute bars",
                        comparison=comparison, edges={}, equity=equity,
                        trades=pd.concat(rows, ignore_index=True), prices=prices)


def size_mb(report: Path) -> tuple[float, float]:
    """Megabytes of report.html and of its assets folder."""
    assets = sum(f.stat().st_size for f in (report.parent / "assets").rglob("*") if f.is_file())
    return report.stat().st_size / 1e6, assets / 1e6


def load_seconds(report: Path, repeat: int) -> tuple[float, float]:
    """Median seconds to the load event and until the chart has drawn."""
    from playwright.sync_api import sync_playwright

    loads, drawn = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for _ in range(repeat):
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            started = time.perf_counter()
            page.goto(report.as_uri(), wait_until="load")
            page.wait_for_function(_DRAWN, timeout=120_000)
            drawn.append(time.perf_counter() - started)
            loads.append(page.evaluate(
                "performance.getEntriesByType('navigation')[0].loadEventEnd") / 1e3)
            page.close()
        browser.close()
    return statistics.median(loads), statistics.median(drawn)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="write the reports here (else a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        print("| report | write (s) | report.html (MB) | assets (MB) | load event (s) | "
              "chart drawn (s) |\n| --- | --- | --- | --- | --- | --- |")
        started = time.perf_counter()
        default = default_report(folder / "default")
        run_s = time.perf_counter() - started
        inputs = synthetic_inputs()
        started = time.perf_counter()
        synthetic = write_report(folder / "synthetic" / "report.html", inputs)
        write_s = time.perf_counter() - started
        for name, report, written in (
                ("default-style run", default, f"{run_s:.1f} (whole run)"),
                ("5,000 trades, 200,000 minute bars", synthetic, f"{write_s:.1f}")):
            html_mb, assets_mb = size_mb(report)
            load, drawn = load_seconds(report, args.repeat)
            print(f"| {name} | {written} | {html_mb:.2f} | {assets_mb:.2f} | {load:.2f} | "
                  f"{drawn:.2f} |")


if __name__ == "__main__":
    main()
