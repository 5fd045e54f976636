"""Dates on the report's charts land where they belong, whether pandas made the index in
nanoseconds or in microseconds (pandas 3 reads files into microsecond indexes)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from xai_backtest.reports.interactive_chart import epoch_ms, main_chart
from xai_backtest.reports.portfolio_view import _weights_svg, axis_nanoseconds

UNITS = ["ns", "us"]


def _dates(unit: str, tz: str | None = "Asia/Kolkata") -> pd.DatetimeIndex:
    return pd.date_range("2020-01-01 09:15", periods=300, freq="D", tz=tz).as_unit(unit)


@pytest.mark.parametrize("unit", UNITS)
def test_axis_times_do_not_depend_on_the_index_unit(unit):
    dates = _dates(unit)
    assert dates.unit == unit
    np.testing.assert_array_equal(axis_nanoseconds(dates), _dates("ns").asi8.astype(float))
    # Bokeh reads wall-clock milliseconds: 09:15 in Kolkata stays 09:15 on the axis
    assert epoch_ms(dates)[0] == pd.Timestamp("2020-01-01 09:15").value / 1e6
    assert epoch_ms(dates)[1] - epoch_ms(dates)[0] == 86_400_000


@pytest.mark.parametrize("unit", UNITS)
def test_weights_chart_dates_lie_on_the_chart(unit):
    weights = pd.DataFrame({"A": 0.5, "B": 0.25}, index=_dates(unit))
    svg = _weights_svg("s", weights, {"A": "#111111", "B": "#222222"}, width=1000)
    labels = re.findall(r"<text x=([-\d.]+) y=[\d.]+ class=axis text-anchor=(\w+)>"
                        r"(\d{4}-\d\d-\d\d)</text>", svg)
    assert len(labels) == 6
    xs = [float(x) for x, _, _ in labels]
    assert xs[0] == 56 and xs[-1] == 1000 - 16  # the plot's left and right edges
    assert xs == sorted(xs) and np.allclose(np.diff(xs), np.diff(xs)[0], atol=0.2)
    assert [a for _, a, _ in labels] == ["start", "middle", "middle", "middle", "middle",
                                         "end"]
    assert labels[0][2] == "2020-01-01" and labels[-1][2] == "2020-10-26"


@pytest.mark.parametrize("unit", UNITS)
def test_main_chart_places_lines_and_markers_on_their_dates(unit):
    dates = _dates(unit)
    equity = pd.DataFrame({"s": np.linspace(100, 120, 300), "buy_and_hold": 100.0},
                          index=dates)
    prices = pd.DataFrame({"open": 10.0, "high": 11.0, "low": 9.0, "close": 10.5},
                          index=dates)
    trades = pd.DataFrame({"trade": [1], "strategy": ["s"], "side": ["long"],
                           "entry_time": [dates[10]], "exit_time": [dates[20]],
                           "entry_price": [10.0], "exit_price": [10.5], "net_pnl": [5.0],
                           "return_pct": [0.05]})
    chart = main_chart(equity, trades, {"s": "#1f6feb"}, "buy_and_hold", prices)
    price, lines, _ = (row[0] for row in chart.layout.children)
    x_range = lines.x_range
    day = 86_400_000
    assert x_range.start < epoch_ms(dates)[0] and x_range.end > epoch_ms(dates)[-1]
    assert x_range.end - x_range.start < 310 * day  # the run's span, not a unit off
    line = lines.renderers[-1].data_source.data  # the strategy's, drawn over buy-and-hold
    np.testing.assert_array_equal(line["x"], epoch_ms(_dates("ns")))
    markers = next(r for r in price.renderers if r.name == "trade_markers").data_source.data
    assert list(markers["kind"]) == ["entry", "exit"]
    assert list(markers["anchor"]) == ["trade-s-1", "trade-s-1"]
    # within their bar (spread by strategy and side), at their fill prices
    np.testing.assert_array_less(np.abs(markers["x"] - epoch_ms(dates[[10, 20]])), 0.5 * day)
    assert list(markers["y"]) == [10.0, 10.5]
    assert list(markers["entry_at"]) == ["2020-01-11 09:15"] * 2
