"""One entry point from a data config to validated ``MarketData``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd

from xai_backtest.data_feeds.cleaning import CleaningReport
from xai_backtest.data_feeds.corporate_actions import (
    adjust_for,
    find_jumps,
    load_corporate_actions,
)
from xai_backtest.data_feeds.errors import DataError
from xai_backtest.data_feeds.files import DateSpelling, Layout, load_bars
from xai_backtest.data_feeds.headlines import load_headlines, load_wigpy_headlines
from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.data_feeds.samples import load_sample_bars
from xai_backtest.data_feeds.sessions import (
    NYSE,
    SESSIONS,
    align_to_close,
    filter_session,
    resample_daily,
)
from xai_backtest.data_feeds.universe import Universe, UniverseError, build_universe
from xai_backtest.data_feeds.universe_files import load_long_file, load_symbol_folder
from xai_backtest.data_feeds.yahoo import load_yfinance
from xai_backtest.engine.config import (
    UNIVERSE_LAYOUTS,
    ConfigError,
    DataConfig,
    FileData,
    HeadlinesConfig,
    SampleData,
    YFinanceData,
)

__all__ = ["corporate_actions", "file_symbol", "load_market_data", "load_universe",
           "price_basis"]

_SAMPLE_SYMBOLS = {"sp500": "^GSPC", "nasdaq": "^IXIC"}


def price_basis(config: DataConfig) -> str:
    """The bars' price basis in words, for the report."""
    basis = config.price_basis
    if basis == "auto":
        if config.source == "sample":
            basis = "price"
        elif config.source == "yfinance":
            basis = ("total_return" if isinstance(config, YFinanceData) and config.auto_adjust
                     else "price")
        else:
            return "price basis not stated (set data.price_basis: price or total_return)"
    return {"price": "price-only bars (no dividends: returns understate a holder's)",
            "total_return": "dividend-adjusted bars (total return)"}[basis]


def file_symbol(config: FileData) -> str:
    """The instrument name of a one-instrument file: ``symbol``, else the file's name
    without its extension."""
    assert config.path is not None
    return config.symbol or Path(config.path).stem


def load_market_data(config: DataConfig, name: str | None = None,
                     actions: pd.DataFrame | None = None
                     ) -> tuple[MarketData, list[CleaningReport]]:
    """Load, session-filter, resample and date-cut the bars a config describes; flag
    (or, as the config says, adjust) jumps that look like splits, under ``name`` (default:
    the symbol). ``actions``: the config's corporate actions file, read already."""
    reports: list[CleaningReport] = []
    if isinstance(config, SampleData):
        bars, symbol, source = load_sample_bars(config.sample), _SAMPLE_SYMBOLS[
            config.sample], f"{config.sample} sample"
    elif isinstance(config, FileData):
        assert config.path is not None
        source = Path(config.path).name  # notes name the file, never its local path
        read = CleaningReport(source)
        reports.append(read)
        if config.layout in UNIVERSE_LAYOUTS:
            raise ConfigError(f"data.layout {config.layout!r} holds a universe; read it with "
                              "load_universe")
        layout = cast(Layout, config.layout)
        bars, symbol, source = load_bars(config.path, tz=config.tz, layout=layout,
                                         dayfirst=config.dayfirst,
                                         date_format=config.date_format,
                                         report=read), file_symbol(config), source
    elif isinstance(config, YFinanceData):
        bars = load_yfinance(config.symbol, config.start, config.end, config.interval,
                             tz=config.tz or "America/New_York", cache_dir=config.cache_dir,
                             offline=config.offline, auto_adjust=config.auto_adjust)
        symbol, source = config.symbol, f"yfinance {config.symbol}"
    else:
        raise ConfigError(f"data.source {config.source!r}: the run reads no bars itself; "
                          "pass them as run_backtest(data=...)")
    if config.session != "none":
        dates = bars.index.tz_localize(None).normalize()
        if not dates.duplicated().any():
            raise DataError(source, f"data.session {config.session} keeps the intraday bars "
                            f"inside a session, but these {len(bars):,} bars are daily (one "
                            "per date)", "set data.session: none for daily bars")
        bars = align_to_close(bars, SESSIONS[config.session], config.bar_label, source)
        bars, report = filter_session(bars, SESSIONS[config.session], source)
        reports.append(report)
    if config.resample == "daily":
        session = SESSIONS.get(config.session, NYSE)
        bars = resample_daily(bars, session)
    bars = _cut(bars, config, source)
    if name is None:  # a file's rows in a corporate actions file go by its name
        name = Path(config.path).stem if isinstance(config, FileData) and config.path else symbol
    adjusted = CleaningReport(name, rows_in=len(bars))
    bars = corporate_actions(name, bars, config, adjusted,
                             actions if actions is not None else _actions_file(config))
    if adjusted.repaired or adjusted.notes:
        reports.append(adjusted)
    headlines = None
    if config.headlines is not None:
        headlines, report = _headlines(config.headlines, bars, config.session, symbol,
                                       DateSpelling(config.dayfirst, config.date_format))
        reports.append(report)
    return MarketData(bars=bars, headlines=headlines, symbol=symbol), reports


def load_universe(config: DataConfig, min_bars: int = 2,
                  given: Mapping[str, MarketData] | None = None) -> tuple[Universe, list[str]]:
    """The universe a data config describes and its notes in words: each instrument read
    on its own, so one that cannot be read (a file that fails, a symbol yfinance cannot
    serve, no bars between start and end) is left out with a note naming it and why, and
    the others run; alignment, gaps, repairs and thin overlaps are in the notes.
    ``given``: the instruments' data from Python (``data.source: python``)."""
    frames: list[tuple[str, pd.DataFrame]] = []
    notes: list[str] = []
    table = _actions_file(config)  # read once for every instrument
    uncut: list[tuple[str, pd.DataFrame, str]] = []  # name, bars, where; cut to the dates below
    if config.source == "python":
        names = [i.name for i in config.instruments or ()]
        if given is None or sorted(given) != sorted(names):
            raise UniverseError(f"data.source is 'python': give the bars of exactly the "
                                f"instruments {names} (given: "
                                f"{sorted(given) if given is not None else None})")
        uncut = [(name, given[name].bars, f"instrument {name}") for name in names]
    elif config.instruments is not None:
        for instrument in config.instruments:
            try:
                data, reports = load_market_data(config.for_instrument(instrument),
                                                 instrument.name, table)
            except DataError as e:
                notes.append(f"{instrument.name}: left out, {e}")
                continue
            frames.append((instrument.name, data.bars))
            notes += [f"{instrument.name}: {r.summary()}" for r in reports
                      if r.removed or r.repaired or r.notes]
    else:
        assert isinstance(config, FileData) and config.path is not None
        tz = config.tz or "UTC"
        dates = DateSpelling(config.dayfirst, config.date_format)
        files = (load_symbol_folder(config.path, tz, config.symbols, dates)
                 if config.layout == "one_file_per_symbol" else
                 load_long_file(config.path, tz, config.symbol_column, config.symbols, dates))
        notes += files.notes()
        uncut = [(name, bars, files.sources[name]) for name, bars in files.frames]
    for name, bars, where in uncut:
        try:
            bars = _cut(bars, config, where)
        except DataError as e:
            notes.append(f"{name}: left out, {e}")
            continue
        actions = CleaningReport(name, rows_in=len(bars))
        frames.append((name, corporate_actions(name, bars, config, actions, table)))
        if actions.repaired or actions.notes:
            notes.append(actions.summary())
    if not frames:
        raise UniverseError("no instrument of the universe could be loaded: "
                            + "; ".join(notes))
    universe = build_universe(frames, min_bars=min_bars, min_overlap=config.min_overlap)
    return universe, notes + universe.notes()


def _headlines(config: HeadlinesConfig, bars: pd.DataFrame, session: str, symbol: str,
               dates: DateSpelling) -> tuple[pd.DataFrame, CleaningReport]:
    """Headlines in the bars' time zone; those dated after the last bar are reported."""
    tz = str(bars.index.tz)
    earliest, latest = bars.index[0], bars.index[-1]
    if config.source == "wigpy":
        return load_wigpy_headlines(tz=tz, earliest=earliest, latest=latest, symbol=symbol)
    assert config.path is not None
    exchange = SESSIONS.get(session) or next(
        (s for s in SESSIONS.values() if s.tz == tz), None)
    return load_headlines(config.path, fmt=config.source, text_column=config.text_column,
                          time_column=config.time_column, id_column=config.id_column,
                          table=config.table, tz=tz, policy=config.policy,
                          session_open=exchange.open if exchange else None,
                          earliest=earliest, latest=latest,
                          symbol=symbol, keep_duplicates=config.keep_duplicates,
                          dayfirst=dates.dayfirst, date_format=dates.date_format)


def _actions_file(config: DataConfig) -> pd.DataFrame | None:
    """The config's corporate actions file, read (None without one)."""
    return load_corporate_actions(config.corporate_actions) if config.corporate_actions \
        else None


def corporate_actions(name: str, bars: pd.DataFrame, config: DataConfig,
                      report: CleaningReport, table: pd.DataFrame | None) -> pd.DataFrame:
    """``bars`` adjusted for the splits and bonus issues the config states (the rows for
    ``name`` of its corporate actions file, read as ``table``, or with ``adjust: detected``
    the jumps that price and volume confirm); every other jump is noted, never changed."""
    listed: list[tuple[pd.Timestamp, float, str]] = []
    if table is not None:
        mine = table[table["symbol"].isin([name, getattr(config, "symbol", None) or name])]
        days = bars.index.tz_localize(None).normalize()
        for day, ratio in zip(mine["date"], mine["ratio"], strict=True):
            hit = np.flatnonzero(days >= day.tz_localize(None))
            if len(hit):
                listed.append((bars.index[hit[0]], float(ratio), "corporate actions file"))
    jumps = find_jumps(bars)
    if config.adjust == "detected":
        listed += [(j.day, float(j.split_ratio), f"adjust: detected, {j.describe()}")
                   for j in jumps if j.confirmed and j.split_ratio is not None
                   and all(j.day != day for day, _, _ in listed)]
    done = {day for day, _, _ in listed}
    report.notes += [f"price jump to check, not adjusted: {j.describe()}" for j in jumps
                     if j.day not in done]
    if not listed:
        return bars
    report.notes += [f"adjusted for a split or bonus issue on {day:%Y-%m-%d}: earlier prices "
                     f"/ {ratio:g}, volumes x {ratio:g} ({why})" for day, ratio, why in listed]
    report.record_repair("bars before a split or bonus issue, adjusted",
                         int(sum((bars.index < day).sum() for day, _, _ in listed)))
    return adjust_for(bars, [(day, ratio) for day, ratio, _ in listed])


def _cut(bars: pd.DataFrame, config: DataConfig, source: str) -> pd.DataFrame:
    dates = bars.index.tz_localize(None).normalize()
    keep = pd.Series(True, index=bars.index).to_numpy().copy()
    if config.start:
        keep &= dates >= pd.Timestamp(config.start)
    if config.end:
        keep &= dates <= pd.Timestamp(config.end)
    if not keep.any():
        raise DataError(source, f"no bars between {config.start} and {config.end}; the data "
                        f"covers {bars.index[0].date()} to {bars.index[-1].date()}",
                        "choose data.start/data.end inside that range")
    return bars[keep]
