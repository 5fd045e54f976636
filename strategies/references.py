"""Reference decisions that every signal is compared with."""

from __future__ import annotations

from xai_backtest.signals.base import SignalFrame

__all__ = ["always_long"]


def always_long(decisions: SignalFrame) -> SignalFrame:
    """Long at every decision time of ``decisions`` (for intraday rules: every day's entry)."""
    frame = decisions.frame.assign(score=1.0, label="long", probability=1.0, direction=1,
                                   fold=-1)
    return SignalFrame("always_long", frame)
