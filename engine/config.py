"""Typed, frozen run configuration that rejects unknown keys; YAML in, YAML and hash out."""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Iterable
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from xai_backtest.engine.components import (
    component_params,
    resolve_component,
    validate_params,
)
from xai_backtest.errors import ConfigError
from xai_backtest.signals.walk_forward import DEFAULT_MIN_TRAIN, DEFAULT_RETRAIN_EVERY
from xai_backtest.storage.cache import stable_repr
from xai_backtest.strategies.portfolio import check_portfolio_params
from xai_backtest.strategies.references import REFERENCE_NAMES

__all__ = ["DATA_CLASSES", "CheckConfig", "ConfigError", "CostsConfig", "DataConfig",
           "DataSpec", "FileData", "HeadlinesConfig", "InstrumentConfig", "PythonData",
           "RunConfig", "SampleData", "SignalConfig", "StrategyConfig", "WalkForwardConfig",
           "YFinanceData", "build_config", "config_schema", "load_config", "signal_config"]


class _Frozen(BaseModel):
    """Frozen; a key that is not a field is refused, with the closest field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _refuse_unknown_keys(cls, payload: Any) -> Any:
        if isinstance(payload, dict):
            accepted = cls._accepted_keys(payload)
            unknown = [str(k) for k in payload if k not in accepted]
            if unknown:
                # the message names each key by KEY, which the whole config's error
                # message replaces by its dotted name (data.path)
                lines = [cls._unknown_key(key, _KEY) for key in unknown]
                named = [line.replace(repr(_KEY), repr(key))
                         for line, key in zip(lines, unknown, strict=True)]
                raise PydanticCustomError("unknown_key", "{message}", {
                    "message": "; ".join([*named, *cls._keys_taken()]),
                    "keys": unknown, "lines": lines, "tail": cls._keys_taken()})
        return payload

    @classmethod
    def _accepted_keys(cls, payload: dict[Any, Any]) -> set[str]:
        return set(cls.model_fields)

    @classmethod
    def _unknown_key(cls, key: str, name: str) -> str:
        """Why ``key`` is refused, naming it ``name``."""
        guess = difflib.get_close_matches(key, list(cls.model_fields), n=1)
        return f"unknown key {name!r}" + (f"; did you mean {guess[0]!r}?" if guess else "")

    @classmethod
    def _keys_taken(cls) -> list[str]:
        """What follows the refused keys in the message (the keys that apply)."""
        return []


def _sources_with(key: str) -> str:
    """The data sources that have ``key``, in words ('' for none)."""
    return " and ".join(repr(s) for s, c in DATA_CLASSES.items() if key in c.model_fields)


#: stands for a refused key's dotted name in an unknown-key message
_KEY = "\x00key\x00"


class HeadlinesConfig(_Frozen):
    """Where the headlines come from and when each may be used (data_feeds/headlines.py)."""

    source: Literal["csv", "parquet", "sqlite", "wigpy"] = Field(
        "csv", description="csv/parquet/sqlite: a file at path; wigpy: the NYT economy "
        "headlines shipped in the wigpy package (read by path)")
    path: str | None = Field(None, description="headline file for csv, parquet or sqlite")
    table: str = Field("headlines", description="sqlite table")
    text_column: str | None = Field(None, description="text column (default: text, headline "
                                    "or title)")
    time_column: str | None = Field(None, description="publication time column (default: "
                                    "timestamp, date, datetime, time or published)")
    id_column: str | None = Field(None, description="row id column (default: row_id, id or "
                                  "an unnamed first column)")
    policy: Literal["after_close", "same_day_before_open"] = Field(
        "after_close", description="after_close: a headline dated d first reaches the "
        "decision at the first bar after d; same_day_before_open (needs publication times): "
        "headlines published before the open reach the decision at the close of their day")
    keep_duplicates: bool = Field(False, description="keep rows with the same text and time")

    @model_validator(mode="after")
    def _check(self) -> HeadlinesConfig:
        if self.source != "wigpy" and not self.path:
            raise ValueError(f"data.headlines.path is required when source is {self.source!r}")
        return self


def repeated(names: Iterable[str]) -> list[str]:
    """The names that appear more than once, sorted."""
    seen = list(names)
    return sorted({n for n in seen if seen.count(n) > 1})


def _check_time_zone(name: str) -> None:
    """Refuse a time zone name the tz database does not know, suggesting the closest."""
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as e:
        known = sorted(zoneinfo.available_timezones())
        guess = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {guess[0]!r}?" if guess else " (e.g. 'America/New_York')"
        raise ValueError(f"data.tz {name!r} is not a known time zone{hint}") from e


class InstrumentConfig(_Frozen):
    """One instrument of a universe: its name and where its bars come from; a key left
    out takes the data section's value (``{name: nasdaq, source: sample, sample: nasdaq}``)."""

    name: str = Field(description="the instrument's name in the run (ids, columns, report)")
    source: Literal["sample", "file", "yfinance"] | None = None
    sample: Literal["sp500", "nasdaq"] | None = None
    path: str | None = None
    layout: Literal["auto", "header", "nifty"] | None = None
    tz: str | None = None
    session: Literal["none", "NSE", "NYSE"] | None = None
    resample: Literal["none", "daily"] | None = None
    symbol: str | None = None
    dayfirst: bool | None = None
    date_format: str | None = None
    auto_adjust: bool | None = None

    @field_validator("name")
    @classmethod
    def _safe_name(cls, name: str) -> str:
        if not _INSTRUMENT.match(name):
            raise ValueError(f"instrument name {name!r}: use letters, digits, '_', '-', '.', "
                             "'&' or '^' (at most 64), starting with a letter, digit or '^'")
        return name


_INSTRUMENT = re.compile(r"^[A-Za-z0-9^][A-Za-z0-9_.&^-]{0,63}$")

#: layouts of a file or folder that hold several instruments
UNIVERSE_LAYOUTS = ("one_file_per_symbol", "long")


class DataConfig(_Frozen):
    """Where the bars (and optional headlines) come from: one instrument, or a universe
    (``instruments``, or ``path`` with ``layout`` one_file_per_symbol or long).

    Typed by ``source``: each source is its own class (``SampleData``, ``FileData``,
    ``YFinanceData``, ``PythonData``) holding the keys below, shared by all, and its own; a
    key of another source is refused, naming the keys that apply. ``DataConfig(**keys)``
    builds the class of ``keys["source"]`` (default ``sample``), as ``pathlib.Path(...)``
    builds the path class of its system."""

    source: Literal["sample", "file", "yfinance", "python"] = Field(
        "sample", description="sample: data shipped by the arch package; file: a CSV/Parquet "
        "file or folder; yfinance: download (with an on-disk cache); python: bars handed to "
        "run_backtest(data=...) (their content hash is recorded in run.json)")
    instruments: tuple[InstrumentConfig, ...] | None = Field(
        None, description="a universe: one entry per instrument, each from any source; a "
        "key an entry leaves out takes this section's value where it applies to the "
        "entry's source")
    min_overlap: float = Field(0.5, ge=0.0, le=1.0, description="a universe: report pairs of "
                               "instruments sharing less than this share of their dates")
    start: date | None = Field(None, description="first date to use (inclusive)")
    end: date | None = Field(None, description="last date to use (inclusive)")
    shortable: bool = Field(True, description="false for an instrument or account that "
                            "cannot be sold short (a cash account); a strategy with allow_short "
                            "is then refused before any work")
    price_basis: Literal["auto", "price", "total_return"] = Field(
        "auto", description="whether the bars are price-only or dividend-adjusted, as the "
        "report states it; auto: samples are price-only, yfinance follows auto_adjust, files "
        "are reported as not stated")
    adjust: Literal["none", "detected"] = Field(
        "none", description="price jumps that look like splits or bonus issues: none (the "
        "default) flags them in the notes and changes nothing; detected adjusts those that "
        "the open, the close and the volume all confirm (data_feeds/corporate_actions.py)")
    corporate_actions: str | None = Field(
        None, description="CSV of splits and bonus issues to adjust for (columns date, "
        "symbol, ratio: new shares per old share); its rows are applied exactly")

    # a universe's section also holds keys for its entries of other sources (offline for
    # its yfinance entries); _accepted_keys allows only those, and they stay in model_extra
    model_config = ConfigDict(extra="allow", frozen=True,
                              json_schema_extra={"additionalProperties": False})

    def __new__(cls, *args: Any, **keys: Any) -> DataConfig:
        if cls is DataConfig:
            cls = _data_class(keys)
        return super().__new__(cls)

    @classmethod
    def model_validate(cls, obj: Any, **options: Any) -> DataConfig:
        """Validate ``obj`` into the class of its source (on ``DataConfig`` itself)."""
        if cls is DataConfig:
            return _DATA_ADAPTER.validate_python(obj, **options)
        return super().model_validate(obj, **options)

    @classmethod
    def source_name(cls) -> str:
        """The ``source`` this class is the data section of."""
        return next(s for s, c in DATA_CLASSES.items() if c is cls)

    @classmethod
    def _accepted_keys(cls, payload: dict[Any, Any]) -> set[str]:
        """Its source's keys; with instruments, also those of its entries' sources (but a
        ticker or file name, ``symbol``, only of its own)."""
        accepted = set(cls.model_fields)
        for entry in payload.get("instruments") or ():
            source = (entry.get("source") if isinstance(entry, dict) else
                      getattr(entry, "source", None)) or cls.source_name()
            if source in DATA_CLASSES:
                accepted |= set(DATA_CLASSES[source].model_fields) - {"symbol"}
        return accepted

    @classmethod
    def _unknown_key(cls, key: str, name: str) -> str:
        source = cls.source_name()
        owners = _sources_with(key)
        if owners:
            return (f"key {name!r} does not apply to source {source!r} (it is a key of source "
                    f"{owners})")
        known = sorted({k for c in DATA_CLASSES.values() for k in c.model_fields})
        guess = difflib.get_close_matches(key, known, n=1)
        if not guess:
            return f"unknown key {name!r}"
        hint = f"did you mean {guess[0]!r}?"
        if guess[0] not in cls.model_fields:
            hint = f"did you mean {guess[0]!r} (a key of source {_sources_with(guess[0])})?"
        return f"unknown key {name!r}; {hint}"

    @classmethod
    def _keys_taken(cls) -> list[str]:
        source = cls.source_name()
        keys = ", ".join(sorted(k for k in cls.model_fields if k != "source"))
        return [f"the keys of source {source!r} are: {keys}"]

    @model_validator(mode="after")
    def _check(self) -> DataConfig:
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"data.start {self.start} is after data.end {self.end}")
        if self.instruments is not None:
            if not self.instruments:
                raise ValueError("data.instruments is empty: list at least one instrument")
            twice = repeated(i.name for i in self.instruments)
            if twice:
                raise ValueError(f"instrument name(s) {twice} appear more than once in "
                                 "data.instruments; give each its own name")
            for instrument in self.instruments:
                self.for_instrument(instrument)  # each entry must be a valid data config
        if self.is_universe and getattr(self, "headlines", None) is not None:
            raise ValueError("data.headlines with a universe of instruments: headlines are "
                             "read for one instrument; run news signals one instrument at "
                             "a time")
        return self

    @property
    def is_universe(self) -> bool:
        return self.instruments is not None

    def for_instrument(self, instrument: InstrumentConfig) -> DataConfig:
        """The one-instrument data config of a universe entry: its keys over the keys of
        this section that apply to its source (all of them for the same source; a ticker
        or file name stays with its source)."""
        own = instrument.model_dump(exclude={"name"}, exclude_none=True)
        target = DATA_CLASSES.get(own.get("source", self.source))
        base = self.model_dump(exclude={"instruments", "headlines"})
        if base.get("layout") in UNIVERSE_LAYOUTS:
            base["layout"] = "auto"
        if target is not None:
            base = {k: v for k, v in base.items() if k in target.model_fields
                    and (target is type(self) or k != "symbol")}
        try:
            return DataConfig.model_validate({**base, **own})
        except ValidationError as e:
            problems = "; ".join(_messages(e, prefix=""))
            raise ValueError(f"data.instruments {instrument.name!r}: {problems}") from e


class _LoadedData(DataConfig):
    """Keys of the sources the run reads itself (sample, file, yfinance)."""

    session: Literal["none", "NSE", "NYSE"] = Field(
        "none", description="keep only bars inside this exchange session (minute data)")
    bar_label: Literal["auto", "open", "close"] = Field(
        "auto", description="intraday stamps mark the bar's open or close; auto: read it off "
        "the first bar of the session (bars are aligned to close times)")
    resample: Literal["none", "daily"] = Field("none", description="resample to daily bars")
    dayfirst: bool | None = Field(None, description="dates written nn/nn/yyyy are day-first "
                                  "(true) or month-first (false); needed only when no date "
                                  "in the column tells (bars and headlines)")
    date_format: str | None = Field(None, description="strftime pattern of the file's dates "
                                    "(e.g. '%d %b %Y'), for a spelling the reader does not "
                                    "recognise (data_feeds/dates.py lists those it does)")
    headlines: HeadlinesConfig | None = Field(None, description="headlines for news signals")


class SampleData(_LoadedData):
    """Daily bars shipped by the ``arch`` package."""

    source: Literal["sample"] = Field("sample", description="data shipped by the arch "
                                      "package (the default source)")
    sample: Literal["sp500", "nasdaq"] = Field("sp500", description="which arch sample")


class FileData(_LoadedData):
    """A CSV/Parquet file or folder: one instrument, or a universe (layout
    one_file_per_symbol or long)."""

    source: Literal["file"] = Field(description="a CSV/Parquet file or folder")
    path: str | None = Field(None, description="the file or folder (required, unless "
                             "data.instruments lists the instruments)")
    layout: Literal["auto", "header", "nifty", "one_file_per_symbol", "long"] = Field(
        "auto", description="CSV layout; a universe: one_file_per_symbol (a folder of one CSV "
        "per instrument, named after the file) or long (one file with a symbol column)")
    symbol_column: str = Field("symbol", description="layout long: the column naming each "
                               "row's instrument")
    symbols: tuple[str, ...] | None = Field(None, description="layouts one_file_per_symbol and "
                                            "long: only these instruments (default: all)")
    symbol: str | None = Field(None, description="the instrument's name (matched in the "
                               "corporate actions and headline files; default: the file's "
                               "name without its extension)")
    tz: str | None = Field(None, description="time zone of naive timestamps in the file")

    @model_validator(mode="after")
    def _check_file(self) -> FileData:
        if not self.path and self.instruments is None:
            raise ValueError("data.path is required when data.source is 'file'")
        if self.tz is not None:
            _check_time_zone(self.tz)
        return self

    @property
    def is_universe(self) -> bool:
        return self.instruments is not None or self.layout in UNIVERSE_LAYOUTS


class YFinanceData(_LoadedData):
    """Bars downloaded from Yahoo Finance, kept in an on-disk cache."""

    source: Literal["yfinance"] = Field(description="download (with an on-disk cache)")
    symbol: str = Field("^GSPC", description="ticker")
    interval: str = Field("1d", description="interval, e.g. 1d or 1m")
    tz: str | None = Field(None, description="time zone of the bars (default: "
                           "America/New_York)")
    cache_dir: str = Field(".cache/yfinance", description="Parquet cache folder")
    offline: bool = Field(False, description="use the cache only, never download")
    auto_adjust: bool = Field(False, description="prices adjusted for dividends and splits "
                              "(total return) instead of price-only")

    @model_validator(mode="after")
    def _check_tz(self) -> YFinanceData:
        if self.tz is not None:
            _check_time_zone(self.tz)
        return self


class PythonData(DataConfig):
    """Bars handed to ``run_backtest(data=...)`` / ``Backtest(data)`` from Python."""

    source: Literal["python"] = Field(description="bars handed to run_backtest(data=...) "
                                      "(their content hash is recorded in run.json)")

    @model_validator(mode="after")
    def _check_python(self) -> PythonData:
        cut = [k for k in ("start", "end", "corporate_actions") if getattr(self, k)]
        cut += ["adjust"] if self.adjust != "none" else []
        if cut and self.instruments is None:
            raise ValueError(f"data.{cut[0]} with data.source 'python': bars from Python are "
                             "used as given; cut or adjust them before passing them (a "
                             "universe of them, data.instruments, applies these keys)")
        return self


#: the data class of each source
DATA_CLASSES: dict[str, type[DataConfig]] = {"sample": SampleData, "file": FileData,
                                             "yfinance": YFinanceData, "python": PythonData}


def _source_tag(value: Any) -> Any:
    """The source of a data section (``sample`` when it names none)."""
    if isinstance(value, dict):
        return value.get("source", "sample")
    return getattr(value, "source", None)


#: the type of ``RunConfig.data``: one class per source, chosen by ``source``
DataSpec = Annotated[
    Annotated[SampleData, Tag("sample")] | Annotated[FileData, Tag("file")]
    | Annotated[YFinanceData, Tag("yfinance")] | Annotated[PythonData, Tag("python")],
    Discriminator(_source_tag)]
_DATA_ADAPTER: TypeAdapter[DataConfig] = TypeAdapter(DataSpec)


def _data_class(keys: dict[str, Any]) -> type[DataConfig]:
    """The class of a data section's source; an unknown source is refused as in a config."""
    source = keys.get("source", "sample")
    if isinstance(source, str) and source in DATA_CLASSES:
        return DATA_CLASSES[source]
    _DATA_ADAPTER.validate_python(keys)  # raises the ValidationError naming the sources
    raise AssertionError("unreachable")


class WalkForwardConfig(_Frozen):
    """Walk-forward retraining, counted in decision times."""

    scheme: Literal["expanding", "rolling"] = "expanding"
    min_train: int = Field(DEFAULT_MIN_TRAIN, ge=1, description="decisions of warm-up before "
                           "the first fold")
    retrain_every: int = Field(DEFAULT_RETRAIN_EVERY, ge=1, description="decisions between "
                               "refits")
    window: int | None = Field(None, ge=1, description="training window for scheme=rolling")
    embargo: int = Field(0, ge=0, description="decisions left out between train and test")


#: typed strategy keys; each is passed to a strategy class that declares it in ``params``
_STRATEGY_KEYS = ("threshold", "allow_short", "position_size", "sizing", "lot_size",
                  "position_cash",
                  "exit_time", "stop_loss",
                  "take_profit", "trailing_stop", "target_volatility", "volatility_lookback",
                  "bars_per_year", "close_at_end")


class StrategyConfig(BaseModel):
    """``kind`` names a strategy (built-in, registered, entry point or ``module:Class``); the
    typed keys below and any other key are checked against the class's backtrader
    ``params``."""

    model_config = ConfigDict(extra="allow", frozen=True)
    kind: str = Field(
        "signal", description="signal: hold each decision until the next one; intraday: enter "
        "on the day's decision and exit at exit_time (minute bars); or a registered name or "
        "'package.module:Class' of a backtrader Strategy that reads the signal lines")
    threshold: float = Field(0.5, ge=0.0, le=1.0,
                             description="minimum probability of a decision to trade on it")
    allow_short: bool = Field(False, description="go short on down decisions")
    position_size: float = Field(1.0, gt=0.0, le=1.0, description="fraction of equity per trade")
    sizing: Literal["fractional", "shares", "lots"] = Field(
        "fractional", description="fractional units (fine for indices), whole shares, or lots "
        "of lot_size; rounded down so an order never needs more cash than there is")
    lot_size: int = Field(1, ge=1, description="units per lot for sizing 'lots'")
    position_cash: float | None = Field(None, gt=0.0, description="a fixed cash amount per "
                                        "position instead of position_size of equity (at most "
                                        "the equity)")
    exit_time: time | None = Field(None, description="intraday: close positions at the open of "
                                   "the first bar at or after this exchange time (default: the "
                                   "session close of data.session)")
    stop_loss: float | None = Field(None, gt=0.0, lt=1.0, description="exit at the next "
                                    "open once a close is this fraction against the entry")
    take_profit: float | None = Field(None, gt=0.0, description="exit at the next open once a "
                                      "close is this fraction in favour of the entry")
    trailing_stop: float | None = Field(None, gt=0.0, lt=1.0, description="exit at the next "
                                        "open once a close is this fraction back from the best "
                                        "close since entry")
    target_volatility: float | None = Field(None, gt=0.0, description="size each entry to "
                                            "this annualised volatility (e.g. 0.15), at most "
                                            "position_size of equity")
    volatility_lookback: int = Field(20, ge=2, description="bars of returns behind the "
                                     "realised volatility of target_volatility")
    bars_per_year: int = Field(252, ge=1, description="annualises the realised volatility "
                               "(252 for daily bars)")
    close_at_end: bool = Field(False, description="close a position still open at the last "
                               "bar's open (default: mark it at the last close)")

    @model_validator(mode="before")
    @classmethod
    def _check_params(cls, payload: Any) -> Any:
        """Every key set must be a parameter of the strategy class."""
        if not isinstance(payload, dict):
            return payload
        kind = payload.get("kind", "signal")
        strategy = resolve_component(kind, "strategy")
        own = {k: v for k, v in payload.items() if k != "kind" and  # typed keys at their
               (k not in _STRATEGY_KEYS or v != cls.model_fields[k].default)}  # defaults: unset
        validate_params(strategy, "strategy", own, f"strategy {kind!r}")
        return payload

    @property
    def strategy_class(self) -> type:
        return resolve_component(self.kind, "strategy")

    def strategy_params(self) -> dict[str, Any]:
        """Keyword parameters of the backtrader strategy this config selects."""
        accepted = component_params(self.strategy_class, "strategy")
        values = {**self.model_dump(exclude={"kind"}), **(self.model_extra or {})}
        return {k: v for k, v in values.items() if k in accepted}


class CostsConfig(_Frozen):
    """Costs of every order (strategies/costs.py); all are stated in the report."""

    commission: float = Field(0.0005, ge=0.0, lt=0.1, description="fraction of traded value")
    slippage: float = Field(0.0002, ge=0.0, lt=0.1, description="fraction of the fill price, "
                            "against the order, within the bar's high-low range")
    spread: float = Field(0.0, ge=0.0, lt=0.1, description="bid-ask spread as a fraction of "
                          "price; half is paid on each side")
    per_share: float = Field(0.0, ge=0.0, description="cash per unit traded")
    per_order: float = Field(0.0, ge=0.0, description="fixed cash per order")
    minimum: float = Field(0.0, ge=0.0, description="least cost of an order")
    borrow_fee: float = Field(0.0, ge=0.0, lt=1.0, description="annual rate on short "
                              "positions (calendar days x entry notional x rate / 365)")


#: strategies the run adds itself; no signal may take their names (strategies/references.py)
RESERVED_NAMES = REFERENCE_NAMES
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")


class SignalConfig(BaseModel):
    """``kind`` names a signal (built-in, registered, entry point or ``module:Class``);
    ``name`` names this instance (default: the kind), and keys every id, column and figure;
    every other key is one of the signal's hyperparameters."""

    model_config = ConfigDict(extra="allow", frozen=True,
                              json_schema_extra=lambda schema: schema.update(required=["kind"]))
    kind: str
    name: str = Field(description="this instance's name (default: the kind)")
    walk_forward: WalkForwardConfig | None = None
    instance: SkipJsonSchema[Any] = Field(
        None, exclude=True, description="a signal object built in Python "
        "(Backtest(signals=...)); its parameters are recorded, not rebuilt")
    threshold: float | None = Field(None, ge=0.0, le=1.0, description="this signal's minimum "
                                    "probability to trade (default: strategy.threshold)")
    pooled: bool = Field(False, description="a universe: one model per fold trained on every "
                         "instrument's bars (default: a model per instrument)")
    instrument_feature: bool = Field(False, description="pooled: the model also reads which "
                                     "instrument each sample is from (one-hot inputs)")

    @model_validator(mode="before")
    @classmethod
    def _resolve_params(cls, payload: Any) -> Any:
        """Check every hyperparameter against the signal's ``__init__`` and fill defaults."""
        if not isinstance(payload, dict) or "kind" not in payload:
            return payload
        kind = payload["kind"]
        signal: Any = resolve_component(kind, "signal")
        instance: Any = payload.get("instance")
        if instance is not None:
            if not isinstance(instance, signal):
                raise ValueError(f"signal instance {instance!r} is not a {kind!r}")
            params = {k: json.loads(json.dumps(v, default=stable_repr))
                      for k, v in instance.get_params().items()}
            resolved = {**payload, **params}
        else:
            own = {k: v for k, v in payload.items()
                   if k not in ("kind", "name", "walk_forward", "threshold", "pooled",
                                 "instrument_feature")}
            resolved = {**payload, **validate_params(signal, "signal", own,
                                                     f"signal {kind!r}")}
        resolved.setdefault("name", default_name(kind, signal))
        name = resolved["name"]
        if not isinstance(name, str) or not _NAME.match(name) or name in RESERVED_NAMES:
            raise ValueError(f"signal name {name!r}: use a letter then letters, digits, '_' or "
                             f"'-' (at most 64), not one of {list(RESERVED_NAMES)}")
        return resolved

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    def build(self) -> Any:
        """A fresh, unfitted signal: a clone of the Python instance, or built from params."""
        if self.instance is not None:
            return self.instance.clone()
        return resolve_component(self.kind, "signal")(**self.params)


def default_name(kind: str, signal: type) -> str:
    """A signal instance's default name: its kind, or the snake-cased class name for
    ``module:Class`` kinds (``RSIMeanReversion`` -> ``rsi_mean_reversion``)."""
    if ":" not in kind:
        return kind
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", signal.__name__)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", spaced).lower()


class EnsembleConfig(_Frozen):
    """Combine the run's signals into one more strategy (see signals/ensemble.py)."""

    method: Literal["vote", "mean"] = Field("vote", description="majority vote of member "
                                            "directions, or mean of direction x probability")
    margin: float = Field(0.1, ge=0.0, le=1.0, description="mean: |score| needed to trade")


class CheckConfig(_Frozen):
    """Checks of what the user brings, run on every run unless turned off."""

    lookahead: bool = Field(True, description="before any backtest, redraw the bars and "
                            "headlines after a few seeded cut points and stop the run if a "
                            "signal's earlier decisions change (engine/lookahead_guard.py); "
                            "false skips it and the report says so")
    lookahead_cuts: int = Field(3, ge=1, le=50, description="cut points per signal")


class RunConfig(_Frozen):
    """One backtest run."""

    name: str = Field("sp500-ma-crossover", description="run name, used in the folder name "
                      "(letters, digits, '_', '-', '.'; no path separators, so runs stay "
                      "inside output_dir)")
    data: DataSpec = SampleData()
    signals: tuple[SignalConfig, ...] = (SignalConfig(kind="ma_crossover", name="ma_crossover"),)
    ensemble: EnsembleConfig | None = Field(None, description="also trade a vote of the signals")
    walk_forward: WalkForwardConfig = WalkForwardConfig()
    strategy: StrategyConfig = StrategyConfig()
    costs: CostsConfig = CostsConfig()
    cash: float = Field(100_000.0, gt=0, allow_inf_nan=False, description="starting cash")
    engine: Literal["auto", "fast", "backtrader"] = Field(
        "auto", description="auto: the vectorised fast path where it models the strategy "
        "(the built-in signal strategy without stop or volatility rules; equal to backtrader "
        "to 1e-9), else backtrader; fast: refuse what it cannot run; backtrader: always the "
        "reference engine")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="seed of every random number "
                      "generator (0 to 2**32 - 1)")
    threads: int = Field(1, ge=1, description="torch threads; results are bit-identical only "
                         "for the same number (it is part of the model cache key)")
    output_dir: str = Field("runs", description="parent folder of run folders")
    cache_dir: str | None = Field(".cache", description="cache of fitted fold models, keyed by "
                                  "a hash of signal, parameters and training data; null: off")
    tearsheet: bool = Field(True, description="write the QuantStats HTML tearsheet")
    fit_workers: int = Field(1, ge=1, description="a universe: processes fitting the "
                             "per-instrument models of built-in signals")
    fit_executor: Literal["local", "ray"] = Field("local", description="a universe: where "
                                                  "fit_workers run (local processes or Ray)")
    check: CheckConfig = CheckConfig()
    faithfulness: bool = Field(True, description="measure how true every explanation is "
                               "(deletion test vs random inputs, infidelity, randomisation "
                               "check) and report it; false saves that time")
    trials: int | None = Field(None, ge=1, description="configurations tried before this "
                               "one, counted by the deflated Sharpe; a sweep writes its count "
                               "into each run's config")

    @field_validator("name")
    @classmethod
    def _safe_name(cls, name: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}", name):
            raise ValueError(f"run name {name!r}: use letters, digits, '_', '-' and '.' (no "
                             "path separators, so the run stays inside output_dir)")
        return name

    @model_validator(mode="after")
    def _check(self) -> RunConfig:
        if self.ensemble is not None and len(self.signals) < 2:
            raise ValueError("ensemble needs at least two signals")
        twice = repeated(s.name for s in self.signals)
        if twice:
            raise ValueError(f"signal name(s) {twice} appear more than once; give each "
                             "instance its own 'name:' (e.g. sma_fast, sma_slow)")
        universe, portfolio = self.data.is_universe, self.strategy.kind == "portfolio"
        if universe and not portfolio:
            raise ValueError(f"data holds a universe of instruments, which strategy.kind "
                             f"{self.strategy.kind!r} cannot trade; set strategy.kind: "
                             "portfolio (one cash account over every instrument)")
        if portfolio and not universe:
            raise ValueError("strategy.kind 'portfolio' trades a universe: list "
                             "data.instruments, or give data.path with data.layout "
                             "one_file_per_symbol or long")
        if portfolio:
            check_portfolio_params(**self.strategy.strategy_params())
        if universe and self.ensemble is not None:
            raise ValueError("ensemble over a universe is not supported yet: trade each "
                             "signal's portfolio on its own (leave out ensemble)")
        lone = [s.name for s in self.signals if s.instrument_feature and not s.pooled]
        if lone:
            raise ValueError(f"signal(s) {lone}: instrument_feature needs pooled: true (a "
                             "model per instrument sees one instrument)")
        if any(s.pooled for s in self.signals) and not universe:
            raise ValueError("signals.pooled pools the instruments of a universe; this data "
                             "holds one instrument")
        if self.data.source != "python":  # Python data: Backtest checks the MarketData
            refusal = headline_refusal(self, self.data.headlines is not None)
            if refusal:
                raise ValueError(refusal)
        if (self.strategy.kind == "intraday" and self.strategy.exit_time is None
                and getattr(self.data, "session", "none") == "none"):
            raise ValueError("strategy.kind 'intraday' needs strategy.exit_time or a "
                             "data.session whose close it exits at")
        return self

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    def hash(self) -> str:
        """SHA-256 of the canonical JSON of the resolved config (first 16 hex digits)."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def needs_headlines(signal: SignalConfig | dict[str, Any]) -> bool:
    """Whether a signal decides from headlines (its class sets ``needs_headlines = True``,
    as the news signals do)."""
    kind = signal.kind if isinstance(signal, SignalConfig) else signal["kind"]
    return bool(getattr(resolve_component(kind, "signal"), "needs_headlines", False))


def headline_refusal(config: RunConfig, have_headlines: bool) -> str | None:
    """Why the run cannot start: a signal that needs headlines on data without them, and
    how to fix it; None when every signal has what it reads."""
    needing = [s.name for s in config.signals if needs_headlines(s)]
    if have_headlines or not needing:
        return None
    which = (f"signal {needing[0]!r} needs" if len(needing) == 1 else
             f"signals {needing} need")
    if config.data.is_universe:
        return (f"{which} headlines, which a universe of instruments does not carry: run "
                "news signals one instrument at a time, or leave them out")
    if config.data.source == "python":
        return (f"{which} headlines and the data has none: pass MarketData(bars, "
                "headlines=...) as data, or choose signals that read bars only")
    return (f"{which} headlines and data.headlines is not set: set data.headlines "
            "(source: csv, parquet or sqlite with path: your headline file), or choose "
            "signals that read bars only (--signal ma_crossover, or signals: in the config)")


def _messages(error: ValidationError, prefix: str) -> list[str]:
    """One message per problem, keys dotted from ``prefix`` (the source classes' tags in
    the location, ``data.file.path``, left out)."""
    lines = []
    for item in error.errors():
        loc = [str(p) for p in item["loc"]]
        if loc and loc[0] in DATA_CLASSES and not prefix:  # a data section on its own
            loc = loc[1:]
        elif len(loc) > 1 and loc[0] == "data" and loc[1] in DATA_CLASSES:
            loc = [loc[0], *loc[2:]]
        key = ".".join([prefix, *loc] if prefix else loc)
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "unknown_key":
            lines += [line.replace(repr(_KEY), repr(f"{key}.{name}" if key else name))
                      for name, line in zip(item["ctx"]["keys"], item["ctx"]["lines"],
                                            strict=True)]
            lines += item["ctx"]["tail"]
        elif item["type"] == "extra_forbidden":
            lines.append(f"unknown key {key!r}")
        elif item["type"] == "union_tag_invalid":
            tags = ", ".join(DATA_CLASSES)
            guess = difflib.get_close_matches(str(item["ctx"]["tag"]), list(DATA_CLASSES), n=1)
            hint = f"; did you mean {guess[0]!r}?" if guess else ""
            where = f"{key}.source" if key else "source"
            lines.append(f"{where} {item['ctx']['tag']!r} is not a source; use one of "
                         f"{tags}{hint}")
        else:  # a check of the whole config names its keys itself
            lines.append(f"{key}: {message}" if key else message)
    return lines


def _describe(error: ValidationError) -> str:
    return "; ".join(_messages(error, prefix=""))


def config_schema() -> dict[str, Any]:
    """The JSON schema of a run config (``xai-backtest schema``), for editors to complete
    and check YAML configs."""
    schema = RunConfig.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def signal_config(entry: dict[str, Any], source: str) -> SignalConfig:
    """Validate one signal entry on its own; errors name ``source`` (a command-line flag and
    its value) and the key."""
    try:
        return SignalConfig.model_validate(entry)
    except ValidationError as e:
        raise ConfigError(f"{source}: {_describe(e)}") from e


def build_config(payload: dict[str, Any], source: str = "config") -> RunConfig:
    """Validate a nested dict into a ``RunConfig``; errors name the offending key."""
    try:
        return RunConfig.model_validate(payload)
    except ValidationError as e:
        raise ConfigError(f"{source}: {_describe(e)}") from e


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key written twice in one mapping (plain YAML keeps
    the last silently: a threshold dropped, cash changed)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ConfigError(f"key {key!r} is written twice (lines {seen[key]} and "
                                  f"{line}); keep one")
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> RunConfig:
    """Read a YAML run config; apply dotted-key ``overrides`` (``{"costs.slippage": 0}``).
    A key written twice, or a file with no keys, is refused."""
    path = Path(path)
    try:
        payload = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except FileNotFoundError as e:
        raise ConfigError(f"{path}: config file not found") from e
    except IsADirectoryError as e:
        raise ConfigError(f"{path}: is a folder; give the path of a YAML file") from e
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start}); re-save "
                          "it as UTF-8") from e
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML ({e})") from e
    if payload is None:
        raise ConfigError(f"{path}: the config is empty (no keys); write at least one key, "
                          "or leave out --config to run the default")
    if not isinstance(payload, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level")
    return build_config(apply_overrides(payload, overrides or {}), str(path))


def apply_overrides(payload: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``payload`` with dotted keys set."""
    out = json.loads(json.dumps(payload, default=str))
    for dotted, value in overrides.items():
        node = out
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return out
