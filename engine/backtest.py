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
from pydantic import BaseModel

from xai_backtest.data_feeds.files import bars_from_frame
from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.data_feeds.stream_sources import Source
from xai_backtest.engine.components import component_params, resolve_component
from xai_backtest.engine.config import (
    DATA_CLASSES,
    CheckConfig,
    ConfigError,
    CostsConfig,
    EnsembleConfig,
    RunConfig,
    StrategyConfig,
    WalkForwardConfig,
    build_config,
    headline_refusal,
)
from xai_backtest.engine.optimize import Maximize, Method, OptimizeResult, optimize
from xai_backtest.engine.runner import RunResult, run_backtest
from xai_backtest.engine.stream.runner import StreamResult
from xai_backtest.engine.stream.start import open_stream
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
      ``ensemble``, ``name``, ``output_dir``, ``seed``, ...), and ``progress`` (the
      default of ``run(progress=...)``). A key of a section (``threshold``,
      ``commission``, ``min_train``, ``start``, a signal's parameter) is refused with the
      argument it belongs in.
    """

    def __init__(self, data: Any = "sp500", signals: Sequence[SignalSpec] |
                 Mapping[str, SignalSpec] | None = None,
                 strategy: str | type[bt.Strategy] | Mapping[str, Any] = "signal",
                 progress: bool = True, **options: Any) -> None:
        self.progress = progress
        self.market_data, data_config = _data(data)
        payload: dict[str, Any] = {"data": data_config, "strategy": _strategy(strategy),
                                   **options}
        if signals is not None:
            payload["signals"] = _signals(signals)
            payload.setdefault("name", "-".join(s.get("name") or s["kind"].rpartition(":")[2]
                                                for s in payload["signals"])[:64])
        for key, value in options.items():
            hint = _where_it_lives(key, value, payload, self.market_data is not None)
            if hint:
                raise ConfigError(f"Backtest: {hint}")
        self.config: RunConfig = build_config(payload, "Backtest")
        if self.market_data is not None:  # bars from Python: do they carry headlines?
            refusal = headline_refusal(self.config, isinstance(self.market_data, MarketData)
                                       and self.market_data.headlines is not None)
            if refusal:
                raise ConfigError(f"Backtest: {refusal}")

    def run(self, progress: bool | None = None) -> RunResult:
        """Fit, trade, explain and report; returns frames, explanations and fitted models.
        ``progress`` (default: the constructor's) shows progress bars."""
        return run_backtest(self.config, progress=self.progress if progress is None
                            else progress, data=self.market_data)

    def stream(self, source: str | Source = "replay", max_bars: int | None = None,
               **options: Any) -> StreamResult:
        """The same signals and strategy bar by bar (engine/stream/start.py): ``source``
        ``"replay"`` (the data's last ``bars=60`` bars, or ``start=``), ``"tail"``
        (``path=``), ``"yfinance"``, or a source object; each decision explained as it is
        made, orders to the paper broker (``broker=``), all journaled in ``folder=``."""
        return open_stream(self.config, source, data=self.market_data,
                           **options).run(max_bars=max_bars)

    def optimize(self, grid: Mapping[str, Sequence[Any]], maximize: Maximize = "sharpe",
                 constraint: Callable[[dict[str, Any]], bool] | None = None,
                 method: Method = "grid", n_trials: int | None = None,
                 executor: str = "local", workers: int | None = None, seed: int = 0,
                 progress: bool | None = None) -> OptimizeResult:
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
        - ``progress`` (default: the constructor's) shows progress bars.

        Returns an ``OptimizeResult``: ``.trials`` (one row per point), ``.best``,
        ``.heatmap()`` and ``.run_best()`` (a full report whose luck verdict counts every
        trial)."""
        return optimize(self.config, grid, data=self.market_data, maximize=maximize,
                        constraint=constraint, method=method, n_trials=n_trials,
                        executor=executor, workers=workers, seed=seed,
                        progress=self.progress if progress is None else progress)


#: sections of a run config whose keys a user may pass to ``Backtest`` at the top level
_SECTIONS: dict[str, type[BaseModel]] = {
    "strategy": StrategyConfig, "costs": CostsConfig, "walk_forward": WalkForwardConfig,
    "check": CheckConfig, "ensemble": EnsembleConfig}


def _where_it_lives(key: str, value: Any, payload: Mapping[str, Any],
                    from_python: bool) -> str | None:
    """Where ``key``, given to ``Backtest(...)`` at the top level, belongs when it is not a
    run config key: a section's key or a signal's parameter, with the call that sets it;
    None for a run config key or a key nothing knows (the config names the closest)."""
    if key in RunConfig.model_fields:
        return None
    for section, model in _SECTIONS.items():
        if key in model.model_fields:
            own = payload.get(section)
            example = {**(own if isinstance(own, Mapping) else {}), key: value}
            return f"{key!r} is a key of {section}: Backtest(..., {section}={example!r})"
    if any(key in model.model_fields for model in DATA_CLASSES.values()):
        if from_python:
            return (f"{key!r} is a key of the data section, which bars from Python do not "
                    "take: prepare the bars before passing them, or pass a data config "
                    f"mapping (data={{'source': 'file', 'path': ..., {key!r}: {value!r}}})")
        example = {**payload["data"], key: value}
        return f"{key!r} is a key of data: Backtest(data={example!r}, ...)"
    for spec in payload.get("signals", ()):
        instance = spec.get("instance")
        try:
            signal = (type(instance) if instance is not None else
                      resolve_component(spec["kind"], "signal"))
        except ConfigError:
            continue  # the config names the unknown kind
        if key not in component_params(signal, "signal"):
            continue
        if instance is not None:
            return (f"{key!r} is a parameter of signal {spec['kind']!r}: pass it to the "
                    f"signal, {signal.__name__}({key}={value!r})")
        entry = {**{k: v for k, v in spec.items() if k != "instance"}, key: value}
        return (f"{key!r} is a parameter of signal {spec['kind']!r}: "
                f"Backtest(signals=[{entry!r}], ...)")
    return None


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
