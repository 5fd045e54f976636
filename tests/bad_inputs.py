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
from xai_backtest.engine.config import ConfigError, build_config
from xai_backtest.signals.base import ModelFileError

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
             "yesterday,10,11,9,10.5,1")), match="unparseable timestamp 'yesterday'"),
    BadInput("mixed time zones (offset and naive)", "bars", "error",
             _bars_file(_rows("2021-01-04 10:00:00+05:30,10,11,9,10.5,1",
                              "2021-01-04 10:01:00,10,11,9,10.5,1")),
             match="some timestamps carry a UTC offset and some do not"),
    BadInput("UTC offsets changing across DST", "bars", "repair", _dst_offsets,
             match="converted"),
    BadInput("naive times that do not exist (DST gap)", "bars", "error",
             _bars_file(_rows("2021-03-14 02:30,10,11,9,10.5,1"), tz="America/New_York"),
             match="invalid in America/New_York"),
    BadInput("duplicated timestamps", "bars", "error", _bars_file(_rows(ROW.strip(),
             ROW.strip())), match="duplicate timestamps"),
    BadInput("unsorted rows", "bars", "error", _bars_file(_rows("2021-01-05,10,11,9,10.5,1",
             ROW.strip())), match="not sorted"),
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
)


if __name__ == "__main__":
    import tempfile

    counts = {"error": 0, "repair": 0, "crash": 0}
    for case in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                outcome = str(case.run(Path(tmp)))
                kind = "repair"
            except (DataError, ConfigError, ModelFileError) as e:
                outcome, kind = str(e), "error"
            except Exception as e:  # noqa: BLE001 - the inventory counts crashes
                outcome, kind = f"CRASH {type(e).__name__}: {e}", "crash"
        counts[kind] += 1
        print(f"| {case.name} | {case.category} | {kind} | {outcome[:150]} |")
    print(f"\n{len(CASES)} inputs: {counts['error']} clear errors, {counts['repair']} "
          f"reported repairs, {counts['crash']} crashes")
