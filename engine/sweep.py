"""Sweeps: a grid of run configs, run through an executor, collected in one table.

A sweep file names a base config and a grid of dotted keys to vary::

    name: ma-grid
    base: sp500_ma_crossover.yaml        # relative to the sweep file, or a mapping
    grid:
      strategy.threshold: [0.5, 0.52]
      data.sample: [sp500, nasdaq]

Every combination becomes one run in ``<output_dir>/<sweep name>/<run name>/``. A run
that fails is recorded with its error and the others go on; rerunning the sweep skips
runs whose folder is complete for the same config hash. Each run's config states
``trials``: the sweep's number of points (plus the base config's ``trials``, when it
states the configurations tried before the sweep), so every run's deflated Sharpe counts
every point tried; the resolved config in the run folder and the ``trials`` column of
``results.csv`` record it.
"""

from __future__ import annotations

import itertools
import json
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from xai_backtest.engine.config import ConfigError, RunConfig, apply_overrides, build_config
from xai_backtest.engine.executor import Executor, LocalExecutor, RayExecutor
from xai_backtest.storage.atomic import atomic_write

__all__ = ["SweepRun", "expand_sweep", "load_sweep", "run_sweep", "sweep_trials"]


@dataclass(frozen=True)
class SweepRun:
    """One run of a sweep: its name, folder, grid values and resolved config."""

    name: str
    folder: Path
    values: tuple[tuple[str, Any], ...]
    config: RunConfig


def load_sweep(path: str | Path, output_dir: str | None = None) -> tuple[str, list[SweepRun]]:
    """Read a sweep file and expand it; every config is validated before any run starts."""
    path = Path(path)
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"{path}: cannot read sweep file ({e})") from e
    if not isinstance(spec, dict) or set(spec) - {"name", "base", "grid"} or "grid" not in spec:
        raise ConfigError(f"{path}: a sweep has the keys name, base and grid (found "
                          f"{sorted(spec) if isinstance(spec, dict) else type(spec).__name__})")
    base = spec.get("base", {})
    if isinstance(base, str):
        base_path = (path.parent / base).resolve()
        try:
            base = yaml.safe_load(base_path.read_text(encoding="utf-8")) or {}
        except OSError as e:
            raise ConfigError(f"{path}: base config {base_path} not readable ({e})") from e
    name = str(spec.get("name", path.stem))
    if output_dir is not None:
        base = apply_overrides(base, {"output_dir": output_dir})
    return name, expand_sweep(name, base, spec["grid"], str(path))


def expand_sweep(name: str, base: dict[str, Any], grid: dict[str, list[Any]],
                 source: str = "sweep") -> list[SweepRun]:
    """The Cartesian product of ``grid`` applied to ``base``, in grid order."""
    if not isinstance(grid, dict) or not grid or not all(
            isinstance(v, list) and v for v in grid.values()):
        raise ConfigError(f"{source}: grid must map dotted keys to non-empty lists")
    keys = list(grid)
    trials = sweep_trials(base, grid)
    runs = []
    for number, values in enumerate(itertools.product(*(grid[k] for k in keys))):
        run_name = f"{name}-{number:03d}"
        payload = apply_overrides(base, {"trials": trials,
                                         **dict(zip(keys, values, strict=True)),
                                         "name": run_name})
        config = build_config(payload, f"{source} run {run_name}")
        runs.append(SweepRun(name=run_name, folder=Path(config.output_dir) / name / run_name,
                             values=tuple(zip(keys, values, strict=True)), config=config))
    return runs


def sweep_trials(base: dict[str, Any], grid: dict[str, list[Any]]) -> int:
    """The trials each run of a sweep counts: its number of points, plus the base
    config's ``trials`` (configurations tried before the sweep) when it states them."""
    points = 1
    for values in grid.values():
        points *= len(values)
    before = base.get("trials") if isinstance(base, dict) else None
    return points + (before if isinstance(before, int) and before > 0 else 0)


def _done(run: SweepRun) -> bool:
    status = run.folder / "run.json"
    if not status.is_file():
        return False
    payload = json.loads(status.read_text())
    return payload.get("status") == "complete" and payload.get(
        "config_hash") == run.config.hash()


def _row(run: SweepRun, status: str, seconds: float, error: str = "") -> dict[str, Any]:
    row: dict[str, Any] = {"run": run.name, "status": status, "error": error,
                           "seconds": round(seconds, 3), "config_hash": run.config.hash(),
                           "trials": run.config.trials}
    row.update({key: json.dumps(value) if isinstance(value, list | dict) else value
                for key, value in run.values})
    summary = run.folder / "summary.csv"
    if status != "failed" and summary.is_file():
        table = pd.read_csv(summary, index_col=0)
        for strategy in table.columns:
            for metric, value in table[strategy].items():
                row[f"{strategy}.{metric}"] = value
    return row


def execute_run(run: SweepRun, data: Any = None) -> dict[str, Any]:
    """Run one sweep member (skipping it when already complete); never raises. ``data``:
    its bars already loaded, as ``load_market_data`` returns them, or for ``data.source``
    ``python`` the ``MarketData`` (or universe mapping) itself (or an object-store
    reference to either)."""
    if _done(run):
        return _row(run, "skipped (already complete)", 0.0)
    started = time.perf_counter()
    try:
        from xai_backtest.data_feeds.market_data import MarketData
        from xai_backtest.engine.runner import run_backtest

        if data is not None and not isinstance(data, tuple | MarketData | dict):  # Ray's
            import ray

            data = ray.get(data)
        given = {"data": data} if run.config.data.source == "python" else {"loaded": data}
        run_backtest(run.config, progress=False, folder=run.folder, parallel=False, **given)
    except Exception as e:  # a failed run is recorded, and the sweep goes on
        run.folder.mkdir(parents=True, exist_ok=True)
        (run.folder / "error.txt").write_text(traceback.format_exc())
        return _row(run, "failed", time.perf_counter() - started, f"{type(e).__name__}: {e}")
    return _row(run, "ok", time.perf_counter() - started)


def _execute_with_data(item: tuple[SweepRun, Any]) -> dict[str, Any]:
    return execute_run(*item)


def _data_key(run: SweepRun) -> str:
    return run.config.data.model_dump_json()


def _shared_data(runs: list[SweepRun], executor: RayExecutor) -> dict[str, Any]:
    """Data key -> object-store reference of the loaded data of every run still to do
    (a data set that fails to load is left to its runs, which record the error)."""
    from xai_backtest.engine.data import load_market_data

    shared: dict[str, Any] = {}
    for run in runs:
        key = _data_key(run)
        if key in shared or _done(run) or run.config.data.source == "python":
            continue
        try:
            shared[key] = executor.put(load_market_data(run.config.data))
        except Exception:  # noqa: BLE001 (the run loads it again and records why it fails)
            shared[key] = None
    return shared


def run_sweep(name: str, runs: list[SweepRun], executor: Executor | None = None,
              data: Any = None) -> pd.DataFrame:
    """Run every member through ``executor``; write and return the results table.
    ``data``: the bars of runs whose ``data.source`` is ``python`` (Backtest's)."""
    executor = executor or LocalExecutor()
    if data is not None:
        shared = executor.put(data) if isinstance(executor, RayExecutor) else data
        rows = executor.map(_execute_with_data, [(run, shared) for run in runs])
    elif isinstance(executor, RayExecutor):  # each data set in the object store once
        shared = _shared_data(runs, executor)
        rows = executor.map(_execute_with_data,
                            [(run, shared.get(_data_key(run))) for run in runs])
    else:
        rows = executor.map(execute_run, runs)
    table = pd.DataFrame(rows)
    folder = Path(runs[0].config.output_dir) / name
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / "results.csv", lambda tmp: table.to_csv(tmp, index=False))
    return table
