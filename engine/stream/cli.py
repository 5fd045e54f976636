"""``xai-backtest stream``: a config's signals and strategy, bar by bar.

    xai-backtest stream                                   # replay the default data's last 60 bars
    xai-backtest stream --config configs/x.yaml --source replay --bars 250 --speed 50
    xai-backtest stream --config configs/x.yaml --source tail --path live/bars.csv
    xai-backtest stream --config configs/x.yaml --source yfinance

One line per decision (bar close in UTC, signal, class, probability, the explanation
sentence, the order); the folder keeps the journal and ``live.html``. Run it again on
the same folder to resume.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from xai_backtest.errors import XaiBacktestError

__all__ = ["stream_command"]

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "sp500_ma_crossover.yaml"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xai-backtest stream", description="Run a config's signals and strategy bar by "
        "bar: a replay of its data, a file another process appends to, or Yahoo Finance. "
        "Each decision is explained as it is made; orders go to the paper broker.")
    parser.add_argument("--config", help=f"run config (default: {DEFAULT_CONFIG.name})")
    parser.add_argument("--source", choices=("replay", "tail", "yfinance"), default="replay")
    parser.add_argument("--path", help="tail: the CSV/Parquet file or folder to follow")
    parser.add_argument("--headlines", help="tail, yfinance: a headline file (CSV, Parquet, "
                        "SQLite) another process appends to; each headline is used from the "
                        "time it was read")
    parser.add_argument("--bars", type=int, default=60,
                        help="replay: stream the last N bars (default 60)")
    parser.add_argument("--from", dest="start", help="replay: stream from this date on")
    parser.add_argument("--speed", type=float, help="replay: N times real time (default: "
                        "full speed)")
    parser.add_argument("--folder", help="the stream's folder (journal, live.html); an "
                        "existing one is resumed")
    parser.add_argument("--broker", default="paper",
                        help="paper (default) or package.module:Class of your own")
    parser.add_argument("--calendar", help="exchange: NYSE, NSE or an exchange_calendars "
                        "code such as XLON (default: data.session)")
    parser.add_argument("--max-bars", type=int, help="stop after this many bars")
    parser.add_argument("--no-cache", action="store_true", help="fit every fold model afresh")
    return parser


def stream_command(argv: list[str]) -> int:
    """Parse ``argv`` and stream; returns the exit code (2: an error, one line)."""
    args = _parser().parse_args(argv)
    from xai_backtest.engine.config import load_config
    from xai_backtest.engine.stream.start import open_stream
    from xai_backtest.storage.interrupts import honour_interrupts

    overrides = {"cache_dir": None} if args.no_cache else {}
    try:
        config = load_config(args.config or DEFAULT_CONFIG, overrides)
        stream = open_stream(config, args.source, path=args.path, start=args.start,
                             bars=args.bars, speed=args.speed, folder=args.folder,
                             broker=args.broker, calendar=args.calendar,
                             headlines=args.headlines)
        print(f"stream folder: {stream.folder} (live page: {stream.folder / 'live.html'})")
        stepped = stream.journal.count("steps")
        if stepped:
            print(f"resuming: {stepped} bars were stepped already; bars the source sends "
                  "again are dropped and counted as duplicates")
        with honour_interrupts():
            result = stream.run(max_bars=args.max_bars)
    except XaiBacktestError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: the journal keeps every step; run the same command to resume",
              file=sys.stderr)
        return 130
    counts = ", ".join(f"{k}: {v}" for k, v in result.counts.items()) or "none"
    print(f"\n{len(result.decisions)} decisions journaled, {len(result.fills)} fills; "
          f"stream events: {counts}")
    return 0
