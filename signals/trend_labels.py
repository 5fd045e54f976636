"""Five-trend labels: which price pattern the next ``horizon`` closes after ``t`` draw.

The rule, for decision ``t`` and horizon ``H``:

1. The path is ``x_k = close[t+k] / close[t] - 1`` for ``k = 0 .. H`` (it uses the
   bars ``t+1 .. t+H`` only; ``x_0 = 0``). Where fewer than ``H`` bars follow ``t``
   the label is unknown (``None``).
2. No clear trend: if the path's range ``max(x) - min(x)`` is below ``min_range``
   (a fraction of close[t]) the label is ``"none"``.
3. Otherwise the path is compared with five templates on ``u = k / H``:
   ``upward`` u, ``downward`` -u, ``rounded_top`` 4u(1-u) (rise, then fall back),
   ``rounded_bottom`` -4u(1-u) (fall, then recover) and ``double_top``
   sin^2(2 pi u) (two peaks at u = 1/4 and 3/4 with a dip between). The fit of
   each is the Pearson correlation between ``x`` and the template; the label is the
   best-fitting template (ties go to the earlier one in ``CLASSES``).
4. If the best correlation is below ``min_fit`` the label is ``"none"``.

What happens to ``"none"`` is the signal's choice: drop those samples from
training and evaluation (the paper's five classes), or keep them as a sixth class.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from xai_backtest.errors import XaiBacktestError

__all__ = ["CLASSES", "NONE", "LabelRuleError", "templates", "trend_labels"]

CLASSES: tuple[str, ...] = ("upward", "downward", "double_top", "rounded_bottom", "rounded_top")
NONE = "none"


class LabelRuleError(XaiBacktestError, ValueError):
    """A label-rule parameter out of range."""


def templates(horizon: int) -> np.ndarray:
    """The five template paths (rows, in ``CLASSES`` order) over ``horizon + 1`` points."""
    u = np.linspace(0.0, 1.0, horizon + 1)
    shapes = {
        "upward": u,
        "downward": -u,
        "double_top": np.sin(2 * np.pi * u) ** 2,
        "rounded_bottom": -4 * u * (1 - u),
        "rounded_top": 4 * u * (1 - u),
    }
    return np.stack([shapes[c] for c in CLASSES])


def trend_labels(close: pd.Series, horizon: int = 10, min_range: float = 0.02,
                 min_fit: float = 0.6) -> pd.Series:
    """The label of every bar of ``close`` by the rule above (``None`` for the last
    ``horizon`` bars)."""
    if horizon < 4:
        raise LabelRuleError(f"horizon must be >= 4 bars to tell the shapes apart, got {horizon}")
    if min_range < 0:
        raise LabelRuleError(f"min_range must be >= 0 (a fraction of the close), got {min_range}")
    if not -1 <= min_fit <= 1:
        raise LabelRuleError(f"min_fit is a correlation and must lie in [-1, 1], got {min_fit}")
    values = close.to_numpy(dtype=float)
    labels = np.full(len(values), None, dtype=object)
    if len(values) > horizon:
        paths = sliding_window_view(values, horizon + 1)
        paths = paths / paths[:, :1] - 1
        span = paths.max(axis=1) - paths.min(axis=1)
        centred = paths - paths.mean(axis=1, keepdims=True)
        norm = np.linalg.norm(centred, axis=1)
        shapes = templates(horizon)
        shapes = shapes - shapes.mean(axis=1, keepdims=True)
        shapes /= np.linalg.norm(shapes, axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            fit = (centred @ shapes.T) / norm[:, None]
        best = np.argmax(np.nan_to_num(fit, nan=-np.inf), axis=1)
        best_fit = np.take_along_axis(fit, best[:, None], axis=1)[:, 0]
        chosen = np.asarray(CLASSES, dtype=object)[best]
        clear = (span >= min_range) & (best_fit >= min_fit)
        labels[: len(paths)] = np.where(clear, chosen, NONE)
    return pd.Series(labels, index=close.index, dtype=object, name="trend")
