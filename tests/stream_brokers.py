"""Brokers for the stream tests: a user's broker plugged in by module:Class, and one that
crashes the process (an exception no handler catches) around a chosen order."""

from __future__ import annotations

from xai_backtest.engine.stream.broker import Fill, Order


class Crash(BaseException):
    """The process dies here (not an Exception: nothing in the stream may swallow it)."""


class FakeBroker:
    """Records every order it is sent; an id it has seen is ignored (a client order id)."""

    received: list[str] = []  # every submit call, duplicates included (class-wide)

    def __init__(self) -> None:
        self.placed: dict[str, Order] = {}

    def submit(self, order: Order) -> None:
        FakeBroker.received.append(order.id)
        self.placed.setdefault(order.id, order)

    def cancel(self, order_id: str) -> None:
        self.placed.pop(order_id, None)

    def positions(self) -> dict[tuple[str, str], float]:
        return {}

    def fills(self) -> list[Fill]:
        return []


class CrashingBroker(FakeBroker):
    """Dies at the ``at``-th submit, ``before`` or after placing the order."""

    def __init__(self, at: int, before: bool) -> None:
        super().__init__()
        self.at, self.before, self.calls = at, before, 0

    def submit(self, order: Order) -> None:
        self.calls += 1
        if self.calls == self.at and self.before:
            raise Crash
        super().submit(order)
        if self.calls == self.at:
            raise Crash
