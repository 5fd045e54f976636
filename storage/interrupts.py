"""Ctrl-C honoured at any moment of a run, even where a library swallows it.

Python turns SIGINT into ``KeyboardInterrupt`` wherever the main thread happens to be:
inside an import or a library call that catches every exception (a bare ``except:``),
it can be swallowed, and the run goes on. ``honour_interrupts()`` installs a handler
that also *records* the signal, and ``check_interrupt()`` (called between folds,
stages and figures) raises it again, so a swallowed Ctrl-C still stops the run within
one step.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["check_interrupt", "honour_interrupts"]

_interrupted = threading.Event()


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    _interrupted.set()
    raise KeyboardInterrupt


@contextmanager
def honour_interrupts() -> Iterator[None]:
    """Record SIGINT while the block runs (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _interrupted.clear()
    previous = signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        _interrupted.clear()  # a Ctrl-C belongs to the block it stopped


def check_interrupt() -> None:
    """Raise ``KeyboardInterrupt`` if a Ctrl-C arrived and was swallowed since."""
    if _interrupted.is_set():
        raise KeyboardInterrupt("interrupted (Ctrl-C)")
