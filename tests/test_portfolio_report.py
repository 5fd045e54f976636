"""The portfolio sections of the HTML report (weights charts, contributions, correlations,
each instrument alone) and the trade explorer's instrument filter in a real Chromium."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from tests.test_report_browser import _open
from xai_backtest.reports.html_report import ReportInputs, write_report
from xai_backtest.reports.portfolio_view import OTHERS_COLOR, PortfolioView, portfolio_section

COLORS = {"momentum": "#1f6feb", "equal": "#d1242f"}


def _view(n: int = 4, dates: int = 300, tz: str | None = None) -> PortfolioView:
    """``n`` instruments over ``dates`` business days: "momentum" long and short (instrument
    i's weights scaled by i + 1, so the last ones weigh most), "equal" long only; instruments
    0 and 1 move against each other."""
    rng = np.random.default_rng(0)
    index = pd.bdate_range("2020-01-01", periods=dates, tz=tz)
    names = [f"I{i:02d}" for i in range(n)]
    scale = np.arange(1, n + 1) / (4 * n)
    momentum = pd.DataFrame(rng.uniform(-0.5, 1, (dates, n)) * scale, index, names)
    equal = pd.DataFrame(1 / (n + 1), index, names)
    returns = rng.normal(0, 0.01, (dates, n))
    returns[:, 1] = -returns[:, 0] + rng.normal(0, 0.003, dates)
    contributions = pd.DataFrame(rng.normal(0, 0.05, (n, 2)), names, ["momentum", "equal"])
    alone = pd.DataFrame({"total_return": 0.1234, "sharpe": 0.5, "max_drawdown": -0.2,
                          "bars": dates - 3, "missing": 3}, index=names)
    return PortfolioView(weights={"momentum": momentum, "equal": equal},
                         contributions=contributions,
                         correlations=pd.DataFrame(returns, columns=names).corr(),
                         instruments=alone, notes=["I02 has 3 missing dates <filled>"])


def _charts(section: str) -> dict[str, str]:
    return dict(re.findall(r"<svg class=weights-chart data-strategy='([^']+)'(.*?)</svg>",
                           section, re.S))


def _shapes(svg: str) -> dict[str, list[np.ndarray]]:
    """Instrument -> the (x, y) points of each ring of its shape."""
    return {name: [np.array(re.findall(r"([-\d.]+),([-\d.]+)", ring), dtype=float)
                   for ring in d.split("M")[1:]]
            for d, name in re.findall(r"<path d='([^']*)'[^>]*><title>([^<]*)</title>", svg)}


def _to_weight(svg: str):
    """Pixel y -> weight, from the chart's labelled grid lines."""
    ticks = np.array(re.findall(r"y1=([\d.]+) y2=[\d.]+ class=grid /><text[^>]*>"
                                r"(-?[\d.]+)%</text>", svg), dtype=float)
    slope = (ticks[-1, 1] - ticks[0, 1]) / (ticks[-1, 0] - ticks[0, 0]) / 100
    return lambda y: (ticks[0, 1] / 100) + (y - ticks[0, 0]) * slope


def test_one_weights_chart_per_strategy_with_a_shape_per_instrument():
    view = _view()
    section = portfolio_section(view, COLORS)
    assert section.startswith("<section id=portfolio><h2>Portfolio</h2>")
    assert "<li>I02 has 3 missing dates &lt;filled&gt;</li>" in section
    charts = _charts(section)
    assert list(charts) == ["momentum", "equal"]
    for name, svg in charts.items():
        shapes = _shapes(svg)
        assert sorted(shapes) == ["I00", "I01", "I02", "I03"]
        weights, to_weight = view.weights[name], _to_weight(svg)
        # painted outermost first: the first shape's upper ring tops the stack of longs
        outer = next(iter(shapes.values()))[0][1:-1]
        assert len(outer) == len(weights)
        np.testing.assert_allclose(to_weight(outer[:, 1]), weights.clip(lower=0).sum(axis=1),
                                   atol=1e-3)
    momentum, equal = _shapes(charts["momentum"]), _shapes(charts["equal"])
    assert all(len(rings) == 2 for rings in momentum.values())  # longs and shorts
    assert all(len(rings) == 1 for rings in equal.values())  # longs only
    lowest = _to_weight(charts["momentum"])(momentum["I03"][1][1:-1, 1])
    np.testing.assert_allclose(lowest, view.weights["momentum"].clip(upper=0).sum(axis=1),
                               atol=1e-3)
    labels = re.findall(r"text-anchor=end>(-?[\d.]+%)</text>", charts["momentum"])
    assert labels[0].startswith("-") and "0%" in labels
    assert re.findall(r"text-anchor=\w+>(\d{4}-\d\d-\d\d)</text>", charts["equal"])[0] \
        == "2020-01-01"


def test_more_than_twelve_instruments_show_eleven_and_others_and_stay_light():
    view = _view(n=30, dates=2500, tz="Asia/Kolkata")
    charts = _charts(portfolio_section(view, COLORS))
    shapes = _shapes(charts["momentum"])
    assert sorted(shapes) == [f"I{i:02d}" for i in range(19, 30)] + ["others"]
    assert f"fill='{OTHERS_COLOR}'><title>others</title>" in charts["momentum"]
    assert all(len(ring) <= 802 for rings in shapes.values() for ring in rings)
    assert max(len(svg) for svg in charts.values()) < 300_000
    weights, to_weight = view.weights["momentum"], _to_weight(charts["momentum"])
    outer = shapes["others"][0][1:-1, 1]  # buckets of 4 closes, averaged
    expected = weights.clip(lower=0).sum(axis=1).groupby(np.arange(2500) // 4).mean()
    np.testing.assert_allclose(to_weight(outer), expected, atol=1e-3)


def test_contributions_sorted_signed_and_totalled():
    view = _view()
    contributions = pd.DataFrame({"momentum": [0.123, -0.05, 0.031, -0.004],
                                  "equal": [-0.02, 0.04, 0.0, -0.002]},
                                 index=["I00", "I01", "I02", "costs"])
    section = portfolio_section(PortfolioView(view.weights, contributions, view.correlations,
                                              view.instruments), COLORS)
    table = re.search(r"id=contributions-table>.*?<tbody>(.*?)</tbody>", section).group(1)
    rows = re.findall(r"<tr(?: class=total)?><th>([^<]+)</th>(.*?)</tr>", table)
    cells = {name: re.findall(r"<td[^>]*>([^<]+)</td>", row) for name, row in rows}
    assert [name for name, _ in rows] == ["I00", "I02", "I01", "costs", "total"]
    assert cells["I00"] == ["+12.30%", "-2.00%"]
    assert cells["I02"] == ["+3.10%", "+0.00%"]
    assert cells["total"] == ["+10.00%", "+1.80%"]
    total = [sum(float(cells[n][j].rstrip("%")) for n in ("I00", "I01", "I02", "costs"))
             for j in range(2)]
    assert [float(t.rstrip("%")) for t in cells["total"]] == pytest.approx(total, abs=1e-9)


def test_correlation_cells_are_colored_and_the_mean_noted():
    view = _view()
    section = portfolio_section(view, COLORS)
    cell = {(a, b): (int(r), int(g), int(bl), text) for a, b, r, g, bl, text in re.findall(
        r"<td title='(\w+) vs (\w+)' style='background:rgb\((\d+),(\d+),(\d+)\)[^']*'>"
        r"([-\d.]+)</td>", section)}
    assert len(cell) == 16
    r, g, b, text = cell["I02", "I02"]
    assert text == "1.00" and (r, g, b) == (178, 24, 43)  # +1: red
    r, g, b, text = cell["I00", "I01"]
    c = view.correlations.loc["I00", "I01"]
    assert c < -0.9 and text == f"{c:.2f}" and b > 150 and r < 80  # strongly negative: blue
    r, g, b, _ = cell["I02", "I03"]
    assert min(r, g, b) > 200  # near 0: nearly white
    values = view.correlations.to_numpy()
    mean = values[np.triu_indices(4, k=1)].mean()
    assert f"Mean pairwise correlation: {mean:.2f} over 6 pairs." in section


def test_each_instrument_alone():
    section = portfolio_section(_view(), COLORS)
    table = re.search(r"id=instruments-table>.*?</table>", section).group()
    row = re.search(r"<tr><th>I01</th>(.*?)</tr>", table).group(1)
    assert re.findall(r"<td>([^<]+)</td>", row) == ["+12.34%", "0.50", "-20.00%", "297", "3"]


def test_instruments_lacking_a_column_are_refused():
    view = _view()
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['missing'\]"):
        PortfolioView(view.weights, view.contributions, view.correlations,
                      view.instruments.drop(columns="missing"))


def _inputs(portfolio: PortfolioView | None = None, instruments: bool = True) -> ReportInputs:
    """Two strategies' 12 trades over the instruments AAA, BBB and CCC (or no instrument
    column), with their equity beside buy-and-hold."""
    dates = pd.bdate_range("2021-01-04", periods=60)
    equity = pd.DataFrame({"momentum": np.linspace(1e5, 1.1e5, 60),
                           "equal": np.linspace(1e5, 1.05e5, 60),
                           "buy_and_hold": np.linspace(1e5, 1.02e5, 60)}, index=dates)
    trades = pd.DataFrame({
        "trade": [1 + i // 2 for i in range(12)],
        "strategy": ["momentum", "equal"] * 6,
        "instrument": ["CCC", "AAA", "BBB", "BBB", "AAA", "CCC"] * 2,
        "side": "long", "entry_time": dates[np.arange(12) * 4],
        "exit_time": dates[np.arange(12) * 4 + 3], "net_pnl": np.arange(12) * 10.0 - 40,
        "return_pct": np.arange(12) / 1000 - 0.004})
    comparison = pd.DataFrame({s: {"total_return": equity[s].iloc[-1] / 1e5 - 1}
                               for s in equity.columns})
    return ReportInputs(title="universe", subtitle="synthetic", comparison=comparison, edges={},
                        equity=equity, trades=trades if instruments else
                        trades.drop(columns="instrument"), portfolio=portfolio)


def test_the_portfolio_section_sits_after_the_equity_and_is_linked(tmp_path):
    page = write_report(tmp_path / "report.html", _inputs(_view())).read_text()
    assert page.index("<section id=equity>") < page.index("<section id=portfolio>") \
        < page.index("<section id=models>")
    assert "<a href='#portfolio'>Portfolio</a>" in page
    options = re.search(r"<select id=instrument-filter[^>]*>(.*?)</select>", page).group(1)
    assert re.findall(r"<option[^>]*>([^<]+)</option>", options) == \
        ["all instruments", "AAA", "BBB", "CCC"]
    assert page.count("data-instrument='BBB'") == 4
    headers = re.findall(r"<th data-type=\w+ title='[^']*'>([^<]+)</th>", page)
    assert headers[:4] == ["#", "strategy", "instrument", "side"]


def test_the_single_instrument_page_has_no_portfolio_and_no_instrument_select(tmp_path):
    page = write_report(tmp_path / "report.html", _inputs(instruments=False)).read_text()
    assert "id=portfolio" not in page and "#portfolio" not in page
    assert "instrument-filter" not in page.split("<script>")[0]
    assert "data-instrument" not in page and ">instrument</th>" not in page
    assert page.count("<tr id='trade-") == 12


@pytest.fixture(scope="module")
def portfolio_page(browser, tmp_path_factory):  # noqa: F811
    path = write_report(tmp_path_factory.mktemp("portfolio") / "report.html", _inputs(_view()))
    yield from _open(browser, path)


@pytest.mark.slow
def test_instrument_filter_in_a_browser(portfolio_page):
    from playwright.sync_api import expect

    page = portfolio_page
    count = page.locator("#trade-count")
    visible = page.locator("#trade-table tbody tr:visible")
    expect(count).to_have_text("12 of 12 trades")
    page.select_option("#instrument-filter", "BBB")
    expect(count).to_have_text("4 of 12 trades")
    assert [r.get_attribute("data-instrument") for r in visible.all()] == ["BBB"] * 4
    assert visible.locator("td:nth-child(3)").all_inner_texts() == ["BBB"] * 4
    page.select_option("#strategy-filter", "momentum")
    expect(count).to_have_text("2 of 12 trades")
    assert [(r.get_attribute("data-strategy"), r.get_attribute("data-instrument"))
            for r in visible.all()] == [("momentum", "BBB")] * 2
    page.fill("#trade-filter", "2021-01-14")  # the entry of momentum's trade 2
    expect(count).to_have_text("1 of 12 trades")
    page.fill("#trade-filter", "")
    page.select_option("#instrument-filter", "")
    expect(count).to_have_text("6 of 12 trades")
    assert {r.get_attribute("data-instrument") for r in visible.all()} == {"AAA", "BBB", "CCC"}
    assert page.locator("svg.weights-chart").count() == 2
    assert page.locator("svg.weights-chart").first.is_visible()
