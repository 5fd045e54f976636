"""The stream's append-only journal: SQLite in WAL mode, one file per stream.

Everything a restart needs is here: the bars seen, each decision with its explanation,
the orders (written before they are sent, marked sent after), the fills, the equity at
each bar, the fold models in use, and every stream event (late, duplicate, revised bars,
gaps, stalls). Rows are only ever inserted, never updated in place, except an order's
``sent`` flag; times are stored as UTC ISO text (so text order is time order); a
primary key on each row's identity makes a repeated write a no-op, so a step redone
after a crash cannot write anything twice.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["Journal"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bars (instrument TEXT, time TEXT, open REAL, high REAL, low REAL,
    close REAL, volume REAL, received_at TEXT, PRIMARY KEY (instrument, time));
CREATE TABLE IF NOT EXISTS headlines (instrument TEXT, available_at TEXT, text TEXT,
    received_at TEXT, PRIMARY KEY (instrument, available_at, text));
CREATE TABLE IF NOT EXISTS steps (instrument TEXT, time TEXT, done_at TEXT,
    decide_seconds REAL, book_seconds REAL, PRIMARY KEY (instrument, time));
CREATE TABLE IF NOT EXISTS decisions (signal TEXT, instrument TEXT, time TEXT, fold INTEGER,
    label TEXT, probability REAL, direction INTEGER, score REAL, known_at TEXT,
    explanation TEXT, PRIMARY KEY (signal, instrument, time));
CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, strategy TEXT, instrument TEXT,
    decided_at TEXT, seq INTEGER, size REAL, reason TEXT, sent INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS fills (order_id TEXT PRIMARY KEY, strategy TEXT, instrument TEXT,
    time TEXT, size REAL, price REAL, commission REAL, reason TEXT);
CREATE TABLE IF NOT EXISTS equity (strategy TEXT, time TEXT, value REAL,
    PRIMARY KEY (strategy, time));
CREATE TABLE IF NOT EXISTS models (signal TEXT, instrument TEXT, fold INTEGER,
    train_start TEXT, train_end TEXT, test_start TEXT, ready_at TEXT,
    PRIMARY KEY (signal, instrument, fold));
CREATE TABLE IF NOT EXISTS paper_orders (id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT,
    instrument TEXT, time TEXT, detail TEXT);
"""


def _iso(stamp: object) -> str | None:
    """A time as UTC ISO text: one offset, so the journal's text order is time order."""
    if stamp is None:
        return None
    value = pd.Timestamp(stamp)
    return (value.tz_convert("UTC") if value.tzinfo is not None else value).isoformat()


class Journal:
    """An open stream journal at ``path`` (created on first use, resumed after)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, isolation_level=None)  # autocommit; see write()
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    def write(self, table: str, rows: list[Mapping[str, Any]]) -> None:
        """Insert ``rows`` in one transaction; a row whose key is there already is kept as
        it was (a step redone after a crash writes nothing twice)."""
        if not rows:
            return
        columns = list(rows[0])
        sql = (f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) "
               f"VALUES ({', '.join('?' for _ in columns)})")
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany(sql, [[_cell(row[c]) for c in columns] for row in rows])

    def mark_sent(self, order_id: str) -> None:
        with self.db:
            self.db.execute("UPDATE orders SET sent = 1 WHERE id = ?", (order_id,))

    def event(self, kind: str, instrument: str, time: object, detail: str) -> None:
        self.write("events", [{"kind": kind, "instrument": instrument, "time": _iso(time),
                               "detail": detail}])

    def meta(self, key: str) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def set_meta(self, key: str, value: Any) -> None:
        self.write("meta", [{"key": key, "value": json.dumps(value)}])

    def frame(self, table: str, where: str = "", *params: object) -> pd.DataFrame:
        """A table as a frame (``where``: an SQL condition with ``?`` parameters)."""
        sql = f"SELECT * FROM {table}" + (f" WHERE {where}" if where else "")
        return pd.read_sql_query(sql, self.db, params=params)

    def rows(self, sql: str, *params: object) -> Iterator[tuple[Any, ...]]:
        yield from self.db.execute(sql, params)

    def last_time(self, table: str) -> str | None:
        """The latest ``time`` of ``table`` (UTC ISO text), or None."""
        return self.db.execute(f"SELECT MAX(time) FROM {table}").fetchone()[0]

    def count(self, table: str) -> int:
        return int(self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def _cell(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return _iso(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value
