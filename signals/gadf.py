"""Gramian angular fields of many price windows at once (numpy, checked against ``pyts``).

Each window ``x`` (one row) is rescaled to ``[-1, 1]`` over itself, ``phi = arccos(x)``,
and encoded as the difference field ``GADF[i, j] = sin(phi_i - phi_j)`` or the
summation field ``GASF[i, j] = cos(phi_i + phi_j)``. GADF is antisymmetric with a
zero diagonal: entry ``(i, j)`` relates the price at step ``i`` to the price at step
``j``, which is what lets a heatmap over the image be projected back onto time.

``bounds`` (each row's ``(low, high)``, ``(n, 2)``) rescales over given bounds instead of
the row's own, clipping to ``[-1, 1]``: the deletion test re-encodes a window whose steps
were set to a baseline with the ORIGINAL window's min and max, so blanking the window's
extreme does not rescale (and so change) every pixel.
"""

from __future__ import annotations

import numpy as np

__all__ = ["gadf", "gasf", "rescale"]


def rescale(windows: np.ndarray, bounds: np.ndarray | None = None) -> np.ndarray:
    """Min-max rescale each row of ``windows`` (shape ``(n, w)``) to ``[-1, 1]``, over its
    own min and max or over ``bounds`` ``(n, 2)`` (then clipped to ``[-1, 1]``).

    A flat row (max equals min) maps to zeros, i.e. ``phi = pi / 2`` everywhere.
    """
    x = np.asarray(windows, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"windows must be 2-D (n windows, w steps), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("windows contain NaN or inf; fill or drop those windows first")
    if bounds is None:
        low, high = x.min(axis=1, keepdims=True), x.max(axis=1, keepdims=True)
    else:
        limits = np.asarray(bounds, dtype=np.float64)
        if limits.shape != (len(x), 2):
            raise ValueError(f"bounds must be (n, 2) = ({len(x)}, 2), got {limits.shape}")
        low, high = limits[:, :1], limits[:, 1:]
    span = high - low
    flat = span == 0
    scaled = np.where(flat, 0.0, (2 * (x - low) - span) / np.where(flat, 1.0, span))
    return np.clip(scaled, -1.0, 1.0)


def _cos_sin(windows: np.ndarray,
             bounds: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    cos = rescale(windows, bounds)
    return cos, np.sqrt(np.clip(1.0 - cos**2, 0.0, 1.0))


def gadf(windows: np.ndarray, bounds: np.ndarray | None = None) -> np.ndarray:
    """Gramian angular difference fields, shape ``(n, w, w)``, float32."""
    cos, sin = _cos_sin(windows, bounds)
    field = sin[:, :, None] * cos[:, None, :] - cos[:, :, None] * sin[:, None, :]
    return field.astype(np.float32)


def gasf(windows: np.ndarray, bounds: np.ndarray | None = None) -> np.ndarray:
    """Gramian angular summation fields, shape ``(n, w, w)``, float32."""
    cos, sin = _cos_sin(windows, bounds)
    field = cos[:, :, None] * cos[:, None, :] - sin[:, :, None] * sin[:, None, :]
    return field.astype(np.float32)
