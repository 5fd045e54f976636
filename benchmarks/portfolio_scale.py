"""A universe at scale, end to end: 30 NIFTY 50 stocks x 10 years, five-trend DNN pooled.

Runs ``configs/nifty_stocks_portfolio.yaml`` through the command line's own entry point
(``run_backtest``) on the 30 stocks with the longest history over its dates (the Kaggle
NIFTY 50 files in ../shared/data), with the fold-model cache off so every fold is fitted:
load and clean, pooled walk-forward fit and predict, the portfolio and its references,
every fill's decision explained with its faithfulness measured, figures, tearsheet and
report. Prints each stage's time, the peak memory of the run's process and the portfolio
beside equal-weight buy-and-hold.

    python benchmarks/portfolio_scale.py [--instruments 30] [--batch-size 1024]
        [--lime-samples 300] [--output-dir /tmp/scale-runs]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from xai_backtest.data_feeds.universe_files import load_symbol_folder
from xai_backtest.engine.config import load_config
from xai_backtest.engine.runner import run_backtest

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "nifty_stocks_portfolio.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instruments", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=None,
                        help="five-trend training batch (default: the config's)")
    parser.add_argument("--lime-samples", type=int, default=None)
    parser.add_argument("--output-dir", default=tempfile.mkdtemp(prefix="scale-runs-"))
    args = parser.parse_args()
    config = load_config(CONFIG)
    data = config.data
    files = load_symbol_folder(ROOT / data.path, tz=data.tz)
    lengths = {name: len(frame.loc[str(data.start):str(data.end)])
               for name, frame in files.frames}
    chosen = sorted(sorted(lengths, key=lambda n: -lengths[n])[:args.instruments])
    overrides = {"data.symbols": chosen, "cache_dir": None, "output_dir": args.output_dir}
    signal = config.signals[0].model_dump(exclude={"instance"})
    if args.batch_size:
        signal["batch_size"] = args.batch_size
    if args.lime_samples is not None:
        signal["lime_samples"] = args.lime_samples
    overrides["signals"] = [signal]
    config = load_config(CONFIG, overrides)
    result = run_backtest(config, progress=True)
    status = json.loads((result.folder / "run.json").read_text())
    print(f"\n{len(chosen)} instruments: {', '.join(chosen)}")
    for stage, seconds in status["stages"].items():
        print(f"  {stage:<40} {seconds:8.1f} s")
    print(f"total {status['seconds']:.1f} s, peak memory {status['peak_memory_mb']:,.0f} MB; "
          f"{sum(status['fills'].values()):,} fills, {sum(status['explained'].values()):,} "
          "decisions explained")
    print(result.comparison.loc[["total_return", "sharpe", "max_drawdown", "trades",
                                 "costs_paid", "final_equity"]].to_string())


if __name__ == "__main__":
    main()
