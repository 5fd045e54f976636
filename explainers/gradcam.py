"""Grad-CAM for GADF images, projected back onto the time axis of the price window.

``pytorch-grad-cam`` weighs the activations of the network's last conv block
(``net.cam_layer("last")``; the first block on request) by the gradient of the
predicted class's logit (``method="gradcam"``; the other methods of ``CAM_METHODS``
weigh them their own way); the heatmap is scaled to ``[0, 1]`` and resized to the
image. Because GADF pixel ``(i, j)`` relates step ``i`` to step ``j``, the
importance of step ``i`` is the mean of the heatmap's row ``i`` and column ``i``.
The explanation names the span of steps that weighed most and what price did
there. ``deletion_test`` checks faithfulness: blanking the top-k steps should move
the prediction more than blanking k random ones; the GADF-CNN signal scores every
explanation that way, with captum's infidelity and the randomisation check
(explainers/measured.py).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xai_backtest.explainers import faithfulness
from xai_backtest.explainers.base import Explanation, UpOrDown, explanation
from xai_backtest.explainers.svg import (
    colour_bar,
    colour_map,
    label_width,
    nice_ticks,
    png_data_uri,
    text_lines,
    tick_indices,
    x_axis,
    y_axis,
)

__all__ = ["CAM_METHODS", "Faithfulness", "cell_width", "deletion_changes", "deletion_test",
           "describe", "explain_windows", "gradcam_heatmaps", "render_gradcam",
           "strongest_span", "time_importance"]


#: method name -> pytorch-grad-cam class
CAM_METHODS = {"gradcam": "GradCAM", "gradcam++": "GradCAMPlusPlus", "xgradcam": "XGradCAM",
               "hirescam": "HiResCAM", "layercam": "LayerCAM", "scorecam": "ScoreCAM",
               "eigencam": "EigenCAM"}
_NAMES = {"gradcam": "Grad-CAM", "gradcam++": "Grad-CAM++", "xgradcam": "XGrad-CAM",
          "hirescam": "HiResCAM", "layercam": "LayerCAM", "scorecam": "Score-CAM",
          "eigencam": "Eigen-CAM"}


def gradcam_heatmaps(net: Any, images: np.ndarray, classes: Sequence[int] | np.ndarray,
                     layer: str = "last", method: str = "gradcam") -> np.ndarray:
    """CAM heatmaps ``(n, h, w)`` in ``[0, 1]`` of ``images`` for the given class indices,
    on the ``last`` (or ``first``) conv block, ``net.cam_layer(layer)``, by ``method`` (a
    key of ``CAM_METHODS``)."""
    import pytorch_grad_cam
    import torch
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    if method not in CAM_METHODS:
        raise ValueError(f"CAM method must be one of {sorted(CAM_METHODS)}, got {method!r}")
    if len(images) != len(classes):
        raise ValueError(f"{len(images)} images but {len(classes)} classes")
    if not len(images):
        return np.zeros((0, *images.shape[2:]), dtype=np.float32)
    net.eval()
    cam_class = getattr(pytorch_grad_cam, CAM_METHODS[method])
    with cam_class(model=net, target_layers=[net.cam_layer(layer)]) as cam:
        heat = cam(input_tensor=torch.from_numpy(np.ascontiguousarray(images)),
                   targets=[ClassifierOutputTarget(int(c)) for c in classes])
    return np.asarray(heat, dtype=np.float32)


def cell_width(net: Any, layer: str, image_shape: Sequence[int]) -> float:
    """Steps per heatmap cell: the image's width over the width of the layer's activations
    (the heatmap is upsampled from those, so finer detail than a cell is interpolation)."""
    import torch

    widths: list[int] = []
    hook = net.cam_layer(layer).register_forward_hook(
        lambda _module, _inputs, out: widths.append(int(out.shape[-1])))
    try:
        with torch.no_grad():
            net(torch.zeros((1, *image_shape)))
    finally:
        hook.remove()
    return image_shape[-1] / widths[0]


def time_importance(heatmaps: np.ndarray) -> np.ndarray:
    """Importance of each step: the mean of heatmap row ``i`` and column ``i``; ``(n, w)``."""
    heat = np.asarray(heatmaps, dtype=np.float64)
    return (heat.mean(axis=2) + heat.mean(axis=1)) / 2


def strongest_span(importance: np.ndarray, share: float = 0.75) -> tuple[int, int]:
    """``(start, stop)`` (inclusive) of the contiguous steps around the most important one
    whose importance is at least ``share`` of the maximum."""
    peak = int(np.argmax(importance))
    floor = share * importance[peak]
    start = stop = peak
    while start > 0 and importance[start - 1] >= floor:
        start -= 1
    while stop < len(importance) - 1 and importance[stop + 1] >= floor:
        stop += 1
    return start, stop


def describe(importance: np.ndarray, closes: np.ndarray, steps: Sequence[str], prediction: str,
             probability: float, unit: str = "minute", method: str = "gradcam",
             cell: float | None = None) -> str:
    """One sentence: which steps weighed most for ``prediction`` and what price did there
    (and, given ``cell``, the heatmap's resolution in steps)."""
    resolution = "" if cell is None else (
        f"; heatmap cells of {cell:g} {unit}{'' if cell == 1 else 's'}")
    head = f"{_NAMES[method]} for '{prediction}' (p={probability:.2f}{resolution}):"
    whole = closes[-1] / closes[0] - 1
    overall = f"the window as a whole {'rose' if whole >= 0 else 'fell'} {abs(whole):.2%}"
    if not np.any(importance > 0):
        return f"{head} no {unit} carried positive evidence (zero heatmap); {overall}."
    start, stop = strongest_span(importance)
    before = closes[start - 1] if start > 0 else closes[0]
    move = closes[stop] / before - 1
    verb = "rose" if move > 0 else "fell" if move < 0 else "was flat"
    where = steps[start] if start == stop else f"{steps[start]}-{steps[stop]}"
    size = "" if move == 0 else f" {abs(move):.2%}"
    return (f"{head} {where} weighed most (importance {importance[start:stop + 1].mean():.2f} "
            f"of 1); price {verb}{size} there ({before:,.2f} to {closes[stop]:,.2f}), and "
            f"{overall}.")


def explain_windows(net: Any, images: np.ndarray, closes: np.ndarray, p_up: np.ndarray,
                    steps: Sequence[Sequence[str]], *, signal: str,
                    decision_times: Sequence[pd.Timestamp], unit: str,
                    layer: str = "last", method: str = "gradcam") -> list[Explanation]:
    """One Grad-CAM ``Explanation`` per image, for the class ``net`` predicts on it
    (``p_up``: the network's P(up) of each image; class ``up`` when >= 0.5).

    ``values`` is the time importance of each step (``feature_names``: the step times),
    ``data`` the window closes; ``raw`` holds ``heatmap``, ``gadf`` (first image plane)
    and ``time_importance``.
    """
    classes = (p_up >= 0.5).astype(int)
    heat = gradcam_heatmaps(net, images, classes, layer, method)
    importance = time_importance(heat)
    cell = cell_width(net, layer, images.shape[1:]) if len(images) else 1.0
    out = []
    for i, stamp in enumerate(decision_times):
        side = UpOrDown(bool(classes[i]))
        probability = side.probability(p_up[i])
        out.append(explanation(
            "gradcam", signal, stamp, prediction=side.label, probability=probability,
            values=importance[i], feature_names=steps[i], data=closes[i],
            summary=describe(importance[i], closes[i], steps[i], side.label, probability, unit,
                             method, cell),
            raw={"heatmap": heat[i], "gadf": images[i, 0], "time_importance": importance[i],
                 "cell_width": [cell]}))
    return out


@dataclass(frozen=True)
class Faithfulness:
    """Mean absolute change of P(up) after blanking the top-k steps vs k random steps."""

    k: int
    n: int
    top_k_change: float
    random_change: float

    @property
    def passed(self) -> bool:
        return self.top_k_change > self.random_change


def deletion_changes(closes: np.ndarray, importance: np.ndarray,
                     proba_up: Callable[[np.ndarray], np.ndarray], k: int,
                     seed: int = 0, draws: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Per window, how far P(up) moves when its ``k`` most important steps are replaced by
    the window mean, and when ``k`` random steps are (``draws`` seeded draws): ``(n,)`` and
    ``(n,)`` (``(n, draws)`` for ``draws > 1``)."""
    closes = np.asarray(closes, dtype=np.float64)
    top, random = faithfulness.deletion_changes(
        closes, importance, closes.mean(axis=1, keepdims=True), _two_classes(proba_up),
        np.zeros(len(closes), dtype=int), k, draws=draws, seed=seed)
    return top, random[:, 0] if draws == 1 else random


def _two_classes(proba_up: Callable[[np.ndarray], np.ndarray]
                 ) -> Callable[[np.ndarray], np.ndarray]:
    def proba(rows: np.ndarray) -> np.ndarray:
        p = np.asarray(proba_up(rows), dtype=np.float64)
        return np.column_stack([1 - p, p])
    return proba


def deletion_test(closes: np.ndarray, importance: np.ndarray,
                  proba_up: Callable[[np.ndarray], np.ndarray], k: int,
                  seed: int = 0) -> Faithfulness:
    """Replace the ``k`` most important steps of each window by the window mean and measure
    how far P(up) moves, against replacing ``k`` random steps (seeded)."""
    top, random = deletion_changes(closes, importance, proba_up, k, seed)
    return Faithfulness(k=k, n=len(top), top_k_change=float(np.mean(top)),
                        random_change=float(np.mean(random)))


def render_gradcam(explanation: Explanation, path: str | Path) -> None:
    """Three panels as SVG: the window's price line shaded by step importance (the
    strongest span outlined) with a price axis, the GADF image and the CAM heatmap over it,
    each square panel with both step axes and a colour bar."""
    for key in ("heatmap", "gadf"):
        if key not in explanation.raw:
            raise ValueError(f"explanation {explanation.id} has no raw[{key!r}]; render_gradcam "
                             "draws Grad-CAM explanations of the GADF-CNN signal")
    names = explanation.feature_names
    title = (f"{explanation.signal} {explanation.decision_time:%Y-%m-%d %H:%M}: "
             f"{explanation.prediction} (p={explanation.probability:.2f})")
    head, top = text_lines(explanation.summary, _WIDTH / 2, 38, width=170, size=10)
    top += 22
    height = int(top + _SIDE + 78)
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{_WIDTH}' height='{height}' "
             f"viewBox='0 0 {_WIDTH} {height}' font-family='sans-serif' font-size='10'>",
             f"<rect width='{_WIDTH}' height='{height}' fill='white'/>",
             f"<text x='{_WIDTH / 2}' y='20' text-anchor='middle' font-size='13'>"
             f"{html.escape(title)}</text>", head]
    parts += _price_panel(np.asarray(explanation.data), explanation.values, names, top)
    gadf, heat = explanation.raw["gadf"], explanation.raw["heatmap"]
    panels = ((560, colour_map(gadf, "RdBu_r", -1, 1), "GADF image", "RdBu_r", -1.0,
               "GADF value cos(\u03c6i + \u03c6j)"),
              (960, colour_map(heat, "jet", 0, 1), f"heatmap for '{explanation.prediction}'",
               "jet", 0.0, "Grad-CAM importance (1 = the image's max)"))
    for x0, image, label, cmap, vmin, bar_label in panels:
        parts += _image_panel(x0, top, image, label, names)
        parts += colour_bar(cmap, vmin, 1.0, x0 + _SIDE + 10, top, _SIDE, bar_label)
    parts.append("</svg>")
    Path(path).write_text("".join(parts), encoding="utf-8")


_WIDTH, _SIDE, _TICK = 1300, 230, 9


def _price_panel(closes: np.ndarray, importance: np.ndarray, names: Sequence[str],
                 top: float) -> list[str]:
    """The closes on a price axis with round ticks, the steps shaded by importance (legend
    beneath) and the strongest span outlined, dated on a step axis."""
    left, plot_w, w = 80, 380, len(importance)
    cell = plot_w / w
    low, high = float(np.min(closes)), float(np.max(closes))
    pad = (high - low) * 0.05 or 1.0
    low, high = low - pad, high + pad

    def y(v: float) -> float:
        return top + (high - v) / (high - low) * _SIDE

    parts = [f"<text x='{left + plot_w / 2}' y='{top - 6}' text-anchor='middle'>close, steps "
             "shaded by Grad-CAM importance</text>"]
    for i, value in enumerate(importance):
        if value > 0:
            parts.append(f"<rect x='{left + i * cell:.1f}' y='{top}' width='{cell + 0.3:.1f}' "
                         f"height='{_SIDE}' fill='#c0392b' "
                         f"fill-opacity='{0.6 * min(value, 1):.2f}'/>")
    if np.any(importance > 0):
        start, stop = strongest_span(importance)
        parts.append(f"<rect x='{left + start * cell:.1f}' y='{top}' "
                     f"width='{(stop - start + 1) * cell:.1f}' height='{_SIDE}' fill='none' "
                     f"stroke='#c0392b' stroke-width='1.2'/>")
    points = " ".join(f"{left + (i + 0.5) * cell:.1f},{y(float(v)):.1f}"
                      for i, v in enumerate(closes))
    parts.append(f"<polyline points='{points}' fill='none' stroke='black' stroke-width='1.2'/>")
    parts.append(f"<rect x='{left}' y='{top}' width='{plot_w}' height='{_SIDE}' fill='none' "
                 f"stroke='#57606a' stroke-width='0.6'/>")
    ticks = nice_ticks(low, high, 6)
    parts += y_axis(ticks, [f"{t:,.{_decimals(ticks)}f}" for t in ticks], y, left, top,
                    top + _SIDE, "close")
    parts += _step_axis(names, partial(_cell_x, left, cell), top + _SIDE, plot_w)
    key_y = top + _SIDE + 50
    parts += [f"<rect x='{left + i * 14}' y='{key_y - 9}' width='14' height='10' "
              f"fill='#c0392b' fill-opacity='{0.6 * level:.2f}'/>" for i, level in
              enumerate(np.linspace(0, 1, 6))]
    parts.append(f"<text x='{left + 6 * 14 + 6}' y='{key_y}'>shading: importance 0 to 1; "
                 "outline: the span that weighed most</text>")
    return parts


def _image_panel(x0: float, top: float, image: np.ndarray, label: str,
                 names: Sequence[str]) -> list[str]:
    """A square image of step x step pixels with both step axes (row i and column i are
    step i)."""
    w = len(names)
    cell = _SIDE / w
    ticks = tick_indices(w, _SIDE, _TICK)  # on the y axis the label height is the limit
    parts = [f"<image x='{x0}' y='{top}' width='{_SIDE}' height='{_SIDE}' "
             f"preserveAspectRatio='none' style='image-rendering:pixelated' "
             f"href='{png_data_uri(image)}'/>",
             f"<text x='{x0 + _SIDE / 2}' y='{top - 6}' text-anchor='middle'>"
             f"{html.escape(label)}</text>"]
    parts += y_axis(ticks, [names[int(i)] for i in ticks], partial(_cell_x, top, cell), x0,
                    top, top + _SIDE, size=_TICK)
    parts += _step_axis(names, partial(_cell_x, x0, cell), top + _SIDE, _SIDE)
    return parts


def _step_axis(names: Sequence[str], x: Callable[[float], float], y: float,
               pixels: float) -> list[str]:
    """The step axis under a panel: as many step labels as fit side by side without
    touching."""
    widest = max(label_width(n, _TICK) for n in names)
    ticks = tick_indices(len(names), pixels, widest)
    half = pixels / len(names) / 2
    unit = "date" if "-" in names[0] else "time"
    return x_axis(ticks, x, y, x(0) - half, x(len(names) - 1) + half, f"window step ({unit})",
                  size=_TICK, labels=[names[int(i)] for i in ticks])


def _decimals(ticks: np.ndarray) -> int:
    """Decimals that tell the ``ticks`` apart (0 for whole numbers)."""
    step = float(np.min(np.diff(ticks))) if len(ticks) > 1 else 1.0
    return max(0, int(np.ceil(-np.log10(step))) if step < 1 else 0)


def _cell_x(x0: float, width: float, i: float) -> float:
    """The centre of cell ``i`` of cells ``width`` wide from ``x0``."""
    return x0 + (i + 0.5) * width
