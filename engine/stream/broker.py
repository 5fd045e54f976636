"""Where a stream's orders go: the ``Broker`` interface and the paper broker.

A broker takes orders (``submit``), cancels them (``cancel``), and reports ``positions``
and the ``fills`` since the last call. Every order carries a deterministic id built from
strategy, instrument, the bar it was decided at and its sequence number, and ``submit``
must treat an id it has seen as already placed (a real broker's client order id): a
stream that resumes after a crash re-sends only orders its journal does not mark sent,
and an id makes that safe even when the crash fell between sending and marking.

``PaperBroker`` is the only broker shipped: it fills each order with the fill the run's
own engine makes at the next open (engine/stream/book.py), so a paper stream's fills are
the backtest's. A user's broker (say alpaca-py's paper API) is a class with these four
methods, named ``module:Class`` as signals are.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import pandas as pd

from xai_backtest.engine.stream.journal import Journal
from xai_backtest.engine.stream.online import StreamError

__all__ = ["Broker", "Fill", "Order", "PaperBroker", "load_broker", "order_id"]


def order_id(strategy: str, instrument: str, decided_at: pd.Timestamp, seq: int) -> str:
    """The deterministic id of an order: the same bar decided again gives the same id."""
    return f"{strategy}|{instrument}|{pd.Timestamp(decided_at).isoformat()}|{seq}"


@dataclass(frozen=True)
class Order:
    """A market order for the next open: ``size`` shares (negative: sell), sized by the
    strategy's rules at the last close."""

    id: str
    strategy: str
    instrument: str
    decided_at: pd.Timestamp
    size: float
    reason: str


@dataclass(frozen=True)
class Fill:
    """An executed order."""

    order_id: str
    strategy: str
    instrument: str
    time: pd.Timestamp
    size: float
    price: float
    commission: float
    reason: str


@runtime_checkable
class Broker(Protocol):
    """What a stream needs of a broker."""

    def submit(self, order: Order) -> None: ...

    def cancel(self, order_id: str) -> None: ...

    def positions(self) -> dict[tuple[str, str], float]: ...

    def fills(self) -> list[Fill]: ...


class PaperBroker:
    """Fills each order with the engine's fill at the next open; its ledger (orders
    accepted, fills) lives in the stream's journal, so a restart knows what it accepted."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._new: list[Fill] = []

    def submit(self, order: Order) -> None:
        self.journal.write("paper_orders", [{"id": order.id}])

    def cancel(self, order_id: str) -> None:
        """Refused: the paper broker fills every order at the next open, as the backtest
        does, so cancelling one would make the paper book differ from its own fills."""
        raise StreamError(f"order {order_id}: the paper broker fills every order at the next "
                          "open as the backtest does; it cannot cancel one")

    def accepted(self, order_id: str) -> bool:
        return any(self.journal.rows("SELECT 1 FROM paper_orders WHERE id = ?", order_id))

    def settle(self, fills: Iterable[Fill]) -> None:
        """The engine's fills of this bar (called by the stream)."""
        self._new.extend(fills)

    def positions(self) -> dict[tuple[str, str], float]:
        out: dict[tuple[str, str], float] = {}
        for strategy, instrument, size in self.journal.rows(
                "SELECT strategy, instrument, SUM(size) FROM fills GROUP BY 1, 2"):
            out[(strategy, instrument)] = float(size)
        return out

    def fills(self) -> list[Fill]:
        new, self._new = self._new, []
        return new


def load_broker(target: str, journal: Journal) -> Broker:
    """``paper``, or a user's ``module:Class`` (built with no arguments)."""
    if target == "paper":
        return PaperBroker(journal)
    module, _, name = target.partition(":")
    if not name:
        raise ValueError(f"broker {target!r}: use 'paper' or 'package.module:Class'")
    broker = getattr(importlib.import_module(module), name)()
    if not isinstance(broker, Broker):
        raise TypeError(f"broker {target!r} lacks submit, cancel, positions or fills")
    return broker
