"""Mixed exchanges on one union calendar (issue 24, item 3): each order is sized only with
the prices known at its own fill time, volatility skips placeholder bars, and a portfolio's
Sharpe is annualised with its calendar's own sessions a year."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.conftest import make_daily_bars
from xai_backtest.data_feeds.sessions import NSE, NYSE
from xai_backtest.data_feeds.universe import Universe, build_universe, sessions_per_year
from xai_backtest.reports.metrics import TRADING_DAYS, summarize
from xai_backtest.signals.base import SignalFrame
from xai_backtest.strategies.costs import Costs
from xai_backtest.strategies.portfolio import run_portfolio

ZONES = ("America/New_York", "Asia/Kolkata", "Europe/London", "Asia/Tokyo")
EMPTY_LOG = pd.DataFrame({"status": [], "net_pnl": [], "return_pct": []})


def _random_bars(rng: np.random.Generator, tz: str, n: int = 70) -> pd.DataFrame:
    """A random walk on business days with about one date in ten a holiday."""
    days = pd.bdate_range("2021-03-01", periods=n)  # spans the March daylight-saving switch
    days = days[rng.random(n) > 0.1]
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, len(days))))
    open_ = close * np.exp(rng.normal(0, 0.01, len(days)))
    return pd.DataFrame({"open": open_, "high": np.maximum(open_, close) * 1.005,
                         "low": np.minimum(open_, close) * 0.995, "close": close,
                         "volume": 1_000.0}, index=days.tz_localize(tz))


def _decisions(rng: np.random.Generator, universe: Universe) -> dict[str, SignalFrame]:
    out = {}
    for name, bars in universe.bars.items():
        index = bars.index
        frame = pd.DataFrame({"known_at": index, "score": 0.0, "label": "x",
                              "probability": rng.uniform(0.5, 1.0, len(index)),
                              "direction": rng.choice([1, 1, -1], len(index)), "fold": 0},
                             index=index)
        out[name] = SignalFrame(f"s[{name}]", frame)
    return out


def _run(frames: list[tuple[str, pd.DataFrame]], decisions, params: dict):
    return run_portfolio(build_universe(frames), decisions, costs=Costs(per_order=1.0),
                         cash=10_000.0, **params)


def _unknown_perturbed(frames, universe: Universe, day: pd.Timestamp, at: float,
                       rng: np.random.Generator) -> list[tuple[str, pd.DataFrame]]:
    """Every price not yet known at ``at`` minutes after ``day``'s midnight UTC moved at
    random: every bar of a later date, every high, low and close of ``day``, and the open
    of ``day`` of each instrument whose exchange opens after ``at``."""
    opens = universe.opens_utc().loc[day]
    out = []
    for name, bars in frames:
        bars = bars.copy()
        dates = bars.index.tz_localize(None).normalize().tz_localize("UTC")
        later, today = dates > day, dates == day
        for column in ("open", "close"):
            moved = later | today if column == "close" else later | (today & (opens[name] > at))
            bars.loc[moved, column] *= np.exp(rng.normal(0, 0.05, int(moved.sum())))
        bars["high"] = bars[["open", "close"]].max(axis=1) * 1.005
        bars["low"] = bars[["open", "close"]].min(axis=1) * 0.995
        out.append((name, bars))
    return out


def _orders(result, bar: int, instrument: str) -> list[tuple]:
    """The size of every fill and refusal of ``instrument`` at ``bar``."""
    fills = result.fills[(result.fills["bar"] == bar)
                         & (result.fills["instrument"] == instrument)]
    refused = result.rejected[(result.rejected["bar"] == bar)
                              & (result.rejected["instrument"] == instrument)]
    return ([("fill", s) for s in fills["size"]]
            + [(status, s) for status, s in zip(refused["status"], refused["size"],
                                                strict=True)])


@pytest.mark.parametrize("seed", range(6))
def test_no_order_size_depends_on_a_price_after_its_fill_time(seed):
    """Property: for a random universe of 2-3 instruments in different time zones on a
    union calendar, move every price not yet known at an order's fill time (its exchange's
    open on that date) and that order's size does not change."""
    rng = np.random.default_rng(seed)
    zones = rng.choice(ZONES, size=int(rng.integers(2, 4)), replace=False)
    frames = [(f"x{i}", _random_bars(rng, str(tz))) for i, tz in enumerate(zones)]
    universe = build_universe(frames)
    assert universe.opens_utc().nunique(axis=1).min() > 1  # the exchanges open apart
    params = [{"targets": "equal", "band": 0.0},
              {"weighting": "inverse_vol", "vol_window": 5, "band": 0.02},
              {"weighting": "probability", "allow_short": True, "band": 0.0}][seed % 3]
    decisions = None if "targets" in params else _decisions(rng, universe)
    base = _run(frames, decisions, params)
    assert len(base.fills) > 20
    opens = universe.opens_utc()
    later = base.fills[base.fills["bar"] > 5]
    checked = 0
    for row in later.sample(4, random_state=seed).itertuples():
        day, at = row.time, opens.loc[row.time, row.instrument]
        moved = _run(_unknown_perturbed(frames, universe, day, at, rng), decisions, params)
        assert _orders(moved, row.bar, row.instrument) == _orders(base, row.bar,
                                                                  row.instrument), (
            f"{row.instrument}'s order on {day:%Y-%m-%d} changed with a price not known "
            f"at its open")
        earlier = base.fills[base.fills["bar"] < row.bar]
        pd.testing.assert_frame_equal(moved.fills[moved.fills["bar"] < row.bar], earlier)
        checked += 1
    assert checked == 4


def test_an_earlier_exchange_is_not_sized_on_a_later_exchanges_open():
    """NSE opens at 03:45 UTC, the NYSE at 13:30/14:30 UTC of the same date: the NSE order
    values the US position at its last close, never at the US open of that date."""
    us = make_daily_bars(40, seed=1)
    india = make_daily_bars(40, seed=2, tz="Asia/Kolkata")
    universe = build_universe([("us", us), ("india", india)])
    assert universe.sessions == {"us": NYSE, "india": NSE}
    assert (universe.opens_utc()["india"] < universe.opens_utc()["us"]).all()
    base = run_portfolio(universe, costs=Costs(), targets="equal", band=0.0)
    jumped = us.copy()
    jumped.iloc[30:, jumped.columns.get_loc("open")] *= 1.3  # US opens 30% higher
    moved = run_portfolio(build_universe([("us", jumped), ("india", india)]), costs=Costs(),
                          targets="equal", band=0.0)
    on = base.fills[(base.fills["instrument"] == "india") & (base.fills["bar"] == 30)]
    again = moved.fills[(moved.fills["instrument"] == "india") & (moved.fills["bar"] == 30)]
    pd.testing.assert_frame_equal(on.reset_index(drop=True), again.reset_index(drop=True))
    assert any("sized with the prices known at its own open" in n for n in universe.notes())


def test_volatility_skips_placeholder_bars():
    """An instrument with a bar on every other date only (placeholders carrying its last
    close between) has the volatility of its own bars' returns, not one diluted by
    zero-return days."""
    full = make_daily_bars(120, seed=3)
    gappy = make_daily_bars(120, seed=4).iloc[::2]  # its k-th bar on calendar row 2k
    universe = build_universe([("full", full), ("gappy", gappy)])
    # decided at rows 79 and 78 (its own last bar), both traded at row 80's open
    decisions = {n: SignalFrame.up_down(f"s[{n}]", universe.calendar[[row]],
                                        up=np.array([True]), score=np.array([1.0]),
                                        probability=np.array([0.9]))
                 for n, row in (("full", 79), ("gappy", 78))}
    result = run_portfolio(universe, decisions, costs=Costs(commission=0.0, slippage=0.0),
                           band=0.0, weighting="inverse_vol", vol_window=20)
    fills = result.fills[result.fills["bar"] == 80].set_index("instrument")
    value = fills["size"] * fills["price"]

    def spread(closes):
        closes = closes.to_numpy()
        return np.std(np.diff(closes) / closes[:-1], ddof=1)

    own = spread(full["close"].iloc[59:80]) / spread(gappy["close"].iloc[19:40])
    assert value["gappy"] / value["full"] == pytest.approx(own, rel=1e-9)
    padded = universe.closes()["gappy"].ffill().iloc[59:80]  # what placeholders would give
    assert abs(spread(full["close"].iloc[59:80]) / spread(padded) - own) > 0.1 * own


def test_a_union_calendar_annualises_with_its_own_sessions_a_year():
    us = make_daily_bars(520, seed=1)
    india = make_daily_bars(520, seed=2, tz="Asia/Kolkata")
    drop = np.arange(len(us)) % 25 == 0  # each exchange shut on its own 4% of the dates
    universe = build_universe([("us", us[~drop]), ("india", india[np.roll(~drop, 7)])])
    per_year = universe.sessions_per_year()
    assert 255 < per_year < 265  # business days: 5/7 of 365.25
    assert any(f"{per_year:.1f} session dates a year" in n for n in universe.notes())
    result = run_portfolio(universe, targets="equal", band=0.05)
    performance = summarize(result, EMPTY_LOG)
    returns = result.equity.pct_change().fillna(result.equity.iloc[0] / result.cash - 1)
    assert performance.sharpe == pytest.approx(
        np.sqrt(per_year) * returns.mean() / returns.std(ddof=1), rel=1e-9)
    assert summarize(result, EMPTY_LOG, periods=TRADING_DAYS).sharpe == pytest.approx(
        performance.sharpe * np.sqrt(TRADING_DAYS / per_year), rel=1e-9)
    assert sessions_per_year(pd.DatetimeIndex([])) == TRADING_DAYS
