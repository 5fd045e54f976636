"""Render an ``Explanation`` to a PNG with the figure function of its method."""

from __future__ import annotations

import importlib
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from xai_backtest.explainers.base import Explanation

__all__ = ["FIGURE_RENDERERS", "render_figure", "render_figures"]

_BARS = ("xai_backtest.explainers.bars:render_bars", ".svg")
#: Explanation.method -> ("module:function(explanation, path) -> None", file suffix)
FIGURE_RENDERERS: dict[str, tuple[str, str]] = {
    "rule": _BARS,
    "shap": _BARS,
    "lime_tabular": _BARS,
    "occlusion": _BARS,
    "gradcam": ("xai_backtest.explainers.gradcam:render_gradcam", ".png"),
    "lime_text": ("xai_backtest.explainers.lime_text:render_lime_text", ".png"),
}


def render_figure(explanation: Explanation, folder: str | Path) -> Explanation:
    """Draw ``explanation`` into ``folder`` and return it with ``figure`` set (a file name
    relative to ``folder``)."""
    if explanation.method not in FIGURE_RENDERERS:
        raise ValueError(f"no figure renderer for explanation method {explanation.method!r}")
    target, suffix = FIGURE_RENDERERS[explanation.method]
    module, _, name = target.partition(":")
    render = getattr(importlib.import_module(module), name)
    safe = explanation.id.replace(":", "").replace("+", "p").replace("@", "_")
    path = Path(folder) / f"{safe}{suffix}"
    path.parent.mkdir(parents=True, exist_ok=True)
    render(explanation, path)
    return replace(explanation, figure=path.name)


def _render_payload(job: tuple[dict[str, Any], str]) -> str | None:
    payload, folder = job
    return render_figure(Explanation.from_dict(payload), folder).figure


def render_figures(explanations: Sequence[Explanation], folder: str | Path, workers: int = 1,
                   progress: bool = False) -> list[Explanation]:
    """``render_figure`` for many explanations, on ``workers`` processes, in input order."""
    jobs = [(e.to_dict(), str(folder)) for e in explanations]
    bar = {"total": len(jobs), "desc": "explanation figures", "unit": "fig",
           "disable": not progress, "leave": False}
    if workers <= 1 or len(jobs) < 8:
        names = [_render_payload(job) for job in tqdm(jobs, **bar)]
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            names = list(tqdm(pool.map(_render_payload, jobs, chunksize=8), **bar))
    return [replace(e, figure=name) for e, name in zip(explanations, names, strict=True)]
