"""The benchmark suite: every figure of issue 7 measured in one process run, as one table.

    python benchmarks/run_all.py [--data ../shared/data] [--skip end_to_end,...]

Sections: engine overhead on NIFTY minute bars (ours vs bare backtrader), batched vs
per-decision GADF-CNN inference, end-to-end NIFTY replication and default run (wall
time, peak memory, explanation cost per trade and share of the run), sweep scaling on
1 vs 2 workers (local processes and Ray), and the backtesting.py reference. Prints
markdown; targets are printed beside the figures, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT / "benchmarks"))


def engine_overhead(data: Path) -> list[str]:
    import engine_overhead as eo

    from xai_backtest.data_feeds import NSE, filter_session, load_bars

    bars, _ = filter_session(load_bars(data / "nifty_minute"), NSE)
    signals = eo.daily_decisions(bars)
    bare = min(eo.run_bare(bars, signals) for _ in range(2))
    ours = min(eo.run_ours(bars, signals) for _ in range(2))
    n = len(bars)
    return [f"| engine: bare backtrader | {n / bare:,.0f} bars/s | |",
            f"| engine: our SignalStrategy (look-ahead guard on) | {n / ours:,.0f} bars/s | |",
            f"| engine overhead ratio, ours / bare ({n:,} NIFTY minute bars) | "
            f"{ours / bare:.3f} | <= 1.15 |"]


def gadf_batching(data: Path) -> list[str]:
    import numpy as np
    import torch

    from xai_backtest.data_feeds import NSE, MarketData, filter_session, load_bars
    from xai_backtest.signals.gadf_cnn import GADFCNN

    torch.set_num_threads(1)
    bars, _ = filter_session(load_bars(data / "nifty_minute"), NSE)
    market = MarketData(bars)
    model = GADFCNN(frequency="minute", window=60, filters=8, epochs=3, seed=0)
    cut = model.decision_times(market)[250]
    model.fit(market.until(cut))
    start = time.perf_counter()
    windows = model.windows(market)
    encode = time.perf_counter() - start
    closes = windows.closes
    start = time.perf_counter()
    batched = model.proba_up(closes)
    batch = time.perf_counter() - start
    start = time.perf_counter()
    single = np.concatenate([model.proba_up(closes[i:i + 1]) for i in range(len(closes))])
    per_bar = time.perf_counter() - start
    assert np.allclose(batched, single, atol=1e-5)
    return [f"| GADF windows of all {len(closes)} sessions (extract + fill) | "
            f"{encode * 1000:.0f} ms | |",
            f"| GADF-CNN inference, batched (encode + one forward pass) | "
            f"{batch * 1000:.0f} ms | |",
            f"| GADF-CNN inference, one session at a time | {per_bar * 1000:.0f} ms | |",
            f"| batched speed-up | {per_bar / batch:.0f}x | >= 50x |"]


def end_to_end(config: Path, label: str, extra: list[str]) -> list[str]:
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, str(ROOT / "run_backtest.py"), "--config", str(config),
                   "--quiet", "--no-cache", "--output-dir", out, *extra]
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
        wall = time.perf_counter() - start
        (status_file,) = Path(out).glob("*/run.json")
        status = json.loads(status_file.read_text())
    stages = status["stages"]
    explain = {k.removeprefix("explain "): v for k, v in stages.items()
               if k.startswith("explain ")}
    explained = sum(status["explained"].values())
    share = (sum(explain.values()) + stages.get("explanation figures", 0.0)) / status["seconds"]
    references = ("buy_and_hold", "always_long", "always_flat")
    trades = sum(v for k, v in status["trades"].items() if k not in references)
    nifty = "NIFTY" in label
    rows = [f"| {label}: wall time (process, incl. imports) | {wall:.0f} s | "
            f"{'< 180 s' if nifty else 'a few minutes'} |",
            f"| {label}: peak memory | {status['peak_memory_mb']:,.0f} MB | "
            f"{'< 4,096 MB' if nifty else ''} |",
            f"| {label}: signal trades / explained decisions | {trades} / {explained} | |"]
    for name, seconds in explain.items():
        count = status["explained"].get(name, 0) or 1
        rows.append(f"| {label}: explanation cost per decision, {name} | "
                    f"{seconds / count * 1000:.0f} ms | |")
    rows.append(f"| {label}: figures (entries only, 2 processes) | "
                f"{stages.get('explanation figures', 0.0):.1f} s | |")
    rows.append(f"| {label}: explanations' share of the run | {share:.0%} | < 20% |")
    return rows


def sweep_scaling() -> list[str]:
    from xai_backtest.engine.executor import LocalExecutor, RayExecutor
    from xai_backtest.engine.sweep import expand_sweep, run_sweep

    base = yaml.safe_load((ROOT / "configs" / "sp500_ma_crossover.yaml").read_text())
    base.update({"tearsheet": False, "cache_dir": None})
    grid = {"data.sample": ["sp500", "nasdaq"], "strategy.threshold": [0.5, 0.52],
            "signals": [[{"kind": "ma_crossover", "fast": 20, "slow": 100}],
                        [{"kind": "ma_crossover", "fast": 50, "slow": 200}]]}
    rows, times = [], {}
    for label, make in (("local", LocalExecutor), ("ray", RayExecutor)):
        for workers in (1, 2):
            with tempfile.TemporaryDirectory() as out:
                runs = expand_sweep("bench", {**base, "output_dir": out}, grid)
                start = time.perf_counter()
                try:
                    run_sweep("bench", runs, make(workers))
                except Exception as e:  # Ray may be unable to start here
                    rows.append(f"| sweep, {label}: not measured | {type(e).__name__} | |")
                    break
                times[label, workers] = time.perf_counter() - start
                rows.append(f"| sweep of 8 runs, {label}, {workers} worker(s) | "
                            f"{times[label, workers]:.1f} s | |")
        if (label, 2) in times:
            rows.append(f"| sweep speed-up with 2 workers, {label} | "
                        f"{times[label, 1] / times[label, 2]:.2f}x | >= 1.7x |")
    return rows


def reference(data: Path) -> list[str]:
    """Fast path vs backtrader vs backtesting.py on the SMA crossover, daily and minute."""
    import reference_backtesting_py as ref

    from xai_backtest.data_feeds import NSE, filter_session, load_bars, load_sample_bars

    try:
        import backtesting  # noqa: F401
    except ImportError:
        return ["| backtesting.py reference | not installed (pip install backtesting) | |"]
    rows = []
    minute, _ = filter_session(load_bars(data / "nifty_minute"), NSE)
    for label, bars in (("SMA 50/200, S&P 500 daily", load_sample_bars("sp500")),
                        ("SMA 50/200, NIFTY minute", minute)):
        n = len(bars)
        runs = {"fast path": min((ref.ours(bars, "fast") for _ in range(3)),
                                 key=lambda r: r[0]),
                "backtrader": min((ref.ours(bars, "backtrader") for _ in range(3)),
                                  key=lambda r: r[0]),
                "backtesting.py": min((ref.reference(bars) for _ in range(3)),
                                      key=lambda r: r[0])}
        theirs = runs["backtesting.py"][0]
        for engine, (seconds, _) in runs.items():
            rows.append(f"| {label} ({n:,} bars): {engine} | {n / seconds:,.0f} bars/s "
                        f"({theirs / seconds:.2f}x backtesting.py) | "
                        f"{'>= 1x, moonshot 10x' if engine == 'fast path' else ''} |")
        equities = ", ".join(f"{e:,.2f}" for _, e in runs.values())
        rows.append(f"| {label}: final equity (fast, backtrader, backtesting.py) | "
                    f"{equities} | equal |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--skip", default="", help="comma-separated sections to skip")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    skip = set(filter(None, args.skip.split(",")))
    sections = {
        "engine": lambda: engine_overhead(args.data),
        "gadf": lambda: gadf_batching(args.data),
        "end_to_end": lambda: (
            end_to_end(ROOT / "configs" / "nifty_gadf_cnn.yaml", "NIFTY GADF-CNN replication",
                       ["--data-path", str(args.data / "nifty_minute")])
            + end_to_end(ROOT / "configs" / "default.yaml", "default run", [])),
        "sweep": sweep_scaling,
        "reference": lambda: reference(args.data),
    }
    print(f"Benchmarks of {datetime.now(UTC):%Y-%m-%d} on {platform.node()}: "
          f"{os.cpu_count()} cores, Python {platform.python_version()}\n")
    print("| measure | value | target |\n| --- | --- | --- |")
    for name, section in sections.items():
        if name in skip:
            continue
        for row in section():
            print(row, flush=True)


if __name__ == "__main__":
    main()
