"""The fast path equals backtrader: equity, exposure, fills and refused orders, to 1e-9.

Random decision sequences (hypothesis) over random bars, with every sizing mode and cost
model, shorts, fixed cash per position and closing at the end; then the refusals.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_engine_property import random_bars
from xai_backtest.engine.config import load_config
from xai_backtest.engine.data import load_market_data
from xai_backtest.engine.runner import backtest_all
from xai_backtest.signals.base import SignalFrame
from xai_backtest.strategies import BuyAndHold, Costs, SignalStrategy
from xai_backtest.strategies.backtest import FastPathError, run_strategy
from xai_backtest.strategies.fast import fast_path_refusal


def decisions_of(bars: pd.DataFrame, directions: list[float],
                 probabilities: list[float]) -> SignalFrame:
    """A SignalFrame deciding ``directions`` (NaN: no decision) at the bars."""
    directions = np.asarray(directions[: len(bars)], dtype=float)
    decided = ~np.isnan(directions)
    probability = np.asarray(probabilities[: len(bars)])[decided]
    frame = SignalFrame.up_down("p", bars.index[decided], up=directions[decided] > 0,
                                score=directions[decided], probability=probability).frame
    return SignalFrame("p", frame.assign(direction=directions[decided].astype(int)))


def assert_same(fast, reference) -> None:
    """Two BacktestResults agree: equity to 1e-9, identical fills and refusals."""
    assert fast.engine == "fast" and reference.engine == "backtrader"
    np.testing.assert_allclose(fast.equity.to_numpy(), reference.equity.to_numpy(),
                               rtol=1e-9, atol=1e-9)
    assert fast.equity.index.equals(reference.equity.index)
    assert (fast.exposure.to_numpy() == reference.exposure.to_numpy()).all()
    for frame in ("fills", "rejected"):
        a, b = getattr(fast, frame), getattr(reference, frame)
        assert list(a.columns) == list(b.columns)
        assert len(a) == len(b), (frame, a, b)
        for column in a.columns:
            if a[column].dtype.kind == "f":
                np.testing.assert_allclose(a[column].to_numpy(dtype=float),
                                           b[column].to_numpy(dtype=float),
                                           rtol=1e-9, atol=1e-9, err_msg=column)
            else:
                assert a[column].tolist() == b[column].tolist(), column


def both(bars, signals, strategy=SignalStrategy, **kwargs):
    return (run_strategy("p", bars, signals, strategy, engine="fast", **kwargs),
            run_strategy("p", bars, signals, strategy, engine="backtrader", **kwargs))


costs_strategy = st.builds(
    Costs, commission=st.sampled_from([0.0, 0.0005, 0.003]),
    slippage=st.sampled_from([0.0, 0.0002, 0.004]), spread=st.sampled_from([0.0, 0.001]),
    per_share=st.sampled_from([0.0, 0.01]), per_order=st.sampled_from([0.0, 1.0]),
    minimum=st.sampled_from([0.0, 2.5]), borrow_fee=st.sampled_from([0.0, 0.05, 3.0]))


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(2, 80),
       moves=st.lists(st.sampled_from([1.0, -1.0, 0.0, math.nan]), min_size=80, max_size=80),
       probabilities=st.lists(st.sampled_from([0.3, 0.5, 0.55, 0.9]), min_size=80,
                              max_size=80),
       costs=costs_strategy, threshold=st.sampled_from([0.0, 0.5, 0.6]),
       sizing=st.sampled_from(["fractional", "shares", "lots"]),
       lot_size=st.sampled_from([1, 7]), position_size=st.sampled_from([1.0, 0.9999, 0.4]),
       position_cash=st.sampled_from([None, 3_000.0, 50_000.0]),
       allow_short=st.booleans(), close_at_end=st.booleans(),
       cash=st.sampled_from([10_000.0, 700.0]))
def test_fast_path_equals_backtrader_on_random_decisions(
        seed, n, moves, probabilities, costs, threshold, sizing, lot_size, position_size,
        position_cash, allow_short, close_at_end, cash):
    bars = random_bars(seed, n)
    signals = decisions_of(bars, moves, probabilities)
    assert_same(*both(bars, signals, costs=costs, cash=cash, threshold=threshold,
                      allow_short=allow_short, sizing=sizing, lot_size=lot_size,
                      position_size=position_size, position_cash=position_cash,
                      close_at_end=close_at_end))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 40), costs=costs_strategy)
def test_fast_path_equals_backtrader_on_buy_and_hold(seed, n, costs):
    bars = random_bars(seed, n)
    assert_same(*both(bars, None, BuyAndHold, costs=costs))


def test_refused_orders_agree_when_costs_eat_the_cash():
    """A minimum fee larger than a small account: every entry is refused, by both."""
    bars = random_bars(3, 30)
    signals = decisions_of(bars, [1.0, 0.0] * 15, [0.9] * 30)
    fast, reference = both(bars, signals, costs=Costs(minimum=400.0), cash=1_000.0,
                           position_cash=900.0)
    assert_same(fast, reference)


def test_a_short_held_over_weekends_pays_the_same_borrow_fee():
    bars = random_bars(5, 60)
    signals = decisions_of(bars, [-1.0] + [math.nan] * 40 + [1.0] + [math.nan] * 18,
                           [0.9] * 60)
    fast, reference = both(bars, signals, costs=Costs(borrow_fee=0.2), allow_short=True)
    assert_same(fast, reference)
    exit_fee = fast.fills["commission"].iloc[1]
    assert exit_fee > 0.2 * 41 / 365 * 0.5 * 10_000  # the fee of ~58 calendar days is in it


def test_auto_runs_what_the_fast_path_cannot_on_backtrader_and_fast_refuses_it():
    bars = random_bars(1, 40)
    signals = decisions_of(bars, [1.0, math.nan, math.nan, 0.0] * 10, [0.9] * 40)
    auto = run_strategy("p", bars, signals, engine="auto", stop_loss=0.01)
    assert auto.engine == "backtrader"
    with pytest.raises(FastPathError, match="stop_loss is a rule checked at every close"):
        run_strategy("p", bars, signals, engine="fast", stop_loss=0.01)

    class Mine(SignalStrategy):
        pass

    assert run_strategy("p", bars, signals, Mine, engine="auto").engine == "backtrader"
    with pytest.raises(FastPathError, match="Mine is not the built-in signal strategy"):
        run_strategy("p", bars, signals, Mine, engine="fast")
    assert run_strategy("p", bars, signals, engine="auto").engine == "fast"
    with pytest.raises(ValueError, match="engine must be one of"):
        run_strategy("p", bars, signals, engine="numba")


def test_a_short_that_lost_more_than_the_account_cannot_be_covered_in_either_engine():
    """backtrader checks an order at the open before filling it: covering a short that has
    lost more than the cash is refused (Margin), and the fast path refuses it the same way."""
    bars = random_bars(2, 30)
    bars[["open", "high", "low", "close"]] *= np.linspace(1, 4, 30)[:, None]
    signals = decisions_of(bars, [-1.0] + [math.nan] * 24 + [0.0] * 5, [0.9] * 30)
    fast, reference = both(bars, signals, allow_short=True)
    assert_same(fast, reference)
    assert set(fast.rejected["status"]) == {"Margin"}
    assert fast.rejected["reason"].iloc[0] == "signal: exit"


FIXTURES = Path(__file__).parent / "artifacts" / "decisions"
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("*.parquet")), ids=lambda p: p.stem)
def test_fast_path_equals_backtrader_on_every_configs_own_decisions(fixture, monkeypatch,
                                                                    request):
    """The decisions each config's signals made (saved by
    benchmarks/fast_path_equivalence.py --save), replayed with the config's strategy and
    costs on both engines."""
    config = load_config(ROOT / "configs" / f"{fixture.stem}.yaml")
    if config.data.source == "file":
        request.getfixturevalue("shared_data")  # skipped without ../shared/data
    refusal = fast_path_refusal(config.strategy.strategy_class,
                                config.strategy.strategy_params())
    if refusal:  # intraday rules run on backtrader under auto
        assert "not the built-in signal strategy" in refusal
        return
    monkeypatch.chdir(ROOT)  # data paths in configs are relative to the project
    data, _ = load_market_data(config.data)
    stored = pd.read_parquet(fixture)
    decisions = {name: SignalFrame(name, stored.xs(name, level="signal"))
                 for name in stored.index.unique("signal")}
    start = min(frame.frame.index[0] for frame in decisions.values())
    bars = data.bars[data.bars.index >= start]
    fast = backtest_all(config, bars, decisions, engine="fast")
    reference = backtest_all(config, bars, decisions, engine="backtrader")
    assert set(fast) == set(reference) and len(fast) >= 4
    for name in reference:
        assert_same(fast[name], reference[name])
    assert sum(len(r.fills) for r in fast.values()) > 2 * len(fast)  # the signals trade
