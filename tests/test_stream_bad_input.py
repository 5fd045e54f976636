"""Bad streams are handled and counted, never crash the stream or change the past: late,
duplicate, out-of-order, revised and invalid bars, gaps on the exchange calendar,
headlines stamped in the future, a stalled source; and the tail and Yahoo sources read
only complete, closed bars."""

from __future__ import annotations

import pandas as pd

from xai_backtest.data_feeds.calendars import exchange_calendar
from xai_backtest.data_feeds.stream_sources import (
    BarEvent,
    HeadlineEvent,
    TailSource,
    YahooSource,
)
from xai_backtest.engine.stream.guard import StreamGuard

TZ = "America/New_York"
DAYS = pd.DatetimeIndex(["2013-07-01", "2013-07-02", "2013-07-03"], tz=TZ)
SEEN = pd.DataFrame({"open": 10.0, "high": 11.0, "low": 9.0, "close": 10.5, "volume": 1.0},
                    index=DAYS)


def _bar(day, close=10.5, high=11.0):
    stamp = pd.Timestamp(day, tz=TZ)
    return BarEvent("x", stamp, (10.0, high, 9.0, close, 1.0), stamp)


def _guard():
    said = []
    guard = StreamGuard({"x": SEEN}, lambda *event: said.append(event),
                        exchange_calendar("NYSE"))
    return guard, said


def test_a_new_bar_passes_and_the_next_session_is_no_gap():
    guard, said = _guard()
    bars, _ = guard.admit([_bar("2013-07-05")])  # 07-04 is a holiday
    assert [b.time.day for b in bars] == [5] and said == []


def test_each_bad_bar_is_counted_and_dropped():
    guard, said = _guard()
    bars, _ = guard.admit([_bar("2013-07-03"), _bar("2013-07-02", close=10.9),
                           _bar("2013-06-28"), _bar("2013-07-05", high=1.0)])
    assert bars == []
    assert guard.counts == {"duplicate": 1, "revision": 1, "late": 1, "invalid": 1,
                            "out_of_order": 1}
    assert any("was 10/11/9/10.5, now 10/11/9/10.9" in e[3] for e in said)


def test_a_gap_is_counted_in_exchange_sessions():
    guard, said = _guard()
    bars, _ = guard.admit([_bar("2013-07-09")])  # 07-05 and 07-08 missing
    assert len(bars) == 1 and guard.counts == {"gap": 1}
    assert "2 session(s) of XNYS missing" in said[0][3]


def test_a_headline_from_the_future_is_kept_and_counted():
    guard, _ = _guard()
    received = pd.Timestamp("2013-07-03 10:00", tz=TZ)
    item = HeadlineEvent("x", {"available_at": received + pd.Timedelta(hours=5),
                               "text": "Fed"}, received)
    _, headlines = guard.admit([item])
    assert headlines == [item] and guard.counts == {"future_headline": 1}


def test_daily_bars_close_at_the_session_close_early_closes_included():
    nyse = exchange_calendar("NYSE")
    assert nyse.close_utc(pd.Timestamp("2013-07-03")) == pd.Timestamp("2013-07-03 17:00Z")
    assert nyse.close_utc(pd.Timestamp("2013-07-05")) == pd.Timestamp("2013-07-05 20:00Z")


def test_tail_reads_only_complete_new_rows(tmp_path):
    path = tmp_path / "bars.csv"
    path.write_text("date,open,high,low,close,volume\n2013-07-01,10,11,9,10.5,1\n2013-07-0")
    source = TailSource(path, "x", tz=TZ)
    first = source.poll()
    assert [e.time.day for e in first] == [1]
    with open(path, "a") as f:
        f.write("2,10,11,9,10.6,1\n")
    assert [e.values[3] for e in source.poll()] == [10.6]
    assert source.poll() == []


def test_yahoo_never_emits_the_bar_still_forming():
    index = pd.DatetimeIndex(["2024-01-02", "2024-01-03", "2024-01-04"], tz=TZ)
    raw = pd.DataFrame({"Open": 1.0, "High": 2.0, "Low": 0.5, "Close": 1.5, "Volume": 9},
                       index=index)
    source = YahooSource("SPY", download=lambda **kw: raw,
                         now=lambda: pd.Timestamp("2024-01-04 15:00", tz=TZ))
    assert [e.time.day for e in source.poll()] == [2, 3]


def test_a_stalled_source_warns_once(tmp_path):
    from xai_backtest.engine.config import load_config
    from xai_backtest.engine.stream.start import open_stream

    class Quiet:
        interval = pd.Timedelta(days=1)
        finished = False

        def __init__(self):
            self.polls = 0

        def poll(self):
            self.polls += 1
            if self.polls > 3:
                self.finished = True
            return []

    now = iter(range(0, 10_000, 100))
    root = __import__("pathlib").Path(__file__).resolve().parents[1]
    config = load_config(root / "configs" / "sp500_ma_crossover.yaml", {
        "cache_dir": None, "data.start": "2017-01-01", "walk_forward.min_train": 100,
        "signals": [{"kind": "ma_crossover", "fast": 5, "slow": 20}]})
    said = []
    stream = open_stream(config, Quiet(), folder=tmp_path, echo=said.append,
                         in_worker=False, stall_after=250, clock=lambda: next(now),
                         sleep=lambda s: None)
    result = stream.run()
    assert result.counts == {"stall": 1}
    assert said == ["warning: the source has sent no bar for 300 s"]


def test_headlines_appended_to_a_file_arrive_when_received(tmp_path):
    from xai_backtest.data_feeds.stream_sources import HeadlineTailSource, MergedSource

    path = tmp_path / "news.csv"
    path.write_text("timestamp,text\n2013-07-01 09:00,Fed holds rates\n")
    clock = iter([pd.Timestamp("2013-07-01 11:00", tz=TZ), pd.Timestamp("2013-07-02 08:00",
                                                                       tz=TZ)])
    news = HeadlineTailSource(path, "x", tz=TZ, now=lambda: next(clock))
    bars = TailSource(tmp_path / "bars.csv", "x", tz=TZ)
    (tmp_path / "bars.csv").write_text("date,open,high,low,close,volume\n")
    source = MergedSource(bars, news)
    (first,) = source.poll()
    assert first.row["text"] == "Fed holds rates"
    # the reader's policy (after the close, as in a backtest) is later than its reading
    assert first.available_at == pd.Timestamp("2013-07-02 00:00", tz=TZ)
    with open(path, "a") as f:
        f.write("2013-07-01 12:00,Stocks rally\n")
    (second,) = source.poll()  # the first is not sent again
    assert second.row["text"] == "Stocks rally"
    assert second.available_at == pd.Timestamp("2013-07-02 08:00", tz=TZ)  # when read


def test_yahoo_is_polled_at_the_bar_interval_at_most_five_minutes():
    assert YahooSource("SPY", "1m").poll_every == 60.0
    assert YahooSource("SPY", "1d").poll_every == 300.0
