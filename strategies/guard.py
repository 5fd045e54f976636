"""A guard against reading the future inside strategy code.

With preloaded data backtrader's ``data.close[1]`` silently returns the NEXT bar.
While a guarded strategy's own code runs (``next``, ``next_open``), any line read with
a positive index raises ``LookAheadError``; backtrader's internals, which legitimately
peek at the next timestamp, are unaffected. Reading ``line.array`` directly bypasses
the guard: index lines only with ``[0]`` (this bar) or negative numbers (past bars).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

from backtrader.linebuffer import LineBuffer

from xai_backtest.errors import LookAheadError

__all__ = ["LookAheadError", "guarded", "strategy_code"]


_depth = 0
_plain_getitem = LineBuffer.__getitem__


def _checked_getitem(self: LineBuffer, ago: int) -> Any:
    if _depth and ago > 0:
        raise LookAheadError(
            f"strategy code read line index [{ago}], a bar {ago} step(s) in the future; "
            "use [0] for the current bar and negative indices for past bars")
    return _plain_getitem(self, ago)


LineBuffer.__getitem__ = _checked_getitem


@contextmanager
def strategy_code() -> Iterator[None]:
    """Run the block as strategy code: forward reads raise ``LookAheadError``."""
    global _depth
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1


def guarded(method: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a strategy method so its body runs under ``strategy_code``."""

    @wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with strategy_code():
            return method(*args, **kwargs)

    return wrapper
