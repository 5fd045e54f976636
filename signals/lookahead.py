"""Look-ahead caught where it shows: decisions that move when only later data moves.

The contract's perturbation test (``perturb_after``) is cheap enough to run on every real
run: at a few seeded cut points, every bar (and headline) from the cut on is redrawn, the
fitted fold models predict again, and each decision before the cut must come out the same.
A decision that changed read the future. ``lookahead_message`` says so in a few lines: the
signal, the cut, the first decision that changed and, where the signal names its inputs
(``Signal.inputs``), the first input column that changed, which is the one that leaks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Change", "first_changed_decision", "first_changed_input", "lookahead_cuts",
           "lookahead_message"]

#: decisions equal within this are the same decision (a cache round trip, summation order)
_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Change:
    """The earliest difference between two frames: at ``time``, ``column`` went from
    ``before`` to ``after``."""

    time: pd.Timestamp
    column: str
    before: object
    after: object

    def describe(self) -> str:
        return (f"{self.column!r} at {_stamp(self.time)}: {_value(self.before)} -> "
                f"{_value(self.after)}")


def _stamp(time: pd.Timestamp) -> str:
    """A date alone for daily decisions, else date, time and offset."""
    if time == time.normalize():
        return f"{time:%Y-%m-%d}"
    return f"{time:%Y-%m-%d %H:%M%z}"


def _value(value: object) -> str:
    if isinstance(value, float | np.floating):
        return "missing" if np.isnan(value) else f"{value:.6g}"
    return str(value)


def _first_change(before: pd.DataFrame, after: pd.DataFrame,
                  columns: Sequence[str]) -> Change | None:
    """The earliest row (and first of ``columns`` in it) where the frames differ; a row
    present in one frame only is a change of its first column."""
    index = before.index.union(after.index)
    left, right = before.reindex(index), after.reindex(index)
    changed = np.zeros((len(index), len(columns)), dtype=bool)
    for j, column in enumerate(columns):
        a, b = left[column], right[column]
        if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
            x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
            same = np.isclose(x, y, rtol=_TOLERANCE, atol=_TOLERANCE) | (np.isnan(x)
                                                                         & np.isnan(y))
        else:
            same = (a.astype(object).to_numpy() == b.astype(object).to_numpy()) | (
                a.isna().to_numpy() & b.isna().to_numpy())
        changed[:, j] = ~same
    rows = np.flatnonzero(changed.any(axis=1))
    if not len(rows):
        return None
    row = rows[0]
    column = columns[int(np.flatnonzero(changed[row])[0])]
    return Change(index[row], column, left[column].iloc[row], right[column].iloc[row])


def first_changed_decision(before: pd.DataFrame, after: pd.DataFrame,
                           cut: pd.Timestamp) -> Change | None:
    """The first decision before ``cut`` that differs between two decision frames
    (direction first, then label, probability and score)."""
    columns = [c for c in ("direction", "label", "probability", "score") if c in before]
    return _first_change(before[before.index < cut], after[after.index < cut], columns)


def first_changed_input(before: pd.DataFrame | None, after: pd.DataFrame | None,
                        cut: pd.Timestamp) -> Change | None:
    """The first input value before ``cut`` that differs (None when the signal does not
    name its inputs, or none differs)."""
    if before is None or after is None:
        return None
    return _first_change(before[before.index < cut], after[after.index < cut],
                         [str(c) for c in before.columns])


def lookahead_message(signal: str, cut: pd.Timestamp, decision: Change | None,
                      changed_input: Change | None, instrument: str | None = None,
                      names_inputs: bool = True) -> str:
    """Look-ahead in a few lines: what changed before ``cut``, where, and the fix."""
    where = f" on {instrument}" if instrument else ""
    what = "decisions" if decision is not None else "inputs"
    lines = [f"look-ahead in signal {signal!r}{where}: its {what} before {_stamp(cut)} changed "
             "when only the bars and headlines from then on were redrawn, so they read the "
             "future"]
    if decision is not None:
        lines.append(f"  first decision that changed: {decision.describe()}")
    if changed_input is not None:
        lines.append(f"  first input that changed: {changed_input.describe()}")
    elif names_inputs:
        lines.append("  no input column changed before the cut: the model itself reads "
                     "later data")
    else:
        lines.append("  its inputs are not named (implement Signal.inputs(data) to have the "
                     "leaking column named here)")
    lines.append("  Fix: compute each row from that bar and earlier ones only (no shift(-k), "
                 "no rolling(center=True), no statistic of the whole series); "
                 "check.lookahead: false skips this check, and the report then says the run "
                 "was not checked")
    return "\n".join(lines)


def lookahead_cuts(times: pd.DatetimeIndex, count: int, seed: int) -> list[pd.Timestamp]:
    """``count`` seeded cut points among the decision ``times``, each with at least one
    decision before it."""
    if len(times) < 2 or count < 1:
        return []
    rng = np.random.default_rng(seed)
    picks = rng.choice(np.arange(1, len(times)), size=min(count, len(times) - 1),
                       replace=False)
    return [times[i] for i in sorted(picks)]
