"""Open a stream of a run config: its data as the history, the source, the folder.

``stream(config, "replay")`` replays the config's own data bar by bar (the last ``bars``
bars, or from ``start``), ``"tail"`` follows a file or folder another process appends
to (the config's data up to now is the history), ``"yfinance"`` polls Yahoo. The folder
(default ``<output_dir>/stream-<name>-<source>``) holds the journal; a stream opened on a
folder that has one resumes it. ``headlines``: a headline file another process appends to,
each headline available from the time it was read.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.data_feeds.stream_sources import (
    HeadlineTailSource,
    MergedSource,
    ReplaySource,
    Source,
    TailSource,
    YahooSource,
    bar_interval,
)
from xai_backtest.engine.config import RunConfig
from xai_backtest.engine.data import load_market_data, load_universe
from xai_backtest.engine.stream.broker import Broker, load_broker
from xai_backtest.engine.stream.journal import Journal
from xai_backtest.engine.stream.online import StreamError
from xai_backtest.engine.stream.runner import Echo, Stream

__all__ = ["SOURCES", "open_stream"]

SOURCES = ("replay", "tail", "yfinance")


def open_stream(config: RunConfig, source: str | Source = "replay", *,
                data: MarketData | Mapping[str, MarketData] | None = None,
                path: str | Path | None = None,
                start: str | pd.Timestamp | None = None, bars: int = 60,
                speed: float | None = None, chunk: int = 1,
                headlines: str | Path | None = None,
                folder: str | Path | None = None, broker: str | Broker = "paper",
                echo: Echo | None = print, in_worker: bool = True,
                **options: Any) -> Stream:
    """A ``Stream`` of ``config`` (see the module docstring); ``data`` gives the bars
    from Python (a universe: instrument -> ``MarketData``; else the config's data is
    loaded)."""
    universe = None
    if config.data.is_universe:
        universe, _ = load_universe(config.data, given=data if isinstance(data, Mapping)
                                    else None)
        datas = {name: MarketData(b, symbol=name) for name, b in universe.bars.items()}
    else:
        one = data if isinstance(data, MarketData) else load_market_data(config.data)[0]
        datas = {one.symbol or "data": one}
    if isinstance(source, str):
        if source not in SOURCES:
            raise StreamError(f"source {source!r}: use one of {list(SOURCES)}")
        kind = source
        built, given = _source(kind, config, datas, path, start, bars, speed, chunk)
    else:
        kind, built, given = "custom", source, datas
    if headlines is not None:
        if len(datas) > 1:
            raise StreamError("headlines= follows one instrument's headlines")
        ((name, one),) = datas.items()
        built = MergedSource(built, HeadlineTailSource(headlines, name,
                                                       tz=str(one.bars.index.tz)))
    target = Path(folder) if folder is not None else (
        Path(config.output_dir) / f"stream-{config.name}-{kind}")
    journal = Journal(target / "journal.sqlite")
    broker_ = load_broker(broker, journal) if isinstance(broker, str) else broker
    samples = [getattr(i, "source", None) for i in getattr(config.data, "instruments", None)
               or [config.data]]
    if options.get("calendar") is None and samples and all(s == "sample" for s in samples):
        options["calendar"] = "NYSE"  # the samples are US indices
    return Stream(config, built, target, given, universe=universe, broker=broker_, echo=echo,
                  in_worker=in_worker, journal=journal, **options)


def _source(kind: str, config: RunConfig, datas: dict[str, MarketData],
            path: str | Path | None, start: str | pd.Timestamp | None, bars: int,
            speed: float | None, chunk: int) -> tuple[Source, dict[str, MarketData]]:
    """The source, and the history it continues."""
    index = pd.DatetimeIndex(sorted(set().union(*(d.bars.index for d in datas.values()))))
    if kind == "replay":
        if start is None:
            if bars < 1 or bars >= len(index):
                raise StreamError(f"replay of the last {bars} bars: the data has "
                                  f"{len(index)}; give 1..{len(index) - 1}")
            first = index[-bars]
        else:
            first = pd.Timestamp(start)
            first = first.tz_localize(index.tz) if first.tzinfo is None else first
        replay = ReplaySource(datas, first, chunk=chunk, speed=speed)
        return replay, replay.history()
    if len(datas) > 1:
        raise StreamError(f"source {kind!r} follows one instrument; replay a universe")
    ((name, history),) = datas.items()
    if kind == "tail":
        target = path if path is not None else getattr(config.data, "path", None)
        if target is None:
            raise StreamError("source 'tail' follows a file or folder: give --path")
        return TailSource(target, name, tz=str(index.tz), interval=bar_interval(index),
                          history_end=index[-1]), datas
    symbol = getattr(config.data, "symbol", None) or history.symbol
    if not symbol:
        raise StreamError("source 'yfinance' needs a symbol: data.symbol in the config")
    return YahooSource(symbol, getattr(config.data, "interval", "1d"), tz=str(index.tz),
                       instrument=name), datas
