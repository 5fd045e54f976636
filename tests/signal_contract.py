"""The contract every signal must meet, as reusable checks (scikit-learn's check suite idea).

Each signal's test module calls ``check_signal_contract`` with a factory of small,
fast instances and a ``MarketData`` to run on; see tests/test_ma_crossover.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.explainers.base import Explanation
from xai_backtest.signals.base import NotFittedError, Signal, SignalFrame


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


def check_signal_contract(make: Callable[[], Signal], data: MarketData, tmp_path: Path,
                          cut: pd.Timestamp | None = None) -> None:
    """Run every contract check on a signal built by ``make`` over ``data``."""
    signal = make()
    with pytest.raises(NotFittedError):
        signal.predict(data)
    times = signal.decision_times(data)
    cut = cut if cut is not None else times[len(times) * 2 // 3]
    history = data.until(cut)

    fitted = make().fit(history)
    assert fitted.label_end_ < cut, "a training label used a bar at or after the cut"
    assert fitted.train_end_ < cut

    decisions = fitted.predict(data)
    assert isinstance(decisions, SignalFrame)
    assert len(decisions) > 0
    assert (decisions.frame["known_at"] <= decisions.frame.index).all()

    # no look-ahead: change everything after the cut; decisions before it stay identical
    changed = fitted.predict(perturb_after(data, cut))
    before = decisions.frame.index < cut
    pd.testing.assert_frame_equal(decisions.frame[before], changed.frame[changed.frame.index
                                                                          < cut])

    # explanations: one per asked time, about that decision
    asked = list(decisions.frame.index[before][-2:])
    explanations = fitted.explain(data, asked)
    assert [e.decision_time for e in explanations] == asked
    for e, stamp in zip(explanations, asked, strict=True):
        assert isinstance(e, Explanation)
        assert e.summary.strip()
        assert e.prediction == decisions.frame.loc[stamp, "label"]
        assert len(e.values) == len(e.feature_names) > 0
    again = fitted.explain(perturb_after(data, cut), asked)
    assert all(a.equals(b) for a, b in zip(explanations, again, strict=True)), \
        "an explanation at or before the cut changed when later data changed"

    # save / load gives the same decisions and refuses another signal's folder
    folder = fitted.save(tmp_path / "model")
    loaded = type(fitted).load(folder)
    pd.testing.assert_frame_equal(loaded.predict(data).frame, decisions.frame)

    # determinism: a second fit gives identical decisions
    pd.testing.assert_frame_equal(make().fit(history).predict(data).frame, decisions.frame)
