"""A run driven bar by bar: the one pipeline of engine/runner.py, fed by a source.

Start: the history before the stream (a replay's bars before ``start``, or the config's
data for a live source) goes through the batch pipeline's own pieces: each signal's
walk-forward fitted and predicted on it (engine/folds.py, the model cache shared with
backtests). Then, for each bar that closes, in this order:

1. every signal decides with the fold model active at that time, and the decision is
   explained (with its faithfulness record) by that model (engine/stream/online.py);
2. the run's engine books the bar (engine/stream/book.py): the fills of the orders sent
   at the last close, the equity, and the orders for the next open;
3. the orders go to the broker (written to the journal first, marked sent after);
4. one line per decision is printed and the live page is rewritten.

Everything is written to an append-only journal (engine/stream/journal.py) before it is
acted on, so a stream killed at any point resumes where it stopped, with no bar decided
twice and no order sent twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from xai_backtest.data_feeds.calendars import exchange_calendar
from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.data_feeds.stream_sources import BarEvent, HeadlineEvent, Source
from xai_backtest.data_feeds.universe import Universe
from xai_backtest.engine.config import RunConfig
from xai_backtest.engine.folds import PerInstrument, build_fold_models
from xai_backtest.engine.seeding import seed_everything
from xai_backtest.engine.stream.book import Book, SignalBook, book_universe
from xai_backtest.engine.stream.broker import Broker, Fill, Order, PaperBroker, order_id
from xai_backtest.engine.stream.guard import StreamGuard
from xai_backtest.engine.stream.journal import Journal
from xai_backtest.engine.stream.live_page import write_live_page
from xai_backtest.engine.stream.online import (
    Decision,
    OnlineWalkForward,
    StreamError,
    Trainer,
)
from xai_backtest.explainers.base import Explanation
from xai_backtest.signals.base import SIGNAL_COLUMNS, SignalFrame
from xai_backtest.signals.walk_forward import TooFewDecisions, WalkForwardSignal
from xai_backtest.storage.cache import content_hash

__all__ = ["Stream", "StreamResult"]

Echo = Callable[[str], None]


@dataclass(frozen=True)
class StreamResult:
    """What a stream journaled, as frames: every decision (with its explanation id and
    sentence), order, fill, the equity of each strategy per bar, and the stream events
    (late, duplicate, revised bars, gaps, stalls, waits) with their counts."""

    folder: Path
    decisions: pd.DataFrame
    explanations: dict[str, Explanation]
    orders: pd.DataFrame
    fills: pd.DataFrame
    equity: pd.DataFrame
    events: pd.DataFrame

    @property
    def counts(self) -> dict[str, int]:
        return self.events["kind"].value_counts().to_dict() if len(self.events) else {}


class Stream:
    """``config``'s signals and strategy on the bars ``source`` delivers, after
    ``history`` (instrument -> ``MarketData``), journaled in ``folder``.

    - ``universe``: the universe a portfolio trades (its sessions and what was dropped;
      its bars grow with the stream).
    - ``broker``: where orders go (default: the paper broker); ``echo``: where the line
      per decision goes (default: print).
    - ``in_worker``: train fold models in a worker interpreter (default) or here.
    - ``stall_after``: seconds without a bar before the heartbeat warns (default: three
      bar intervals); ``poll_every``: seconds between polls of a quiet source (default:
      the source's ``poll_every``, else 1).
    - ``calendar``: the exchange (``NYSE``, ``NSE`` or an exchange_calendars code;
      default ``data.session``): gaps are counted in its sessions and daily bars are
      printed at its session close (UTC).
    """

    def __init__(self, config: RunConfig, source: Source, folder: str | Path,
                 history: Mapping[str, MarketData], *, universe: Universe | None = None,
                 broker: Broker | None = None,
                 echo: Echo | None = print, in_worker: bool = True,
                 stall_after: float | None = None, poll_every: float | None = None,
                 calendar: str | None = None, journal: Journal | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.config, self.source = config, source
        self.folder = Path(folder)
        self.journal = journal or Journal(self.folder / "journal.sqlite")
        self.broker = broker if broker is not None else PaperBroker(self.journal)
        self.echo = echo or (lambda line: None)
        self.clock, self.sleep = clock, sleep
        self.poll_every = poll_every if poll_every is not None else float(
            getattr(source, "poll_every", 1.0))
        self.interval = source.interval
        self.stall_after = stall_after if stall_after is not None else (
            3 * self.interval.total_seconds() if self.interval is not None else 300.0)
        seed_everything(config.seed, config.threads)
        self._check_journal()
        self.universe = universe
        self.signal_book = SignalBook(config, self.interval, self._book_warning)
        self.datas = self._history(history)
        self.decisions: dict[str, list[dict[str, object]]] = {}
        self.members: dict[str, tuple[str, str]] = {}  # decision frame -> signal, instrument
        self.signals = self._start_signals(Trainer(config.seed, config.threads, in_worker))
        self.calendar = exchange_calendar(calendar or getattr(config.data, "session", None)
                                          or "none")
        self.guard = StreamGuard({n: d.bars for n, d in self.datas.items()}, self._event,
                                 self.calendar, self.interval)
        self._last_bar_at = clock()
        self._stalled = False
        if not self.journal.count("steps"):
            book = self._book()  # the orders for the first streamed bar's open
            if book is not None:
                self._trade(book, fills=False)

    # -- start and resume --------------------------------------------------------------------
    def _check_journal(self) -> None:
        key = content_hash("stream config", self.config.model_dump(mode="json"))[:16]
        known = self.journal.meta("config")
        if known is None:
            self.journal.set_meta("config", key)
        elif known != key:
            raise StreamError(f"{self.journal.path} is the journal of another config; "
                              "stream into a new folder, or delete it to start afresh")

    def _history(self, given: Mapping[str, MarketData]) -> dict[str, MarketData]:
        """The bars so far: the journal's when resuming, else ``given`` (journaled)."""
        bars = self.journal.frame("bars")
        if not len(bars):
            for name, data in given.items():
                self._journal_bars(name, data.bars, None)
                if data.headlines is not None:
                    self._journal_headlines(name, data.headlines, None)
            return dict(given)
        tz = self.journal.meta("tz")
        out = {}
        for name, rows in bars.groupby("instrument", sort=False):
            index = pd.DatetimeIndex(pd.to_datetime(rows["time"], utc=True)).tz_convert(tz)
            frame = rows[["open", "high", "low", "close", "volume"]].set_axis(index)
            frame.index.name = given[name].bars.index.name if name in given else None
            out[str(name)] = MarketData(frame, self._headlines(str(name), given.get(name)),
                                        symbol=given[name].symbol if name in given else "")
        return out

    def _headlines(self, name: str, given: MarketData | None) -> pd.DataFrame | None:
        if given is None or given.headlines is None:
            return None
        known = self.journal.frame("headlines", "instrument = ?", name)
        template = given.headlines
        keys = set(zip(known["available_at"], known["text"], strict=True))
        stamps = template["available_at"].map(
            lambda t: pd.Timestamp(t).tz_convert("UTC").isoformat())
        kept = [k in keys for k in zip(stamps, template["text"], strict=True)]
        return template[kept]

    def _start_signals(self, trainer: Trainer) -> dict[str, OnlineWalkForward]:
        """Each signal's walk-forward on the history (the batch pipeline: fitted, from the
        model cache when there), then driven online; a resumed stream's decisions come
        from the journal."""
        journaled = self.journal.frame("decisions")
        out = {}
        for spec in self.config.signals:
            model = build_fold_models(spec, self.config, list(self.datas), progress=False,
                                      universe=self.universe is not None)
            if not isinstance(model, PerInstrument):
                raise StreamError(f"signal {spec.name!r} is pooled over the universe; a "
                                  "stream decides per instrument (set pooled: false)")
            for instrument, walk in model.walks.items():
                out[walk.name] = self._start_one(spec.name, instrument, walk, journaled,
                                                 trainer)
        if self.journal.meta("tz") is None:
            data = next(iter(self.datas.values()))
            self.journal.set_meta("tz", str(data.bars.index.tz))
        return out

    def _start_one(self, signal: str, instrument: str, walk: WalkForwardSignal,
                   journaled: pd.DataFrame, trainer: Trainer) -> OnlineWalkForward:
        """One signal on one instrument: its decisions on the history (the journal's when
        resuming), then online."""
        data = self.datas[instrument]
        self.members[walk.name] = (signal, instrument)
        mine = journaled[journaled["signal"] == walk.name]
        online = OnlineWalkForward(walk.clone(), instrument, trainer)
        if len(mine):
            rows = mine.drop(columns=["signal", "instrument"]).to_dict("records")
            online.decided_until = pd.Timestamp(mine["time"].iloc[-1])
        else:
            rows = _batch_decisions(walk, data)
            self.journal.write("decisions", [{"signal": walk.name, "instrument": instrument,
                                              **r} for r in rows])
            online.decided_until = data.bars.index[-1] if len(data.bars) else None
            if rows:  # the history's last fold model decides on
                online.adopt(walk.folds_[-1], walk.models_[-1])
                online.warm_up(data, pd.Timestamp(rows[-1]["time"]))
        self.decisions[walk.name] = rows
        return online

    # -- the loop ---------------------------------------------------------------------------
    def run(self, max_bars: int | None = None) -> StreamResult:
        """Poll the source and step each new bar until it is finished (or ``max_bars``
        bars have been stepped); finishes any step a crash left half done first."""
        self._finish_step()
        self._resend_unsent()
        stepped = 0
        while max_bars is None or stepped < max_bars:
            events = self.source.poll()
            if not events:
                if self.source.finished:
                    break
                self._heartbeat()
                self.sleep(self.poll_every)
                continue
            bars, headlines = self.guard.admit(events)
            self._add_headlines(headlines)
            for stamp in sorted({b.time for b in bars}):
                self._step([b for b in bars if b.time == stamp])
                stepped += 1
                if max_bars is not None and stepped >= max_bars:
                    break
        return self.result()

    def _finish_step(self) -> None:
        """A bar journaled but not stepped (the process died during its step): its step
        again, from what the journal kept (decisions made are not made again; orders,
        fills and equity already written are kept as they were)."""
        streamed = self.journal.frame("bars", "received_at IS NOT NULL AND time > ?",
                                      self.journal.last_time("steps") or "")
        if not len(streamed):
            return
        last = streamed[streamed["time"] == streamed["time"].max()]
        tz = next(iter(self.datas.values())).bars.index.tz
        stamp = pd.Timestamp(last["time"].iloc[0]).tz_convert(tz)
        self._decide_and_trade(stamp, [str(name) for name in last["instrument"]])

    def _book_warning(self, said: str) -> None:
        self._event("book_restart_differs", "", pd.Timestamp.now(tz="UTC"), said)
        self.echo(f"warning: {said}")

    def _heartbeat(self) -> None:
        quiet = self.clock() - self._last_bar_at
        if quiet >= self.stall_after and not self._stalled:
            self._stalled = True
            self._event("stall", "", pd.Timestamp.now(tz="UTC"),
                        f"no bar for {quiet:.0f} s (expected one every "
                        f"{self.interval}); still waiting")
            self.echo(f"warning: the source has sent no bar for {quiet:.0f} s")

    def _step(self, bars: list[BarEvent]) -> None:
        stamp = bars[0].time
        for bar in bars:
            self._journal_bars(bar.instrument, pd.DataFrame(
                [bar.row()], index=pd.DatetimeIndex([stamp])), bar.received_at)
            data = self.datas[bar.instrument]
            row = pd.DataFrame([bar.row()], index=pd.DatetimeIndex([stamp],
                                                                  name=data.bars.index.name))
            self.datas[bar.instrument] = MarketData(pd.concat([data.bars, row]),
                                                    data.headlines, data.symbol)
            self.guard.seen[bar.instrument] = self.datas[bar.instrument].bars
        self._last_bar_at, self._stalled = self.clock(), False
        self._decide_and_trade(stamp, [bar.instrument for bar in bars])

    def _decide_and_trade(self, stamp: pd.Timestamp, instruments: list[str]) -> None:
        """Steps 1-4 of the module docstring for the bar(s) at ``stamp``, journaled."""
        started = time.perf_counter()
        made: list[Decision] = []
        for online in self.signals.values():
            made.extend(online.step(self.datas[online.instrument], stamp))
        for decision in made:
            self._journal_decision(decision)
        decided = time.perf_counter()
        book = self._book()
        orders = self._trade(book) if book is not None else []
        booked = time.perf_counter()
        for decision in made:
            self.echo(_line(decision, orders, self._closed_at(decision.time)))
        self.journal.write("steps", [{"instrument": name, "time": stamp,
                                      "done_at": pd.Timestamp.now(tz="UTC"),
                                      "decide_seconds": decided - started,
                                      "book_seconds": booked - decided}
                                     for name in instruments])
        write_live_page(self.folder / "live.html", self.journal)

    def _closed_at(self, stamp: pd.Timestamp) -> pd.Timestamp:
        """When the bar labelled ``stamp`` closed, in UTC: its session's close for a
        daily bar on a known exchange, else its own stamp (intraday bars are labelled at
        their close)."""
        daily = self.interval is None or self.interval >= pd.Timedelta(hours=20)
        if daily and self.calendar is not None:
            return self.calendar.close_utc(stamp)
        return stamp.tz_convert("UTC")

    def _book(self) -> Book | None:
        tz = next(iter(self.datas.values())).bars.index.tz
        frames = {name: _frame(name, rows, tz) for name, rows in self.decisions.items()}
        if self.universe is None:
            (data,) = self.datas.values()
            return self.signal_book.book(data.bars, frames)
        by_signal: dict[str, dict[str, SignalFrame]] = {}
        for name, frame in frames.items():
            signal, instrument = self.members[name]
            by_signal.setdefault(signal, {})[instrument] = frame
        now = replace(self.universe, bars={n: d.bars for n, d in self.datas.items()})
        return book_universe(self.config, now.without({}), by_signal, self.interval)

    def _trade(self, book: Book, fills: bool = True) -> list[Order]:
        """Fill the orders sent at the last close (``fills``), journal the equity, send the
        next open's orders; returns those."""
        only = next(iter(self.datas))
        previous = self.journal.last_time("equity")  # the close the last orders were sent at
        done = []
        for strategy, rows in book.fills.items() if fills else ():
            seqs: dict[str, int] = {}
            for row in rows.itertuples():
                instrument = str(getattr(row, "instrument", only))
                seq = seqs[instrument] = seqs.get(instrument, -1) + 1
                done.append(Fill(self._filled_order(strategy, instrument, book.time, seq,
                                                    previous),
                                 strategy, instrument, book.time, float(row.size),
                                 float(row.price), float(row.commission), str(row.reason)))
        self.journal.write("fills", [vars(f) for f in done])
        if isinstance(self.broker, PaperBroker):
            self.broker.settle(done)
        for strategy, rows in book.rejected.items():
            for row in rows.itertuples():
                self._event("rejected", str(getattr(row, "instrument", only)), book.time,
                            f"{strategy}: order of {row.size:+g} refused ({row.status}): "
                            f"{row.reason}")
        self.journal.write("equity", [{"strategy": s, "time": book.time, "value": v}
                                      for s, v in book.equity.items()])
        orders: list[tuple[int, Order]] = []
        sent: dict[tuple[str, str], int] = {}
        for strategy, rows in book.orders.items():
            for row in rows.itertuples():
                instrument = str(getattr(row, "instrument", only))
                seq = sent[strategy, instrument] = sent.get((strategy, instrument), -1) + 1
                orders.append((seq, Order(order_id(strategy, instrument, book.time, seq),
                                          strategy, instrument, book.time, float(row.size),
                                          str(row.reason))))
        self.journal.write("orders", [{**vars(o), "seq": seq} for seq, o in orders])
        for _, order in orders:
            self._send(order)
        return [order for _, order in orders]

    def _filled_order(self, strategy: str, instrument: str, at: pd.Timestamp, seq: int,
                      previous: str | None) -> str:
        """The id of the order a fill at ``at`` executed: the ``seq``-th order sent at the
        ``previous`` close, or (a rule the paper broker applied within the bar, such as a
        stop) an order of this bar, journaled now."""
        sent = list(self.journal.rows(
            "SELECT id FROM orders WHERE strategy = ? AND instrument = ? AND decided_at = ? "
            "ORDER BY seq", strategy, instrument, previous))
        if seq < len(sent):
            return str(sent[seq][0])
        own = order_id(strategy, instrument, at, 1000 + seq)
        self.journal.write("orders", [{"id": own, "strategy": strategy,
                                       "instrument": instrument, "decided_at": at,
                                       "seq": 1000 + seq, "size": None,
                                       "reason": "filled within the bar", "sent": 1}])
        return own

    def _send(self, order: Order) -> None:
        self.broker.submit(order)
        self.journal.mark_sent(order.id)

    def _resend_unsent(self) -> None:
        """Orders journaled but not marked sent (a crash between the two): sent again
        unless the paper broker has them (a user's broker must ignore a known id)."""
        for row in self.journal.frame("orders", "sent = 0").itertuples():
            order = Order(row.id, row.strategy, row.instrument, pd.Timestamp(row.decided_at),
                          float(row.size), row.reason)
            if isinstance(self.broker, PaperBroker) and self.broker.accepted(order.id):
                self.journal.mark_sent(order.id)
            else:
                self._send(order)

    # -- journal ----------------------------------------------------------------------------
    def _event(self, kind: str, instrument: str, stamp: pd.Timestamp, detail: str) -> None:
        self.journal.event(kind, instrument, stamp, detail)

    def _journal_bars(self, name: str, bars: pd.DataFrame,
                      received: pd.Timestamp | None) -> None:
        rows = bars.loc[:, ["open", "high", "low", "close", "volume"]].astype(float)
        self.journal.write("bars", [{"instrument": name, "time": t, **row,
                                     "received_at": received}
                                    for t, row in zip(rows.index, rows.to_dict("records"),
                                                      strict=True)])

    def _journal_headlines(self, name: str, frame: pd.DataFrame,
                           received: pd.Timestamp | None) -> None:
        self.journal.write("headlines", [{"instrument": name, "available_at": pd.Timestamp(a),
                                          "text": str(t), "received_at": received}
                                         for a, t in zip(frame["available_at"], frame["text"],
                                                         strict=True)])

    def _add_headlines(self, headlines: list[HeadlineEvent]) -> None:
        for item in headlines:
            data = self.datas[item.instrument]
            row = pd.DataFrame([dict(item.row)])
            self._journal_headlines(item.instrument, row, item.received_at)
            merged = row if data.headlines is None else pd.concat([data.headlines, row],
                                                                  ignore_index=True)
            self.datas[item.instrument] = MarketData(data.bars, merged, data.symbol)

    def _journal_decision(self, decision: Decision) -> None:
        row = {**decision.row, "time": decision.time,
               "explanation": decision.explanation.to_json() if decision.explanation
               else None}
        self.decisions.setdefault(decision.signal, []).append(row)
        self.journal.write("decisions", [{"signal": decision.signal,
                                          "instrument": decision.instrument, **row}])
        if decision.waited > 0.05:
            self._event("waited", decision.instrument, decision.time,
                        f"{decision.signal}: the decision waited {decision.waited:.2f} s for "
                        f"fold {decision.row['fold']}'s model (walk_forward.embargo >= 1 "
                        "trains it a bar ahead)")

    def result(self) -> StreamResult:
        """The journal as frames, times in the data's time zone."""
        j = self.journal
        tz = next(iter(self.datas.values())).bars.index.tz

        def timed(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
            for column in columns:
                frame[column] = pd.to_datetime(frame[column], utc=True).dt.tz_convert(tz)
            return frame

        decisions = j.frame("decisions", "explanation IS NOT NULL")
        explanations = {e.id: e for e in (Explanation.from_json(text)
                                          for text in decisions["explanation"])}
        equity = timed(j.frame("equity"), "time")
        wide = (equity.pivot(index="time", columns="strategy", values="value")
                if len(equity) else pd.DataFrame())
        return StreamResult(
            folder=self.folder, explanations=explanations, equity=wide,
            decisions=timed(decisions.drop(columns="explanation"), "time", "known_at"),
            orders=timed(j.frame("orders"), "decided_at"), fills=timed(j.frame("fills"), "time"),
            events=timed(j.frame("events"), "time"))


def _batch_decisions(walk: WalkForwardSignal, data: MarketData) -> list[dict[str, object]]:
    """The walk-forward's decisions on the history, as the backtest makes them."""
    try:
        frame = walk.fit(data).predict(data).frame
    except TooFewDecisions:
        return []
    return [{"time": t, **{c: row[c] for c in SIGNAL_COLUMNS}, "explanation": None}
            for t, row in zip(frame.index, frame.to_dict("records"), strict=True)]


def _frame(name: str, rows: list[dict[str, object]], tz: object) -> SignalFrame:
    if not rows:
        return SignalFrame.empty(name, str(tz))
    frame = pd.DataFrame(rows)
    index = pd.DatetimeIndex(pd.to_datetime(frame["time"], utc=True)).tz_convert(tz)
    frame["known_at"] = pd.DatetimeIndex(pd.to_datetime(frame["known_at"], utc=True)
                                         ).tz_convert(tz)
    out = frame.loc[:, list(SIGNAL_COLUMNS)].set_axis(index)
    out["direction"] = out["direction"].astype(int)
    out["fold"] = out["fold"].astype(int)
    return SignalFrame(name, out)


def _line(decision: Decision, orders: list[Order], closed: pd.Timestamp) -> str:
    """One printed line: bar close (UTC), signal, decision, probability, sentence,
    orders."""
    row = decision.row
    said = decision.explanation.summary if decision.explanation is not None else ""
    mine = [o for o in orders if o.strategy == decision.signal]
    ordered = "; ".join(f"{'buy' if o.size > 0 else 'sell'} {abs(o.size):g} at next open"
                        for o in mine) or "no order"
    stamp = closed.strftime("%Y-%m-%d %H:%MZ")
    return (f"{stamp}  {decision.signal:<14} {row['label']!s:<6} p={row['probability']:.2f}"
            f"  {said}  -> {ordered}")
