"""The tearsheet page on curves whose yearly returns are known: each curve under its own
name, nothing loaded from the network, no call to a missing script, no missing glyph, the
end-of-year bars under their own years, and the report's period (not QuantStats' matched
dates)."""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from xai_backtest.reports.tearsheet import _eoy_figure, write_tearsheet

START = 1e5


def curve(growing: dict[int, float], name: str) -> pd.Series:
    """An equity curve that grows by the daily factor ``growing[year]`` in those years and
    stays flat otherwise, on business days of 2010-2016."""
    index = pd.bdate_range("2010-01-04", "2016-12-30", tz="America/New_York")
    factor = pd.Series(index.year, index).map(growing).fillna(1.0)
    return (START * factor.cumprod()).rename(name)


#: flat in 2010 (a warm-up), +x% in 2013; buy-and-hold moves in 2010 and 2011
STRATEGY = curve({2013: 1.0004}, "ma_crossover")
BENCHMARK = curve({2010: 1.0003, 2011: 1.0004}, "buy_and_hold")


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("tearsheet") / "tearsheet.html"
    return write_tearsheet(path, STRATEGY, BENCHMARK, START,
                           "run: ma_crossover vs buy and hold").read_text(encoding="utf-8")


def _row(page: str, label: str) -> list[str]:
    row = re.search(rf"<tr><td>{re.escape(label)}</td>(.*?)</tr>", page)
    assert row, f"no row {label!r}"
    return re.findall(r"<td>(.*?)</td>", row.group(1))


@pytest.mark.slow  # QuantStats writes its page in about two seconds
def test_the_page_loads_nothing_from_the_network_and_calls_no_missing_script(page):
    loads = re.findall(r"<(?:link|script|img|iframe)\b[^>]*(?:src|href)=[\"']?https?://", page,
                       re.IGNORECASE)
    assert loads == []
    assert "onload" not in page and "save()" not in page
    assert "\ufe6a" not in page and "<td>CAGR</td>" in page


@pytest.mark.slow
def test_each_curve_is_named_and_no_column_is_called_strategy(page):
    heads = re.findall(r"<th>(.*?)</th>", page)
    assert {"ma_crossover", "buy_and_hold"} <= set(heads)
    assert "Strategy" not in heads


@pytest.mark.slow
def test_the_yearly_returns_sit_under_their_own_years(page):
    assert _row(page, "2013")[:2] == ["0.00", f"{(1.0004 ** 261 - 1) * 100:.2f}"]
    assert _row(page, "2011")[:2] == [f"{(1.0004 ** 260 - 1) * 100:.2f}", "0.00"]
    chart = re.search(r'<div id="eoy_returns">(.*?)</div>', page, re.DOTALL)
    assert chart and chart.group(1).startswith("<svg") and ">2013</text>" in chart.group(1)


@pytest.mark.slow
def test_the_period_is_the_whole_run_with_buy_and_hold_as_the_report_has_it(page):
    assert " 4 Jan, 2010 - 30 Dec, 2016" in page and "matched dates" not in page
    total = BENCHMARK.iloc[-1] / START - 1  # what the report shows as total_return
    assert _row(page, "Cumulative Return")[0] == f"{total:.2%}"


def test_the_tallest_bar_of_each_curve_stands_over_its_year():
    returns = pd.concat([STRATEGY, BENCHMARK], axis=1).pct_change().fillna(0.0)
    figure = _eoy_figure(returns.set_axis(returns.index.tz_localize(None)))
    try:
        ax = figure.axes[0]
        ticks = dict(zip(ax.get_xticks(), (t.get_text() for t in ax.get_xticklabels()),
                         strict=True))
        for bars, year in zip(ax.containers, ("2013", "2011"), strict=True):
            tallest = max(bars, key=lambda bar: bar.get_height())
            middle = tallest.get_x() + tallest.get_width() / 2
            assert ticks[min(ticks, key=lambda at: abs(at - middle))] == year
            assert np.isclose(tallest.get_height(), 100 * (1.0004 ** (260 + (year == "2013"))
                                                           - 1), rtol=1e-9)
    finally:
        plt.close(figure)
