"""One fold interface for every signal of a run, on one instrument or many.

A signal's walk-forward is either one ``WalkForwardSignal`` per instrument
(``PerInstrument``; a single instrument is a universe of one) or one pooled model per fold
over every instrument (``PooledWalkForward``). Both take and give mappings keyed by
instrument: ``fit(datas)``, ``predict(datas)``, ``explain(datas, at)``, and, for the
run-time look-ahead check, ``predict_before(datas, cut)`` and ``inputs_near(datas, cut)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

import pandas as pd
from tqdm.auto import tqdm

from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.engine.config import ConfigError, RunConfig, SignalConfig
from xai_backtest.engine.executor import make_executor
from xai_backtest.explainers.base import Explanation
from xai_backtest.signals.base import Signal, SignalFrame
from xai_backtest.signals.pooled import PooledWalkForward, instrument_signal
from xai_backtest.signals.walk_forward import WalkForwardError, WalkForwardSignal

__all__ = ["FoldModels", "PerInstrument", "build_fold_models"]


class FoldModels(Protocol):
    """A signal's fitted walk-forward over the instruments of a run."""

    name: str
    base: Signal

    def fit(self, datas: Mapping[str, MarketData]) -> FoldModels: ...

    def predict(self, datas: Mapping[str, MarketData]) -> dict[str, SignalFrame]: ...

    def explain(self, datas: Mapping[str, MarketData],
                at: Mapping[str, Sequence[pd.Timestamp]]) -> dict[str, list[Explanation]]: ...

    def predict_before(self, datas: Mapping[str, MarketData],
                       cut: pd.Timestamp) -> dict[str, SignalFrame]: ...

    def inputs_near(self, datas: Mapping[str, MarketData],
                    cut: pd.Timestamp) -> dict[str, pd.DataFrame | None]: ...


class PerInstrument:
    """One ``WalkForwardSignal`` per instrument (``walks``), fitted on that instrument's
    bars alone; ``fit_workers`` processes fit them where the signal is a built-in one."""

    def __init__(self, name: str, walks: dict[str, WalkForwardSignal],
                 fit_workers: int = 1, fit_executor: str = "local",
                 progress: bool = True) -> None:
        self.name = name
        self.walks = walks
        self.base = next(iter(walks.values())).base
        self.fit_workers = fit_workers
        self.fit_executor = fit_executor
        self.progress = progress

    def __iter__(self) -> Iterator[str]:
        return iter(self.walks)

    def __getitem__(self, instrument: str) -> WalkForwardSignal:
        return self.walks[instrument]

    def drop(self, instruments: Sequence[str]) -> None:
        for name in instruments:
            self.walks.pop(name, None)

    def fit(self, datas: Mapping[str, MarketData]) -> PerInstrument:
        names = list(self.walks)
        if self.fit_workers > 1 and len(names) > 1 and _built_in(self.walks[names[0]]):
            for walk in self.walks.values():
                walk.progress = False  # workers print nothing
            fitted = make_executor(self.fit_executor, self.fit_workers).map(
                _fit_one, [(self.walks[n], datas[n]) for n in names])
            self.walks.update(dict(zip(names, fitted, strict=True)))
            return self
        for name in tqdm(names, desc=f"{self.name}: instruments", unit="instrument",
                         disable=not self.progress or len(names) < 2):
            self.walks[name].fit(datas[name])
        return self

    def predict(self, datas: Mapping[str, MarketData]) -> dict[str, SignalFrame]:
        return {name: walk.predict(datas[name]) for name, walk in self.walks.items()}

    def explain(self, datas: Mapping[str, MarketData],
                at: Mapping[str, Sequence[pd.Timestamp]]) -> dict[str, list[Explanation]]:
        return {name: self.walks[name].explain(datas[name], times)
                for name, times in tqdm(at.items(), desc=f"explain {self.name}",
                                        disable=not self.progress or len(at) < 2,
                                        leave=False)}

    def predict_before(self, datas: Mapping[str, MarketData],
                       cut: pd.Timestamp) -> dict[str, SignalFrame]:
        return {name: self.walks[name].predict_before(data, cut)
                for name, data in datas.items()}

    def inputs_near(self, datas: Mapping[str, MarketData],
                    cut: pd.Timestamp) -> dict[str, pd.DataFrame | None]:
        return {name: self.walks[name].inputs_near(data, cut) for name, data in datas.items()}

    def fold_models(self, instrument: str | None = None) -> list[Signal]:
        """The fitted fold models of ``instrument`` (default: the only one)."""
        return self._one(instrument).models_

    def _one(self, instrument: str | None) -> WalkForwardSignal:
        if instrument is None and len(self.walks) == 1:
            return next(iter(self.walks.values()))
        if instrument not in self.walks:
            raise KeyError(f"signal {self.name!r} has no model of instrument {instrument!r}; "
                           f"it has {list(self.walks)}")
        return self.walks[instrument]


def _built_in(model: WalkForwardSignal) -> bool:
    """A built-in signal class, which a worker process can import by name."""
    return type(model.base).__module__.startswith("xai_backtest.")


def _fit_one(task: tuple[WalkForwardSignal, MarketData]) -> WalkForwardSignal:
    model, data = task
    return model.fit(data)


def build_fold_models(spec: SignalConfig, config: RunConfig, instruments: Sequence[str],
                      progress: bool, universe: bool) -> PerInstrument | PooledWalkForward:
    """The unfitted walk-forward of one signal over ``instruments``: pooled, or one per
    instrument (named ``signal[instrument]`` in a universe, ``signal`` alone otherwise);
    the run seed fills a ``seed`` param."""
    walk = spec.walk_forward or config.walk_forward
    options: dict[str, Any] = dict(
        scheme=walk.scheme, min_train=walk.min_train, retrain_every=walk.retrain_every,
        window=walk.window, embargo=walk.embargo, progress=progress,
        faithfulness=config.faithfulness, cache_dir=config.cache_dir)

    def base() -> Signal:
        signal = spec.build()
        if getattr(signal, "seed", 0) is None:
            signal.seed = config.seed
        return signal

    if spec.pooled:
        try:
            return PooledWalkForward(base(), name=spec.name,
                                     instrument_feature=spec.instrument_feature, **options)
        except TypeError as e:
            raise ConfigError(f"signal {spec.name!r}: {e} (set pooled: false)") from e
    walks = {name: WalkForwardSignal(base(), name=instrument_signal(spec.name, name)
                                     if universe else spec.name, **options)
             for name in instruments}
    return PerInstrument(spec.name, walks, fit_workers=config.fit_workers,
                         fit_executor=config.fit_executor, progress=progress)


def too_short(models: Mapping[str, FoldModels],
              datas: Mapping[str, MarketData]) -> dict[str, str]:
    """The instruments some signal cannot decide on (too little history for its windows
    or its walk-forward warm-up), and why."""
    dropped: dict[str, str] = {}
    for signal, model in models.items():
        for name, data in datas.items():
            if name in dropped:
                continue
            if isinstance(model, PooledWalkForward):
                if not len(model.base.decision_times(data)):
                    dropped[name] = (f"{len(data.bars)} bars are too few for signal "
                                     f"{signal!r}'s windows (no decision time)")
                continue
            assert isinstance(model, PerInstrument)
            try:
                model[name].plan(data)
            except WalkForwardError as e:
                dropped[name] = f"too little history for signal {signal!r}: {e}"
    return dropped
