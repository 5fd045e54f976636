"""Small helpers for figures written directly as SVG: colour-mapped images as PNG data URIs,
wrapped text lines, axes with round ticks, tick labels that do not collide, colour bars and
legends (no figure library on the hot path; a run draws hundreds)."""

from __future__ import annotations

import base64
import html
import struct
import textwrap
import zlib
from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["colour_bar", "colour_map", "legend", "label_width", "nice_ticks", "png_data_uri",
           "text_lines", "tick_indices", "x_axis", "y_axis"]

_INK = "#57606a"


def colour_map(values: np.ndarray, name: str, vmin: float, vmax: float) -> np.ndarray:
    """``values`` ``(h, w)`` through matplotlib's colormap ``name``: RGB ``(h, w, 3)`` in
    [0, 1]."""
    from matplotlib import colormaps

    scaled = np.clip((np.asarray(values, dtype=float) - vmin) / (vmax - vmin), 0, 1)
    return colormaps[name](scaled)[..., :3]


def png_data_uri(rgb: np.ndarray) -> str:
    """An RGB image ``(h, w, 3)`` in [0, 1] as a ``data:image/png;base64`` URI."""
    pixels = (np.clip(rgb, 0, 1) * 255).round().astype(np.uint8)
    h, w, _ = pixels.shape
    raw = b"".join(b"\x00" + pixels[row].tobytes() for row in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def text_lines(text: str, x: float, y: float, width: int = 150, size: int = 11,
               anchor: str = "middle") -> tuple[str, float]:
    """``text`` wrapped to ``width`` characters as SVG ``<text>`` lines from ``y`` down;
    returns the SVG and the y below the last line."""
    parts = []
    for line in textwrap.wrap(text, width):
        parts.append(f"<text x='{x}' y='{y}' text-anchor='{anchor}' font-size='{size}'>"
                     f"{html.escape(line)}</text>")
        y += size + 4
    return "".join(parts), y


def nice_ticks(low: float, high: float, count: int = 5) -> np.ndarray:
    """About ``count`` round values (steps of 1, 2, 2.5 or 5 times a power of ten, the one
    nearest ``span / (count - 1)``) inside ``[low, high]``; ``[low]`` when the span is
    zero."""
    span = high - low
    if not np.isfinite(span) or span <= 0:
        return np.array([low])
    raw = span / max(count - 1, 1)
    power = 10.0 ** np.floor(np.log10(raw))
    step = power * min((1, 2, 2.5, 5, 10), key=lambda m: abs(np.log(m * power / raw)))
    first = np.ceil(low / step - 1e-9) * step
    ticks = np.arange(first, high + step * 1e-9, step)
    return np.where(np.abs(ticks) < step * 1e-9, 0.0, ticks)


def label_width(text: str, size: float) -> float:
    """Estimated width in px of ``text`` at font ``size`` (sans-serif, at most 0.6 em a
    character: an upper bound for digits and lower-case letters)."""
    return 0.6 * size * len(text)


def tick_indices(n: int, pixels: float, label_px: float, gap: float = 8) -> np.ndarray:
    """Evenly spaced indices of ``n`` equally spaced cells across ``pixels`` whose labels,
    ``label_px`` wide, are at least ``gap`` px apart: the first and last cell included."""
    if n <= 1:
        return np.zeros(min(n, 1), dtype=int)
    cell = pixels / n
    stride = int(np.ceil((label_px + gap) / cell))
    most = max(int((n - 1) // stride) + 1, 2)
    ticks = np.unique(np.linspace(0, n - 1, most).round().astype(int))
    while len(ticks) > 2 and np.diff(ticks).min() * cell < label_px + gap:
        ticks = np.unique(np.linspace(0, n - 1, len(ticks) - 1).round().astype(int))
    return ticks


def x_axis(ticks: np.ndarray, x: Callable[[float], float], y: float, x0: float, x1: float,
           label: str, fmt: str = "{:g}", size: int = 10,
           labels: Sequence[str] | None = None) -> list[str]:
    """A horizontal axis at ``y`` from ``x0`` to ``x1``: ticks at ``x(t)``, their values
    (``fmt``, or the given ``labels``) and the axis ``label`` (its unit) below."""
    texts = [fmt.format(t) for t in ticks] if labels is None else list(labels)
    parts = [f"<line class='axis-line' x1='{x0:.1f}' x2='{x1:.1f}' y1='{y:.1f}' y2='{y:.1f}' "
             f"stroke='{_INK}' stroke-width='0.8'/>"]
    for t, text in zip(ticks, texts, strict=True):
        at = x(float(t))
        parts.append(f"<line x1='{at:.1f}' x2='{at:.1f}' y1='{y:.1f}' y2='{y + 4:.1f}' "
                     f"stroke='{_INK}' stroke-width='0.8'/><text class='tick' x='{at:.1f}' "
                     f"y='{y + 6 + size:.1f}' text-anchor='middle' font-size='{size}' "
                     f"fill='{_INK}'>{html.escape(text)}</text>")
    parts.append(f"<text class='axis-label' x='{(x0 + x1) / 2:.1f}' y='{y + 2 * size + 12:.1f}' "
                 f"text-anchor='middle' font-size='{size + 1}'>{html.escape(label)}</text>")
    return parts


def y_axis(ticks: Sequence[float] | np.ndarray, labels: Sequence[str], y: Callable[[float], float],
           x: float, y0: float, y1: float, label: str = "", size: int = 10) -> list[str]:
    """A vertical axis at ``x`` from ``y0`` to ``y1``: ticks at ``y(t)`` with their
    ``labels`` to the left, and the axis ``label`` turned along it."""
    parts = [f"<line class='axis-line' x1='{x:.1f}' x2='{x:.1f}' y1='{y0:.1f}' y2='{y1:.1f}' "
             f"stroke='{_INK}' stroke-width='0.8'/>"]
    widest = 0.0
    for t, text in zip(ticks, labels, strict=True):
        at = y(float(t))
        widest = max(widest, label_width(text, size))
        parts.append(f"<line x1='{x - 4:.1f}' x2='{x:.1f}' y1='{at:.1f}' y2='{at:.1f}' "
                     f"stroke='{_INK}' stroke-width='0.8'/><text class='tick' x='{x - 6:.1f}' "
                     f"y='{at + size / 3:.1f}' text-anchor='end' font-size='{size}' "
                     f"fill='{_INK}'>{html.escape(text)}</text>")
    if label:
        lx, ly = x - widest - 14, (y0 + y1) / 2
        parts.append(f"<text class='axis-label' x='{lx:.1f}' y='{ly:.1f}' text-anchor='middle' "
                     f"font-size='{size + 1}' transform='rotate(-90 {lx:.1f} {ly:.1f})'>"
                     f"{html.escape(label)}</text>")
    return parts


def colour_bar(name: str, vmin: float, vmax: float, x: float, y: float, height: float,
               label: str, width: float = 12, size: int = 10) -> list[str]:
    """A vertical colour bar of matplotlib's colormap ``name`` from ``vmin`` (bottom) to
    ``vmax`` (top) at ``(x, y)``, with round ticks on its right and ``label`` along it."""
    column = colour_map(np.linspace(vmax, vmin, 64)[:, None], name, vmin, vmax)
    ticks = nice_ticks(vmin, vmax, 5)
    parts = [f"<g class='colour-bar'><image x='{x:.1f}' y='{y:.1f}' width='{width}' "
             f"height='{height:.1f}' preserveAspectRatio='none' href='{png_data_uri(column)}'/>"
             f"<rect x='{x:.1f}' y='{y:.1f}' width='{width}' height='{height:.1f}' fill='none' "
             f"stroke='{_INK}' stroke-width='0.6'/>"]
    for t in ticks:
        at = y + (vmax - t) / (vmax - vmin) * height
        parts.append(f"<line x1='{x + width:.1f}' x2='{x + width + 3:.1f}' y1='{at:.1f}' "
                     f"y2='{at:.1f}' stroke='{_INK}'/><text class='tick' x='{x + width + 5:.1f}' "
                     f"y='{at + size / 3:.1f}' font-size='{size}' fill='{_INK}'>{t:g}</text>")
    lx, ly = x + width + 34, y + height / 2
    parts.append(f"<text class='axis-label' x='{lx:.1f}' y='{ly:.1f}' text-anchor='middle' "
                 f"font-size='{size}' transform='rotate(90 {lx:.1f} {ly:.1f})'>"
                 f"{html.escape(label)}</text></g>")
    return parts


def legend(items: Sequence[tuple[str, str]], x: float, y: float, size: int = 10) -> list[str]:
    """Colour swatches with their meaning, ``(colour, text)``, in a row from ``(x, y)``."""
    parts = ["<g class='legend'>"]
    for colour, text in items:
        parts.append(f"<rect x='{x:.1f}' y='{y - size + 1:.1f}' width='{size}' "
                     f"height='{size}' fill='{colour}'/><text x='{x + size + 4:.1f}' "
                     f"y='{y:.1f}' font-size='{size}'>{html.escape(text)}</text>")
        x += size + 14 + label_width(text, size)
    parts.append("</g>")
    return parts
