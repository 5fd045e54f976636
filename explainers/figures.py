"""Render an ``Explanation`` to a PNG with the figure function of its method."""

from __future__ import annotations

import importlib
import json
import queue
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import IO

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
    "lime_text": ("xai_backtest.explainers.lime_text:render_lime_text", ".png"),
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


def render_figures(explanations: Sequence[Explanation], folder: str | Path, workers: int = 1,
                   progress: bool = False, cache_dir: str | None = None) -> list[Explanation]:
    """``render_figure`` for many explanations, on ``workers`` processes, in input order.

    The workers are fresh interpreters running this module (``python -m``), so they never
    re-import the caller's script: a notebook or a script without an
    ``if __name__ == "__main__":`` guard is safe. With ``cache_dir`` a figure of the same
    explanation, drawn by the same code and matplotlib, is copied instead of drawn.
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
    drawn = _draw([explanations[i] for i in todo], Path(folder), workers,
                  progress)
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


def _draw(explanations: Sequence[Explanation], folder: Path, workers: int,
          progress: bool) -> list[Explanation]:
    bar = tqdm(total=len(explanations), desc="explanation figures", unit="fig",
               disable=not progress, leave=False)
    with bar:
        if workers <= 1 or len(explanations) < 8:
            drawn = []
            for explanation in explanations:
                check_interrupt()
                drawn.append(render_figure(explanation, folder))
                bar.update()
            return drawn
        names = _render_in_workers(explanations, Path(folder), workers, bar.update)
    return [replace(e, figure=names[i]) for i, e in enumerate(explanations)]


def _render_in_workers(explanations: Sequence[Explanation], folder: Path, workers: int,
                       advance: Callable[[], object]) -> dict[int, str | None]:
    """Index -> figure file name, drawn by ``workers`` child interpreters."""
    names: dict[int, str | None] = {}
    with tempfile.TemporaryDirectory(prefix="xai-figures-") as tmp:
        procs = []
        for worker in range(workers):
            jobs = Path(tmp) / f"jobs-{worker}.jsonl"
            jobs.write_text("".join(json.dumps([i, e.to_dict()]) + "\n"
                                    for i, e in enumerate(explanations)
                                    if i % workers == worker))
            with open(Path(tmp) / f"errors-{worker}.txt", "w") as errors:
                procs.append(subprocess.Popen(
                    [sys.executable, "-m", __name__, str(jobs), str(folder)],
                    stdout=subprocess.PIPE, stderr=errors, text=True))
        try:
            lines: queue.Queue[str | None] = queue.Queue()
            readers = [threading.Thread(target=_pump, args=(p.stdout, lines), daemon=True)
                       for p in procs]
            for reader in readers:
                reader.start()
            finished = 0
            while finished < len(procs):
                line = lines.get()
                if line is None:
                    finished += 1
                    continue
                index, _, name = line.rstrip("\n").partition("\t")
                names[int(index)] = name or None
                advance()
            for worker, proc in enumerate(procs):
                if proc.wait() != 0:
                    detail = (Path(tmp) / f"errors-{worker}.txt").read_text().strip()
                    raise RuntimeError(f"a figure worker failed (exit {proc.returncode}): "
                                       f"{detail.splitlines()[-1] if detail else 'no message'}")
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
    missing = set(range(len(explanations))) - set(names)
    if missing:
        raise RuntimeError(f"figure workers returned no figure for {len(missing)} "
                           "explanation(s)")
    return names


def _pump(stream: IO[str] | None, lines: queue.Queue[str | None]) -> None:
    """Copy a worker's output lines into ``lines``, then a None for its end."""
    if stream is not None:
        for line in stream:
            lines.put(line)
    lines.put(None)


def _worker(jobs: Path, folder: Path) -> None:
    """Draw every ``[index, explanation]`` line of ``jobs``; print ``index<TAB>file``."""
    import matplotlib

    matplotlib.use("Agg")
    for line in jobs.read_text().splitlines():
        index, payload = json.loads(line)
        figure = render_figure(Explanation.from_dict(payload), folder).figure
        print(f"{index}\t{figure or ''}", flush=True)


if __name__ == "__main__":
    _worker(Path(sys.argv[1]), Path(sys.argv[2]))
