"""The fast path against backtrader on every config's own decisions.

For each config in configs/: fit (or load cached) fold models and predict, then backtest
every strategy of the run (each signal, the ensemble, always long, always flat, buy and
hold) on backtrader and on ``engine: auto``; print the largest equity difference, the
fills of each, and which engine ``auto`` chose (and why not the fast path). With
``--save`` the decisions are written to tests/artifacts/decisions/<config>.parquet, which
tests/test_fast_path.py replays on every test run; ``--replay`` uses those saved
decisions instead of fitting (seconds instead of minutes).

    python benchmarks/fast_path_equivalence.py [--save | --replay] [--only default,...]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from xai_backtest.engine.config import load_config
from xai_backtest.engine.data import load_market_data
from xai_backtest.engine.runner import backtest_all, signal_decisions
from xai_backtest.signals.base import SignalFrame
from xai_backtest.strategies.fast import fast_path_refusal

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "artifacts" / "decisions"


def compare(path: Path, save: bool, replay: bool) -> list[str]:
    config = load_config(path, {"cache_dir": str(ROOT / ".cache")})
    data, _ = load_market_data(config.data)
    started = time.perf_counter()
    if replay:
        stored = pd.read_parquet(FIXTURES / f"{path.stem}.parquet")
        decisions = {name: SignalFrame(name, stored.xs(name, level="signal"))
                     for name in stored.index.unique("signal")}
        start = min(frame.frame.index[0] for frame in decisions.values())
        bars = data.bars[data.bars.index >= start]
    else:
        decided = signal_decisions(config, data, progress=True)
        decisions, bars = decided.decisions, decided.bars
    fit = time.perf_counter() - started
    reference = backtest_all(config, bars, decisions, engine="backtrader")
    auto = backtest_all(config, bars, decisions, engine="auto")
    refusal = fast_path_refusal(config.strategy.strategy_class,
                                config.strategy.strategy_params())
    rows = []
    for name, ref in reference.items():
        got = auto[name]
        gap = float(np.max(np.abs(got.equity.to_numpy() - ref.equity.to_numpy())
                           / ref.equity.to_numpy()))
        same_fills = (len(got.fills) == len(ref.fills) and np.allclose(
            got.fills[["size", "price", "commission"]].to_numpy(dtype=float),
            ref.fills[["size", "price", "commission"]].to_numpy(dtype=float),
            rtol=1e-9, atol=1e-9) and got.fills["decision"].tolist()
            == ref.fills["decision"].tolist())
        rows.append(f"| {path.stem} | {name} | {got.engine} | {len(ref.equity):,} "
                    f"| {len(ref.fills)} | {'yes' if same_fills else 'NO'} | {gap:.1e} |")
    if refusal:
        rows.append(f"| {path.stem} | (auto chose backtrader: {refusal}) | | | | | |")
    if save:
        FIXTURES.mkdir(parents=True, exist_ok=True)
        frame = pd.concat({n: f.frame for n, f in decisions.items()}, names=["signal"])
        frame.to_parquet(FIXTURES / f"{path.stem}.parquet")
    print(f"{path.stem}: decisions in {fit:.1f} s", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--save", action="store_true", help="write the decision fixtures")
    parser.add_argument("--replay", action="store_true", help="use the saved decisions")
    parser.add_argument("--only", default="", help="comma-separated config names")
    args = parser.parse_args()
    os.chdir(ROOT)  # data paths in configs are relative to the project folder
    wanted = set(filter(None, args.only.split(",")))
    rows = ["| config | strategy | auto ran | bars | fills | same fills | max equity gap |",
            "|---|---|---|---|---|---|---|"]
    for path in sorted((ROOT / "configs").glob("*.yaml")):
        if not wanted or path.stem in wanted:
            rows += compare(path, args.save, args.replay)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
