"""Prefix invariance and replay parity of every registered signal: bar by bar, each
decision made on the bars up to it (engine/stream/online.py, the fold model active then,
trained when its bars were complete) equals the batch walk-forward's decision at that
time, and its explanation equals the batch explanation of the same decision (to float32
resolution for the torch models, whose batch explains many decisions in one pass)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.test_lookahead_builtins import CASES
from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.engine.stream.online import OnlineWalkForward, Trainer
from xai_backtest.signals.walk_forward import WalkForwardSignal

pytestmark = pytest.mark.slow
STEPS = 12  # bars streamed after the history; the retrain below falls inside them


def _walk(kind: str) -> tuple[WalkForwardSignal, MarketData]:
    make, data, min_train = CASES[kind]
    return WalkForwardSignal(make(), min_train=min_train, retrain_every=40,
                             progress=False, faithfulness=False), data


def _streamed(kind: str) -> tuple[pd.DataFrame, dict, pd.DataFrame, WalkForwardSignal]:
    import torch

    torch.set_num_threads(1)
    walk, data = _walk(kind)
    batch = walk.clone().fit(data)
    decisions = batch.predict(data).frame
    times = decisions.index[-STEPS:]
    online = OnlineWalkForward(walk.clone(), "x", Trainer(0, 1, in_worker=False),
                               decided_until=times[0] - pd.Timedelta(seconds=1))
    bars = data.bars.index
    rows, explained = [], {}
    for stamp in bars[bars >= times[0]]:
        for made in online.step(data.until(stamp + pd.Timedelta(microseconds=1)), stamp):
            rows.append({"time": made.time, **made.row})
            explained[made.time] = made.explanation
    return pd.DataFrame(rows).set_index("time"), explained, decisions.loc[times], batch


@pytest.mark.parametrize("kind", list(CASES))
def test_bar_by_bar_decisions_and_explanations_equal_the_backtest(kind):
    streamed, explained, batch, model = _streamed(kind)
    assert list(streamed.index) == list(batch.index)
    assert (streamed["label"].to_numpy() == batch["label"].to_numpy()).all()
    np.testing.assert_allclose(streamed["probability"].to_numpy(float),
                               batch["probability"].to_numpy(float), rtol=0, atol=1e-9)
    assert (streamed["fold"].to_numpy() == batch["fold"].to_numpy()).all()
    at = list(batch.index[[0, -1]])
    data = CASES[kind][1]
    for expected in model.explain(data, at):
        got = explained[expected.decision_time]
        assert got.summary == expected.summary
        assert got.feature_names == expected.feature_names
        # the batch explains a fold's decisions in one batched float32 pass, the stream one
        # at a time: equal to float32 resolution, not to the last bit
        np.testing.assert_allclose(got.values, expected.values, rtol=2e-6, atol=1e-9)


def test_a_lookback_too_short_for_the_signal_stops_the_stream():
    from xai_backtest.engine.stream.online import StreamError
    from xai_backtest.signals.ma_crossover import MACrossover

    class ShortSighted(MACrossover):
        def lookback_bars(self):
            return 3  # its slow average reads 20 bars

    data = CASES["ma_crossover"][1]
    walk = WalkForwardSignal(ShortSighted(fast=5, slow=20), min_train=60, retrain_every=400,
                             progress=False, faithfulness=False)
    online = OnlineWalkForward(walk, "x", Trainer(0, 1, in_worker=False),
                               decided_until=data.bars.index[-3])
    with pytest.raises(StreamError, match="lookback_bars\\(\\) is too short"):
        online.step(data, data.bars.index[-1])
