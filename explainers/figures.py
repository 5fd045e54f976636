"""Render an ``Explanation`` to a PNG with the figure function of its method."""

from __future__ import annotations

import importlib
from dataclasses import replace
from pathlib import Path

from explainers.base import Explanation

__all__ = ["FIGURE_RENDERERS", "render_figure"]

#: Explanation.method -> "module:function(explanation, path) -> None"
FIGURE_RENDERERS: dict[str, str] = {
    "rule": "explainers.bars:render_bars",
    "shap": "explainers.bars:render_bars",
    "lime_tabular": "explainers.bars:render_bars",
    "occlusion": "explainers.bars:render_bars",
    "gradcam": "explainers.gradcam:render_gradcam",
    "lime_text": "explainers.lime_text:render_lime_text",
}


def render_figure(explanation: Explanation, folder: str | Path) -> Explanation:
    """Draw ``explanation`` into ``folder`` and return it with ``figure`` set (a file name
    relative to ``folder``)."""
    if explanation.method not in FIGURE_RENDERERS:
        raise ValueError(f"no figure renderer for explanation method {explanation.method!r}")
    module, _, name = FIGURE_RENDERERS[explanation.method].partition(":")
    render = getattr(importlib.import_module(module), name)
    safe = explanation.id.replace(":", "").replace("+", "p").replace("@", "_")
    path = Path(folder) / f"{safe}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    render(explanation, path)
    return replace(explanation, figure=path.name)
