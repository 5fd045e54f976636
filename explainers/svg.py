"""Small helpers for figures written directly as SVG: colour-mapped images as PNG data URIs
and wrapped text lines (no figure library on the hot path; a run draws hundreds)."""

from __future__ import annotations

import base64
import html
import struct
import textwrap
import zlib

import numpy as np

__all__ = ["colour_map", "png_data_uri", "text_lines"]


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
