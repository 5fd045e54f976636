"""The "why trades won or lost" charts: one scale per unit across the section, the p-value
beside each bar, grey bars where the difference is not significant, an axis and a legend."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from xai_backtest.explainers.base import Explanation
from xai_backtest.reports.explanation_quality import (
    WinnersAndLosers,
    attribution_unit,
    winners_and_losers,
)
from xai_backtest.reports.html_report import _why_section

GREY = "#afb8c1"


def _analysis(signal: str, differences: list[float], p_values: list[float],
              unit: str) -> WinnersAndLosers:
    table = pd.DataFrame({"winners": differences, "losers": [0.0] * len(differences),
                          "difference": differences, "p_value": p_values},
                         index=[f"d{i}" for i in range(len(differences))])
    leaders = pd.DataFrame(columns=["trades_led", "hit_rate", "mean_return"])
    return WinnersAndLosers(signal=signal, winners=5, losers=4, permutations=999,
                            table=table, leaders=leaders, unit=unit)


def _bars(section: str, signal: str) -> list[tuple[str, float, str]]:
    block = section.split(f"id='why-{signal}'")[1].split("</svg>")[0]
    return [(cls, float(width), fill) for cls, width, fill in re.findall(
        r"<rect class='(\w+)' x=[\d.]+ y=\d+ width=([\d.]+) height=\d+ fill='([^']+)'", block)]


@pytest.fixture
def section() -> str:
    return _why_section([
        _analysis("big", [0.4, -0.2, 0.004], [0.01, 0.03, 0.6], "SHAP, logit units"),
        _analysis("small", [0.004, -0.1], [0.7, 0.02], "SHAP, logit units"),
        _analysis("cam", [0.05], [0.01], "Grad-CAM importance, 0-1"),
    ])


def test_bars_of_one_unit_share_one_scale(section):
    big, small, cam = (_bars(section, s) for s in ("big", "small", "cam"))
    assert big[2][1] == pytest.approx(small[0][1], abs=0.11)  # 0.004 is as short in both
    assert small[1][1] == pytest.approx(big[1][1] / 2, abs=0.11)  # -0.1 is half of -0.2
    assert small[0][1] < big[0][1] / 50  # not stretched to its own largest bar
    assert cam[0][1] == pytest.approx(big[0][1], abs=0.11)  # another unit, its own scale


def test_non_significant_bars_are_grey_and_every_bar_carries_its_p_value(section):
    big = _bars(section, "big")
    assert [(cls, fill) for cls, _, fill in big] == [
        ("sig", "#2a9d5b"), ("sig", "#c0392b"), ("ns", GREY)]
    block = section.split("id='why-big'")[1].split("</svg>")[0]
    assert re.findall(r"p=(0\.\d{3})</text>", block) == ["0.010", "0.030", "0.600"]


def test_each_chart_has_an_axis_in_its_unit_and_a_legend(section):
    for signal, unit in (("big", "SHAP, logit units"), ("cam", "Grad-CAM importance, 0-1")):
        block = section.split(f"id='why-{signal}'")[1].split("</svg>")[0]
        assert f"winners minus losers ({unit})" in block
        assert len(re.findall(r"class='tick'", block)) >= 3
        legend = block.split("<g class='legend'>")[1].split("</g>")[0]
        assert {"higher among winners", "higher among losers", "p &gt; 0.05"} <= set(
            re.findall(r">([^<]+)</text>", legend))


def test_the_unit_comes_from_the_explanations():
    when = pd.Timestamp("2021-04-01", tz="UTC")
    trades, explanations = [], {}
    for i, pnl in enumerate([5.0, 3.0, -2.0, -4.0]):
        e = Explanation(method="shap", signal="s", decision_time=when + pd.Timedelta(days=i),
                        prediction="up", probability=0.6, base_value=0.0,
                        values=[pnl / 10, -pnl / 20], feature_names=["a", "b"], summary="",
                        space="logit")
        explanations[e.id] = e
        trades.append({"strategy": "s", "status": "closed", "net_pnl": pnl,
                       "return_pct": pnl / 100, "entry_explanation_id": e.id})
    found = winners_and_losers("s", pd.DataFrame(trades), explanations, permutations=50)
    assert found is not None and found.unit == "SHAP, logit units"
    assert attribution_unit([]) == ""
    mixed = [explanations[k] for k in list(explanations)[:1]]
    assert attribution_unit(mixed + [Explanation(
        method="gradcam", signal="g", decision_time=when, prediction="up", probability=0.5,
        base_value=0.0, values=[0.1], feature_names=["x"], summary="")]) == "mixed units"
