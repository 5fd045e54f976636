"""The HTML report in a real headless Chromium: it renders, filters, and stays offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from xai_backtest.engine.config import load_config
from xai_backtest.engine.runner import run_backtest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # each module fixture is a full run, then a browser


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    config = load_config(ROOT / "configs" / "sp500_ma_crossover.yaml",
                         {"output_dir": str(out), "tearsheet": False, "cache_dir": None,
                          "signals": [{"kind": "ma_crossover", "fast": 10, "slow": 40}]})
    return run_backtest(config, progress=False).report


@pytest.fixture(scope="module")
def model_report(tmp_path_factory):
    """A small run of the news LSTM and the five-trend DNN on the shipped S&P 500 bars and
    NYT headlines: explanations with faithfulness, headlines, winners and losers."""
    out = tmp_path_factory.mktemp("model-runs")
    walk = {"scheme": "expanding", "min_train": 504, "retrain_every": 504, "embargo": 10}
    config = load_config(ROOT / "configs" / "default.yaml", {
        "output_dir": str(out), "tearsheet": False, "cache_dir": None, "ensemble": None,
        "data.start": "2013-01-01",
        "signals": [{"kind": "news_lstm", "epochs": 2, "lime_samples": 60, "lime_words": 5,
                     "seed": 0, "threshold": 0.56},
                    {"kind": "five_trend", "epochs": 2, "lime_samples": 30, "seed": 0,
                     "threshold": 0.4, "walk_forward": walk}]})
    return run_backtest(config, progress=False).report


@pytest.fixture(scope="module")
def stocks_report(tmp_path_factory, shared_data):
    """The multi-stock config (the five-trend DNN pooled over NIFTY 50 stocks), cut to four
    stocks and two training epochs to stay quick."""
    out = tmp_path_factory.mktemp("stock-runs")
    config = load_config(ROOT / "configs" / "nifty_stocks_portfolio.yaml", {
        "output_dir": str(out), "tearsheet": False, "cache_dir": None,
        "data.path": str(shared_data / "nifty50_kaggle_2000_2020"),
        "data.symbols": ["HDFCBANK", "INFY", "ITC", "RELIANCE"], "data.start": "2013-01-01",
        "signals": [{"kind": "five_trend", "pooled": True, "relative_prices": True,
                     "epochs": 2, "lime_samples": 30, "seed": 0}]})
    return run_backtest(config, progress=False).report


def _open(browser, report: Path):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(report.as_uri())
    page.wait_for_load_state("load")
    page.requests = requests  # type: ignore[attr-defined]
    yield page
    context.close()


@pytest.fixture(scope="module")
def page(browser, report):
    yield from _open(browser, report)


@pytest.fixture(scope="module")
def model_page(browser, model_report):
    yield from _open(browser, model_report)


@pytest.fixture(scope="module")
def stocks_page(browser, stocks_report):
    yield from _open(browser, stocks_report)


def test_comparison_and_trades_render(page, report):
    assert page.locator("#comparison-table").is_visible()
    headers = page.locator("#comparison-table thead th").all_inner_texts()
    assert {"ma_crossover", "buy_and_hold", "always_long", "always_flat"} <= set(headers)
    assert page.locator("#trade-table tbody tr").count() > 5
    page.locator("#equity canvas").first.wait_for()  # the Bokeh chart drew
    page.screenshot(path=str(report.parent / "report.png"), full_page=True)  # beside the run


def test_explanation_figures_load(page):
    loaded = page.evaluate("Array.from(document.images).map(i => i.complete && i.naturalWidth)")
    assert loaded and all(w > 0 for w in loaded)
    link = page.locator("#trade-table a.fig").first
    href = link.get_attribute("href")
    assert href.startswith("figures/") and href.endswith((".png", ".svg"))
    figure = page.context.new_page()
    figure.on("request", lambda r: page.requests.append(r.url))
    figure.goto(page.url.split("#")[0].rsplit("/", 1)[0] + "/" + href)
    assert figure.locator("svg rect").count() > 2  # the bars of the explanation
    assert "ma_crossover" in figure.locator("svg").text_content()
    figure.close()


def test_filter_and_sort(page):
    rows = page.locator("#trade-table tbody tr")
    total = rows.count()
    page.fill("#trade-filter", "buy and hold")
    visible = [r for r in rows.all() if r.is_visible()]
    assert len(visible) == 1
    assert "of" in page.inner_text("#trade-count")
    page.fill("#trade-filter", "")
    page.select_option("#strategy-filter", "ma_crossover")
    # minus buy-and-hold and always-long, over the explorer's pages
    assert page.inner_text("#trade-count") == f"{total - 2} of {total} trades"
    page.select_option("#strategy-filter", "")
    page.click("#trade-table thead th:nth-child(6)")  # P&L ascending
    pnl = [float(r.get_attribute("data-key")) for r in
           page.locator("#trade-table tbody tr td:nth-child(6)").all()]
    assert pnl == sorted(pnl)


def test_no_network_requests(page):
    assert page.requests, "the page made no request at all?"
    outside = [u for u in page.requests if not u.startswith(("file://", "data:"))]
    assert outside == []


def test_faithfulness_verdicts_and_column_render(model_page):
    table = model_page.locator("#faithfulness-table")
    assert table.is_visible()
    assert {"news_lstm", "five_trend"} <= set(table.locator("tbody th").all_inner_texts())
    heads = table.locator("thead th").all_inner_texts()
    assert "model-free-k change" in heads and "faithful (beats both)" in heads
    verdicts = model_page.inner_text("#faithfulness-verdicts")
    assert "than random" in verdicts and "re-initialised model" in verdicts
    headers = model_page.locator("#trade-table thead th").all_inner_texts()
    column = next(i for i, h in enumerate(headers) if h.startswith("faithful?"))
    cells = model_page.locator(f"#trade-table tbody tr td:nth-child({column + 1})")
    shown = [t for t in cells.all_inner_texts() if t]
    assert shown and all(t.startswith(("better than random", "not better than random", "exact"))
                         for t in shown)


def test_winners_and_losers_render(model_page):
    blocks = model_page.locator("#why .why")
    assert blocks.count() >= 1
    first = blocks.first
    assert first.locator("svg.diff rect").count() > 3
    assert "not a new signal" in first.inner_text()
    assert first.locator("table").first.locator("tbody tr").count() > 3


def test_highlighted_headlines_render(model_page):
    model_page.select_option("#strategy-filter", "news_lstm")
    details = model_page.locator("#trade-table tbody tr:visible details").first
    details.locator("summary").click()
    marks = details.locator("ol.headlines mark")
    assert marks.count() > 0 and marks.first.is_visible()
    assert marks.first.evaluate("m => getComputedStyle(m).backgroundColor").startswith("rgba")


def test_exit_figures_are_linked(model_page):
    links = model_page.locator("#trade-table a.fig", has_text="exit")
    assert links.count() > 0
    assert links.first.get_attribute("href").startswith("figures/")


def test_multi_stock_report_compares_with_equal_weight(stocks_page):
    headers = stocks_page.locator("#comparison-table thead th").all_inner_texts()
    assert {"five_trend", "equal_weight_rebalanced", "equal_weight_held"} <= set(headers)
    verdict = stocks_page.locator("#comparison").inner_text()
    assert "five_trend" in verdict and "equal" in verdict


def test_multi_stock_weights_chart_renders(stocks_page):
    chart = stocks_page.locator("svg.weights-chart[data-strategy='five_trend']")
    assert chart.is_visible()
    names = set(chart.locator("title").all_text_contents())
    assert names & {"HDFCBANK", "INFY", "ITC", "RELIANCE"}


def test_multi_stock_trades_filter_by_instrument(stocks_page):
    from playwright.sync_api import expect

    rows = stocks_page.locator("#trade-table tbody tr")
    everyone = rows.count()
    stocks_page.select_option("#instrument-filter", "INFY")
    visible = stocks_page.locator("#trade-table tbody tr:visible")
    expect(stocks_page.locator("#trade-count")).not_to_have_text(f"{everyone} of {everyone} "
                                                                  "trades")
    shown = visible.evaluate_all("rows => rows.map(r => r.dataset.instrument)")
    assert shown and set(shown) == {"INFY"}
    stocks_page.select_option("#instrument-filter", "")
    expect(stocks_page.locator("#trade-count")).to_have_text(f"{everyone} of {everyone} trades")
