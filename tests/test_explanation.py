from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from xai_backtest.explainers.base import Explanation

WHEN = pd.Timestamp("2021-04-01 10:15", tz="Asia/Kolkata")


def _explanation(**overrides):
    fields = dict(method="shap", signal="demo", decision_time=WHEN, prediction="up",
                  probability=0.7, base_value=0.1, values=[0.3, -0.5, 0.1],
                  feature_names=["a", "b", "c"], summary="b pushed against up",
                  data=[1.0, 2.0, 3.0], raw={"heatmap": np.eye(2)})
    fields.update(overrides)
    return Explanation(**fields)


def test_frozen_and_read_only():
    e = _explanation()
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.summary = "x"
    with pytest.raises(ValueError):
        e.values[0] = 1.0
    with pytest.raises(ValueError):
        e.raw["heatmap"][0, 0] = 5.0


def test_slicing_and_top_return_new_explanations():
    e = _explanation()
    top = e.top(2)
    assert top.feature_names == ("b", "a")
    assert top.values.tolist() == [-0.5, 0.3]
    assert top.data.tolist() == [2.0, 1.0]
    assert e[1:].feature_names == ("b", "c")
    assert e[0].values.tolist() == [0.3]
    assert len(e) == 3 and e.id == "demo@2021-04-01T10:15:00+05:30"


def test_json_round_trip_is_exact():
    e = _explanation(figure="x.png", fold=3)
    back = Explanation.from_json(e.to_json())
    assert back.equals(e)
    assert back.decision_time == WHEN and str(back.decision_time.tz) in ("UTC+05:30",
                                                                         "Asia/Kolkata")
    assert not back.equals(_explanation(summary="other"))


@pytest.mark.parametrize(("overrides", "message"), [
    (dict(feature_names=["a"]), "3 values but 1 feature_names"),
    (dict(values=[[1.0, 2.0]], feature_names=["a", "b"]), "must be 1-D"),
    (dict(data=[1.0]), "data shape"),
    (dict(decision_time=pd.Timestamp("2021-04-01")), "tz-aware"),
])
def test_inconsistent_explanations_are_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        _explanation(**overrides)


def test_unknown_fields_in_json_are_refused():
    payload = _explanation().to_dict()
    payload["colour"] = "red"
    with pytest.raises(ValueError, match="unknown Explanation field"):
        Explanation.from_dict(payload)


def test_bar_figure_is_valid_svg(tmp_path):
    import xml.etree.ElementTree as ET

    from xai_backtest.explainers.figures import render_figure

    drawn = render_figure(_explanation(feature_names=["a<b", "b", "c"]), tmp_path)
    assert drawn.figure.endswith(".svg")
    root = ET.parse(tmp_path / drawn.figure).getroot()
    bars = [r for r in root.iter("{http://www.w3.org/2000/svg}rect")
            if r.find("{http://www.w3.org/2000/svg}title") is not None]  # not the legend
    assert len(bars) == 3
    assert [b.get("fill") for b in bars] == ["#c0392b", "#2a9d5b", "#2a9d5b"]  # -0.5, .3, .1


def test_a_figure_drawn_once_is_copied_from_the_cache_the_next_time(tmp_path, monkeypatch):
    import xai_backtest.explainers.figures as figures
    from xai_backtest.explainers.figures import render_figures

    explanation = Explanation(
        method="rule", signal="rsi", decision_time=pd.Timestamp("2020-01-02", tz="UTC"),
        prediction="up", probability=1.0, base_value=0.0, values=np.array([1.0, -0.5]),
        feature_names=("rsi", "ma"), data=np.array([25.0, 1.0]), summary="rsi = 25 -> up")
    (first,) = render_figures([explanation], tmp_path / "a", cache_dir=str(tmp_path / "c"))
    drawn = (tmp_path / "a" / first.figure).read_bytes()

    def no_drawing(*args, **kwargs):
        raise AssertionError("drew a figure the cache holds")

    monkeypatch.setattr(figures, "render_figure", no_drawing)
    (again,) = render_figures([explanation], tmp_path / "b", cache_dir=str(tmp_path / "c"))
    assert again.figure == first.figure
    assert (tmp_path / "b" / again.figure).read_bytes() == drawn
