"""Wall time of the stages of a run, saved in run.json for the benchmarks."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from xai_backtest.storage.interrupts import check_interrupt

__all__ = ["Stopwatch"]


class Stopwatch:
    """Accumulates seconds per named stage."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the block; a Ctrl-C swallowed before or inside it stops the run here."""
        check_interrupt()
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
        check_interrupt()

    def rounded(self) -> dict[str, float]:
        return {k: round(v, 3) for k, v in self.seconds.items()}
