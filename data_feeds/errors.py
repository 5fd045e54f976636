"""The one error type of the data layer."""

from __future__ import annotations

__all__ = ["DataError"]


class DataError(ValueError):
    """Bad input data: names where (file, row or timestamp), what is wrong and how to fix it."""

    def __init__(self, source: str, problem: str, fix: str, where: str | None = None) -> None:
        self.source = source
        self.where = where
        self.problem = problem
        self.fix = fix
        location = f"{source}, {where}" if where else source
        super().__init__(f"{location}: {problem}. Fix: {fix}")
