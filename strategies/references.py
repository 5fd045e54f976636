"""References every signal is compared with: their names, one list, and reference decisions.

A run adds these strategies itself beside the user's signals, so no signal may take one of
``REFERENCE_NAMES`` (engine/config.py refuses it). On a universe, a single-instrument
reference carries its instrument: ``on_instrument(BUY_AND_HOLD, "TCS")`` is
``"buy_and_hold[TCS]"``.
"""

from __future__ import annotations

from xai_backtest.signals.base import SignalFrame

__all__ = ["ALWAYS_FLAT", "ALWAYS_LONG", "BUY_AND_HOLD", "ENSEMBLE", "EQUAL_WEIGHT_HELD",
           "EQUAL_WEIGHT_REBALANCED", "REFERENCE_NAMES", "always_long", "is_reference",
           "on_instrument"]

BUY_AND_HOLD = "buy_and_hold"
ALWAYS_LONG = "always_long"
ALWAYS_FLAT = "always_flat"
ENSEMBLE = "ensemble"  # the vote of the run's signals (signals/ensemble.py)
EQUAL_WEIGHT_REBALANCED = "equal_weight_rebalanced"  # a universe's equal-weight references
EQUAL_WEIGHT_HELD = "equal_weight_held"

#: every strategy name a run adds itself; none may name a signal
REFERENCE_NAMES = (BUY_AND_HOLD, ALWAYS_LONG, ALWAYS_FLAT, ENSEMBLE, EQUAL_WEIGHT_REBALANCED,
                   EQUAL_WEIGHT_HELD)


def on_instrument(reference: str, instrument: str) -> str:
    """The name of ``reference`` run on one instrument of a universe: ``"buy_and_hold[TCS]"``."""
    if reference not in REFERENCE_NAMES:
        raise ValueError(f"{reference!r} is not a reference; use one of {list(REFERENCE_NAMES)}")
    return f"{reference}[{instrument}]"


def is_reference(name: str) -> bool:
    """Whether ``name`` is a reference's, alone or on one instrument (``buy_and_hold[TCS]``)."""
    return name.split("[", 1)[0] in REFERENCE_NAMES


def always_long(decisions: SignalFrame) -> SignalFrame:
    """Long at every decision time of ``decisions`` (for intraday rules: every day's entry)."""
    frame = decisions.frame.assign(score=1.0, label="long", probability=1.0, direction=1,
                                   fold=-1)
    return SignalFrame(ALWAYS_LONG, frame)
