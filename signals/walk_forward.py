"""Walk-forward training shared by every model signal.

The decision times of a signal are cut into consecutive test blocks of
``retrain_every`` decisions, after ``min_train`` decisions of warm-up. For each
block a fresh clone of the signal is fitted on the bars strictly before
``train_end`` (the block's start, moved ``embargo`` decisions earlier), so the
decisions of a block come only from a model that never saw them. Labels that
would need bars at or after ``train_end`` cannot be computed from that history,
so samples whose label window reaches the test block are purged by
construction; each fold model records ``label_end_``, and the trainer checks at run
time that it ends before the fold's cut (``LookAheadError`` naming signal and fold).
A signal with nothing to learn (``learns = False``: every ``RuleSignal``) has one fold
and no warm-up: it decides from its first valid indicator value (``no_fit_fold``).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any, Literal, Self

import pandas as pd
from tqdm.auto import tqdm

from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.errors import LookAheadError, XaiBacktestError
from xai_backtest.explainers.base import Explanation
from xai_backtest.signals.base import Signal, SignalFrame, library_versions
from xai_backtest.signals.device import OnDevice
from xai_backtest.storage.cache import DiskCache, content_hash
from xai_backtest.storage.code_hash import (
    SourceUnavailableError,
    code_fingerprint,
    module_fingerprint,
)
from xai_backtest.storage.interrupts import check_interrupt

__all__ = ["DEFAULT_MIN_TRAIN", "DEFAULT_RETRAIN_EVERY", "MAX_FOLDS", "Fold", "LookAheadError",
           "TooFewDecisions", "WalkForwardError", "WalkForwardSignal", "code_key", "fold_model_key",
           "no_fit_fold", "walk_forward_folds"]

Scheme = Literal["expanding", "rolling"]


#: more folds than this is almost surely a mistake (minute bars under a daily config)
MAX_FOLDS = 2_000

#: the one default of each count (the run config's walk_forward section uses these too):
#: two years of daily decisions before the first fold, then a refit every month
DEFAULT_MIN_TRAIN = 504
DEFAULT_RETRAIN_EVERY = 21


class WalkForwardError(XaiBacktestError, ValueError):
    """Folds that cannot be built, or absurdly many of them; the message says what to change."""


class TooFewDecisions(WalkForwardError):
    """The warm-up (``min_train`` and ``embargo``) takes every decision time so far: a
    stream waits for more bars; a backtest needs more data."""


@dataclass(frozen=True)
class Fold:
    """One walk-forward step: train on bars in ``[train_start, train_end)``, decide on
    decision times in ``[test_start, test_end)`` (``test_end=None``: open-ended)."""

    number: int
    train_start: pd.Timestamp
    train_end: pd.Timestamp
    test_start: pd.Timestamp
    test_end: pd.Timestamp | None


def walk_forward_folds(times: pd.DatetimeIndex, *, scheme: Scheme = "expanding",
                       min_train: int = DEFAULT_MIN_TRAIN,
                       retrain_every: int = DEFAULT_RETRAIN_EVERY,
                       window: int | None = None, embargo: int = 0) -> list[Fold]:
    """Folds over sorted decision ``times``; counts are in decision times."""
    if min_train < 1 or retrain_every < 1 or embargo < 0:
        raise WalkForwardError(f"need min_train >= 1, retrain_every >= 1, embargo >= 0; got "
                         f"{min_train=}, {retrain_every=}, {embargo=}")
    if scheme == "rolling" and (window is None or window < 1):
        raise WalkForwardError("the rolling scheme needs window >= 1 (decision times per fold)")
    if scheme not in ("expanding", "rolling"):
        raise WalkForwardError(f"scheme must be 'expanding' or 'rolling', got {scheme!r}")
    if len(times) <= min_train + embargo:
        raise TooFewDecisions(f"{len(times)} decision times, but min_train={min_train} and "
                         f"embargo={embargo} leave none to test on; use more data or a "
                         "smaller min_train")
    count = -(-(len(times) - min_train - embargo) // retrain_every)
    if count > MAX_FOLDS:
        raise WalkForwardError(
            f"{count:,} walk-forward folds ({len(times):,} decision times, retrain_every="
            f"{retrain_every}): that many refits would take hours. Counts are in decision "
            "times, so minute bars under a daily config refit every few minutes; resample "
            "(data.resample: daily) or raise walk_forward.retrain_every")
    folds = []
    for number, start in enumerate(range(min_train + embargo, len(times), retrain_every)):
        stop = start + retrain_every
        cut = start - embargo
        first = 0 if scheme == "expanding" else max(0, cut - window)  # type: ignore[operator]
        folds.append(Fold(number=number, train_start=times[first], train_end=times[cut],
                          test_start=times[start],
                          test_end=times[stop] if stop < len(times) else None))
    return folds


def no_fit_fold(times: pd.DatetimeIndex, bars: pd.DatetimeIndex) -> Fold:
    """The one fold of a signal with nothing to learn: it decides from its first decision
    time after the first bar (its first valid indicator value, unless that is the first
    bar), with no warm-up; ``fit`` sees only the bars before it, and records them."""
    later = times[times > bars[0]] if len(bars) else times[:0]
    if not len(later):
        raise TooFewDecisions(f"{len(times)} decision time(s) and none after the first bar; "
                              "use more data (the signal's indicators need a longer history)")
    return Fold(number=0, train_start=bars[0], train_end=later[0], test_start=later[0],
                test_end=None)


class WalkForwardSignal(Signal):
    """A signal refitted walk-forward; predicts each decision with the fold model of its block.

    ``fit(data)`` fits one clone of ``base`` per fold; ``predict(data)`` returns the
    out-of-sample decisions of all folds (none during the warm-up);
    ``explain(data, at)`` explains each decision with the fold model that made it and,
    with ``faithfulness`` (default), measures how true each explanation is with that model
    (``Signal.measure``); ``measure_seconds_`` adds up the time that took.
    """

    def __init__(self, base: Signal, scheme: Scheme = "expanding",
                 min_train: int = DEFAULT_MIN_TRAIN,
                 retrain_every: int = DEFAULT_RETRAIN_EVERY, window: int | None = None,
                 embargo: int = 0,
                 progress: bool = True, cache_dir: str | None = None,
                 name: str | None = None, faithfulness: bool = True) -> None:
        self.base = base
        self.instance_name = name
        self.scheme = scheme
        self.min_train = min_train
        self.retrain_every = retrain_every
        self.window = window
        self.embargo = embargo
        self.progress = progress
        self.cache_dir = cache_dir
        self.faithfulness = faithfulness

    @property
    def name(self) -> str:  # type: ignore[override]
        """The instance name (several instances of one signal class differ by it), which
        every decision frame and explanation of this signal carries."""
        return self.instance_name or self.base.name

    def get_params(self) -> dict[str, Any]:
        return {**super().get_params(), "name": self.instance_name}

    def clone(self) -> Self:
        params = self.get_params()
        params["base"] = self.base.clone()
        return type(self)(**params)

    def decision_times(self, data: MarketData) -> pd.DatetimeIndex:
        return self.base.decision_times(data)

    def labels(self, data: MarketData) -> pd.Series:
        return self.base.labels(data)

    def evaluation_labels(self, data: MarketData) -> pd.Series:
        return self.base.evaluation_labels(data)

    def plan(self, data: MarketData) -> list[Fold]:
        """The folds ``fit`` would train, without training (``WalkForwardError`` when they
        cannot be built or are absurdly many). A signal that learns nothing (``learns =
        False``, as every ``RuleSignal``) has one fold and no warm-up: ``no_fit_fold``."""
        times = self.base.decision_times(data)
        if not self.base.learns:
            return [no_fit_fold(times, data.bars.index)]
        return walk_forward_folds(times, scheme=self.scheme, min_train=self.min_train,
                                  retrain_every=self.retrain_every, window=self.window,
                                  embargo=self.embargo)

    def fit(self, data: MarketData) -> Self:
        self.folds_ = self.plan(data)
        cache = DiskCache(self.cache_dir) if self.cache_dir and self.base.learns else None
        code = code_key(type(self.base)) if cache else None
        if code is None:
            cache = None
        self.models_ = []
        self.measure_seconds_ = 0.0
        self.fold_keys_: list[str] | None = [] if cache else None
        for fold in tqdm(self.folds_, desc=f"walk-forward {self.name}", unit="fold",
                         disable=not self.progress, leave=False):
            check_interrupt()
            history = data.between(fold.train_start, fold.train_end)
            key = self._fold_key(history, code) if cache else None
            if self.fold_keys_ is not None and key is not None:
                self.fold_keys_.append(key)
            self.models_.append(self._checked(self._fit_fold(history, cache, key), fold))
        self.cache_hits_ = cache.hits if cache else 0
        self.cache_misses_ = cache.misses if cache else len(self.folds_)  # models fitted
        self.train_start_ = self.folds_[0].train_start
        self.train_end_ = self.folds_[-1].train_end
        return self

    def fit_fold(self, data: MarketData, fold: Fold) -> Signal:
        """The model of one fold, trained on the fold's bars of ``data`` (from the model
        cache when it holds it): what a stream trains in a worker when a fold's training
        bars are complete."""
        cache = DiskCache(self.cache_dir) if self.cache_dir and self.base.learns else None
        code = code_key(type(self.base)) if cache else None
        history = data.between(fold.train_start, fold.train_end)
        key = self._fold_key(history, code) if cache and code else None
        return self._checked(self._fit_fold(history, cache, key), fold)

    def _checked(self, model: Signal, fold: Fold) -> Signal:
        """``model``, once its training labels are seen to end before the fold's cut."""
        if not model.label_end_ < fold.train_end:
            raise LookAheadError(
                f"signal {self.name!r}, fold {fold.number}: a training label reads the bar "
                f"at {model.label_end_}, at or after the fold's cut {fold.train_end} (the "
                "test block starts at or after it); its labels must be computed from the "
                "history given to fit only")
        return model

    def _fit_fold(self, history: MarketData, cache: DiskCache | None,
                  key: str | None) -> Signal:
        """A clone of ``base`` fitted on ``history``; from the cache under ``key`` (the
        signal class and code, hyperparameters, library versions, torch thread count and
        history bytes: ``_fold_key``) when it was fitted before."""
        if cache is None or key is None:
            return self.base.clone().fit(history)
        return cache.folder_entry(f"models/{self.base.name}", key,
                                  build=lambda folder: self.base.clone().fit(history).save(folder),
                                  load=type(self.base).load)

    def _fold_key(self, history: MarketData, code: str | None) -> str:
        return fold_model_key(self.base, code, history.bars, history.headlines)

    def is_cached(self, data: MarketData) -> bool:
        """Whether every fold model ``fit(data)`` needs is in the model cache already."""
        if not self.cache_dir or not self.base.learns:
            return not self.base.learns
        code = code_key(type(self.base))
        root = Path(self.cache_dir) / "models" / self.base.name
        return code is not None and all(
            (root / self._fold_key(data.between(f.train_start, f.train_end), code)).is_dir()
            for f in self.plan(data))

    def predict(self, data: MarketData) -> SignalFrame:
        """Each fold model's decisions on its test block. With the model cache on, the
        decisions are cached too, keyed by the fold models' keys, the folds and the bytes
        of ``data`` (a warm rerun or a sweep does not predict again)."""
        self.check_fitted()
        keys = getattr(self, "fold_keys_", None)
        if not self.cache_dir or not keys:
            return self._predict(data)
        folds = [str((f.train_start, f.train_end, f.test_start, f.test_end))
                 for f in self.folds_]
        key = content_hash("decisions", keys, folds, _trainer_code(), data.bars,
                           data.headlines)

        def build(folder: Path) -> None:
            folder.mkdir()
            self._predict(data).frame.to_parquet(folder / "decisions.parquet")

        return DiskCache(self.cache_dir).folder_entry(
            f"decisions/{self.base.name}", key, build=build,
            load=lambda folder: SignalFrame(self.name,
                                            pd.read_parquet(folder / "decisions.parquet")))

    def _predict(self, data: MarketData) -> SignalFrame:
        parts = []
        for fold, model in zip(self.folds_, self.models_, strict=True):
            seen = data.until(fold.test_end)
            parts.append(model.predict(seen).between(fold.test_start, fold.test_end)
                         .with_fold(fold.number))
        return SignalFrame.concat(self.name, parts)

    def predict_before(self, data: MarketData, cut: pd.Timestamp) -> SignalFrame:
        """The decisions before ``cut`` of the two folds whose test blocks hold it or end
        just before it, predicted again by their fitted models with no cache: what the
        run-time look-ahead check compares with the run's own decisions."""
        self.check_fitted()
        near = [f for f in self.folds_ if f.test_start < cut][-2:]
        parts = [self.models_[f.number].predict(data.until(f.test_end))
                 .between(f.test_start, f.test_end).with_fold(f.number) for f in near]
        return SignalFrame.concat(self.name, parts).between(None, cut)

    def inputs_near(self, data: MarketData, cut: pd.Timestamp) -> pd.DataFrame | None:
        """The named inputs (``Signal.inputs``) the fold holding ``cut`` read."""
        self.check_fitted()
        fold = [f for f in self.folds_ if f.test_start < cut][-1]
        return self.models_[fold.number].inputs(data.until(fold.test_end))

    def fold_of(self, at: pd.Timestamp) -> Fold:
        """The fold whose model made the decision at ``at``."""
        self.check_fitted()
        for fold in self.folds_:
            if fold.test_start <= at and (fold.test_end is None or at < fold.test_end):
                return fold
        raise ValueError(f"{at} is before the first out-of-sample decision "
                         f"({self.folds_[0].test_start}); no fold model decided there")

    def explain(self, data: MarketData, at: Sequence[pd.Timestamp]) -> list[Explanation]:
        """Each decision at ``at`` explained by the fold model that made it (one call per
        fold; cached like the decisions when the model cache is on)."""
        self.check_fitted()
        by_fold: dict[int, list[pd.Timestamp]] = {}
        for stamp in at:
            by_fold.setdefault(self.fold_of(pd.Timestamp(stamp)).number, []).append(stamp)
        found: dict[pd.Timestamp, Explanation] = {}
        for number, stamps in by_fold.items():
            for explanation in self._explain_fold(number, data, stamps):
                found[explanation.decision_time] = replace(explanation, fold=number,
                                                           signal=self.name)
        return [found[pd.Timestamp(s)] for s in at]

    def _explain_fold(self, number: int, data: MarketData,
                      stamps: list[pd.Timestamp]) -> list[Explanation]:
        fold, model = self.folds_[number], self.models_[number]
        seen = data.until(fold.test_end)

        def explained() -> list[Explanation]:
            found = model.explain(seen, stamps)
            if not self.faithfulness:
                return found
            started = time.perf_counter()
            found = model.measure(found)
            self.measure_seconds_ += time.perf_counter() - started
            return found

        keys = getattr(self, "fold_keys_", None)
        if not self.cache_dir or not keys:
            return explained()
        key = content_hash("explanations", keys[number], [str(s) for s in stamps],
                           self.faithfulness, _trainer_code(), seen.bars, seen.headlines)

        def build(folder: Path) -> None:
            folder.mkdir()
            (folder / "explanations.jsonl").write_text(
                "".join(e.to_json() + "\n" for e in explained()))

        return DiskCache(self.cache_dir).folder_entry(
            f"explanations/{self.base.name}", key, build=build,
            load=lambda folder: [Explanation.from_json(line) for line in
                                 (folder / "explanations.jsonl").read_text().splitlines()])


def code_key(cls: type[Signal]) -> str | None:
    """What identifies the code of ``cls`` in a cache key: its ``code_version`` when set,
    else a hash of its source and the project modules it imports; None (with a warning:
    the fold models are refitted) when neither can be had."""
    if cls.code_version is not None:
        return f"version:{cls.code_version}"
    try:
        return code_fingerprint(cls)
    except SourceUnavailableError as e:
        warnings.warn(f"fold models of {cls.__qualname__} are not cached: {e}", stacklevel=3)
        return None


@cache
def _trainer_code() -> str:
    """A fingerprint of this module: cached decisions and explanations go stale with it."""
    return module_fingerprint(__name__)


def fold_model_key(base: Signal, code: str | None, *training: Any) -> str:
    """The model-cache key of ``base`` fitted on ``training`` (frames): its class, code
    and parameters, the library versions, the torch thread count and resolved device."""
    device = base.resolved_device() if isinstance(base, OnDevice) else None
    return content_hash(type(base).__module__, type(base).__qualname__, code,
                        base.get_params(), library_versions(), _torch_threads(), device,
                        *training)


def _torch_threads() -> int:
    """torch's thread count: fits differ in their last bits with it."""
    import torch

    return int(torch.get_num_threads())
