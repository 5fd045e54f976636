"""``Backtest``: a run from Python objects (bars, signal instances, strategy classes).

    from xai_backtest import Backtest
    result = Backtest("sp500", signals=[MyRule()], cash=10_000).run()

Everything goes through the same typed ``RunConfig`` as a YAML run, so parameters are
checked the same way and the resolved config is saved with the results.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import backtrader as bt
import pandas as pd

from xai_backtest.data_feeds.files import bars_from_frame
from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.engine.config import ConfigError, RunConfig, build_config, headline_refusal
from xai_backtest.engine.optimize import Maximize, Method, OptimizeResult, optimize
from xai_backtest.engine.runner import RunResult, run_backtest
from xai_backtest.signals.base import Signal
from xai_backtest.signals.registry import SIGNAL_KINDS

__all__ = ["Backtest"]

SignalSpec = Signal | str | Mapping[str, Any]
_SAMPLES = ("sp500", "nasdaq")


class Backtest:
    """A backtest of ``signals`` traded by ``strategy`` on ``data``.

    - ``data``: ``"sp500"`` or ``"nasdaq"`` (samples shipped by ``arch``), a CSV/Parquet
      file or folder, a bars ``DataFrame`` (tz-aware index, ``open high low close
      volume``), a ``MarketData`` (bars and headlines), a ``data`` config mapping, or a
      universe: a mapping from instrument name to bars ``DataFrame`` or ``MarketData``
      (trade it with ``strategy="portfolio"``).
    - ``signals``: signal objects, kind names or config mappings, in a list (each named by
      its kind) or a mapping from instance name to one of those.
    - ``strategy``: a kind name, a backtrader ``Strategy`` subclass, or a mapping with
      ``kind`` and the strategy's parameters.
    - ``options``: any other run config key (``cash``, ``costs``, ``walk_forward``,
      ``ensemble``, ``name``, ``output_dir``, ``seed``, ...).
    """

    def __init__(self, data: Any = "sp500", signals: Sequence[SignalSpec] |
                 Mapping[str, SignalSpec] | None = None,
                 strategy: str | type[bt.Strategy] | Mapping[str, Any] = "signal",
                 **options: Any) -> None:
        self.market_data, data_config = _data(data)
        payload: dict[str, Any] = {"data": data_config, "strategy": _strategy(strategy),
                                   **options}
        if signals is not None:
            payload["signals"] = _signals(signals)
            payload.setdefault("name", "-".join(s.get("name") or s["kind"].rpartition(":")[2]
                                                for s in payload["signals"])[:64])
        self.config: RunConfig = build_config(payload, "Backtest")
        if self.market_data is not None:  # bars from Python: do they carry headlines?
            refusal = headline_refusal(self.config, isinstance(self.market_data, MarketData)
                                       and self.market_data.headlines is not None)
            if refusal:
                raise ConfigError(f"Backtest: {refusal}")

    def run(self, progress: bool = True) -> RunResult:
        """Fit, trade, explain and report; returns frames, explanations and fitted models."""
        return run_backtest(self.config, progress=progress, data=self.market_data)

    def optimize(self, grid: Mapping[str, Sequence[Any]], maximize: Maximize = "sharpe",
                 constraint: Callable[[dict[str, Any]], bool] | None = None,
                 method: Method = "grid", n_trials: int | None = None,
                 executor: str = "local", workers: int | None = None, seed: int = 0,
                 progress: bool = True) -> OptimizeResult:
        """Search config keys for the point that maximises a figure (engine/optimize.py).

        - ``grid``: dotted key -> list of values (``strategy.threshold``,
          ``costs.commission``, ``signals.0.fast`` or ``<signal name>.fast``).
        - ``maximize``: a figure of the comparison table (``sharpe``; with several signals
          ``<signal>.sharpe``) or a callable on a trial's row.
        - ``constraint``: a callable on a point's parameter dict; points it rejects are not
          run and not counted.
        - ``method``: ``grid`` (every point), ``random`` (``n_trials`` distinct points drawn
          with ``seed``) or ``bayes`` (optuna's TPE sampler, ``n_trials`` points).
        - ``executor``/``workers``: where full runs go (``local`` fresh interpreters or
          ``ray``; default one, in this process). A grid of strategy, cost and cash keys
          runs on the fast path here: the signals fitted once.

        Returns an ``OptimizeResult``: ``.trials`` (one row per point), ``.best``,
        ``.heatmap()`` and ``.run_best()`` (a full report whose luck verdict counts every
        trial)."""
        return optimize(self.config, grid, data=self.market_data, maximize=maximize,
                        constraint=constraint, method=method, n_trials=n_trials,
                        executor=executor, workers=workers, seed=seed, progress=progress)


def _data(data: Any) -> tuple[MarketData | dict[str, MarketData] | None, Mapping[str, Any]]:
    if (isinstance(data, Mapping) and data
            and all(isinstance(v, MarketData | pd.DataFrame) for v in data.values())):
        universe = {str(name): own if isinstance(own, MarketData) else
                    MarketData(bars_from_frame(own, f"Backtest(data[{name!r}])"),
                               symbol=str(name))
                    for name, own in data.items()}
        return universe, {"source": "python",
                          "instruments": [{"name": name} for name in universe]}
    if isinstance(data, MarketData):
        return data, {"source": "python"}
    if isinstance(data, pd.DataFrame):
        return MarketData(bars_from_frame(data, "Backtest(data=...)")), {"source": "python"}
    if isinstance(data, Mapping):
        return None, data
    if isinstance(data, str) and data in _SAMPLES:
        return None, {"source": "sample", "sample": data}
    if isinstance(data, str | Path) and Path(data).exists():
        return None, {"source": "file", "path": str(data)}
    raise ConfigError(f"Backtest(data={data!r}): expected one of {list(_SAMPLES)}, an existing "
                      "CSV/Parquet file or folder, a bars DataFrame, a MarketData or a data "
                      "config mapping")


def _signals(signals: Sequence[SignalSpec] | Mapping[str, SignalSpec]) -> list[dict[str, Any]]:
    if isinstance(signals, Signal | str):
        signals = [signals]
    if isinstance(signals, Mapping):
        return [{**_signal(spec), "name": name} for name, spec in signals.items()]
    return [_signal(spec) for spec in signals]


def _signal(spec: SignalSpec) -> dict[str, Any]:
    if isinstance(spec, Signal):
        cls = type(spec)
        target = f"{cls.__module__}:{cls.__qualname__}"
        builtin = next((k for k, v in SIGNAL_KINDS.items() if v == target), None)
        kind = builtin or target
        out: dict[str, Any] = {"kind": kind, "instance": spec}
        if builtin is None:
            out["name"] = getattr(cls, "name", None) or cls.__name__.lower()
        return out
    if isinstance(spec, str):
        return {"kind": spec}
    if isinstance(spec, Mapping):
        return dict(spec)
    raise ConfigError(f"Backtest(signals=...): {spec!r} is not a Signal, a kind name or a "
                      "signal config mapping")


def _strategy(strategy: str | type[bt.Strategy] | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(strategy, type) and issubclass(strategy, bt.Strategy):
        return {"kind": f"{strategy.__module__}:{strategy.__qualname__}"}
    if isinstance(strategy, str):
        return {"kind": strategy}
    if isinstance(strategy, Mapping):
        out = dict(strategy)
        if isinstance(out.get("kind"), type):
            out["kind"] = _strategy(out["kind"])["kind"]
        return out
    raise ConfigError(f"Backtest(strategy={strategy!r}): expected a kind name, a backtrader "
                      "Strategy subclass or a mapping with 'kind' and parameters")
