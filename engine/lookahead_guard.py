"""The run-time look-ahead check: every signal of a run, before any backtest.

At ``cuts`` seeded decision times per signal, every bar and headline from the cut on is
redrawn (``perturb_after``), the fitted fold models around the cut predict again, and the
decisions before the cut must equal the run's. A signal whose decisions moved stops the
run with ``LookAheadError`` (signals/lookahead.py words it). Nothing is refitted: the fold
models deciding before the cut were trained before it, so a leak-free signal predicts the
same. Per-instrument models are checked on one instrument per cut (the code is the same
for all); a pooled model on every instrument at once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pandas as pd

from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.engine.config import RunConfig
from xai_backtest.engine.folds import FoldModels, PerInstrument
from xai_backtest.engine.run_folder import write_status
from xai_backtest.signals.base import SignalFrame
from xai_backtest.signals.contract import perturb_after
from xai_backtest.signals.lookahead import (
    first_changed_decision,
    first_changed_input,
    lookahead_cuts,
    lookahead_message,
)
from xai_backtest.signals.pooled import PooledWalkForward
from xai_backtest.signals.walk_forward import LookAheadError
from xai_backtest.storage.cache import DiskCache, content_hash
from xai_backtest.storage.code_hash import module_fingerprint

__all__ = ["LookAheadCheck", "check_lookahead", "guard_lookahead"]


@dataclass(frozen=True)
class LookAheadCheck:
    """What the check did: per signal the cut times it tried, and its seconds; or that it
    was turned off."""

    enabled: bool
    cuts: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0
    #: the same fold models, data and cuts passed before (the model cache keeps that)
    from_cache: bool = False

    def record(self) -> dict[str, object]:
        """For run.json."""
        if not self.enabled:
            return {"status": "off"}
        return {"status": "passed", "seconds": round(self.seconds, 3), "cuts": self.cuts,
                "from_cache": self.from_cache}

    def sentence(self) -> str:
        """For the report."""
        if not self.enabled:
            return ("Look-ahead was not checked (check.lookahead is off): nothing here shows "
                    "that the signals' decisions read only past data.")
        tried = sum(len(c) for c in self.cuts.values())
        when = ("by an earlier run of the same fold models on the same data" if
                self.from_cache else f"in {self.seconds:.1f} s")
        return (f"Look-ahead checked at run time: at {tried} seeded cut point(s) the later "
                "bars and headlines were redrawn and no decision or input before a cut "
                f"changed ({when}).")


def guard_lookahead(folder: Path, config: RunConfig, models: Mapping[str, FoldModels],
                    datas: Mapping[str, MarketData],
                    decisions: Mapping[str, Mapping[str, SignalFrame]]) -> LookAheadCheck:
    """The run's check as ``config.check`` says; a signal that reads the future marks the
    run folder failed, with the message, and stops the run."""
    if not config.check.lookahead:
        return LookAheadCheck(enabled=False)
    cuts, seed = config.check.lookahead_cuts, config.seed
    key = _passed_key(models, datas, cuts, seed) if config.cache_dir else None
    if key is not None and config.cache_dir:
        passed = Path(config.cache_dir) / "lookahead" / key / "check.json"
        try:
            found = json.loads(passed.read_text())
            return LookAheadCheck(enabled=True, cuts=found["cuts"], from_cache=True)
        except (OSError, ValueError, KeyError):
            pass  # never checked, or a damaged entry: check now
    try:
        check = check_lookahead(models, datas, decisions, cuts=cuts, seed=seed)
    except LookAheadError as e:
        write_status(folder, config, "failed", error=str(e))
        raise
    if key is not None and config.cache_dir:
        DiskCache(config.cache_dir).folder_entry(
            "lookahead", key, build=lambda entry: _write_pass(entry, check),
            load=lambda entry: None)
    return check


def _passed_key(models: Mapping[str, FoldModels], datas: Mapping[str, MarketData], cuts: int,
                seed: int) -> str | None:
    """What a passed check depends on, when every model is a cached fold-model set: the
    fold models' keys (class, code, parameters, training bytes), the data, the cuts and
    the code of the check; None otherwise (the check runs)."""
    keys = []
    for name, model in models.items():
        if not isinstance(model, PerInstrument):
            return None
        for instrument, fitted in model.walks.items():
            fold_keys = getattr(fitted, "fold_keys_", None)
            if not fold_keys:
                return None
            keys.append((name, instrument, fold_keys))
    return content_hash("lookahead-check", keys, cuts, seed, _check_code(),
                        *(d.bars for d in datas.values()),
                        *(d.headlines for d in datas.values()))


@cache
def _check_code() -> str:
    return module_fingerprint(__name__)


def _write_pass(entry: Path, check: LookAheadCheck) -> None:
    entry.mkdir()
    (entry / "check.json").write_text(json.dumps({"cuts": check.cuts}))


def check_lookahead(models: Mapping[str, FoldModels], datas: Mapping[str, MarketData],
                    decisions: Mapping[str, Mapping[str, SignalFrame]], *, cuts: int = 3,
                    seed: int = 0) -> LookAheadCheck:
    """Check each signal of ``models`` (name -> its fold models, engine/folds.py) against
    its run ``decisions`` (name -> instrument -> frame) on ``datas`` (instrument -> data);
    raises ``LookAheadError`` at the first decision or input that moved."""
    started = time.perf_counter()
    tried: dict[str, list[str]] = {}
    for number, (name, model) in enumerate(models.items()):
        frames = decisions[name]
        times = pd.DatetimeIndex(sorted(set().union(*(f.frame.index for f in frames.values()))))
        tried[name] = []
        for k, cut in enumerate(lookahead_cuts(times, cuts, seed + number)):
            _check_cut(name, model, datas, frames, cut, seed + k)
            tried[name].append(str(cut))
    return LookAheadCheck(enabled=True, cuts=tried, seconds=time.perf_counter() - started)


def _check_cut(name: str, model: FoldModels, datas: Mapping[str, MarketData],
               frames: Mapping[str, SignalFrame], cut: pd.Timestamp, seed: int) -> None:
    if isinstance(model, PooledWalkForward):
        checked = dict(datas)
    else:
        deciding = [n for n in frames if (frames[n].frame.index < cut).any()]
        if not deciding:
            return
        instrument = deciding[seed % len(deciding)]
        checked = {instrument: datas[instrument]}
    changed = {n: perturb_after(d, cut, seed=seed) for n, d in checked.items()}
    redone = model.predict_before(changed, cut)
    inputs, redrawn = model.inputs_near(checked, cut), model.inputs_near(changed, cut)
    for instrument, redo in redone.items():
        own = frames[instrument].frame
        if not len(redo) or not len(own):
            continue
        start = max(redo.frame.index[0], own.index[0])
        decision = first_changed_decision(own[own.index >= start],
                                          redo.frame[redo.frame.index >= start], cut)
        before = inputs[instrument]
        changed_input = first_changed_input(before, redrawn[instrument], cut)
        if decision is None and changed_input is None:
            continue
        label = instrument if len(datas) > 1 else None
        raise LookAheadError(lookahead_message(name, cut, decision, changed_input, label,
                                               names_inputs=before is not None))
