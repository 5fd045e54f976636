"""Buy-and-hold as an ordinary strategy, so it runs through the same engine and costs."""

from __future__ import annotations

from xai_backtest.strategies.signal_strategy import SignalStrategy

__all__ = ["BuyAndHold"]


class BuyAndHold(SignalStrategy):
    """Decides long at the close of the first bar and holds to the end."""

    def decide(self) -> tuple[int, int, str] | None:
        return (1, -1, "buy and hold") if len(self.data) == 1 else None
