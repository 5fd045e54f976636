"""The benchmark suite: every figure of issue 7 measured in one process run, as one table.

    python benchmarks/run_all.py [--data ../shared/data] [--skip end_to_end,...]

Sections: engine overhead on NIFTY minute bars (ours vs bare backtrader), end-to-end
NIFTY replication and default run, cold (empty cache) and warm (wall time, peak memory,
stages), the 1,000-point fast sweep, sweep scaling on 1 vs 2 workers (local processes
and Ray actors), and the fast path vs backtrader vs backtesting.py on the SMA crossover
(daily and minute bars). Prints markdown; targets are printed beside the figures, never
asserted.
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


def end_to_end(config: Path, label: str, extra: list[str]) -> list[str]:
    """A run in a fresh process and a fresh folder (an empty model cache: cold), then the
    same run again (fold models, decisions, explanations, figures and tearsheets cached:
    warm)."""
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for state in ("cold", "warm"):
            command = [sys.executable, str(ROOT / "run_backtest.py"), "--config", str(config),
                       "--quiet", "--output-dir", str(Path(work) / state), *extra]
            start = time.perf_counter()
            subprocess.run(command, cwd=work, check=True, capture_output=True)
            wall = time.perf_counter() - start
            (status_file,) = (Path(work) / state).glob("*/run.json")
            status = json.loads(status_file.read_text())
            rows += _run_rows(f"{label}, {state}", status, wall, "NIFTY" in label, state)
    return rows


def _run_rows(label: str, status: dict, wall: float, nifty: bool, state: str) -> list[str]:
    stages = status["stages"]
    target = {"cold": "< 45 s", "warm": "< 15 s"}[state] if not nifty else (
        "< 180 s" if state == "cold" else "")
    rows = [f"| {label}: wall time (process, incl. imports) | {wall:.1f} s | {target} |",
            f"| {label}: peak memory | {status['peak_memory_mb']:,.0f} MB | "
            f"{'< 4,096 MB' if nifty else ''} |"]
    slow = ", ".join(f"{k} {v:.1f} s" for k, v in sorted(stages.items(), key=lambda kv: -kv[1])
                     if v >= 0.5)
    rows.append(f"| {label}: stages of 0.5 s or more | {slow} | |")
    return rows


def fast_sweep() -> list[str]:
    """The 1,000-point threshold x commission grid over the default run's decisions, in a
    fresh process after the default run filled the cache (decisions cached)."""
    sweep = ROOT / "configs" / "sweeps" / "default_threshold_costs.yaml"
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for state in ("decisions not cached", "decisions cached"):
            command = [sys.executable, str(ROOT / "run_backtest.py"), "--sweep", str(sweep),
                       "--quiet", "--output-dir", str(Path(work) / "runs")]
            start = time.perf_counter()
            done = subprocess.run(command, cwd=work, check=True, capture_output=True,
                                  text=True)
            wall = time.perf_counter() - start
            line = next(x for x in done.stdout.splitlines() if "points on the fast path" in x)
            rows.append(f"| 1,000-point threshold x commission sweep, {state}: wall time "
                        f"(process) | {wall:.1f} s ({line.strip()}) | "
                        f"{'< 10 s' if state == 'decisions cached' else ''} |")
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
        "end_to_end": lambda: (
            end_to_end(ROOT / "configs" / "nifty_gadf_cnn.yaml", "NIFTY GADF-CNN replication",
                       ["--data-path", str(args.data / "nifty_minute")])
            + end_to_end(ROOT / "configs" / "default.yaml", "default run", [])),
        "fast_sweep": fast_sweep,
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
