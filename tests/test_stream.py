"""A stream replaying stored bars equals the backtest (decisions, fills, equity,
explanations), whatever the chunking; a crash at any point resumes without a bar decided
twice or an order sent twice; a user's broker plugs in by module:Class."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.stream_brokers import Crash, CrashingBroker, FakeBroker
from xai_backtest.data_feeds.stream_sources import ReplaySource
from xai_backtest.engine.config import load_config
from xai_backtest.engine.data import load_market_data
from xai_backtest.engine.runner import run_backtest
from xai_backtest.engine.stream.broker import load_broker
from xai_backtest.engine.stream.journal import Journal
from xai_backtest.engine.stream.start import open_stream

pytestmark = pytest.mark.slow
ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
BARS = 45


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    out = tmp_path_factory.mktemp("stream-runs")
    return load_config(ROOT / "configs" / "sp500_ma_crossover.yaml", {
        "output_dir": str(out), "tearsheet": False, "cache_dir": None,
        "data.start": "2014-01-01", "walk_forward.min_train": 250,
        "walk_forward.retrain_every": 21,
        "signals": [{"kind": "ma_crossover", "fast": 5, "slow": 20}],
        "strategy.threshold": 0.0})


@pytest.fixture(scope="module")
def batch(config):
    return run_backtest(config, progress=False)


def _stream(config, folder, **options):
    return open_stream(config, "replay", bars=BARS, folder=folder, echo=None,
                       in_worker=False, **options)


def _times(frame, column, tz):
    return pd.DatetimeIndex(pd.to_datetime(frame[column], utc=True)).tz_convert(tz)


def _same_as_batch(result, batch):
    tz = batch.equity.index.tz
    decisions = result.decisions.set_axis(_times(result.decisions, "time", tz))
    expected = batch.decisions["ma_crossover"].frame.loc[decisions.index]
    assert len(decisions) == BARS
    assert (decisions["label"].to_numpy() == expected["label"].to_numpy()).all()
    np.testing.assert_allclose(decisions["probability"], expected["probability"], atol=1e-12)
    equity = result.equity.set_axis(_times(result.equity.reset_index(), "time", tz))
    pd.testing.assert_frame_equal(equity[batch.equity.columns],
                                  batch.equity.loc[equity.index], check_names=False,
                                  check_freq=False, atol=1e-9, rtol=0)
    fills = result.fills.set_axis(_times(result.fills, "time", tz))
    traded = batch.trades[batch.trades["strategy"] == "ma_crossover"]
    entries = pd.DatetimeIndex(pd.to_datetime(traded["entry_time"], utc=True)).tz_convert(tz)
    streamed = fills[fills["strategy"] == "ma_crossover"]
    window = entries[entries >= equity.index[0]]
    assert set(window) <= set(streamed.index)
    for explanation in result.explanations.values():
        assert explanation.decision_time in expected.index


def test_a_replay_equals_the_backtest(config, batch, tmp_path):
    result = _stream(config, tmp_path / "s").run()
    _same_as_batch(result, batch)
    assert len(result.explanations) == BARS and len(result.fills) > 0
    page = (tmp_path / "s" / "live.html").read_text()
    assert page.count("<tr>") > 3 and "<polyline" in page
    assert "http:" not in page and "https:" not in page  # offline


@pytest.mark.parametrize("chunk", [7, BARS])
def test_chunks_give_the_same_stream(config, tmp_path, chunk):
    one = _stream(config, tmp_path / "one").run()
    many = _stream(config, tmp_path / "many", chunk=chunk).run()
    pd.testing.assert_frame_equal(one.equity, many.equity)
    pd.testing.assert_frame_equal(one.fills, many.fills)
    assert list(one.decisions["probability"]) == list(many.decisions["probability"])


@pytest.mark.parametrize(("at", "before"), [(1, True), (1, False), (3, True), (3, False)])
def test_a_crash_around_an_order_resumes_without_duplicates(config, batch, tmp_path, at,
                                                            before):
    FakeBroker.received = []
    crashing = CrashingBroker(at, before)
    with pytest.raises(Crash):
        _stream(config, tmp_path / "s", broker=crashing).run()
    resumed = FakeBroker()
    resumed.placed = dict(crashing.placed)  # the broker kept what it had placed
    result = _stream(config, tmp_path / "s", broker=resumed).run()
    _same_as_batch(result, batch)
    journal = Journal(tmp_path / "s" / "journal.sqlite")
    ids = journal.frame("orders")["id"]
    assert ids.is_unique and journal.frame("orders", "sent = 0").empty
    assert set(resumed.placed) == set(ids[journal.frame("orders")["size"].notna()])
    sent_twice = pd.Series(FakeBroker.received).value_counts()
    # only the order whose sending the crash interrupted can be re-sent, and the broker
    # ignores its known id
    assert (sent_twice > 1).sum() <= (0 if before else 1)
    assert journal.frame("decisions")[["signal", "time"]].duplicated().sum() == 0


def test_a_stream_killed_mid_step_resumes(config, batch, tmp_path):
    class Stop(BaseException):
        pass

    seen = []

    def echo(line):
        seen.append(line)
        if len(seen) == 20:
            raise Stop

    with pytest.raises(Stop):
        open_stream(config, "replay", bars=BARS, folder=tmp_path / "s", echo=echo,
                    in_worker=False).run()
    result = _stream(config, tmp_path / "s").run()
    _same_as_batch(result, batch)


def test_a_users_broker_plugs_in_by_module_and_class(config, tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    broker = load_broker("tests.stream_brokers:FakeBroker", journal)
    assert isinstance(broker, FakeBroker)
    with pytest.raises(ValueError, match="module:Class"):
        load_broker("nonsense", journal)


def test_a_journal_of_another_config_is_refused(config, tmp_path):
    _stream(config, tmp_path / "s").run(max_bars=2)
    other = config.model_copy(update={"cash": 1.0})
    with pytest.raises(Exception, match="journal of another config"):
        _stream(other, tmp_path / "s")


def test_replay_source_history_and_chunks():
    data, _ = load_market_data(load_config(ROOT / "configs" / "sp500_ma_crossover.yaml").data)
    start = data.bars.index[-10]
    source = ReplaySource({"x": data}, start, chunk=4)
    assert source.history()["x"].bars.index[-1] < start
    sizes = []
    while not source.finished:
        sizes.append(len(source.poll()))
    assert sizes == [4, 4, 2]


def test_a_portfolio_replay_equals_the_backtest(tmp_path):
    config = load_config(ROOT / "configs" / "sp500_nasdaq_portfolio.yaml", {
        "output_dir": str(tmp_path), "tearsheet": False, "cache_dir": None,
        "data.start": "2015-01-01", "walk_forward.retrain_every": 21,
        "signals": [{"kind": "ma_crossover", "fast": 5, "slow": 20}]})
    batch = run_backtest(config, progress=False)
    result = open_stream(config, "replay", bars=30, folder=tmp_path / "s", echo=None,
                         in_worker=False).run()
    tz = batch.equity.index.tz
    equity = result.equity.set_axis(_times(result.equity.reset_index(), "time", tz))
    assert len(equity) == 30 + 1  # the history's last close, then each bar streamed
    pd.testing.assert_frame_equal(equity[batch.equity.columns],
                                  batch.equity.loc[equity.index], check_names=False,
                                  check_freq=False, atol=1e-9, rtol=0)
    fills = result.fills[result.fills["strategy"] == "ma_crossover"]
    assert set(fills["instrument"]) <= {"sp500", "nasdaq"}
    assert len(result.decisions) == 2 * 30
    for name, frame in batch.decisions.items():
        mine = result.decisions[result.decisions["signal"] == name]
        expected = frame.frame.loc[_times(mine, "time", tz)]
        assert list(mine["label"]) == list(expected["label"])


def test_an_intraday_replay_equals_the_backtest(tmp_path):
    """The GADF-CNN on minute bars traded by the intraday strategy (in at the first hour's
    decision, out at 15:20): the streamed morning of the last day equals the backtest,
    with the paper book restarting its backtrader runs after a flat bar (over 2,000
    bars traded, engine/stream/book.py)."""
    from tests.minute_data import make_minute_bars
    from xai_backtest import Backtest
    from xai_backtest.signals.gadf_cnn import GADFCNN

    bars = make_minute_bars(days=42, seed=1)  # 12 days traded: the book restarts runs
    test = Backtest(bars, signals=[GADFCNN(filters=4, epochs=2, min_samples=20, seed=0)],
                    strategy={"kind": "intraday", "exit_time": "15:20", "threshold": 0.0},
                    walk_forward={"min_train": 30, "retrain_every": 40}, tearsheet=False,
                    cache_dir=None, output_dir=str(tmp_path), faithfulness=False)
    batch = test.run(progress=False)
    last_day = bars.index[-1].normalize()
    start = bars.index[bars.index >= last_day + pd.Timedelta(hours=10)][0]
    streamed = bars.index[(bars.index >= start)
                          & (bars.index <= last_day + pd.Timedelta(hours=10, minutes=40))]
    result = test.stream("replay", start=start, max_bars=len(streamed),
                         folder=tmp_path / "s", echo=None, in_worker=False)
    tz = batch.equity.index.tz
    assert len(result.decisions) == 1  # the 10:15 decision of the last day
    when = _times(result.decisions, "time", tz)[0]
    expected = batch.decisions["gadf_cnn"].frame.loc[when]
    assert result.decisions["label"].iloc[0] == expected["label"]
    assert abs(result.decisions["probability"].iloc[0] - expected["probability"]) < 1e-9
    equity = result.equity.set_axis(_times(result.equity.reset_index(), "time", tz))
    pd.testing.assert_frame_equal(equity[batch.equity.columns],
                                  batch.equity.loc[equity.index], check_names=False,
                                  check_freq=False, atol=1e-9, rtol=0)
    entry = result.fills[(result.fills["strategy"] == "gadf_cnn")]
    assert len(entry) == 1  # bought at 10:16's open, still held at 10:40


def test_the_readme_stream_example_runs_as_written(tmp_path, capsys):
    import subprocess
    import sys

    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Streaming and paper trading", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    (tmp_path / "readme_stream_example.py").write_text(code)
    proc = subprocess.run([sys.executable, "readme_stream_example.py"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "ma_crossover" in proc.stdout and "probability" in proc.stdout
    assert (tmp_path / "runs" / "my-stream" / "journal.sqlite").exists()
    command = section.split("```bash\n", 1)[1].split("#", 1)[0].split()
    assert command[:2] == ["xai-backtest", "stream"]
    from xai_backtest.engine.cli import main

    assert main([*command[1:], "--folder", str(tmp_path / "cli"), "--bars", "3"]) == 0
    printed = capsys.readouterr().out
    assert "2018-12-31 21:00Z  ma_crossover" in printed  # the NYSE close, in UTC


def test_a_stream_process_killed_at_random_points_resumes(tmp_path):
    """The CLI's stream killed (SIGKILL) twice at random moments (after a random number of
    its decision lines), then run to the end, journals what an uninterrupted stream
    journals, with no order id twice."""
    import os
    import random
    import signal
    import sqlite3
    import subprocess
    import sys

    config = tmp_path / "stream_kill.yaml"
    config.write_text(
        "name: kill\ndata: {source: sample, sample: sp500, start: 2014-01-01}\n"
        "signals: [{kind: ma_crossover, fast: 5, slow: 20}]\n"
        "walk_forward: {min_train: 250, retrain_every: 21}\n"
        f"strategy: {{threshold: 0.0}}\ncache_dir: null\noutput_dir: {tmp_path}\n")

    def command(folder):
        return [sys.executable, "-m", "xai_backtest.engine.cli", "stream", "--config",
                str(config), "--bars", "30", "--folder", str(folder)]

    def journal(folder):
        with sqlite3.connect(folder / "journal.sqlite") as db:
            return {table: pd.read_sql_query(f"SELECT * FROM {table}", db).drop(
                        columns=["done_at", "received_at", "decide_seconds",
                                 "book_seconds"], errors="ignore")
                    for table in ("decisions", "orders", "fills", "equity")}

    whole = tmp_path / "whole"
    subprocess.run(command(whole), check=True, capture_output=True, timeout=600)
    killed = tmp_path / "killed"
    rng = random.Random(7)
    for lines in (rng.randint(1, 12), rng.randint(1, 12)):
        proc = subprocess.Popen(command(killed), stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        assert proc.stdout is not None
        decided = 0
        while decided < lines:  # each decision's line is the event waited for
            line = proc.stdout.readline()
            if not line:  # the stream ended first
                break
            decided += " -> " in line
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    subprocess.run(command(killed), check=True, capture_output=True, timeout=600)
    expected, got = journal(whole), journal(killed)
    for table in expected:
        pd.testing.assert_frame_equal(got[table].sort_values(list(got[table].columns[:3]))
                                      .reset_index(drop=True),
                                      expected[table].sort_values(
                                          list(expected[table].columns[:3]))
                                      .reset_index(drop=True), check_exact=False, atol=1e-9)
    assert got["orders"]["id"].is_unique


class EveryFiftiethBar(__import__("backtrader").Strategy):
    """Buys on every 50th bar since its start and sells 10 bars later: it remembers
    where it started, so a run restarted later trades on other bars."""

    def next(self):
        if len(self) % 50 == 0:
            self.buy(size=1)
        elif len(self) % 50 == 10 and self.position:
            self.close()


def test_the_book_restarts_only_a_run_that_stays_the_same():
    from tests.conftest import make_daily_bars
    from xai_backtest.engine.config import build_config
    from xai_backtest.engine.stream.book import SignalBook
    from xai_backtest.signals.base import SignalFrame

    bars = make_daily_bars(900, seed=2)
    config = build_config({"data": {"source": "python"}, "engine": "backtrader",
                           "signals": [{"kind": "ma_crossover"}],
                           "strategy": {"kind": "tests.test_stream:EveryFiftiethBar"}},
                          "test")
    decisions = SignalFrame.from_p_up("ma_crossover", bars.index,
                                      np.full(len(bars), 0.6))
    said = []
    book = SignalBook(config, pd.Timedelta(days=1), said.append, restart_after=100,
                      check=60, audit_every=5)
    for n in (700, 701, 702):
        book.book(bars.iloc[:n], {"ma_crossover": decisions.between(None, bars.index[n])})
    assert book._restarts["ma_crossover"] is None  # its restart differed: full runs
    assert book._restarts["always_flat"] is not None  # never trades: restarted
    assert said == []


def test_the_paper_broker_reports_what_the_engine_filled(config, tmp_path):
    from xai_backtest.engine.stream.broker import PaperBroker
    from xai_backtest.engine.stream.online import StreamError

    stream = _stream(config, tmp_path / "s")
    result = stream.run()
    broker = stream.broker
    assert isinstance(broker, PaperBroker)
    held = result.fills.groupby(["strategy", "instrument"])["size"].sum()
    assert broker.positions() == {key: float(v) for key, v in held.items()}
    assert all(broker.accepted(i) for i in result.orders.loc[result.orders["size"].notna(),
                                                             "id"])
    with pytest.raises(StreamError, match="cannot cancel"):
        broker.cancel(result.orders["id"].iloc[0])


def test_a_tail_stream_decides_the_rows_appended_to_the_file(tmp_path):
    """The config's file is the history; rows another process appends are decided, and
    the history's rows are not sent again (no duplicates counted)."""
    from xai_backtest.data_feeds.samples import load_sample_bars

    bars = load_sample_bars("sp500").loc["2016":"2018"]
    path = tmp_path / "live_bars.csv"
    written = bars.iloc[:-3].tz_localize(None)
    written.to_csv(path, index_label="date")
    config = load_config(ROOT / "configs" / "sp500_ma_crossover.yaml", {
        "data": {"source": "file", "path": str(path), "tz": str(bars.index.tz)},
        "signals": [{"kind": "ma_crossover", "fast": 5, "slow": 20}],
        "walk_forward.min_train": 250, "cache_dir": None, "output_dir": str(tmp_path)})
    stream = open_stream(config, "tail", folder=tmp_path / "s", echo=None,
                         in_worker=False, sleep=lambda s: None)
    with open(path, "a") as f:
        f.write(bars.iloc[-3:].tz_localize(None).to_csv(header=False))
    result = stream.run(max_bars=3)
    assert list(result.decisions["time"]) == list(bars.index[-3:])
    assert result.counts == {}
