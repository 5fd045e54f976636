"""A count of every row a loader removed or repaired, so nothing is dropped silently."""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from xai_backtest.data_feeds.errors import DataError

__all__ = ["CleaningReport", "clean_bars"]


@dataclass
class CleaningReport:
    """Rows removed or repaired while loading one source, by reason."""

    source: str
    rows_in: int = 0
    removed: Counter[str] = field(default_factory=Counter)
    repaired: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    #: what a reader should check, though nothing was changed (a price jump)
    notes: list[str] = field(default_factory=list)

    def record(self, reason: str, count: int, examples: list[str] | None = None) -> None:
        """Rows removed for ``reason``."""
        self._count(self.removed, reason, count, examples)

    def record_repair(self, reason: str, count: int, examples: list[str] | None = None) -> None:
        """Rows kept after a repair (e.g. truncated text)."""
        self._count(self.repaired, reason, count, examples)

    def _count(self, counter: Counter[str], reason: str, count: int,
               examples: list[str] | None) -> None:
        if count <= 0:
            return
        counter[reason] += count
        if examples:
            self.examples.setdefault(reason, []).extend(examples[:5])

    @property
    def rows_out(self) -> int:
        return self.rows_in - sum(self.removed.values())

    def summary(self) -> str:
        text = f"{self.source}: {self.rows_in} rows in, {self.rows_out} kept"
        if self.removed:
            text += "; removed " + ", ".join(f"{n} {r}" for r, n in sorted(self.removed.items()))
        if self.repaired:
            text += "; repaired " + ", ".join(f"{n} {r}" for r, n in
                                              sorted(self.repaired.items()))
        if not (self.removed or self.repaired):
            text = f"{self.source}: {self.rows_in} rows, nothing removed"
        return "; ".join([text, *self.notes])

    def warn(self) -> None:
        """Emit the summary as a warning when anything was removed or repaired."""
        if self.removed or self.repaired or self.notes:
            warnings.warn(self.summary(), stacklevel=3)


def clean_bars(frame: pd.DataFrame, source: str, report: CleaningReport) -> pd.DataFrame:
    """The one cleaning policy of bars, whether they came from a file, a folder, a long
    file or a DataFrame: rows out of time order are sorted, rows repeated exactly (same
    time, same values) are removed, each counted in ``report``; two different rows for
    one time are an error naming it (which of them is right cannot be known)."""
    index = frame.index
    if not isinstance(index, pd.DatetimeIndex) or index.hasnans:
        return frame  # validate_bars says what is wrong
    if not index.is_monotonic_increasing:
        backwards = int((np.diff(index.asi8) < 0).sum())
        report.record_repair("rows out of time order (sorted)", backwards)
        frame = frame.sort_index(kind="stable")
    repeated = frame.reset_index().duplicated().to_numpy()
    report.record("rows repeated exactly (same time and values)", int(repeated.sum()),
                  [str(t) for t in frame.index[repeated][:5]])
    frame = frame[~repeated]
    clash = frame.index.duplicated(keep=False)
    if clash.any():
        raise DataError(source, f"{int(clash.sum())} rows share a timestamp with different "
                        "values", "keep one bar per timestamp (which of them is right "
                        "cannot be told from the file)", where=f"{frame.index[clash][0]}")
    return frame
