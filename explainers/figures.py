"""Render an ``Explanation`` to a figure file (every one SVG) with the figure function of its
method."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import replace
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from xai_backtest.explainers.base import Explanation
from xai_backtest.storage.cache import DiskCache, content_hash
from xai_backtest.storage.code_hash import module_fingerprint
from xai_backtest.storage.interrupts import check_interrupt

__all__ = ["FIGURE_RENDERERS", "figure_name", "render_figure", "render_figures"]

_BARS = ("xai_backtest.explainers.bars:render_bars", ".svg")
#: Explanation.method -> ("module:function(explanation, path) -> None", file suffix)
FIGURE_RENDERERS: dict[str, tuple[str, str]] = {
    "rule": _BARS,
    "shap": ("xai_backtest.explainers.waterfall:render_waterfall", ".svg"),
    "lime_tabular": _BARS,
    "occlusion": _BARS,
    "gradcam": ("xai_backtest.explainers.gradcam:render_gradcam", ".svg"),
    "lime_text": ("xai_backtest.explainers.lime_text:render_lime_text", ".svg"),
}


def render_figure(explanation: Explanation, folder: str | Path) -> Explanation:
    """Draw ``explanation`` into ``folder`` and return it with ``figure`` set (a file name
    relative to ``folder``)."""
    if explanation.method not in FIGURE_RENDERERS:
        raise ValueError(f"no figure renderer for explanation method {explanation.method!r}")
    target, _ = FIGURE_RENDERERS[explanation.method]
    module, _, name = target.partition(":")
    render = getattr(importlib.import_module(module), name)
    path = Path(folder) / figure_name(explanation)
    path.parent.mkdir(parents=True, exist_ok=True)
    render(explanation, path)
    return replace(explanation, figure=path.name)


def figure_name(explanation: Explanation) -> str:
    """The file name of ``explanation``'s figure: its id, made safe for file systems."""
    safe = explanation.id.replace(":", "").replace("+", "p").replace("@", "_")
    return f"{safe}{FIGURE_RENDERERS[explanation.method][1]}"


def render_figures(explanations: Sequence[Explanation], folder: str | Path,
                   executor: Any = None, progress: bool = False,
                   cache_dir: str | None = None) -> list[Explanation]:
    """``render_figure`` for many explanations, in input order: here, or on ``executor``
    (engine/executor.py, whose local workers are fresh interpreters that never re-import
    the caller's script: a notebook or a script without an ``if __name__ == "__main__":``
    guard is safe). With ``cache_dir`` a figure of the same explanation, drawn by the same
    code and matplotlib, is copied instead of drawn.
    """
    store = DiskCache(cache_dir) if cache_dir else None
    keys = [_figure_key(e) for e in explanations] if store else []
    out: dict[int, Explanation] = {}
    if store is not None:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for i, (explanation, key) in enumerate(zip(explanations, keys, strict=True)):
            name = figure_name(explanation)
            if store.fetch_file("figures", key, Path(folder) / name):
                out[i] = replace(explanation, figure=name)
    todo = [i for i in range(len(explanations)) if i not in out]
    drawn = _draw([explanations[i] for i in todo], Path(folder), executor, progress)
    for i, explanation in zip(todo, drawn, strict=True):
        out[i] = explanation
        if store is not None and explanation.figure:
            store.store_file("figures", keys[i], Path(folder) / explanation.figure)
    return [out[i] for i in range(len(explanations))]


@cache
def _renderer_code(method: str) -> str:
    module = FIGURE_RENDERERS[method][0].partition(":")[0]
    return module_fingerprint(module, __name__) + version("matplotlib")


def _figure_key(explanation: Explanation) -> str:
    return content_hash("figure", replace(explanation, figure=None).to_json(),
                        _renderer_code(explanation.method))


def _draw(explanations: Sequence[Explanation], folder: Path, executor: Any,
          progress: bool) -> list[Explanation]:
    bar = tqdm(total=len(explanations), desc="explanation figures", unit="fig",
               disable=not progress, leave=False)
    with bar:
        if executor is None or len(explanations) < 8:
            drawn = []
            for explanation in explanations:
                check_interrupt()
                drawn.append(render_figure(explanation, folder))
                bar.update()
            return drawn
        names = executor.map(_render_in_worker, [(e.to_dict(), folder) for e in explanations],
                             on_done=bar.update)
    return [replace(e, figure=name) for e, name in zip(explanations, names, strict=True)]


def _render_in_worker(task: tuple[dict, Path]) -> str | None:
    """``render_figure`` in a worker interpreter (matplotlib without a display) of an
    explanation sent as its dictionary; the figure's file name."""
    import matplotlib

    matplotlib.use("Agg")
    payload, folder = task
    return render_figure(Explanation.from_dict(payload), folder).figure
