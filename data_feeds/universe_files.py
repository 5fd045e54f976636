"""Universe data from files: a folder of one CSV per instrument, or one long file with a
symbol column. Daily bars only.

Each instrument is read by the single-file reader (``bars_from_table``: the one date
parser, the same column matching), cleaned by the one policy (``clean_bars``: exact
repeats removed and counted, rows sorted, two different rows for one date refused) and
validated (``validate_bars``), on its own: an instrument that fails any step is left out
with its reason, and the others run. Prices are never changed here; jumps that look like
splits are flagged by data_feeds/corporate_actions.py, and adjusted only when the config
says so.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from xai_backtest.data_feeds.cleaning import CleaningReport, clean_bars
from xai_backtest.data_feeds.errors import DataError
from xai_backtest.data_feeds.files import DateSpelling, bars_from_table, read_csv_table
from xai_backtest.data_feeds.validate import validate_bars

__all__ = ["UniverseFiles", "load_long_file", "load_symbol_folder"]



@dataclass
class UniverseFiles:
    """Instruments read from files, in name order: ``frames`` (name, bars), what was
    cleaned per instrument (``cleaning``), the instruments left out and why (``dropped``)
    and where each was read (``sources``: the file's name in the data folder, with the
    symbol for a long file; notes never carry a local path)."""

    frames: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    cleaning: list[CleaningReport] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def notes(self) -> list[str]:
        out = [r.summary() for r in self.cleaning if r.removed or r.repaired]
        return out + [f"{name}: left out, {why}" for name, why in self.dropped.items()]


def load_symbol_folder(path: str | Path, tz: str, symbols: Sequence[str] | None = None,
                       dates: DateSpelling | None = None) -> UniverseFiles:
    """Every ``*.csv`` in the folder ``path`` as one instrument named after the file (or
    only ``symbols``), naive dates local to ``tz``."""
    folder = Path(path)
    if not folder.is_dir():
        raise DataError(str(folder), "not a folder", "layout one_file_per_symbol reads a "
                        "folder of one CSV per instrument")
    files = {p.stem: p for p in sorted(folder.glob("*.csv"))}
    if not files:
        raise DataError(str(folder), "no .csv files", "put one CSV per instrument there")
    wanted = list(files) if symbols is None else list(symbols)
    missing = [s for s in wanted if s not in files]
    if missing:
        raise DataError(str(folder), f"no file for symbol(s) {missing}",
                        f"name symbols after the files ({', '.join(list(files)[:10])}"
                        f"{'...' if len(files) > 10 else ''})")
    out = UniverseFiles()
    for name in wanted:
        source = files[name].name
        try:
            raw, _ = read_csv_table(files[name])
        except DataError as e:
            out.dropped[name] = str(DataError(source, e.problem, e.fix, e.where))
            continue
        _add(out, name, raw, source, tz, dates or DateSpelling())
    return out


def load_long_file(path: str | Path, tz: str, symbol_column: str = "symbol",
                   symbols: Sequence[str] | None = None,
                   dates: DateSpelling | None = None) -> UniverseFiles:
    """One CSV holding every instrument's rows, told apart by ``symbol_column``."""
    raw, _ = read_csv_table(Path(path))
    lower = {str(c).strip().lower(): c for c in raw.columns}
    column = lower.get(symbol_column.lower())
    if column is None:
        raise DataError(str(path), f"no column {symbol_column!r} to tell instruments apart",
                        "name the symbol column (symbol_column)")
    groups = dict(tuple(raw.groupby(raw[column].astype(str), sort=True)))
    wanted = list(groups) if symbols is None else list(symbols)
    missing = [s for s in wanted if s not in groups]
    if missing:
        raise DataError(str(path), f"no rows for symbol(s) {missing}",
                        f"use symbols the file holds ({', '.join(list(groups)[:10])})")
    out = UniverseFiles()
    for name in wanted:
        _add(out, name, groups[name].drop(columns=[column]), f"{Path(path).name} [{name}]", tz,
             dates or DateSpelling())
    return out


def _add(out: UniverseFiles, name: str, raw: pd.DataFrame, source: str, tz: str,
         dates: DateSpelling) -> None:
    report = CleaningReport(source=source, rows_in=len(raw))
    out.cleaning.append(report)
    out.sources[name] = source
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the columns a universe file ignores
            bars = bars_from_table(raw, source, tz, dates, report)
        bars = validate_bars(clean_bars(bars, source, report), source)
    except DataError as e:
        out.dropped[name] = str(e)
        return
    out.frames.append((name, bars))
