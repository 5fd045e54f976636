"""A count of every row a loader removed or repaired, so nothing is dropped silently."""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass, field

__all__ = ["CleaningReport"]


@dataclass
class CleaningReport:
    """Rows removed or repaired while loading one source, by reason."""

    source: str
    rows_in: int = 0
    removed: Counter[str] = field(default_factory=Counter)
    repaired: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

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
        return text if self.removed or self.repaired else f"{self.source}: {self.rows_in} " \
            "rows, nothing removed"

    def warn(self) -> None:
        """Emit the summary as a warning when anything was removed or repaired."""
        if self.removed or self.repaired:
            warnings.warn(self.summary(), stacklevel=3)
