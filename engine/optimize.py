"""``Backtest.optimize``: a grid, random or Bayesian search over config keys, run as a sweep.

Each point of the search is the Backtest's config with some dotted keys set
(``strategy.threshold``, ``costs.commission``, ``signals.0.fast`` or ``<signal name>.fast``),
validated like any config before a run starts. The points run through the sweep's own
machinery, never a copy of it: on the fast path (engine/fast_sweep.py: the signals fitted
and predicted once, every point a fast simulation) when they differ only in strategy, cost
and cash keys and the figure maximised is one the fast path computes; otherwise as full
runs (engine/sweep.py), each with its run folder and report, through the executor (fresh
local interpreters, so a script without a ``__main__`` guard is not run again, or Ray).

Every point's config states ``trials``: the points tried (plus the base config's
``trials``), so each point's deflated Sharpe, and the luck verdict of a report of the best
point (``OptimizeResult.run_best()``), count the whole search.
"""

from __future__ import annotations

import difflib
import itertools
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from xai_backtest.engine.config import ConfigError, RunConfig, build_config
from xai_backtest.engine.executor import make_executor
from xai_backtest.engine.fast_sweep import FIGURES, fast_sweep_refusal, run_fast_sweep
from xai_backtest.engine.sweep import SweepRun, run_sweep
from xai_backtest.storage.atomic import atomic_write
from xai_backtest.strategies.references import ENSEMBLE

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from xai_backtest.engine.runner import RunResult

__all__ = ["Best", "OptimizeResult", "optimize"]

Method = Literal["grid", "random", "bayes"]
Point = dict[str, Any]
Maximize = str | Callable[[pd.Series], float]
_FIRST = ("trial", "run")


@dataclass(frozen=True)
class Best:
    """The best point: its parameters, its row of ``OptimizeResult.trials`` and its
    config (with ``trials`` counting the whole search)."""

    params: dict[str, Any]
    row: pd.Series
    config: RunConfig

    def __repr__(self) -> str:
        return f"Best(params={self.params}, objective={self.row['objective']:.6g})"


@dataclass(frozen=True, repr=False)
class OptimizeResult:
    """What ``Backtest.optimize`` tried: ``trials`` has one row per point (``trial``,
    ``run``, the parameters, ``objective``, ``status``, ``error``, then every strategy's
    figures as ``<strategy>.<figure>``); ``folder`` holds ``results.csv`` (the same table)
    and, for full runs, every point's run folder."""

    trials: pd.DataFrame
    keys: tuple[str, ...]
    objective: str
    method: str
    path: Literal["fast", "full"]
    folder: Path
    runs: dict[str, SweepRun] = field(repr=False)
    data: Any = field(default=None, repr=False)

    @property
    def best(self) -> Best:
        """The point with the highest objective among those that ran."""
        scored = self.trials["objective"].dropna()
        if scored.empty:
            errors = sorted(set(self.trials["error"]) - {""})
            raise ValueError(f"no point of the search has an objective; errors: {errors}")
        row = self.trials.loc[scored.idxmax()]
        run = self.runs[row["run"]]
        return Best(params=dict(run.values), row=row, config=run.config)

    def run_best(self, progress: bool = True) -> RunResult:
        """A full run of the best point: its report's luck verdict counts every trial."""
        from xai_backtest.engine.runner import run_backtest

        return run_backtest(self.best.config, progress=progress, data=self.data)

    def heatmap(self, x: str | None = None, y: str | None = None,
                metric: str = "objective") -> Figure:
        """``metric`` over two parameters (by default the search's two keys); with more
        keys, each cell shows the best over the others. Points not tried, or failed, are
        grey."""
        x, y = _axes(self.keys, x, y)
        table = self.trials.groupby([y, x])[metric].max().unstack(x)
        others = [k for k in self.keys if k not in (x, y)]
        label = self.objective if metric == "objective" else metric
        return _heatmap_figure(table, x, y, label, others)

    def __repr__(self) -> str:
        scored = self.trials["objective"].notna().sum()
        best = f", best={self.best.params}" if scored else ""
        return (f"OptimizeResult(method={self.method!r}, path={self.path!r}, "
                f"trials={len(self.trials)}, maximize={self.objective!r}{best})")


def optimize(config: RunConfig, grid: Mapping[str, Sequence[Any]], *, data: Any = None,
             maximize: Maximize = "sharpe",
             constraint: Callable[[Point], bool] | None = None, method: Method = "grid",
             n_trials: int | None = None, executor: str = "local", workers: int | None = None,
             seed: int = 0, progress: bool = True) -> OptimizeResult:
    """Search ``grid`` (dotted key -> list of values) around ``config``; see
    ``Backtest.optimize``. ``data``: the Backtest's bars when ``data.source`` is python."""
    space = _space(grid)
    n_trials = _n_trials(method, n_trials, space)
    paths = {key: _path(key, config) for key in space}
    name = f"{config.name}-optimize"[:100]
    probe = _probe(name, config, paths, space)  # every value checked before any run
    target, objective = _objective(maximize, config)
    fast = fast_sweep_refusal(probe) is None and (
        callable(maximize) or objective.rpartition(".")[2] in FIGURES)
    runner = _Runner(name, config, paths, fast, data, progress,
                     make_executor(executor, workers or 1))
    if method == "bayes":
        table = _bayes(space, constraint, n_trials, seed, runner, target,
                       batch=1 if fast else workers or 1)
    else:
        points = (_grid_points(space, constraint) if method == "grid"
                  else _random_points(space, constraint, n_trials, seed))
        table = runner.run(points, trials=len(points) + (config.trials or 0))
    trials = _tidy(table, tuple(space), target)
    folder = Path(config.output_dir) / name
    atomic_write(folder / "results.csv", lambda tmp: trials.to_csv(tmp, index=False))
    return OptimizeResult(trials=trials, keys=tuple(space), objective=objective,
                          method=method, path="fast" if fast else "full", folder=folder,
                          runs=runner.runs, data=data)


# -- the search space ---------------------------------------------------------------------------
def _space(grid: Mapping[str, Sequence[Any]]) -> dict[str, list[Any]]:
    if not isinstance(grid, Mapping) or not grid:
        raise ConfigError("optimize(grid=...): map dotted config keys to lists of values, "
                          "e.g. {'strategy.threshold': [0.5, 0.6]}")
    space = {}
    for key, values in grid.items():
        if isinstance(values, str | bytes) or not isinstance(values, Sequence) or not values:
            raise ConfigError(f"optimize(grid=...): {key!r} needs a non-empty list of "
                              f"values, got {values!r}")
        space[str(key)] = list(values)
    return space


def _n_trials(method: str, n_trials: int | None, space: dict[str, list[Any]]) -> int | None:
    if method == "grid":
        if n_trials is not None:
            raise ConfigError("optimize(n_trials=...) applies to method 'random' or 'bayes'; "
                              "a grid tries every point")
        return None
    if method not in ("random", "bayes"):
        raise ConfigError(f"optimize(method={method!r}): use 'grid', 'random' or 'bayes'")
    if not isinstance(n_trials, int) or n_trials < 1:
        raise ConfigError(f"optimize(method={method!r}) needs n_trials, a positive integer "
                          f"(got {n_trials!r})")
    return min(n_trials, math.prod(len(v) for v in space.values()))


def _path(key: str, config: RunConfig) -> tuple[str | int, ...]:
    """Where ``key`` lives in the config dict: ``signals.0.fast``, or a signal's name
    first (``ma_crossover.fast``), else a config path (``strategy.threshold``)."""
    head, *rest = key.split(".")
    names = [s.name for s in config.signals]
    if head not in RunConfig.model_fields and head in names and rest:
        return ("signals", names.index(head), *rest)
    if head not in RunConfig.model_fields:
        guess = difflib.get_close_matches(head, [*RunConfig.model_fields, *names], n=1)
        hint = f"; did you mean {guess[0]!r}?" if guess else ""
        raise ConfigError(f"optimize(grid=...): key {key!r} starts with neither a config "
                          f"key nor a signal name {names}{hint}")
    return (head, *(int(part) if part.isdigit() else part for part in rest))


def _grid_points(space: dict[str, list[Any]], constraint: Callable[[Point], bool] | None
                 ) -> list[Point]:
    points = [dict(zip(space, values, strict=True))
              for values in itertools.product(*space.values())]
    kept = [p for p in points if constraint is None or constraint(p)]
    if not kept:
        raise ConfigError(f"optimize(constraint=...) rejects all {len(points)} grid points")
    return kept


def _random_points(space: dict[str, list[Any]], constraint: Callable[[Point], bool] | None,
                   n_trials: int | None, seed: int) -> list[Point]:
    """``n_trials`` distinct points drawn uniformly (seeded) from those the constraint
    keeps."""
    assert n_trials is not None
    sizes = [len(v) for v in space.values()]
    total = math.prod(sizes)
    drawn = np.random.default_rng(seed).choice(total, size=min(total, max(50 * n_trials, 1000)),
                                               replace=False)
    points = []
    for index in drawn:
        point = _decode(int(index), space, sizes)
        if constraint is None or constraint(point):
            points.append(point)
            if len(points) == n_trials:
                return points
    if not points:
        raise ConfigError("optimize(constraint=...) rejects every point drawn")
    warnings.warn(f"optimize: only {len(points)} of the {n_trials} points asked satisfy the "
                  "constraint among those drawn", stacklevel=3)
    return points


def _decode(index: int, space: dict[str, list[Any]], sizes: list[int]) -> Point:
    """The ``index``-th point of the grid in ``itertools.product`` order."""
    chosen = []
    for size in reversed(sizes):
        index, digit = divmod(index, size)
        chosen.append(digit)
    return {k: v[i] for (k, v), i in zip(space.items(), reversed(chosen), strict=True)}


# -- points as runs ------------------------------------------------------------------------------
def _payload(config: RunConfig, paths: dict[str, tuple[str | int, ...]], point: Point
             ) -> dict[str, Any]:
    """The config dict with ``point`` set; a signal given as a Python object is rebuilt
    with its changed parameters (the others, objects included, kept as they are)."""
    payload = config.to_dict()
    for key, value in point.items():
        _set(payload, paths[key], value, key)
    for i, spec in enumerate(config.signals):
        if spec.instance is not None:
            params = spec.instance.get_params()
            changed = {paths[key][2]: value for key, value in point.items()
                       if paths[key][:2] == ("signals", i) and len(paths[key]) == 3
                       and paths[key][2] in params}
            payload["signals"][i]["instance"] = (type(spec.instance)(**{**params, **changed})
                                                 if changed else spec.instance)
    return payload


def _set(payload: dict[str, Any], path: tuple[str | int, ...], value: Any, key: str) -> None:
    node: Any = payload
    for depth, part in enumerate(path):
        last = depth == len(path) - 1
        if isinstance(node, list):
            if not isinstance(part, int) or not 0 <= part < len(node):
                raise ConfigError(f"optimize(grid=...): key {key!r}: {part!r} is not an index "
                                  f"of a list of {len(node)}")
        elif isinstance(node, dict):
            if not last and not isinstance(node.get(part), dict | list):
                node[part] = {}
        else:
            raise ConfigError(f"optimize(grid=...): key {key!r} goes inside a value "
                              f"({node!r}), not a section")
        if last:
            node[part] = value
        else:
            node = node[part]


def _run(name: str, number: int, config: RunConfig, paths: dict[str, tuple[str | int, ...]],
         point: Point, trials: int) -> SweepRun:
    run_name = f"{name}-{number:03d}"
    payload = {**_payload(config, paths, point), "trials": trials, "name": run_name}
    built = build_config(payload, f"optimize point {run_name} {point}")
    return SweepRun(name=run_name, folder=Path(built.output_dir) / name / run_name,
                    values=tuple(point.items()), config=built)


def _probe(name: str, config: RunConfig, paths: dict[str, tuple[str | int, ...]],
           space: dict[str, list[Any]]) -> list[SweepRun]:
    """Every value of every key set alone on the base config: each is validated, and they
    decide the path (a key that changes the decisions changes them alone too)."""
    points: list[Point] = [{}, *({key: value} for key, values in space.items()
                                for value in values)]
    return [_run(name, i, config, paths, point, 1) for i, point in enumerate(points)]


@dataclass
class _Runner:
    """Points to runs through the fast or the full sweep, keeping every run by name."""

    name: str
    config: RunConfig
    paths: dict[str, tuple[str | int, ...]]
    fast: bool
    data: Any
    progress: bool
    executor: Any
    runs: dict[str, SweepRun] = field(default_factory=dict)

    def run(self, points: list[Point], trials: int, first: int = 0) -> pd.DataFrame:
        runs = [_run(self.name, number, self.config, self.paths, point, trials)
                for number, point in enumerate(points, first)]
        self.runs.update({run.name: run for run in runs})
        if self.fast:
            return run_fast_sweep(self.name, runs, progress=self.progress, data=self.data)
        return run_sweep(self.name, runs, self.executor, data=self.data)


# -- the objective -------------------------------------------------------------------------------
def _objective(maximize: Maximize, config: RunConfig) -> tuple[Maximize, str]:
    """What is maximised (a column or a callable on a row) and its name."""
    if callable(maximize):
        return maximize, getattr(maximize, "__name__", repr(maximize))
    if not isinstance(maximize, str) or not maximize:
        raise ConfigError(f"optimize(maximize={maximize!r}): give a figure of the comparison "
                          "table ('sharpe', 'ma_crossover.total_return') or a callable on a "
                          "trial's row")
    if "." in maximize:
        return maximize, maximize
    names = [s.name for s in config.signals]
    if config.ensemble is None and len(names) > 1:
        raise ConfigError(f"optimize(maximize={maximize!r}): which strategy's? name one, "
                          f"e.g. '{names[0]}.{maximize}' (the run trades {names})")
    column = f"{ENSEMBLE if config.ensemble is not None else names[0]}.{maximize}"
    return column, column


def _score(table: pd.DataFrame, target: Maximize) -> pd.Series:
    """The objective of every row that ran (NaN for failed rows)."""
    ran = table["status"] != "failed"
    if callable(target):
        return pd.Series([float(target(row)) if ok else np.nan
                          for ok, (_, row) in zip(ran, table.iterrows(), strict=True)],
                         index=table.index, dtype=float)
    if target not in table.columns and ran.any():
        figures = sorted({c.rpartition(".")[2] for c in table.columns if "." in c})
        raise ConfigError(f"optimize(maximize=...): no column {target!r} in the results; "
                          f"the figures are {figures}")
    return pd.to_numeric(table.get(target), errors="coerce").where(ran)


def _tidy(table: pd.DataFrame, keys: tuple[str, ...], target: Maximize) -> pd.DataFrame:
    """One row per trial: trial, run, parameters, objective, status, error, figures."""
    table = table.reset_index(drop=True).assign(trial=lambda t: range(len(t)))
    table["objective"] = _score(table, target)
    if "error" not in table.columns:
        table["error"] = ""
    first = [*_FIRST, *keys, "objective", "status", "error"]
    return table[first + [c for c in table.columns if c not in first]]


# -- Bayesian search ---------------------------------------------------------------------------
def _bayes(space: dict[str, list[Any]], constraint: Callable[[Point], bool] | None,
           n_trials: int | None, seed: int, runner: _Runner, target: Maximize,
           batch: int) -> pd.DataFrame:
    """optuna's TPE sampler (seeded) over the values of each key, ``batch`` points at a
    time; a point asked twice is answered from the first run, one the constraint rejects
    is a failed optuna trial. Fast-path points are run again in one sweep at the end, so
    their deflated Sharpe counts every point tried."""
    assert n_trials is not None
    optuna = _optuna()
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=seed))
    trials = n_trials + (runner.config.trials or 0)
    points: list[Point] = []
    tables: list[pd.DataFrame] = []
    scores: dict[str, float] = {}
    asks = 0
    while len(points) < n_trials and asks < 20 * n_trials:
        asked: list[tuple[Any, Point]] = []
        new: list[Point] = []
        while len(new) < min(batch, n_trials - len(points)) and asks < 20 * n_trials:
            trial, asks = study.ask(), asks + 1
            point = {k: v[_suggest(trial, k, v)] for k, v in space.items()}
            if constraint is not None and not constraint(point):
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                continue
            asked.append((trial, point))
            if repr(point) not in scores and point not in new:
                new.append(point)
        if new:
            table = runner.run(new, trials, first=len(points))
            score = _score(table.reset_index(drop=True), target)
            scores.update({repr(p): s for p, s in zip(new, score, strict=True)})
            points += new
            tables.append(table)
        for trial, point in asked:
            value = scores[repr(point)]
            if np.isnan(value):
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                study.tell(trial, value)
    if len(points) < n_trials:
        counted = len(points) + (runner.config.trials or 0) if runner.fast else trials
        warnings.warn(f"optimize: the Bayesian search ran {len(points)} distinct points of the "
                      f"{n_trials} asked (the constraint or the grid's size left no more); "
                      f"its deflated Sharpe ratios count {counted}", stacklevel=3)
    if runner.fast:  # one sweep over every point: the deflated Sharpe sees them all
        return runner.run(points, len(points) + (runner.config.trials or 0))
    return pd.concat(tables, ignore_index=True)


def _suggest(trial: Any, key: str, values: list[Any]) -> int:
    """The index of a value: ordered (an integer) when the values are increasing numbers,
    else a category."""
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    if numbers and all(a < b for a, b in itertools.pairwise(values)):
        return int(trial.suggest_int(key, 0, len(values) - 1))
    return int(trial.suggest_categorical(key, list(range(len(values)))))


def _optuna() -> Any:
    try:
        import optuna
    except ImportError as e:
        raise ImportError("optimize(method='bayes') needs optuna: pip install optuna") from e
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


# -- the heatmap -------------------------------------------------------------------------------
def _axes(keys: tuple[str, ...], x: str | None, y: str | None) -> tuple[str, str]:
    if x is None and y is None and len(keys) == 2:
        return keys[0], keys[1]
    if x in keys and y in keys and x != y:
        assert x is not None and y is not None
        return x, y
    raise ValueError(f"heatmap(x=..., y=...): name two different keys of the search {list(keys)}")


def _heatmap_figure(table: pd.DataFrame, x: str, y: str, label: str, others: list[str]
                    ) -> Figure:
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    values = table.to_numpy(dtype=float)
    figure = Figure(figsize=(2.5 + 0.8 * values.shape[1], 1.6 + 0.45 * values.shape[0]),
                    layout="constrained")
    axes = figure.add_subplot()
    cmap = colormaps["viridis"].with_extremes(bad="#d9d9d9")
    image = axes.imshow(np.ma.masked_invalid(values), cmap=cmap, aspect="auto", origin="lower")
    axes.set_xticks(range(values.shape[1]), labels=[_label(v) for v in table.columns])
    axes.set_yticks(range(values.shape[0]), labels=[_label(v) for v in table.index])
    axes.set_xlabel(x)
    axes.set_ylabel(y)
    middle = np.nanmean(values) if np.isfinite(values).any() else 0.0
    for (row, column), value in np.ndenumerate(values):
        if np.isfinite(value):
            axes.text(column, row, f"{value:.3g}", ha="center", va="center", fontsize=8,
                      color="black" if value > middle else "white")
    figure.colorbar(image, ax=axes, label=label)
    notes = ([f"best over {', '.join(others)}"] if others else []) + (
        ["grey: not tried or failed"] if np.isnan(values).any() else [])
    axes.set_title(label + (f" ({'; '.join(notes)})" if notes else ""), fontsize=9)
    return figure


def _label(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
