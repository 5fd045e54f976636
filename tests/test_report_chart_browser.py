"""The report's charts in a real headless Chromium: dates on the axes, a clickable marker for
every trade, nothing fetched from the network, no console error, and a phone-width fit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.test_portfolio_report import _inputs, _view
from tests.test_report_browser import ROOT
from xai_backtest.engine.config import load_config
from xai_backtest.engine.run_folder import RunResult
from xai_backtest.engine.runner import run_backtest
from xai_backtest.reports.html_report import write_report

pytestmark = pytest.mark.slow  # one short run, then a browser

#: every chart's date labels, as page boxes beside their chart's box: the SVG charts' text
#: that reads as a date, and each Bokeh plot's datetime-axis major labels
_DATE_LABELS = """() => {
  const out = [];
  const box = r => ({left: r.left, right: r.right, top: r.top, bottom: r.bottom});
  document.querySelectorAll('svg#equity-chart, svg.weights-chart').forEach((svg, k) => {
    const chart = box(svg.getBoundingClientRect());
    svg.querySelectorAll('text').forEach(t => {
      if (/^\\d{4}-\\d{2}/.test(t.textContent))
        out.push({chart: 'svg' + k, text: t.textContent, label: box(t.getBoundingClientRect()),
                  box: chart});
    });
  });
  if (window.Bokeh && Bokeh.index) for (const v of Bokeh.index.all_views()) {
    if (v.model.type !== 'DatetimeAxis') continue;
    const plot = v.parent, canvas = plot.canvas_view.el.getBoundingClientRect();
    const ticks = v.tick_coords.major, [sxs] = v.scoords(ticks);
    const labels = v.compute_labels(ticks[0]);
    const ctx = plot.canvas_view.primary.ctx;
    sxs.forEach((sx, i) => {
      const text = labels.items[i].text;
      ctx.save(); v.visuals.major_label_text.set_value(ctx);
      const half = ctx.measureText(text).width / 2; ctx.restore();
      out.push({chart: plot.model.id, text,
                label: {left: canvas.left + sx - half, right: canvas.left + sx + half},
                box: box(canvas)});
    });
  }
  return out;
}"""

#: every trade marker: the anchor it opens, where it is, and whether a click there reaches
#: it. SVG: on screen, reached if it is the topmost element at its centre (the chart cannot
#: zoom). Bokeh: in data coordinates, since zooming in separates any two markers at
#: different data positions.
_MARKERS = """() => {
  const out = [], svg = document.querySelector('#equity-chart');
  if (svg) svg.scrollIntoView({block: 'center'});
  document.querySelectorAll('#equity-chart a.marker').forEach(a => {
    const c = a.querySelector('circle'), r = c.getBoundingClientRect();
    const x = r.x + r.width / 2, y = r.y + r.height / 2;
    out.push({anchor: a.getAttribute('href').slice(1), x: Math.round(x), y: Math.round(y),
              reached: document.elementFromPoint(x, y) === c});
  });
  if (window.Bokeh && Bokeh.index) for (const v of Bokeh.index.all_views()) {
    if (v.model.type !== 'GlyphRenderer' || v.model.name !== 'trade_markers') continue;
    const data = v.model.data_source.data;
    for (let i = 0; i < data.anchor.length; i++)
      out.push({anchor: data.anchor[i], x: data.x[i], y: data.y[i], reached: true});
  }
  return out;
}"""

_READY = """() => document.querySelectorAll('[data-root-id]').length === 0 ||
  (window.Bokeh && Bokeh.index && Bokeh.index.roots.length > 0 &&
   Bokeh.index.roots.every(v => v.has_finished()))"""


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> RunResult:
    """The crossover on the shipped S&P 500 daily bars (a few hundred trades)."""
    out = tmp_path_factory.mktemp("chart-runs")
    config = load_config(ROOT / "configs" / "sp500_ma_crossover.yaml",
                         {"output_dir": str(out), "tearsheet": False, "cache_dir": None,
                          "signals": [{"kind": "ma_crossover", "fast": 10, "slow": 40}]})
    return run_backtest(config, progress=False)


@pytest.fixture(scope="module")
def run_report(run) -> Path:
    return run.report


@pytest.fixture(scope="module")
def portfolio_report(tmp_path_factory) -> Path:
    """A synthetic universe report: two strategies' weights charts and trades by instrument."""
    return write_report(tmp_path_factory.mktemp("chart-portfolio") / "report.html",
                        _inputs(_view()))


def _load(browser, report: Path, width: int):  # noqa: F811
    """The page at ``width`` px, with its requests and console errors recorded."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(report.as_uri())
    page.wait_for_load_state("load")
    page.wait_for_function(_READY)
    return context, page, requests, errors


@pytest.fixture(scope="module", params=[1440, 390], ids=["desktop", "phone"])
def pages(request, browser, run_report, portfolio_report):  # noqa: F811
    opened = [_load(browser, r, request.param) for r in (run_report, portfolio_report)]
    yield request.param, opened
    for context, *_ in opened:
        context.close()


def test_every_date_label_lies_inside_its_chart(pages):
    _, opened = pages
    for _, page, _, _ in opened:
        labels = page.evaluate(_DATE_LABELS)
        assert labels, "no chart with a date axis"
        outside = [(a["chart"], a["text"], round(a["label"]["left"]), round(a["label"]["right"]),
                    round(a["box"]["left"]), round(a["box"]["right"]))
                   for a in labels if a["label"]["left"] < a["box"]["left"] - 0.5
                   or a["label"]["right"] > a["box"]["right"] + 0.5]
        assert outside == []
        charts = {a["chart"] for a in labels}
        assert all(sum(a["chart"] == c for a in labels) >= 2 for c in charts), \
            "a date axis with fewer than two labels"


def test_a_marker_can_be_clicked_for_every_trade(pages):
    _, opened = pages
    for _, page, _, _ in opened:
        trades = set(page.locator("#trade-table tbody tr").evaluate_all(
            "rows => rows.map(r => r.id)"))
        markers = page.evaluate(_MARKERS)
        where: dict[tuple[float, float], list[str]] = {}
        for m in markers:
            where.setdefault((m["x"], m["y"]), []).append(m)
        alone = {a[0]["anchor"] for a in where.values() if len(a) == 1 and a[0]["reached"]}
        benchmark = {t for t in trades if re.match(r"trade-(buy_and_hold|equal_weight)", t)}
        assert trades - benchmark - alone == set(), \
            f"{len(trades - benchmark - alone)} trades have no marker of their own"


#: zoom the chart to 2% of its dates around the middle marker, then the first marker in view
#: with no other within 12 px: its anchor and page position
_LONELY_MARKER = """async () => {
  const v = [...Bokeh.index.all_views()].find(
    v => v.model.type === 'GlyphRenderer' && v.model.name === 'trade_markers');
  const plot = v.parent, xr = plot.model.x_range, xs = [...v.model.data_source.data.x];
  const mid = xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const span = (xr.end - xr.start) / 100;
  plot.el.scrollIntoView({block: 'center'});
  xr.setv({start: mid - span, end: mid + span});
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const canvas = plot.canvas_view.el.getBoundingClientRect(), f = plot.frame.bbox;
  const sx = v.glyph_view.sx, sy = v.glyph_view.sy, n = sx.length;
  for (let i = 0; i < n; i++) {
    if (!(sx[i] > f.left + 8 && sx[i] < f.right - 8 && sy[i] > f.top + 8 &&
          sy[i] < f.bottom - 8)) continue;
    let lonely = true;
    for (let j = 0; j < n && lonely; j++)
      if (j !== i && Math.abs(sx[j] - sx[i]) < 12 && Math.abs(sy[j] - sy[i]) < 12)
        lonely = false;
    if (lonely) return {anchor: v.model.data_source.data.anchor[i],
                        x: canvas.left + sx[i], y: canvas.top + sy[i]};
  }
  return null;
}"""


def test_clicking_a_marker_opens_its_trade(pages):
    width, opened = pages
    _, page, _, _ = opened[0]
    found = page.evaluate(_LONELY_MARKER)
    assert found, f"no marker stands alone at {width} px"
    page.mouse.click(found["x"], found["y"])
    page.wait_for_function("a => location.hash === '#' + a", arg=found["anchor"])
    assert page.locator(f"[id='{found['anchor']}']").is_visible()


def test_offline_and_no_console_errors(pages):
    _, opened = pages
    for _, _, requests, errors in opened:
        assert requests, "the page made no request at all?"
        assert [u for u in requests if not u.startswith(("file://", "data:"))] == []
        assert errors == []


def test_the_chart_fits_the_window_and_its_text_is_readable(pages):
    width, opened = pages
    _, page, _, _ = opened[0]
    chart = page.locator("#equity [data-root-id]").first
    chart.scroll_into_view_if_needed()
    box = page.evaluate("""() => {
      let left = Infinity, right = -Infinity;
      document.querySelectorAll('#equity canvas').forEach(c => {
        const r = c.getBoundingClientRect(); if (!r.width) return;
        left = Math.min(left, r.left); right = Math.max(right, r.right);});
      return {left, right}}""")
    assert box["left"] >= 0 and box["right"] <= width
    sizes = page.evaluate("""() => {
      const out = [];
      for (const v of Bokeh.index.all_views()) {
        const t = v.model.type;
        if (t.endsWith('Axis')) out.push(v.model.major_label_text_font_size,
                                         v.model.axis_label_text_font_size);
        if (t === 'Legend') out.push(v.model.label_text_font_size);
      }
      return out}""")
    assert sizes and all(float(s.removesuffix("px")) >= 10 for s in sizes), sizes


def test_plot_draws_the_run_from_python(run, tmp_path):
    from bokeh.io import save
    from bokeh.resources import INLINE

    layout = run.plot()
    price = layout.children[0][0]
    assert price.yaxis[0].axis_label == "price (quote currency)"
    assert any(type(r.glyph).__name__ == "Line" for r in price.renderers)  # the closes
    markers = next(r for r in price.renderers if r.name == "trade_markers").data_source.data
    traded = run.trades[run.trades["strategy"] != "buy_and_hold"]
    assert set(markers["anchor"]) == {f"trade-{s}-{t}" for s, t in
                                      zip(traded["strategy"], traded["trade"], strict=True)}
    assert len(set(zip(markers["x"], markers["y"], strict=True))) == len(markers["x"])
    page = save(layout, tmp_path / "chart.html", resources=INLINE, title="run")
    assert "cdn.bokeh.org" not in Path(page).read_text()
