"""One signal's walk-forward on one instrument, driven bar by bar.

The schedule is the batch run's (``WalkForwardSignal.plan`` over the decision times seen
so far), so fold k trains on the same bars and decides the same block. A fold's model is
sent to train in a worker as soon as its training bars are complete (the bar at its cut
has arrived) and is used from the fold's first decision on, as in batch; with
``walk_forward.embargo`` >= 1 that leaves at least one bar for the training, so decisions
do not wait. If a model is not ready when its first decision is due, the decision waits
for it (never an older model: that would break replay = backtest) and the wait is
reported.

Each new decision is the fold model's ``predict`` on everything seen so far, at the new
time, and is explained (and measured) at once by the same model.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.engine.executor import LocalExecutor, Pending
from xai_backtest.engine.seeding import seed_everything
from xai_backtest.errors import XaiBacktestError
from xai_backtest.explainers.base import Explanation
from xai_backtest.signals.base import Signal
from xai_backtest.signals.walk_forward import Fold, TooFewDecisions, WalkForwardSignal

__all__ = ["Decision", "OnlineWalkForward", "StreamError", "Trainer"]


class StreamError(XaiBacktestError):
    """A stream cannot go on as the backtest would; the message says why."""


@dataclass(frozen=True)
class Decision:
    """One decision made as its bar closed, with its explanation."""

    signal: str
    instrument: str
    time: pd.Timestamp
    row: dict[str, Any]  # known_at, score, label, probability, direction, fold
    explanation: Explanation | None
    waited: float  # seconds the decision waited for its fold model


def _fit_task(task: tuple[WalkForwardSignal, MarketData, Fold, int, int]) -> Signal:
    walk, data, fold, seed, threads = task
    seed_everything(seed, threads)
    return walk.fit_fold(data, fold)


class Trainer:
    """Trains fold models: in a fresh worker interpreter (``in_worker``), or here."""

    def __init__(self, seed: int, threads: int, in_worker: bool = True) -> None:
        self.seed, self.threads, self.in_worker = seed, threads, in_worker
        self._executor = LocalExecutor(workers=1)

    def start(self, walk: WalkForwardSignal, data: MarketData,
              fold: Fold) -> Callable[[], Signal]:
        """Start training ``fold``'s model; the returned call waits for it."""
        task = (walk, data.between(fold.train_start, fold.train_end), fold, self.seed,
                self.threads)
        if not self.in_worker or not walk.base.learns:
            model = _fit_task(task)
            return lambda: model
        pending: Pending = self._executor.submit(_fit_task, [task])
        return lambda: pending.result()[0]


class OnlineWalkForward:
    """``walk`` (unfitted) decided bar by bar on ``instrument``; ``decided_until``: the
    last decision time already made (a resumed stream starts after it)."""

    def __init__(self, walk: WalkForwardSignal, instrument: str, trainer: Trainer,
                 decided_until: pd.Timestamp | None = None) -> None:
        self.walk, self.instrument, self.trainer = walk, instrument, trainer
        self.decided_until = decided_until
        self._training: dict[int, tuple[Fold, Callable[[], Signal]]] = {}
        self._models: dict[int, Signal] = {}
        self.ready_at: dict[int, pd.Timestamp] = {}  # fold -> the bar its model was ready by

    @property
    def name(self) -> str:
        return self.walk.name

    def adopt(self, fold: Fold, model: Signal) -> None:
        """Decide on with ``model``, fitted already for ``fold`` (the history's last)."""
        self._models = {fold.number: model}

    def warm_up(self, data: MarketData, at: pd.Timestamp) -> None:
        """Explain (and measure) the history's decision at ``at`` and drop the result:
        the explainers' first call sets up (imports, autograd hooks: about 1.2 s for
        Grad-CAM) at start, not at the first bar streamed."""
        ((number, model),) = self._models.items()
        fold = next(f for f in self.walk.plan(data) if f.number == number)
        self._explain(model, self._tail(model, data, at, check=False), at, fold)

    def step(self, data: MarketData, now: pd.Timestamp,
             explain: bool = True) -> list[Decision]:
        """The decisions made on ``data`` (everything seen up to the bar at ``now``) that
        were not made before, each explained by the model that made it."""
        times = self.walk.decision_times(data)
        try:
            folds = self.walk.plan(data)
        except TooFewDecisions:
            return []  # still in the warm-up
        self._train_ahead(data, times, folds)
        new = times[times >= folds[0].test_start]
        if self.decided_until is not None:
            new = new[new > self.decided_until]
        out = []
        for at in new:
            fold = next(f for f in reversed(folds) if f.test_start <= at)
            started = time.perf_counter()
            checked = fold.number in self._models
            model = self._model(data, fold, now)
            waited = time.perf_counter() - started
            view = self._tail(model, data, at, check=not checked)
            frame = model.predict(view).frame
            if at not in frame.index:
                raise StreamError(
                    f"signal {self.name!r} on {self.instrument}: a decision at {at} is due "
                    "(a decision time of the bars so far), but predict on the bars up to it "
                    "made none; a signal must decide from the bars up to its decision time")
            row = frame.loc[at].to_dict()
            row["fold"] = fold.number
            explanation = self._explain(model, view, at, fold) if explain else None
            out.append(Decision(self.name, self.instrument, at, row, explanation, waited))
            self.decided_until = at
        return out

    def _tail(self, model: Signal, data: MarketData, at: pd.Timestamp,
              check: bool) -> MarketData:
        """The bars the decision at ``at`` reads (``Signal.lookback_bars``); with
        ``check``, seen to decide as all the bars do."""
        span = model.lookback_bars()
        if span is None:
            return data
        position = int(data.bars.index.searchsorted(at))
        tail = data.between(data.bars.index[max(0, position - span)], None)
        if check:
            mine, full = model.predict(tail).frame, model.predict(data).frame
            same = at in mine.index and at in full.index and (
                mine.loc[at, "label"] == full.loc[at, "label"]
                and abs(mine.loc[at, "probability"] - full.loc[at, "probability"]) < 1e-12)
            if not same:
                raise StreamError(
                    f"signal {self.name!r}: its decision at {at} from the last {span} bars "
                    "differs from the one from every bar; its lookback_bars() is too short")
        return tail

    def _explain(self, model: Signal, data: MarketData, at: pd.Timestamp,
                 fold: Fold) -> Explanation:
        (found,) = model.explain(data, [at])
        if self.walk.faithfulness:
            (found,) = model.measure([found])
        return replace(found, fold=fold.number, signal=self.name)

    def _model(self, data: MarketData, fold: Fold, now: pd.Timestamp) -> Signal:
        if fold.number not in self._models:
            if fold.number not in self._training:
                self._training[fold.number] = (fold, self.trainer.start(self.walk, data, fold))
            trained_on, wait = self._training.pop(fold.number)
            if (trained_on.train_start, trained_on.train_end) != (fold.train_start,
                                                                  fold.train_end):
                raise StreamError(f"signal {self.name!r}: fold {fold.number} was trained on "
                                  f"{trained_on.train_start}..{trained_on.train_end}, but the "
                                  f"schedule says {fold.train_start}..{fold.train_end}")
            self._models = {fold.number: wait()}  # older folds decide nothing more
            self.ready_at[fold.number] = now
        return self._models[fold.number]

    def _train_ahead(self, data: MarketData, times: pd.DatetimeIndex,
                     folds: list[Fold]) -> None:
        """Start the next fold's training once its cut's bar is here (the schedule of
        signals/walk_forward.py: fold k+1 starts ``retrain_every`` decisions after fold
        k, its cut ``embargo`` decisions before)."""
        walk, last = self.walk, folds[-1]
        if not walk.base.learns:
            return  # one fold, nothing to train
        cut = walk.min_train + (last.number + 1) * walk.retrain_every
        if cut >= len(times) or last.number + 1 in self._training:
            return
        first = 0 if walk.scheme == "expanding" else max(0, cut - (walk.window or 0))
        upcoming = Fold(number=last.number + 1, train_start=times[first],
                        train_end=times[cut], test_start=times[cut + walk.embargo]
                        if cut + walk.embargo < len(times) else times[cut], test_end=None)
        self._training[upcoming.number] = (upcoming,
                                           self.trainer.start(walk, data, upcoming))
