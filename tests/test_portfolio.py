"""A universe on one calendar and one cash account: alignment, references, signal fills."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.conftest import make_daily_bars
from tests.pins import equal_weight_held_final_equity
from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.data_feeds.samples import load_sample_bars
from xai_backtest.data_feeds.universe import UniverseError, build_universe
from xai_backtest.signals.base import SignalFrame
from xai_backtest.signals.ma_crossover import MACrossover
from xai_backtest.signals.pooled import instrument_signal
from xai_backtest.signals.walk_forward import WalkForwardSignal
from xai_backtest.strategies.costs import Costs
from xai_backtest.strategies.portfolio import equal_weight_references, run_portfolio

FREE = Costs(commission=0.0, slippage=0.0)


def _bars(closes, opens, start="2020-01-06", tz="America/New_York", dates=None):
    index = (pd.DatetimeIndex(dates, tz=tz) if dates is not None
             else pd.bdate_range(start, periods=len(closes), tz=tz))
    closes, opens = np.asarray(closes, float), np.asarray(opens, float)
    return pd.DataFrame({"open": opens, "high": np.maximum(opens, closes) * 1.01,
                         "low": np.minimum(opens, closes) * 0.99, "close": closes,
                         "volume": 1_000.0}, index=index)


def test_equal_weight_buy_and_hold_equals_a_hand_computation():
    a = _bars([10, 11, 12, 11, 13, 14], [10, 10.5, 11.5, 12, 12, 13.5])
    b = _bars([50, 49, 48, 52, 51, 55], [50, 49.5, 48.5, 50, 52, 51])
    universe = build_universe([("a", a), ("b", b)])
    held = equal_weight_references(universe, costs=FREE, cash=1_000.0)["equal_weight_held"]
    units_a, units_b = 500 / a["open"].iloc[1], 500 / b["open"].iloc[1]  # bought at bar 1's open
    expected = np.r_[1_000.0, units_a * a["close"].to_numpy()[1:]
                     + units_b * b["close"].to_numpy()[1:]]
    np.testing.assert_allclose(held.equity.to_numpy(), expected, rtol=1e-8)
    assert list(held.fills["reason"]) == ["entry", "entry"]
    rebalanced = run_portfolio(universe, costs=FREE, cash=1_000.0, targets="equal", band=0.0)
    weights = rebalanced.weights.iloc[1:]
    # back to 1/2 each at every open; at the close the weights have drifted with the day
    drift_a = a["close"].to_numpy()[1:] / a["open"].to_numpy()[1:]
    drift_b = b["close"].to_numpy()[1:] / b["open"].to_numpy()[1:]
    np.testing.assert_allclose(weights["a"].to_numpy(), drift_a / (drift_a + drift_b),
                               rtol=1e-8)
    assert rebalanced.rejected.empty


def test_calendars_of_two_exchanges_are_aligned_without_filling_a_price():
    us = _bars([10, 11, 12, 13, 14], [10, 10, 11, 12, 13],
               dates=["2020-01-06", "2020-01-07", "2020-01-08", "2020-01-10", "2020-01-13"])
    india = _bars([20, 21, 22, 23, 24], [20, 20, 21, 22, 23], tz="Asia/Kolkata",
                  dates=["2020-01-06", "2020-01-07", "2020-01-09", "2020-01-10",
                         "2020-01-13"])
    universe = build_universe([("us", us), ("india", india)])
    assert len(universe.calendar) == 6  # the union: 6, 7, 8, 9, 10, 13 January
    assert universe.missing == {"us": 1, "india": 1}
    assert any("no bar on 1 calendar date" in note for note in universe.notes())
    closes = universe.closes()
    assert np.isnan(closes.loc["2020-01-09", "us"]) and np.isnan(closes.loc["2020-01-08",
                                                                             "india"])
    result = run_portfolio(universe, costs=FREE, cash=1_000.0, targets="equal", band=0.0)
    tradable = universe.tradable()
    for fill in result.fills.itertuples():
        assert tradable.loc[fill.time, fill.instrument], f"filled {fill.instrument} on a " \
                                                         f"date it did not trade: {fill.time}"
    # India opens ten hours before the US: a rebalance buy there cannot spend what the US
    # sell of the same date brings in later, so with no cash left it is refused (NoCash)
    # and the cash waits for the next Indian open (issue 24)
    assert set(result.rejected["instrument"]) <= {"india"}
    assert set(result.rejected["reason"]) <= {"rebalance"}


def test_bad_universes_are_refused_or_noted():
    bars = make_daily_bars(50)
    with pytest.raises(UniverseError, match="empty"):
        build_universe([])
    with pytest.raises(UniverseError, match="more than once"):
        build_universe([("x", bars), ("x", bars)])
    universe = build_universe([("long", bars), ("short", bars.iloc[:10])], min_bars=20)
    assert universe.names == ["long"] and "short" in universe.dropped
    assert any("short: dropped, 10 bars" in note for note in universe.notes())
    minutes = bars.copy()
    minutes.index = pd.date_range("2020-01-06 09:30", periods=50, freq="min",
                                  tz="America/New_York")
    with pytest.raises(UniverseError, match="daily bars"):
        build_universe([("m", minutes)])
    late = make_daily_bars(50, start="2021-06-01")
    assert build_universe([("a", bars), ("b", late)]).thin_overlaps


@pytest.mark.slow
def test_every_signal_fill_carries_its_decision_and_explanation():
    """The S&P 500 and NASDAQ samples with a moving-average signal per instrument."""
    frames = [(name, load_sample_bars(name)) for name in ("sp500", "nasdaq")]
    universe = build_universe([(n, f[f.index.year >= 2012]) for n, f in frames])
    decisions, models = {}, {}
    for name in universe.names:
        data = MarketData(universe.bars[name])
        model = WalkForwardSignal(MACrossover(fast=20, slow=60), min_train=250,
                                  retrain_every=250, progress=False,
                                  name=instrument_signal("ma", name)).fit(data)
        decisions[name], models[name] = model.predict(data), (model, data)
    result = run_portfolio(universe, decisions, cash=100_000.0, band=0.05)
    signal_fills = result.fills[result.fills["decision"] >= 0]
    assert len(signal_fills) > 10 and not result.rejected.size
    for instrument, group in signal_fills.groupby("instrument"):
        model, data = models[instrument]
        explained = model.explain(data, list(group["decision_time"]))
        assert [e.id for e in explained] == list(group["explanation_id"])
        assert (group["time"] > group["decision_time"]).all()  # filled after the decision
    # from this test's first run (commit 63f4436, 2026-11-22), unchanged since
    assert result.equity.iloc[-1] == pytest.approx(150_557.95, abs=0.01)
    assert signal_fills["explanation_id"].str.startswith(("ma[sp500]@", "ma[nasdaq]@")).all()
    with pytest.raises(ValueError, match="ids would collide"):
        run_portfolio(universe, {n: SignalFrame("ma", d.frame) for n, d in decisions.items()})
    references = equal_weight_references(universe)
    held = equal_weight_held_final_equity(universe.bars, 100_000.0, Costs())
    assert references["equal_weight_held"].equity.iloc[-1] == pytest.approx(held, abs=0.005)


@pytest.mark.parametrize(("params", "expected"), [
    ({"weighting": "equal"}, (0.5, 0.5)),
    ({"weighting": "probability"}, (0.8, 0.2)),  # 0.9 and 0.6 above a 0.5 threshold
    ({"weighting": "equal", "cap": 0.3}, (0.3, 0.3)),  # the rest stays in cash
    ({"weighting": "equal", "allow_short": True, "short_b": True}, (0.5, -0.5)),
    ({"weighting": "equal", "threshold": 0.7}, (1.0, 0.0)),  # b is not confident enough
])
def test_weightings_caps_and_shorts(params, expected):
    universe = build_universe([("a", make_daily_bars(60, seed=1)),
                               ("b", make_daily_bars(60, seed=2))])
    first = universe.calendar[[0]]
    short_b = params.pop("short_b", False)
    decisions = {
        "a": SignalFrame.up_down("s[a]", first, up=np.array([True]), score=np.array([0.9]),
                                 probability=np.array([0.9])),
        "b": SignalFrame.up_down("s[b]", first, up=np.array([not short_b]),
                                 score=np.array([0.6]), probability=np.array([0.6]))}
    result = run_portfolio(universe, decisions, costs=FREE, band=0.0, **params)
    at_open = result.fills[result.fills["bar"] == 1].set_index("instrument")
    equity = result.equity.iloc[0]
    for name, weight in zip("ab", expected, strict=True):
        traded = at_open["size"].get(name, 0.0) * at_open["price"].get(name, 0.0)
        assert traded / equity == pytest.approx(weight, abs=1e-6)


def test_inverse_volatility_weighs_the_calmer_instrument_more():
    calm = make_daily_bars(80, seed=3)
    wild = calm.copy()
    moves = calm["close"].pct_change().fillna(0.0) * 3
    wild["close"] = 100 * (1 + moves).cumprod()
    wild["open"], wild["high"], wild["low"] = (wild["close"], wild["close"] * 1.01,
                                               wild["close"] * 0.99)
    universe = build_universe([("calm", calm), ("wild", wild)])
    at = universe.calendar[[30]]
    decisions = {n: SignalFrame.up_down(f"s[{n}]", at, up=np.array([True]),
                                        score=np.array([1.0]), probability=np.array([0.9]))
                 for n in ("calm", "wild")}
    result = run_portfolio(universe, decisions, costs=FREE, band=0.0,
                           weighting="inverse_vol", vol_window=20)
    weights = result.weights.iloc[32]
    assert weights["calm"] == pytest.approx(3 * weights["wild"], rel=0.05)


@pytest.mark.slow
def test_the_readme_portfolio_example_runs_as_written(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## Portfolios: one cash account over a universe", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    script = tmp_path / "portfolio_example.py"
    script.write_text(code + "\nprint(round(result.equity.iloc[-1], 2), len(result.fills))\n")
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "universe of 2 instruments" in proc.stdout


def test_a_rebalance_carries_the_decision_that_put_the_position_on():
    """Decisions that keep the side held cause no fill; drift does, and its fill names the
    decision that opened the position (an exit names the decision that closed it)."""
    a = _bars([10, 12, 15, 18, 20, 21, 22], [10, 10, 12, 15, 18, 20, 21])
    b = _bars([10, 10, 10, 10, 10, 10, 10], [10, 10, 10, 10, 10, 10, 10])
    universe = build_universe([("a", a), ("b", b)])

    def decisions(name, directions):
        index = universe.calendar
        frame = pd.DataFrame({"known_at": index, "score": 0.0, "label": "x",
                              "probability": 0.9, "direction": directions, "fold": 0},
                             index=index)
        return SignalFrame(instrument_signal("s", name), frame)

    result = run_portfolio(universe, {"a": decisions("a", [1, 1, 1, 1, 1, 0, 0]),
                                      "b": decisions("b", [1, 1, 1, 1, 1, 1, 1])},
                           costs=FREE, cash=1_000.0, band=0.05)
    fills = result.fills[result.fills["instrument"] == "a"]
    assert fills["reason"].iloc[0] == "entry" and fills["reason"].iloc[-1] == "exit"
    assert (fills["reason"] == "rebalance").sum() >= 1
    entry_time = universe.calendar[0]
    rebalances = fills[fills["reason"] == "rebalance"]
    assert (rebalances["decision_time"] == entry_time).all()
    assert fills["decision_time"].iloc[-1] == universe.calendar[5]


def test_a_band_wider_than_the_target_weights_still_lets_positions_open():
    universe = build_universe([(f"s{i}", make_daily_bars(60, seed=i)) for i in range(4)])
    result = run_portfolio(universe, costs=FREE, targets="equal", band=0.5)
    assert list(result.fills["reason"]) == ["entry"] * 4  # 1/4 each, never rebalanced
    assert result.weights.iloc[-1].sum() == pytest.approx(1.0, abs=0.05)


def test_an_instrument_listed_later_joins_both_equal_weight_references():
    early = [(f"e{i}", make_daily_bars(80, seed=i)) for i in range(2)]
    late = make_daily_bars(80, seed=9).iloc[40:]  # its history starts at the 41st date
    universe = build_universe([*early, ("late", late)])
    references = equal_weight_references(universe, costs=FREE)
    held = references["equal_weight_held"]
    assert sorted(held.fills["instrument"]) == ["e0", "e1", "late"]
    second = late.index[1].tz_localize(None).normalize().tz_localize("UTC")
    assert held.fills.set_index("instrument").loc["late", "time"] == second  # next open
    rebalanced = references["equal_weight_rebalanced"].weights
    assert rebalanced.iloc[20].sum() == pytest.approx(1.0, abs=0.02)  # 1/2 each, no cash
    assert rebalanced.iloc[-1]["late"] == pytest.approx(1 / 3, abs=0.02)


def test_an_instrument_whose_history_ends_early_is_noted():
    universe = build_universe([("long", make_daily_bars(80, seed=1)),
                               ("short", make_daily_bars(60, seed=2))])
    (note,) = [n for n in universe.notes() if n.startswith("short: its history ends")]
    assert "20 calendar date(s) before the universe's last" in note
