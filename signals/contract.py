"""The contract every signal must meet, as one public check (scikit-learn's
``check_estimator`` idea): run ``check_signal(MySignal(...), data)`` in your own tests.

Each rule that fails raises ``ContractError`` naming the rule and what was seen.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.errors import ContractError
from xai_backtest.explainers.base import Explanation
from xai_backtest.signals.base import NotFittedError, Signal, SignalFrame
from xai_backtest.signals.lookahead import (
    first_changed_decision,
    first_changed_input,
    lookahead_message,
)

__all__ = ["ContractError", "check_signal", "perturb_after"]


def _require(ok: bool, rule: str) -> None:
    if not ok:
        raise ContractError(rule)


def perturb_after(data: MarketData, cut: pd.Timestamp, seed: int = 1, scale: float = 2.0,
                  headline_text: str = "markets crash as panic selling spreads") -> MarketData:
    """``data`` with every bar at or after ``cut`` scaled by random factors in
    ``[1/scale, scale]`` (OHLC kept consistent), volumes redrawn, and every headline
    available at or after ``cut`` rewritten to ``headline_text``."""
    rng = np.random.default_rng(seed)
    bars = data.bars.copy()
    after = bars.index >= cut
    n = int(after.sum())
    if n:
        factors = rng.uniform(1 / scale, scale, n)
        for column in ("open", "high", "low", "close"):
            bars.loc[after, column] = bars.loc[after, column].to_numpy() * factors
        bars.loc[after, "volume"] = rng.integers(0, 1_000_000, n).astype(float)
    headlines = data.headlines
    if headlines is not None:
        headlines = headlines.copy()
        headlines.loc[headlines["available_at"] >= cut, "text"] = headline_text
    return MarketData(bars=bars, headlines=headlines, symbol=data.symbol)


def check_signal(signal: Signal | Callable[[], Signal], data: MarketData, *,
                 cut: pd.Timestamp | None = None, folder: str | Path | None = None) -> None:
    """Check ``signal`` (an unfitted instance, or a factory of fresh ones) on ``data``:
    estimator plumbing, no use before ``fit``, training strictly before ``cut`` (default:
    two thirds through the decision times), well-formed decisions, no look-ahead
    (decisions and explanations before ``cut`` unchanged when every later bar and
    headline changes), prefix invariance (a decision made on the bars up to it, as a
    stream makes it, equals the decision made on all the data), one explanation per
    asked decision and about it, a save/load round trip, and identical refits.
    ``folder`` receives the saved model (default: a temporary folder)."""
    make = signal.clone if isinstance(signal, Signal) else signal
    fresh = make()
    _require(isinstance(fresh, Signal), f"the factory gave {type(fresh).__name__}, not a Signal")
    _require(fresh.clone().get_params().keys() == fresh.get_params().keys(),
             "clone() must keep every __init__ parameter (store each as an attribute of the "
             "same name, with no logic in __init__)")
    try:
        fresh.predict(data)
    except NotFittedError:
        pass
    else:
        raise ContractError("predict before fit must raise NotFittedError (check_fitted())")
    times = fresh.decision_times(data)
    _require(len(times) >= 3, f"only {len(times)} decision times on this data; give more bars")
    cut = cut if cut is not None else times[len(times) * 2 // 3]
    history = data.until(cut)

    fitted = make()
    _require(fitted.fit(history) is fitted, "fit must return self")
    for attribute in ("train_start_", "train_end_", "label_end_"):
        _require(hasattr(fitted, attribute), f"fit must set {attribute}")
    _require(fitted.label_end_ < cut, f"a training label used a bar at or after the cut "
             f"(label_end_ {fitted.label_end_} >= {cut})")
    _require(fitted.train_end_ < cut, "fit saw a bar at or after the cut")

    decisions = fitted.predict(data)
    _require(isinstance(decisions, SignalFrame), "predict must return a SignalFrame")
    _require(len(decisions) > 0, "predict made no decision")
    before = decisions.frame.index < cut
    perturbed = perturb_after(data, cut)
    changed = fitted.predict(perturbed)
    decision = first_changed_decision(decisions.frame, changed.frame, cut)
    inputs = fitted.inputs(data)
    changed_input = first_changed_input(inputs, fitted.inputs(perturbed), cut)
    if decision is not None or changed_input is not None:
        raise ContractError(lookahead_message(fitted.name, cut, decision, changed_input,
                                              names_inputs=inputs is not None))

    _check_prefix_invariance(fitted, data, decisions.frame, cut)

    asked = list(decisions.frame.index[before][-2:])
    explanations = fitted.explain(data, asked)
    _require([e.decision_time for e in explanations] == asked,
             "explain must return one Explanation per asked time, in order")
    for e, stamp in zip(explanations, asked, strict=True):
        _require(isinstance(e, Explanation), "explain must return Explanation objects")
        _require(bool(e.summary.strip()), "an explanation needs a summary sentence")
        _require(e.prediction == decisions.frame.loc[stamp, "label"],
                 f"the explanation at {stamp} says {e.prediction!r}, but the decision was "
                 f"{decisions.frame.loc[stamp, 'label']!r}: it describes another input")
        _require(len(e.values) == len(e.feature_names) > 0,
                 "an explanation needs one value per feature name")
    again = fitted.explain(perturb_after(data, cut), asked)
    _require(all(a.equals(b) for a, b in zip(explanations, again, strict=True)),
             "look-ahead: an explanation before the cut changed when later data changed")

    with tempfile.TemporaryDirectory() as tmp:
        saved = fitted.save(Path(folder or tmp) / "model")
        loaded = type(fitted).load(saved)
        try:
            pd.testing.assert_frame_equal(loaded.predict(data).frame, decisions.frame)
        except AssertionError as e:
            raise ContractError(f"save/load changed the decisions ({e})") from e
    try:
        pd.testing.assert_frame_equal(make().fit(history).predict(data).frame,
                                      decisions.frame)
    except AssertionError as e:
        raise ContractError(f"two fits on the same history differ: seed every random "
                            f"draw ({e})") from e


def _check_prefix_invariance(fitted: Signal, data: MarketData, decisions: pd.DataFrame,
                             cut: pd.Timestamp) -> None:
    """The decisions at the cut, halfway after it and at the end, made again on only the
    bars (and headlines) up to each, as a stream makes them, equal those made on all the
    data."""
    after = decisions.index[decisions.index >= cut]
    for stamp in dict.fromkeys([after[0], after[len(after) // 2], after[-1]]):
        seen = fitted.predict(data.until(stamp + pd.Timedelta(microseconds=1))).frame
        made = (seen.loc[stamp, "label"], round(float(seen.loc[stamp, "probability"]), 9)) \
            if stamp in seen.index else None
        full = (decisions.loc[stamp, "label"],
                round(float(decisions.loc[stamp, "probability"]), 9))
        if made != full:
            said = "no decision" if made is None else f"{made[0]!r} (p={made[1]:.4f})"
            raise ContractError(
                f"prefix invariance: signal {fitted.name!r} made {said} at {stamp} from the "
                f"bars up to it, but {full[0]!r} (p={full[1]:.4f}) from all the data; a "
                "stream decides each bar from the bars up to it, so a decision must not "
                "depend on anything after its time, not even on how many bars follow "
                "(no shift(-k), no rolling(center=True), no statistic of the whole series)")
