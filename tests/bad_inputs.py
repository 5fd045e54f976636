"""The corpus of broken inputs: each case builds a small file or payload and states the
expected outcome, a clear error (``error``) or a counted, reported repair (``repair``).

tests/test_bad_inputs.py runs every case; ``python -m tests.bad_inputs`` prints the
inventory with counts (the table in tests/README.md).
"""

from __future__ import annotations

import sqlite3
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from xai_backtest.data_feeds import DataError, load_bars
from xai_backtest.data_feeds.headlines import load_headlines
from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.engine.config import ConfigError, DataConfig, build_config, load_config
from xai_backtest.engine.data import load_market_data
from xai_backtest.signals.base import ModelFileError
from xai_backtest.signals.walk_forward import WalkForwardError

HEADER = "date,open,high,low,close,volume\n"
ROW = "2021-01-04,10,11,9,10.5,100\n"


@dataclass(frozen=True)
class BadInput:
    """One broken input: ``run(tmp_path)`` loads it; an ``error`` case must raise
    ``raises`` with ``match`` in the message, a ``repair`` case must return a report whose
    text contains ``match``."""

    name: str
    category: str
    outcome: str  # "error" or "repair"
    run: Callable[[Path], object]
    raises: type[Exception] = DataError
    match: str = ""


def _bars_file(text: str | bytes, tz: str | None = "UTC") -> Callable[[Path], object]:
    def run(tmp: Path) -> object:
        path = tmp / "bars.csv"
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        return load_bars(path, tz=tz)
    return run


def _rows(*dates_and_values: str) -> str:
    return HEADER + "".join(f"{r}\n" for r in dates_and_values)


def _spike_file(tmp: Path) -> object:
    days = pd.bdate_range("2021-01-04", periods=15)
    rows = [f"{d:%Y-%m-%d},100,101,99,100,1" for d in days]
    rows[7] = f"{days[7]:%Y-%m-%d},100000,100100,99900,100000,1"
    return _bars_file(_rows(*rows))(tmp)


def _extra_columns(tmp: Path) -> str:
    path = tmp / "bars.csv"
    path.write_text("date,open,high,low,close,volume,dividends,notes\n"
                    "2021-01-04,10,11,9,10.5,100,0,x\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_bars(path, tz="UTC")
    return " ".join(str(w.message) for w in caught)


def _dst_offsets(tmp: Path) -> str:
    path = tmp / "bars.csv"
    path.write_text(HEADER + "2021-03-12 15:59:00-05:00,10,11,9,10.5,1\n"
                    "2021-03-15 09:31:00-04:00,10,11,9,10.5,1\n")
    bars = load_bars(path, tz="America/New_York")
    return f"offsets across DST converted: {bars.index[1]}"


def _holiday_gap(tmp: Path) -> str:
    bars = _bars_file(_rows("2020-12-24,10,11,9,10.5,1", "2020-12-28,10,11,9,10.5,1",
                            "2021-01-04,10,11,9,10.5,1"))(tmp)
    return f"gaps kept as they are (no bars invented): {len(bars)} bars"


def _short_day(tmp: Path) -> str:
    from xai_backtest.signals.gadf_cnn import GADFCNN

    days = []
    for day, minutes in (("2021-04-01", 375), ("2021-04-05", 5), ("2021-04-06", 375)):
        days.append(pd.date_range(f"{day} 09:16", periods=minutes, freq="min",
                                  tz="Asia/Kolkata"))
    index = days[0].append(days[1]).append(days[2])
    bars = pd.DataFrame({"open": 100.0, "high": 101.0, "low": 99.0, "close": 100.0,
                         "volume": 0.0}, index=index)
    skipped = GADFCNN(frequency="minute").windows(MarketData(bars)).skipped
    return f"skipped days: {skipped}"


def _headlines(rows: list[tuple[str, str]], **kwargs: object) -> Callable[[Path], object]:
    def run(tmp: Path) -> str:
        path = tmp / "headlines.csv"
        pd.DataFrame(rows, columns=["Timestamp", "Headline"]).to_csv(path, index=False)
        return load_headlines(path, **kwargs)[1].summary()  # type: ignore[arg-type]
    return run


def _headline_bytes(tmp: Path) -> str:
    path = tmp / "headlines.csv"
    path.write_bytes(b"Timestamp,Headline\n2016-01-04,Sensex rises\n2016-01-05,bad \xff\xfe\n")
    return load_headlines(path)[1].summary()


def _headline_sqlite(tmp: Path) -> str:
    path = tmp / "headlines.db"
    with sqlite3.connect(path) as db:
        db.execute("create table headlines(date text, title text)")
        db.executemany("insert into headlines values (?, ?)",
                       [("2016-01-04", "Stocks rally"), ("1970-01-01", "Lost date"),
                        ("2016-01-05", "")])
    return load_headlines(path)[1].summary()


def _config(payload: dict[str, object]) -> Callable[[Path], object]:
    return lambda tmp: build_config(payload)


def _no_data_range(tmp: Path) -> object:
    from xai_backtest.engine.data import load_market_data

    config = build_config({"data": {"start": "2030-01-01"}})
    return load_market_data(config.data)


def _saved_model(tmp: Path):  # type: ignore[no-untyped-def]
    from tests.conftest import make_daily_bars
    from xai_backtest.signals.ma_crossover import MACrossover

    return MACrossover(5, 20).fit(MarketData(make_daily_bars(100))).save(tmp / "model")


def _truncated_model(tmp: Path) -> object:
    from xai_backtest.signals.ma_crossover import MACrossover

    folder = _saved_model(tmp)
    header = folder / "signal.json"
    header.write_text(header.read_text()[: len(header.read_text()) // 2])
    return MACrossover.load(folder)


def _other_signal_model(tmp: Path) -> object:
    from xai_backtest.signals.vader import VaderSentiment

    return VaderSentiment.load(_saved_model(tmp))


def _other_features_model(tmp: Path) -> object:
    from xai_backtest.signals.ma_crossover import MACrossover

    return MACrossover.load(_saved_model(tmp), expected_params={"fast": 10, "slow": 20})


def _warned(load: Callable[[Path], object]) -> Callable[[Path], str]:
    """Run ``load`` and return the notes (warnings) it gave, for repair cases."""
    def run(tmp: Path) -> str:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            load(tmp)
        return " ".join(str(w.message) for w in caught)
    return run


def _yaml(text: str) -> Callable[[Path], object]:
    def run(tmp: Path) -> object:
        path = tmp / "config.yaml"
        path.write_bytes(text.encode("latin-1"))
        return load_config(path)
    return run


def _folder_with_gz_and_json(tmp: Path) -> object:
    import gzip

    (tmp / "2020.csv").write_text(_rows("2020-12-30,10,11,9,10.5,1", "2020-12-31,10,11,9,10.5,1"))
    with gzip.open(tmp / "2021.csv.gz", "wt") as fh:
        fh.write(_rows("2021-01-04,10,11,9,10.5,1", "2021-01-05,10,11,9,10.5,1"))
    (tmp / "notes.json").write_text("{}")
    bars = load_bars(tmp, tz="UTC")
    return f"{len(bars)} bars from both files"


def _offset_dates(tmp: Path) -> str:
    path = tmp / "bars.csv"
    path.write_text(_rows("2020-01-06 00:00:00+05:30,10,11,9,10.5,1",
                          "2020-01-10 00:00:00+05:30,10,11,9,10.5,1"))
    bars = load_bars(path)
    return "dates kept: " + ", ".join(f"{t:%Y-%m-%d %a}" for t in bars.index)


def _split_gap(tmp: Path) -> str:
    """The notes of a run's loader on a 2:1 split nobody adjusted for (flagged, kept)."""
    rows = [f"2021-01-{d:02d},100,101,99,100,1" for d in (4, 5, 6)]
    rows += [f"2021-01-{d:02d},50,50.5,49.5,50,1" for d in (7, 8)]
    path = tmp / "bars.csv"
    path.write_text(_rows(*rows))
    data, reports = load_market_data(DataConfig(source="file", path=str(path), tz="UTC"))
    assert data.bars["close"].iloc[0] == 100  # not adjusted
    return " ".join(r.summary() for r in reports)


def _symlink_loop(tmp: Path) -> object:
    (tmp / "2021.csv").write_text(_rows("2021-01-04,10,11,9,10.5,1"))
    (tmp / "loop").symlink_to(tmp / "loop")
    return load_bars(tmp, tz="UTC")


def _three_rows(tmp: Path) -> object:
    from xai_backtest.signals.ma_crossover import MACrossover
    from xai_backtest.signals.walk_forward import WalkForwardSignal

    bars = _bars_file(_rows("2021-01-04,10,11,9,10.5,1", "2021-01-05,10,11,9,10.5,1",
                            "2021-01-06,10,11,9,10.5,1"))(tmp)
    return WalkForwardSignal(MACrossover(1, 2), min_train=504).plan(MarketData(bars))


def _minute_bars_daily_config(tmp: Path) -> object:
    from xai_backtest.signals.walk_forward import walk_forward_folds

    times = pd.date_range("2021-01-04 09:16", periods=60_000, freq="min", tz="Asia/Kolkata")
    return walk_forward_folds(times, min_train=504, retrain_every=21)


def _session_on_daily(tmp: Path) -> object:
    from xai_backtest.engine.data import load_market_data

    return load_market_data(build_config({"data": {"session": "NYSE"}}).data)


def _cash_as_parquet(tmp: Path) -> object:
    path = tmp / "bars.parquet"
    path.write_text(_rows("2021-01-04,10,11,9,10.5,1"))
    return load_bars(path, tz="UTC")


def _xlsx(tmp: Path) -> object:
    path = tmp / "bars.xlsx"
    path.write_bytes(b"PK\x03\x04")
    return load_bars(path, tz="UTC")


def _ddmm_headlines(tmp: Path) -> str:
    path = tmp / "news.csv"
    path.write_text("date,text\n01/12/2015,rates held\n13/01/2016,stocks slide\n")
    frame, _ = load_headlines(path, tz="UTC")
    return "dates kept: " + ", ".join(f"{t:%Y-%m-%d}" for t in frame["timestamp"])


def _mixed_headline_times(tmp: Path) -> str:
    from datetime import time

    path = tmp / "news.csv"
    path.write_text("timestamp,text\n2015-03-04 08:00,early news\n2015-03-04,date only\n")
    frame, _ = load_headlines(path, tz="UTC", policy="same_day_before_open",
                              session_open=time(9, 30))
    late = frame.loc[frame["text"] == "date only", "available_at"].iloc[0]
    return f"date-only row available at {late:%Y-%m-%d} (after the close)"


def _pickled_model(tmp: Path) -> object:
    import torch

    from xai_backtest.signals.ma_crossover import MACrossover

    folder = _saved_model(tmp)
    torch.save({"payload": pd.Timestamp("2020-01-01")}, folder / "state.pt")
    (folder / "state.json").write_text('{"numpy": []}')
    return MACrossover.load(folder)


def _pandas_csv(tmp: Path) -> str:
    path = tmp / "bars.csv"
    path.write_text(",open,high,low,close,volume\n2021-01-04,10,11,9,10.5,1\n")
    return f"{len(load_bars(path, tz='UTC'))} bar read"


def _yfinance_csv(tmp: Path) -> str:
    path = tmp / "bars.csv"
    path.write_text("Price,Close,High,Low,Open,Volume\nTicker,SPY,SPY,SPY,SPY,SPY\n"
                    "Date,,,,,\n2021-01-04,10.5,11,9,10,1\n")
    return f"{len(load_bars(path, tz='UTC'))} bar read"


def _epoch(tmp: Path) -> str:
    path = tmp / "bars.csv"
    path.write_text(_rows("1609718400,10,11,9,10.5,1"))
    return f"read as {load_bars(path, tz='UTC').index[0]:%Y-%m-%d %H:%M} UTC"


CASES: tuple[BadInput, ...] = (
    BadInput("empty file", "bars", "error", _bars_file(""), match="file is empty"),
    BadInput("header only", "bars", "error", _bars_file(HEADER), match="no data rows"),
    BadInput("wrong delimiter", "bars", "error",
             _bars_file("date;open;high;low;close;volume\n2021-01-04;10;11;9;10.5;1\n"),
             match="wrong delimiter"),
    BadInput("missing column", "bars", "error",
             _bars_file("date,open,high,low,volume\n2021-01-04,10,11,9,1\n"),
             match="missing column(s) ['close']"),
    BadInput("extra unknown columns", "bars", "repair", _extra_columns,
             match="ignoring column(s) ['dividends', 'notes']"),
    BadInput("unparseable date", "bars", "error", _bars_file(_rows("2021-01-04,10,11,9,10.5,1",
             "yesterday,10,11,9,10.5,1")), match="unreadable timestamp 'yesterday'"),
    BadInput("mixed time zones (offset and naive)", "bars", "error",
             _bars_file(_rows("2021-01-04 10:00:00+05:30,10,11,9,10.5,1",
                              "2021-01-04 10:01:00,10,11,9,10.5,1")),
             match="some timestamps carry a UTC offset and some do not"),
    BadInput("UTC offsets changing across DST", "bars", "repair", _dst_offsets,
             match="converted"),
    BadInput("naive times that do not exist (DST gap)", "bars", "error",
             _bars_file(_rows("2021-03-14 02:30,10,11,9,10.5,1"), tz="America/New_York"),
             match="invalid in America/New_York"),
    BadInput("a row repeated exactly", "bars", "repair", _warned(_bars_file(_rows(
             ROW.strip(), ROW.strip()))), match="1 rows repeated exactly"),
    BadInput("two different rows for one timestamp", "bars", "error", _bars_file(_rows(
             ROW.strip(), "2021-01-04,10,11,9,10.7,1")),
             match="2 rows share a timestamp with different values"),
    BadInput("unsorted rows", "bars", "repair", _warned(_bars_file(_rows(
             "2021-01-05,10,11,9,10.5,1", ROW.strip()))), match="1 rows out of time order"),
    BadInput("NaN price", "bars", "error", _bars_file(_rows("2021-01-04,10,11,9,,1")),
             match="NaN or infinite prices"),
    BadInput("zero price", "bars", "error", _bars_file(_rows("2021-01-04,0,11,0,10.5,1")),
             match="zero or negative prices"),
    BadInput("negative price", "bars", "error", _bars_file(_rows("2021-01-04,-10,11,9,10,1")),
             match="zero or negative prices"),
    BadInput("absurd price (1000x spike)", "bars", "error", _spike_file,
             match="absurd price"),
    BadInput("high below low", "bars", "error", _bars_file(_rows("2021-01-04,10,9,11,10,1")),
             match="high below low"),
    BadInput("close outside [low, high]", "bars", "error",
             _bars_file(_rows("2021-01-04,10,11,9,12,1")), match="outside [low, high]"),
    BadInput("negative volume", "bars", "error", _bars_file(_rows("2021-01-04,10,11,9,10,-1")),
             match="negative volume"),
    BadInput("not UTF-8", "bars", "error",
             _bars_file(HEADER.encode() + b"2021-01-04,\xff,1,1,1,1\n"), match="not UTF-8"),
    BadInput("gaps across holidays", "bars", "repair", _holiday_gap, match="gaps kept"),
    BadInput("a session with 5 minute bars", "bars", "repair", _short_day,
             match="session ended within the first hour': 1"),
    BadInput("headline with empty text", "headlines", "repair",
             _headlines([("2016-01-04", "Sensex rises"), ("2016-01-05", "   ")]),
             match="1 rows with empty text"),
    BadInput("headline dated 1970-01-01", "headlines", "repair",
             _headlines([("2016-01-04", "Sensex rises"), ("1970-01-01", "Nifty falls")]),
             match="1 rows dated 1970-01-01"),
    BadInput("headline dated after the price data", "headlines", "repair",
             _headlines([("2016-01-04", "Sensex rises"), ("2030-01-01", "Nifty falls")],
                        latest=pd.Timestamp("2017-12-31")),
             match="1 rows dated after the price data"),
    BadInput("headline with invalid UTF-8", "headlines", "repair", _headline_bytes,
             match="1 rows with non-UTF-8 bytes"),
    BadInput("headline of 10 KB", "headlines", "repair",
             _headlines([("2016-01-04", "Sensex rises " * 900)]),
             match="1 rows with text over 1000 characters (truncated)"),
    BadInput("SQLite headlines with a lost date and an empty title", "headlines", "repair",
             _headline_sqlite, match="1 rows dated 1970-01-01"),
    BadInput("config with an unknown key", "config", "error", _config({"stratgy": {}}),
             raises=ConfigError, match="unknown key 'stratgy'"),
    BadInput("config with a wrong type", "config", "error", _config({"cash": "lots"}),
             raises=ConfigError, match="cash"),
    BadInput("config threshold outside [0, 1]", "config", "error",
             _config({"strategy": {"threshold": 1.2}}), raises=ConfigError,
             match="strategy.threshold"),
    BadInput("config date range with no data", "config", "error", _no_data_range,
             match="no bars between 2030-01-01"),
    BadInput("truncated model file", "model", "error", _truncated_model,
             raises=ModelFileError, match="truncated or corrupt"),
    BadInput("model file from another signal", "model", "error", _other_signal_model,
             raises=ModelFileError, match="saved by signal 'ma_crossover'"),
    BadInput("model file from another feature set", "model", "error", _other_features_model,
             raises=ModelFileError, match="fast: saved 5, expected 10"),
    BadInput("folder with .csv, .csv.gz and a non-bar file", "bars", "repair",
             _folder_with_gz_and_json, match="4 bars from both files"),
    BadInput("non-bar file in a data folder", "bars", "repair",
             _warned(_folder_with_gz_and_json), match="notes.json"),
    BadInput("offset timestamps of daily bars, no --tz", "bars", "repair", _offset_dates,
             match="2020-01-06 Mon, 2020-01-10 Fri"),
    BadInput("dd/mm/yyyy that reads both ways", "bars", "error",
             _bars_file(_rows("01/08/2014,10,11,9,10.5,1", "01/09/2014,10,11,9,10.5,1")),
             match="set data.dayfirst"),
    BadInput("dd/mm/yyyy headlines", "headlines", "repair", _ddmm_headlines,
             match="2015-12-01, 2016-01-13"),
    BadInput("date-only headline among timed ones", "headlines", "repair",
             _mixed_headline_times, match="available at 2015-03-05"),
    BadInput("unadjusted 2:1 split", "bars", "repair", _split_gap,
             match="like a 2:1 split (the price confirms it, the volume does not)"),
    BadInput(".xlsx file", "bars", "error", _xlsx, match="spreadsheet files are not read"),
    BadInput("CSV saved under a .parquet name", "bars", "error", _cash_as_parquet,
             match="not a Parquet file"),
    BadInput("folder with a symlink loop", "bars", "repair", _warned(_symlink_loop),
             match="loop"),
    BadInput("pandas' default CSV (unnamed index column)", "bars", "repair", _pandas_csv,
             match="1 bar read"),
    BadInput("yfinance's to_csv layout", "bars", "repair", _yfinance_csv, match="1 bar read"),
    BadInput("epoch-second timestamps", "bars", "repair", _epoch,
             match="2021-01-04 00:00 UTC"),
    BadInput("3-row file with a year of warm-up", "bars", "error", _three_rows,
             raises=WalkForwardError, match="smaller min_train"),
    BadInput("minute bars under a daily walk-forward", "bars", "error",
             _minute_bars_daily_config, raises=WalkForwardError, match="resample"),
    BadInput("--session NYSE on daily bars", "config", "error", _session_on_daily,
             match="set data.session: none"),
    BadInput("config key written twice", "config", "error",
             _yaml("cash: 100000\nstrategy: {threshold: 0.6}\ncash: 5000\n"),
             raises=ConfigError, match="key 'cash' is written twice (lines 1 and 3)"),
    BadInput("config holding only a comment", "config", "error", _yaml("# nothing\n"),
             raises=ConfigError, match="the config is empty"),
    BadInput("config saved as latin-1", "config", "error", _yaml("name: caf\xe9\n"),
             raises=ConfigError, match="not UTF-8 text"),
    BadInput("mistyped time zone", "config", "error",
             _config({"data": {"source": "file", "path": "x.csv", "tz": "America/NewYork"}}),
             raises=ConfigError, match="did you mean 'America/New_York'"),
    BadInput("negative seed", "config", "error", _config({"seed": -1}), raises=ConfigError,
             match="seed"),
    BadInput("infinite cash", "config", "error", _config({"cash": float("inf")}),
             raises=ConfigError, match="cash"),
    BadInput("run name escaping the output folder", "config", "error",
             _config({"name": "../../escaped"}), raises=ConfigError, match="name"),
    BadInput("model file carrying a pickled object", "model", "error", _pickled_model,
             raises=ModelFileError, match="refused"),
)


if __name__ == "__main__":
    import tempfile

    counts = {"error": 0, "repair": 0, "crash": 0}
    for case in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                outcome = str(case.run(Path(tmp)))
                kind = "repair"
            except (DataError, ConfigError, ModelFileError, WalkForwardError) as e:
                outcome, kind = str(e), "error"
            except Exception as e:  # noqa: BLE001 - the inventory counts crashes
                outcome, kind = f"CRASH {type(e).__name__}: {e}", "crash"
        counts[kind] += 1
        print(f"| {case.name} | {case.category} | {kind} | {outcome[:150]} |")
    print(f"\n{len(CASES)} inputs: {counts['error']} clear errors, {counts['repair']} "
          f"reported repairs, {counts['crash']} crashes")
