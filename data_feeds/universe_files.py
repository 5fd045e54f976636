"""Universe data from files: a folder of one CSV per instrument, or one long file with a
symbol column. Daily bars only.

Each instrument is read on its own, so a defect in one never loses the others:

- rows repeated exactly (same date, same values) are removed and counted;
- two different rows for one date drop that instrument, with a note saying where;
- a day whose open is a common split ratio (2:1, 3:2, 5:1, ...; within 5%) below or above
  the previous close, with the close also moving by more than ``split_jump``, is taken for
  an unadjusted split or bonus issue: the earlier bars are divided by the ratio (volume
  multiplied) and the repair counted, naming the day. A jump that matches no ratio is
  left as it is and noted: a return across it may not be real.

Columns are matched by name, case-insensitively: a date column (``date``, ``timestamp``),
``open``, ``high``, ``low``, ``close`` and optionally ``volume`` (0 when absent); others are
ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from xai_backtest.data_feeds.cleaning import CleaningReport
from xai_backtest.data_feeds.errors import DataError

__all__ = ["UniverseFiles", "load_long_file", "load_symbol_folder"]

_DATE_NAMES = ("date", "timestamp", "datetime", "time")


@dataclass
class UniverseFiles:
    """Instruments read from files, in name order: ``frames`` (name, bars), what was
    cleaned per instrument (``cleaning``), instruments left out and why (``dropped``), and
    per instrument the splits adjusted (``splits``: day and ratio) and the jumps that match
    no split ratio (``jumps``)."""

    frames: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    cleaning: list[CleaningReport] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)
    splits: dict[str, list[str]] = field(default_factory=dict)
    jumps: dict[str, list[str]] = field(default_factory=dict)

    def notes(self) -> list[str]:
        out = [r.summary() for r in self.cleaning if r.removed or r.repaired]
        out += [f"{name}: left out, {why}" for name, why in self.dropped.items()]
        out += [f"{name}: adjusted for {len(days)} unadjusted split(s) or bonus issue(s): "
                f"{', '.join(days)}" for name, days in self.splits.items()]
        out += [f"{name}: {len(days)} close-to-close move(s) beyond the split threshold "
                f"that match no split ratio, left as they are: {', '.join(days[:5])}"
                for name, days in self.jumps.items()]
        return out


def load_symbol_folder(path: str | Path, tz: str, symbols: Sequence[str] | None = None,
                       split_jump: float = 0.4) -> UniverseFiles:
    """Every ``*.csv`` in the folder ``path`` as one instrument named after the file (or
    only ``symbols``), dates localised to ``tz``."""
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
        _add(out, name, pd.read_csv(files[name]), str(files[name]), tz, split_jump)
    return out


def load_long_file(path: str | Path, tz: str, symbol_column: str = "symbol",
                   symbols: Sequence[str] | None = None,
                   split_jump: float = 0.4) -> UniverseFiles:
    """One CSV holding every instrument's rows, told apart by ``symbol_column``."""
    raw = pd.read_csv(path)
    column = _column(raw, (symbol_column,))
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
        _add(out, name, groups[name].drop(columns=[column]), f"{path} [{name}]", tz, split_jump)
    return out


def _add(out: UniverseFiles, name: str, raw: pd.DataFrame, source: str, tz: str,
         split_jump: float) -> None:
    report = CleaningReport(source=source, rows_in=len(raw))
    out.cleaning.append(report)
    try:
        bars = _bars(raw, source, tz, report)
    except DataError as e:
        out.dropped[name] = str(e)
        return
    bars = _adjust_splits(out, name, bars, report, split_jump)
    out.frames.append((name, bars))


def _adjust_splits(out: UniverseFiles, name: str, bars: pd.DataFrame, report: CleaningReport,
                   split_jump: float) -> pd.DataFrame:
    """Divide the bars before each recognised split day by its ratio (see the module doc)."""
    close, opens = bars["close"].to_numpy(), bars["open"].to_numpy()
    jumps = np.flatnonzero(np.abs(close[1:] / close[:-1] - 1) > split_jump) + 1
    if not len(jumps):
        return bars
    prices = bars[["open", "high", "low", "close"]].to_numpy(dtype=float).copy()
    volume = bars["volume"].to_numpy(dtype=float).copy()
    last = 0
    for j in jumps:
        gap = close[j - 1] / opens[j]
        ratio = min(_RATIOS, key=lambda r: abs(gap / r - 1))
        day = f"{bars.index[j]:%Y-%m-%d}"
        if abs(gap / ratio - 1) > 0.05:
            out.jumps.setdefault(name, []).append(day)
            continue
        prices[:j] /= ratio
        volume[:j] *= ratio
        out.splits.setdefault(name, []).append(f"{day} (earlier prices / {ratio:g})")
        last = j
    if name not in out.splits:
        return bars
    report.record_repair("bars before an unadjusted split or bonus issue, adjusted", last,
                         out.splits[name])
    adjusted = bars.copy()
    adjusted[["open", "high", "low", "close"]] = prices
    adjusted["volume"] = volume
    return adjusted


#: split and bonus ratios (old shares per new), forward and reverse
_RATIOS = (1.25, 4 / 3, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 10.0, 0.5, 0.2, 0.1)



def _column(raw: pd.DataFrame, names: Sequence[str]) -> str | None:
    lower = {str(c).strip().lower(): c for c in raw.columns}
    return next((lower[n.lower()] for n in names if n.lower() in lower), None)


def _bars(raw: pd.DataFrame, source: str, tz: str, report: CleaningReport) -> pd.DataFrame:
    date = _column(raw, _DATE_NAMES)
    if date is None:
        raise DataError(source, "no date column", f"name it one of {_DATE_NAMES}")
    columns = {}
    for field_name in ("open", "high", "low", "close", "volume"):
        found = _column(raw, (field_name,))
        if found is None and field_name != "volume":
            raise DataError(source, f"no {field_name!r} column", "add it (names are "
                            "matched case-insensitively)")
        columns[field_name] = (pd.to_numeric(raw[found], errors="coerce") if found is not None
                               else pd.Series(0.0, index=raw.index))
    frame = pd.DataFrame(columns)
    frame.index = pd.DatetimeIndex(pd.to_datetime(raw[date], errors="coerce"), name="date")
    unreadable = frame.index.isna() | frame[["open", "high", "low", "close"]].isna().any(
        axis=1).to_numpy()
    report.record("rows without a readable date or price", int(unreadable.sum()),
                  [str(i) for i in np.flatnonzero(unreadable)[:5]])
    frame = frame[~unreadable]
    exact = frame.reset_index().duplicated().to_numpy()
    report.record("rows repeated exactly (same date and values)", int(exact.sum()),
                  [f"{d:%Y-%m-%d}" for d in frame.index[exact][:5]])
    frame = frame[~exact]
    clash = frame.index.duplicated(keep=False)
    if clash.any():
        raise DataError(source, f"{int(clash.sum())} rows share a date with different values",
                        "keep one row per date", where=f"{frame.index[clash][0]:%Y-%m-%d}")
    frame = frame.sort_index()
    frame.index = frame.index.tz_localize(tz)
    return frame
