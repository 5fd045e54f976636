"""One model per walk-forward fold, trained on the samples of every instrument of a universe.

The usual choice for ML signals over many instruments: each fold's model sees more
samples than any one instrument has. Folds are cut on the union of the instruments'
decision times; the model of a fold is fitted (``base.fit_pooled``) on every instrument's
bars strictly before the fold's cut, and each instrument's decisions in the fold's test
block come from that model on that instrument's own bars. The fitted model records the
latest bar any training label read, over all instruments; it must lie before the cut, or
``LookAheadError`` names the fold. Explanations and their faithfulness come from the fold
model that made the decision, on the instrument's own input. With ``instrument_feature``,
the model also reads which instrument a sample comes from (one-hot inputs
``"instrument = <name>"``, explained like the others).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.explainers.base import Explanation
from xai_backtest.signals.base import Signal, SignalFrame
from xai_backtest.signals.walk_forward import (
    Fold,
    LookAheadError,
    Scheme,
    code_key,
    fold_model_key,
    walk_forward_folds,
)
from xai_backtest.storage.cache import DiskCache
from xai_backtest.storage.interrupts import check_interrupt

__all__ = ["PooledWalkForward", "instrument_signal"]


class PooledWalkForward:
    """Walk-forward over a universe with one pooled model per fold; ``base`` must have
    ``fit_pooled(histories)`` (the five-trend DNN has)."""

    def __init__(self, base: Signal, scheme: Scheme = "expanding", min_train: int = 252,
                 retrain_every: int = 21, window: int | None = None, embargo: int = 0,
                 progress: bool = True, name: str | None = None,
                 faithfulness: bool = True, cache_dir: str | None = None,
                 instrument_feature: bool = False) -> None:
        if not callable(getattr(base, "fit_pooled", None)):
            raise TypeError(f"{type(base).__name__} cannot be pooled: it has no "
                            "fit_pooled(histories); run it per instrument instead")
        self.base = base
        self.scheme = scheme
        self.min_train = min_train
        self.retrain_every = retrain_every
        self.window = window
        self.embargo = embargo
        self.progress = progress
        self.name = name or base.name
        self.faithfulness = faithfulness
        self.cache_dir = cache_dir
        self.instrument_feature = instrument_feature
        if instrument_feature and "instruments" not in base.get_params():
            raise TypeError(f"{type(base).__name__} has no instrument inputs (an "
                            "'instruments' parameter); leave out instrument_feature")

    def _named(self, universe: Mapping[str, MarketData]) -> Mapping[str, MarketData]:
        """With ``instrument_feature``, each instrument's data carries its universe name
        (the one-hot input reads ``symbol``)."""
        if not self.instrument_feature:
            return universe
        return {name: replace(data, symbol=name) for name, data in universe.items()}

    def plan(self, universe: Mapping[str, MarketData]) -> list[Fold]:
        """The folds, cut on the union of every instrument's decision times."""
        times = pd.DatetimeIndex(sorted(set().union(*(self.base.decision_times(data)
                                                      for data in universe.values()))))
        return walk_forward_folds(times, scheme=self.scheme, min_train=self.min_train,
                                  retrain_every=self.retrain_every, window=self.window,
                                  embargo=self.embargo)

    def fit(self, universe: Mapping[str, MarketData]) -> PooledWalkForward:
        """One model per fold on every instrument's bars before its cut; with ``cache_dir``,
        each fold model is kept on disk keyed by the signal's class, code and parameters,
        the library versions, the torch thread count and every training history's bytes
        (as ``WalkForwardSignal`` keys its fold models)."""
        universe = self._named(universe)
        if self.instrument_feature:  # one-hot inputs naming each instrument of the universe
            self.base = type(self.base)(**{**self.base.get_params(),
                                           "instruments": tuple(universe)})
        self.folds_ = self.plan(universe)
        self.models_: list[Signal] = []
        cache = DiskCache(self.cache_dir) if self.cache_dir else None
        code = code_key(type(self.base)) if cache else None
        for fold in tqdm(self.folds_, desc=f"pooled walk-forward {self.name} "
                                           f"({len(universe)} instruments)",
                         unit="fold", disable=not self.progress, leave=False):
            check_interrupt()
            histories = [data.between(fold.train_start, fold.train_end)
                         for data in universe.values()]
            histories = [h for h in histories if len(h.bars)]
            model = self._fit_fold(histories, cache if code else None, code)
            if not model.label_end_ < fold.train_end:
                raise LookAheadError(
                    f"pooled signal {self.name!r}, fold {fold.number}: a training label reads "
                    f"the bar at {model.label_end_}, at or after the fold's cut "
                    f"{fold.train_end}")
            self.models_.append(model)
        self.cache_hits_ = cache.hits if cache and code else 0
        self.cache_misses_ = cache.misses if cache and code else len(self.folds_)
        return self

    def _fit_fold(self, histories: list[MarketData], cache: DiskCache | None,
                  code: str | None) -> Signal:
        def build() -> Signal:
            pooled: Any = self.base.clone()  # checked in __init__: it has fit_pooled
            return pooled.fit_pooled(histories)

        if cache is None:
            return build()
        key = fold_model_key(self.base, code, "pooled", *(h.bars for h in histories))
        return cache.folder_entry(f"models/{self.base.name}-pooled", key,
                                  build=lambda folder: build().save(folder),
                                  load=type(self.base).load)

    def predict(self, universe: Mapping[str, MarketData]) -> dict[str, SignalFrame]:
        """Each instrument's out-of-sample decisions, from the fold model of each block."""
        universe = self._named(universe)
        out = {}
        for instrument, data in universe.items():
            parts = []
            for fold, model in zip(self.folds_, self.models_, strict=True):
                seen = data.until(fold.test_end)
                if len(self.base.decision_times(seen)):
                    parts.append(model.predict(seen).between(fold.test_start, fold.test_end)
                                 .with_fold(fold.number))
            out[instrument] = SignalFrame.concat(instrument_signal(self.name, instrument), parts)
        return out

    def predict_before(self, universe: Mapping[str, MarketData],
                       cut: pd.Timestamp) -> dict[str, SignalFrame]:
        """Each instrument's decisions before ``cut`` of the two folds whose test blocks
        hold it or end just before it, predicted again (see
        ``WalkForwardSignal.predict_before``)."""
        universe = self._named(universe)
        near = [f for f in self.folds_ if f.test_start < cut][-2:]
        out = {}
        for instrument, data in universe.items():
            parts = []
            for fold in near:
                seen = data.until(fold.test_end)
                if len(self.base.decision_times(seen)):
                    parts.append(self.models_[fold.number].predict(seen)
                                 .between(fold.test_start, fold.test_end)
                                 .with_fold(fold.number))
            out[instrument] = SignalFrame.concat(instrument_signal(self.name, instrument),
                                                 parts).between(None, cut)
        return out

    def inputs_near(self, universe: Mapping[str, MarketData],
                    cut: pd.Timestamp) -> dict[str, pd.DataFrame | None]:
        """Each instrument's named inputs in the fold holding ``cut``."""
        universe = self._named(universe)
        fold = [f for f in self.folds_ if f.test_start < cut][-1]
        return {name: self.models_[fold.number].inputs(data.until(fold.test_end))
                for name, data in universe.items()}

    def fold_models(self, instrument: str | None = None) -> list[Signal]:
        """The fitted fold models (one set for every instrument)."""
        return self.models_

    def explain(self, universe: Mapping[str, MarketData],
                at: Mapping[str, Sequence[pd.Timestamp]]) -> dict[str, list[Explanation]]:
        """Each instrument's decisions at ``at[instrument]``, explained (and, with
        ``faithfulness``, measured) by the fold model that made them; each explanation's
        signal is ``instrument_signal(name, instrument)``, as in ``predict``. A base with
        ``inputs_at`` and ``explain_inputs`` is explained in one batch per fold over all
        instruments (one SHAP call, one measure call), else instrument by instrument."""
        universe = self._named(universe)
        batched = callable(getattr(self.base, "explain_inputs", None))
        found: dict[tuple[str, pd.Timestamp], Explanation] = {}
        for fold, model in tqdm(list(zip(self.folds_, self.models_, strict=True)),
                                desc=f"explain {self.name} ({len(at)} instruments)",
                                unit="fold", disable=not self.progress, leave=False):
            keys: list[tuple[str, pd.Timestamp]] = []
            explained: list[Explanation] = []
            rows = []
            for name, times in at.items():
                mine = [pd.Timestamp(t) for t in times if _in_block(fold, t)]
                if not mine:
                    continue
                seen = universe[name].until(fold.test_end)
                keys += [(name, t) for t in mine]
                if batched:
                    rows.append(model.inputs_at(seen, mine))
                else:
                    explained += model.explain(seen, mine)
            if not keys:
                continue
            if batched:
                explained = model.explain_inputs(np.concatenate(rows), [t for _, t in keys])
            if self.faithfulness:
                explained = model.measure(explained)
            found.update({(name, t): replace(e, fold=fold.number,
                                             signal=instrument_signal(self.name, name))
                          for (name, t), e in zip(keys, explained, strict=True)})
        missing = [(n, t) for n, times in at.items() for t in times
                   if (n, pd.Timestamp(t)) not in found]
        if missing:
            raise ValueError(f"{missing[0][1]} is not an out-of-sample decision time of "
                             f"{self.name!r} on {missing[0][0]!r}")
        return {name: [found[(name, pd.Timestamp(t))] for t in times]
                for name, times in at.items()}


def instrument_signal(signal: str, instrument: str) -> str:
    """The name a signal's decisions and explanations carry on one instrument of a
    universe, so explanation ids stay unique across instruments: ``"five_trend[TCS]"``."""
    return f"{signal}[{instrument}]"


def _in_block(fold: Fold, stamp: pd.Timestamp) -> bool:
    return fold.test_start <= stamp and (fold.test_end is None or stamp < fold.test_end)
