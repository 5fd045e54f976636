"""The trade explorer and the page at desktop (1440 px) and phone (390 px) width, in a real
headless Chromium: the explorer fits the window in its own box, its figure links are in
sight, a jump to a trade shows the whole row, the table downloads as CSV, the page never
scrolls sideways on a phone, and neither the report nor the tearsheet reaches the network
or logs an error."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from xai_backtest.engine.config import load_config
from xai_backtest.engine.runner import run_backtest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # one full run (with its tearsheet), then a browser

WIDTHS = {"desktop": (1440, 900), "phone": (390, 844)}

#: the explorer's box: the nearest ancestor of the table that scrolls sideways, else the table
BOX = """() => { const table = document.getElementById('trade-table');
  let box = table.parentElement;
  while (box && !['auto', 'scroll'].includes(getComputedStyle(box).overflowX))
    box = box.parentElement;
  return box || table; }"""


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """The folder of a 10/40-day crossover run on the shipped S&P 500 bars (62 trades, so
    more than one page of the explorer), with its QuantStats tearsheet."""
    out = tmp_path_factory.mktemp("explorer-runs")
    config = load_config(ROOT / "configs" / "sp500_ma_crossover.yaml",
                         {"output_dir": str(out), "tearsheet": True, "cache_dir": None,
                          "signals": [{"kind": "ma_crossover", "fast": 10, "slow": 40}]})
    return run_backtest(config, progress=False).report.parent


def _open(browser, file: Path, width: int, height: int, **options):
    """A page at ``width`` x ``height`` with the requests it made and the errors it logged."""
    context = browser.new_context(viewport={"width": width, "height": height}, **options)
    page = context.new_page()
    page.requests, page.errors = [], []  # type: ignore[attr-defined]
    page.on("request", lambda r: page.requests.append(r.url))
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(file.as_uri())
    page.wait_for_load_state("load")
    return page


@pytest.fixture(params=list(WIDTHS))
def page(request, browser, run):
    page = _open(browser, run / "report.html", *WIDTHS[request.param], accept_downloads=True)
    yield page
    page.context.close()


@pytest.fixture(scope="module")
def phone(browser, run):
    page = _open(browser, run / "report.html", *WIDTHS["phone"])
    yield page
    page.context.close()


def test_the_explorer_box_is_no_wider_than_the_window(page):
    left, right, width = page.evaluate(f"""() => {{ const r = ({BOX})().getBoundingClientRect();
        return [r.left, r.right, window.innerWidth]; }}""")
    assert left >= 0 and right <= width, f"box spans {left:.0f}..{right:.0f} px in {width}"


def test_the_first_figure_link_is_in_sight_without_scrolling_sideways(page):
    page.evaluate("() => window.scrollTo(0, 0)")
    link = page.locator("#trade-table a.fig").first
    link.scroll_into_view_if_needed()
    seen = page.evaluate(f"""a => {{ const box = ({BOX})(), r = a.getBoundingClientRect(),
        b = box.getBoundingClientRect();
        return {{left: r.left, right: r.right, boxLeft: b.left, boxRight: b.right,
                 width: window.innerWidth, scrollX: window.scrollX,
                 boxScroll: box.scrollLeft}}; }}""", link.element_handle())
    assert seen["scrollX"] == 0 and seen["boxScroll"] == 0, seen
    assert max(0, seen["boxLeft"]) <= seen["left"], seen
    assert seen["right"] <= min(seen["width"], seen["boxRight"]), seen


def test_the_header_and_the_first_column_stay_on_top_when_the_box_scrolls(page):
    """Scrolled right and down, the box still shows the "#" heading at its top left corner
    and, below it, the first cell of a row (trade number and figure links)."""
    seen = page.evaluate(f"""() => {{ const box = ({BOX})();
        box.scrollIntoView({{block: 'center'}});
        box.scrollLeft = box.scrollWidth; box.scrollTop = 200;
        const b = box.getBoundingClientRect(),
          head = document.querySelector('#trade-table thead th').getBoundingClientRect(),
          corner = document.elementFromPoint(b.left + 6, b.top + head.height / 2),
          below = document.elementFromPoint(b.left + 6, b.top + head.height + 12);
        return {{scrolled: [box.scrollLeft, box.scrollTop],
                 corner: corner.closest('th') && corner.closest('th').cellIndex,
                 below: below.closest('td') && below.closest('td').cellIndex}}; }}""")
    assert min(seen["scrolled"]) > 0 and seen["corner"] == 0 and seen["below"] == 0, seen


@pytest.mark.parametrize("which", ["middle", "last", "last, opened by its address"])
def test_a_jump_to_a_trade_shows_its_whole_row(page, which):
    """A row after a jump (the last one is on the last page) lies below every sticky
    header and above the bottom of the window and of the box."""
    rows = page.locator("#trade-table tbody tr")
    target = rows.nth(rows.count() // 2 if which == "middle" else -1).get_attribute("id")
    if which.endswith("address"):
        address = page.url.split("#")[0]
        page.goto("about:blank")
        page.goto(f"{address}#{target}")
    else:
        page.evaluate("() => window.scrollTo(0, 0)")
        page.evaluate("id => { location.hash = id; }", target)
    geometry = f"""id => {{ const row = document.getElementById(id),
        r = row.getBoundingClientRect(), box = ({BOX})().getBoundingClientRect(),
        nav = document.querySelector('nav').getBoundingClientRect(),
        head = document.querySelector('#trade-table thead').getBoundingClientRect();
        return {{top: r.top, bottom: r.bottom, height: r.height,
                 covered: Math.max(nav.bottom, Math.min(head.bottom, r.bottom)),
                 floor: Math.min(window.innerHeight, box.bottom)}}; }}"""
    visible = f"id => {{ const g = ({geometry})(id); return g.height > 0 && " \
              "g.top >= g.covered - 0.5 && g.bottom <= g.floor + 0.5; }"
    try:
        page.wait_for_function(visible, arg=target, timeout=5_000)
    except Exception:  # the geometry says what is wrong better than the timeout
        pytest.fail(f"row {target} not fully visible after the jump: "
                    f"{page.evaluate(geometry, target)}")


def test_the_table_downloads_as_csv_with_the_filter_applied(page):
    everyone = page.locator("#trade-table tbody tr").count()
    page.select_option("#strategy-filter", "ma_crossover")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text("utf-8"))))
    assert page.inner_text("#trade-count").startswith(f"{len(rows)} of {everyone} ")
    assert len(rows) == everyone - 2  # all but buy-and-hold and always-long, across pages
    assert {r["strategy"] for r in rows} == {"ma_crossover"}
    assert {"#", "P&L", "entry figure"} <= set(rows[0])
    assert all(r["entry figure"].startswith("figures/") for r in rows)


def test_rows_are_paged_and_long_text_folds_to_one_line(page):
    rows = page.locator("#trade-table tbody tr")
    everyone, visible = rows.count(), page.locator("#trade-table tbody tr:visible")
    assert everyone > 50 and visible.count() == 50
    heights = visible.evaluate_all("rows => rows.map(r => r.getBoundingClientRect().height)")
    assert max(heights) < 3 * min(heights), heights
    page.get_by_role("button", name="next page").click()
    assert visible.count() == everyone - 50
    fold = page.locator("#trade-table tbody tr:visible .fold").first
    before = fold.evaluate("f => f.getBoundingClientRect().height")
    fold.click()
    assert fold.evaluate("f => f.getBoundingClientRect().height") > before  # unfolded


def test_a_phone_never_scrolls_the_page_sideways(phone):
    over = phone.evaluate("""() => { const w = window.innerWidth,
        clipped = e => { for (let a = e.parentElement; a && a !== document.body;
                              a = a.parentElement)
            if (getComputedStyle(a).overflowX !== 'visible') return true; return false; };
        return [document.documentElement.scrollWidth, w,
                [...document.querySelectorAll('body *')].filter(e => {
                  const r = e.getBoundingClientRect(); return r.width && r.right > w + 0.5
                    && !clipped(e); })
                .slice(0, 5).map(e => e.tagName + '#' + e.id + '.' + e.className)]; }""")
    assert over[0] <= over[1], f"page {over[0]} px wide at {over[1]}; sticking out: {over[2]}"


def test_phone_text_is_at_least_10px_and_legends_keep_their_swatches(phone):
    """Every text, in HTML and in scaled SVG, renders at 10 px or more; a legend entry never
    breaks between its swatch and its label."""
    small = phone.evaluate("""() => {
      const size = e => parseFloat(getComputedStyle(e).fontSize)
        * (e instanceof SVGElement && e.getScreenCTM() ? Math.abs(e.getScreenCTM().a) : 1);
      return [...document.querySelectorAll('body *')].filter(e =>
          [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())
          && e.getClientRects().length && size(e) < 9.95)
        .slice(0, 5).map(e => [e.tagName, e.textContent.slice(0, 30), size(e)]); }""")
    assert small == [], small
    broken = phone.locator(".legend span").evaluate_all(
        "spans => spans.filter(s => s.getClientRects().length > 1).map(s => s.textContent)")
    assert broken == []


@pytest.mark.parametrize("name", ["report.html", "tearsheet.html"])
def test_offline_and_no_console_errors(browser, run, name):
    page = _open(browser, run / name, *WIDTHS["desktop"])
    try:
        assert page.requests, "the page made no request at all?"
        assert [u for u in page.requests if not u.startswith(("file://", "data:"))] == []
        assert page.errors == []
    finally:
        page.context.close()
