"""Command line: run a backtest from a YAML config and/or flags, print the comparison.

    python run_backtest.py                      # default: S&P 500 sample, offline
    python run_backtest.py --config configs/sp500_ma_crossover.yaml --threshold 0.55
    xai-backtest --config my_run.yaml           # the same, installed as a console script
    xai-backtest schema > xai-backtest.schema.json   # the config's JSON schema, for editors
    xai-backtest stream --config X.yaml --source replay  # bar by bar (engine/stream/cli.py)

Every error a user can hit is an ``XaiBacktestError``: printed as one ``error: ...`` line,
exit code 2, no traceback.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xai_backtest.errors import XaiBacktestError

if TYPE_CHECKING:
    import pandas as pd

#: shipped with the package (configs/ installs as xai_backtest.configs)
DEFAULT_CONFIG = Path(str(files("xai_backtest.configs") / "default.yaml"))

_FLAGS: tuple[tuple[str, str, type, str], ...] = (
    # flag, dotted config key, type, help
    ("--name", "name", str, "run name, used in the run folder's name"),
    ("--data-source", "data.source", str, "sample | file | yfinance (default: sample); a "
     "key of another source is refused"),
    ("--sample", "data.sample", str, "arch sample data set: sp500 | nasdaq"),
    ("--data-path", "data.path", str, "CSV/Parquet file or folder (implies --data-source "
     "file without --config)"),
    ("--layout", "data.layout", str, "CSV layout: auto | header | nifty"),
    ("--tz", "data.tz", str, "time zone of naive timestamps, e.g. Asia/Kolkata"),
    ("--session", "data.session", str, "keep only bars in this session: none | NSE | NYSE"),
    ("--resample", "data.resample", str, "none | daily"),
    ("--symbol", "data.symbol", str, "ticker for --data-source yfinance; the instrument's "
     "name for --data-source file (default: the file's name)"),
    ("--interval", "data.interval", str, "yfinance interval, e.g. 1d, 1h, 1m"),
    ("--start", "data.start", str, "first date (YYYY-MM-DD)"),
    ("--end", "data.end", str, "last date (YYYY-MM-DD)"),
    ("--cache-dir", "data.cache_dir", str, "yfinance cache folder"),
    ("--min-train", "walk_forward.min_train", int, "decisions of warm-up before the first fold"),
    ("--retrain-every", "walk_forward.retrain_every", int, "decisions between refits"),
    ("--embargo", "walk_forward.embargo", int, "decisions left out between train and test"),
    ("--threshold", "strategy.threshold", float, "minimum probability to trade (0..1)"),
    ("--position-size", "strategy.position_size", float, "fraction of equity per trade"),
    ("--commission", "costs.commission", float, "commission, fraction of value (5bp=0.0005)"),
    ("--slippage", "costs.slippage", float, "slippage, fraction of price (2bp=0.0002)"),
    ("--cash", "cash", float, "starting cash"),
    ("--seed", "seed", int, "random seed"),
    ("--output-dir", "output_dir", str, "parent folder of run folders (default: runs)"),
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Backtest explainable signals against buy-and-hold. With no arguments, "
        "runs configs/default.yaml offline: the GADF-CNN, the five-trend DNN and the news "
        "LSTM, their vote and buy-and-hold on the S&P 500 daily bars shipped by `arch` and "
        "the NYT headlines shipped by `wigpy`; writes runs/<time>-<name>/ with the report, "
        "trade log with explanations, equity, summary and tearsheets. On your own bars "
        "(--data-source file or yfinance) with no --config, the sample's headlines are not "
        "attached and the news LSTM is left out.",
        epilog="`xai-backtest schema` (or `python run_backtest.py schema`) prints the JSON "
        "schema of a run config, for an editor to complete and check YAML configs.")
    parser.add_argument("--config", help="YAML run config (default: configs/default.yaml); "
                        "flags below override its keys")
    parser.add_argument("--signal", action="append", metavar="KIND[:KEY=VALUE,...]",
                        help="signal to run: a built-in or registered name, or "
                        "package.module:Class, then optionally ':' and its parameters as "
                        "key=value pairs separated by ',' (values read as YAML: 10, 0.5, "
                        "true, [a, b]; name=... names the instance), e.g. "
                        "ma_crossover:fast=10,slow=50 or my_rules:RSI:period=10 "
                        "(repeatable); replaces the config's signals")
    for flag, key, kind, text in _FLAGS:
        parser.add_argument(flag, type=kind, dest=key, metavar=key.split(".")[-1].upper(),
                            help=text)
    parser.add_argument("--allow-short", action="store_true", default=None,
                        dest="strategy.allow_short", help="go short on down decisions")
    parser.add_argument("--offline", action="store_true", default=None, dest="data.offline",
                        help="yfinance: use the cache only")
    parser.add_argument("--no-tearsheet", action="store_false", default=None, dest="tearsheet",
                        help="skip the QuantStats HTML tearsheet")
    parser.add_argument("--no-cache", action="store_true",
                        help="refit every fold model (do not read or fill the model cache)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    sweep = parser.add_argument_group("sweeps (many runs)")
    sweep.add_argument("--sweep", metavar="FILE", help="YAML sweep: a base config and a grid of "
                       "keys to vary; results land in <output_dir>/<sweep name>/results.csv")
    sweep.add_argument("--workers", type=int, default=1, help="parallel runs (default 1)")
    sweep.add_argument("--executor", choices=("local", "ray"), default="local",
                       help="local processes (default) or Ray")
    sweep.add_argument("--ray-address", help="join this Ray cluster instead of starting one")
    return parser.parse_args(argv)


def run_sweep_command(args: argparse.Namespace) -> int:
    from xai_backtest.engine.executor import make_executor
    from xai_backtest.engine.fast_sweep import best_points, fast_sweep_refusal, run_fast_sweep
    from xai_backtest.engine.sweep import load_sweep, run_sweep

    try:
        name, runs = load_sweep(args.sweep, vars(args)["output_dir"])
    except XaiBacktestError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    refusal = fast_sweep_refusal(runs)
    if refusal is None:
        table = run_fast_sweep(name, runs, progress=not args.quiet)
        print(best_points(table).to_string())
        print(f"\n{len(runs):,} points on the fast path in {table.attrs['seconds']:.2f} s "
              f"(fitting and predicting the signals: {table.attrs['setup_seconds']:.2f} s)")
        print(f"results: {runs[0].folder.parent / 'results.csv'}")
        return 0
    if len(runs) > 1:
        print(f"note: every point is a full run ({refusal})", file=sys.stderr)
    executor = make_executor(args.executor, args.workers, args.ray_address)
    table = run_sweep(name, runs, executor)
    shown = [c for c in table.columns if c in ("run", "status", "error", "seconds")
             or c.endswith((".total_return", ".sharpe"))]
    print(table[shown].to_string(index=False))
    print(f"\nresults: {runs[0].folder.parent / 'results.csv'}")
    return 0 if (table["status"] != "failed").all() else 1


def _short_warning(message: Warning | str, category: type[Warning], *_: object) -> str:
    return f"note: {message}\n" if category is UserWarning else f"{category.__name__}: {message}\n"


def _import_user_code_from(*folders: Path) -> None:
    """Let ``kind: module:Class`` import the user's modules from these folders (the current
    one and the config's), as a script imports its neighbours. Package modules are all
    under ``xai_backtest``, so a user's ``signals.py`` there shadows nothing."""
    for folder in folders:
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))


def main(argv: list[str] | None = None) -> int:
    """The command line; returns the exit code (2: an ``XaiBacktestError``, one line)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["schema"]:
        return print_schema(argv[1:])
    if argv[:1] == ["stream"]:
        from xai_backtest.engine.stream.cli import stream_command

        return stream_command(argv[1:])
    args = parse_args(argv)
    warnings.formatwarning = _short_warning  # type: ignore[assignment]
    _import_user_code_from(Path.cwd(), *(Path(f).resolve().parent
                                         for f in (args.config, args.sweep) if f))
    if args.sweep:
        return run_sweep_command(args)
    from xai_backtest.engine.config import build_config, load_config

    overrides: dict[str, Any] = {k: v for k, v in vars(args).items()
                                 if "." in k or k in ("name", "cash", "seed", "output_dir",
                                                      "tearsheet")}
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if "data.path" in overrides and not args.config:
        overrides.setdefault("data.source", "file")  # a path names a file of the user's
    if args.no_cache:
        overrides["cache_dir"] = None
    try:
        if args.signal:
            overrides["signals"] = signal_entries(args.signal)
            if len(args.signal) < 2:
                overrides["ensemble"] = None
        if args.config:
            config = load_config(args.config, overrides)
        else:
            overrides = _default_on_own_data(overrides, keep_signals=bool(args.signal))
            config = build_config(_default_payload(overrides), str(DEFAULT_CONFIG))
    except XaiBacktestError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    from xai_backtest.engine.runner import run_backtest
    from xai_backtest.reports.comparison import format_comparison
    from xai_backtest.storage.interrupts import honour_interrupts

    try:
        with honour_interrupts():
            result = run_backtest(config, progress=not args.quiet)
    except XaiBacktestError as e:  # every error a user can hit: one line, no traceback
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: the run folder keeps what was written and its run.json says "
              "'incomplete'; run again to start afresh", file=sys.stderr)
        return 130
    if len(result.rejected):
        print(_refused_warning(result.rejected, result.folder / "rejected_orders.csv"))
    print(format_comparison(result.comparison))
    print(f"\nrun folder: {result.folder}")
    print(f"report:     {result.report}")
    if config.tearsheet:
        print(f"tearsheet:  {result.tearsheet}")
    return 0


def signal_entries(values: list[str]) -> list[dict[str, Any]]:
    """The config entries of ``--signal`` values, each checked on its own so an error names
    the flag: ``--signal ma_crossover:fast=x: ...``."""
    from xai_backtest.engine.config import ConfigError, signal_config

    entries: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    for value in values:
        entry = parse_signal(value)
        name = signal_config(entry, f"--signal {value}").name
        if name in names:
            raise ConfigError(f"--signal {value}: a signal named {name!r} is given already "
                              f"(--signal {names[name]}); give each its own name, e.g. "
                              f"--signal {value}{',' if '=' in value else ':'}name={name}_2")
        names[name] = value
        entries.append(entry)
    return entries


def parse_signal(value: str) -> dict[str, Any]:
    """``KIND[:KEY=VALUE,...]`` as a signal config entry. KIND is a name or
    ``package.module:Class``; the parameters start at the first ``:``-separated part
    holding ``=``; pairs are split at commas outside brackets and quotes, and each value
    is read as a YAML scalar or flow collection (``10``, ``0.5``, ``true``, ``[a, b]``)."""
    import yaml

    from xai_backtest.engine.config import ConfigError

    parts = value.split(":")
    first = next((i for i, part in enumerate(parts) if "=" in part), len(parts))
    kind, params = ":".join(parts[:first]), ":".join(parts[first:])
    if not kind or (first == len(parts) and value.endswith(":")):
        raise ConfigError(f"--signal {value}: expected KIND or KIND:key=value,... (e.g. "
                          "ma_crossover:fast=10,slow=50)")
    entry: dict[str, Any] = {"kind": kind}
    for pair in _split_pairs(params) if params else []:
        key, equals, text = pair.partition("=")
        key = key.strip()
        if not equals or not key.isidentifier():
            raise ConfigError(f"--signal {value}: {pair!r} is not key=value (parameters are "
                              "key=value pairs separated by ',')")
        if key in entry:
            raise ConfigError(f"--signal {value}: parameter {key!r} is given twice")
        try:
            entry[key] = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError as e:
            raise ConfigError(f"--signal {value}: the value of {key!r} is not a YAML value "
                              f"({e}); quote text with ' or \"") from e
    return entry


def _split_pairs(text: str) -> list[str]:
    """``text`` split at the commas outside brackets, braces and quotes."""
    pairs, depth, quote, start = [], 0, "", 0
    for i, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            pairs.append(text[start:i])
            start = i + 1
    return [*pairs, text[start:]]


def print_schema(argv: list[str]) -> int:
    """``xai-backtest schema``: the JSON schema of a run config on stdout."""
    import json

    parser = argparse.ArgumentParser(
        prog="xai-backtest schema", description="Print the JSON schema of a run config, for "
        "an editor to complete and check YAML configs (e.g. VS Code's YAML extension: "
        "`# yaml-language-server: $schema=xai-backtest.schema.json` as a config's first "
        "line).")
    parser.parse_args(argv)
    from xai_backtest.engine.config import config_schema

    print(json.dumps(config_schema(), indent=2))
    return 0


def _default_payload(overrides: dict[str, Any]) -> dict[str, Any]:
    """The default config with ``overrides`` applied; when they choose another data source,
    the default's data keys that do not apply to it (the sample's name) are left out."""
    import yaml

    from xai_backtest.engine.config import DATA_CLASSES, apply_overrides

    payload = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    chosen = DATA_CLASSES.get(str(overrides.get("data.source", payload["data"]["source"])))
    if chosen is not None:
        payload["data"] = {k: v for k, v in payload["data"].items() if k in chosen.model_fields}
    return apply_overrides(payload, overrides)


def _default_on_own_data(overrides: dict[str, Any], keep_signals: bool) -> dict[str, Any]:
    """The default config's overrides for a run on other bars than its sample (a file,
    yfinance): its headlines belong to the sample, so they are not attached to the user's
    bars, and the default signals that need headlines are left out with a note (signals
    the user chose with ``--signal`` are kept, and refused with the fix if they need
    headlines)."""
    import yaml

    from xai_backtest.engine.config import needs_headlines

    default = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    if overrides.get("data.source", default["data"]["source"]) == default["data"]["source"]:
        return overrides
    out = {**overrides, "data.headlines": None}
    if keep_signals:
        return out
    news = [s for s in default["signals"] if needs_headlines(s)]
    if news:
        kept = [s for s in default["signals"] if s not in news]
        out["signals"] = kept
        if len(kept) < 2:
            out["ensemble"] = None
        names = ", ".join(repr(s.get("name", s["kind"])) for s in news)
        print(f"note: the default run's news signal(s) {names} read the headlines that "
              f"come with the {default['data']['sample']} sample, not your data; left out. "
              "To run them, give a --config with data.headlines (your headline file).",
              file=sys.stderr)
    return out


def _refused_warning(rejected: pd.DataFrame, path: Path) -> str:
    """The CLI's first line when orders were refused: counts per strategy and status."""
    per_strategy = ", ".join(f"{name}: {n}" for name, n in
                             rejected.groupby("strategy").size().items())
    if "NoCash" not in set(rejected["status"]):
        return (f"WARNING: the broker refused {len(rejected)} order(s) ({per_strategy}); "
                f"those strategies stayed as they were. See {path} and the report.\n")
    statuses = ", ".join(f"{status} {n}" for status, n in rejected.groupby("status").size()
                         .items())
    return (f"WARNING: {len(rejected)} order(s) refused ({statuses}; {per_strategy}); those "
            "positions stayed as they were (NoCash: a buy with no cash left, which a "
            f"portfolio retries at the next open). See {path} and the report.\n")


if __name__ == "__main__":
    sys.exit(main())
