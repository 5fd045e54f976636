"""A run's folder: created in one step, its status file, and its explanation figures."""

from __future__ import annotations

import html
import json
import math
import resource
import shutil
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from xai_backtest.engine.config import ConfigError, RunConfig
from xai_backtest.engine.executor import make_executor
from xai_backtest.explainers.base import Explanation
from xai_backtest.explainers.figures import render_figures
from xai_backtest.reports.comparison import formatted_comparison
from xai_backtest.reports.significance import EdgeTest
from xai_backtest.reports.tearsheet import BackgroundTearsheets, TearsheetJob
from xai_backtest.reports.trade_log import TEXT
from xai_backtest.signals.base import SignalFrame
from xai_backtest.storage.atomic import atomic_write, atomic_write_text
from xai_backtest.strategies.references import ENSEMBLE, is_reference

if TYPE_CHECKING:
    from bokeh.models import GridPlot

    from xai_backtest.engine.folds import FoldModels

__all__ = ["RunResult", "Tearsheets", "Written", "add_figure_paths", "draw_figures",
           "figure_path", "fresh_folder", "peak_memory_mb", "run_folder", "start_run_folder",
           "read_edges", "start_tearsheets", "write_edges", "write_status",
           "write_trades_first"]


@dataclass(frozen=True)
class RunResult:
    """What a run produced, the same for one instrument or many; every frame is also on
    disk in ``folder``.

    ``decisions`` maps each decision frame's name (the signal's, or over a universe
    ``signal[instrument]``) to its out-of-sample decisions; ``signals`` maps each signal
    to its fitted walk-forward (engine/folds.py: ``fold_models(instrument)`` gives the
    fold models); ``trades`` is the trade log with each entry's and exit's explanation,
    ``equity`` every strategy's equity per bar, ``rejected`` the orders the broker
    refused, ``notes`` what the data loading and alignment did.
    """

    folder: Path
    config: RunConfig
    comparison: pd.DataFrame
    trades: pd.DataFrame
    equity: pd.DataFrame
    decisions: dict[str, SignalFrame]
    signals: dict[str, FoldModels]
    explanations: dict[str, Explanation]
    rejected: pd.DataFrame
    notes: list[str]
    seconds: float

    def plot(self, prices: pd.DataFrame | None = None) -> GridPlot:
        """The report's interactive main chart of this run (Bokeh): price with each trade's
        entry and exit, every strategy's equity against the benchmark, the drawdown; a
        marker opens its trade in ``report``. Shown inline in a notebook (BokehJS inline,
        nothing fetched; end the line with ``;`` to hide the returned layout's summary);
        from a script, ``bokeh.io.save(result.plot(), "chart.html", resources=INLINE)``
        (``from bokeh.resources import INLINE``; the default fetches BokehJS from a CDN).

        ``prices``: the bars to draw the trades on; by default read again from the run's
        data config. A universe, or data passed from Python without ``prices``, gets one
        row of markers per instrument (or strategy) instead.
        """
        from xai_backtest.reports.interactive_chart import (
            main_chart,
            show_inline,
            strategy_colors,
        )
        from xai_backtest.strategies.references import BUY_AND_HOLD, EQUAL_WEIGHT_REBALANCED

        universe = "instrument" in self.trades and self.trades["instrument"].notna().any()
        if prices is None and not universe and self.config.data.source != "python":
            from xai_backtest.engine.data import load_market_data

            prices = load_market_data(self.config.data)[0].bars
        benchmark = (BUY_AND_HOLD if BUY_AND_HOLD in self.equity.columns
                     else EQUAL_WEIGHT_REBALANCED)
        chart = main_chart(self.equity, self.trades,
                           strategy_colors(list(self.equity.columns), benchmark), benchmark,
                           prices, page=self.report.resolve().as_uri())
        show_inline(chart.layout)
        return chart.layout

    @property
    def tearsheet(self) -> Path:
        return self.folder / "tearsheet.html"

    @property
    def report(self) -> Path:
        return self.folder / "report.html"

    @property
    def strategies(self) -> list[str]:
        """The strategies the run traded on its signals (and their vote), without the
        references."""
        return [c for c in self.comparison.columns if c == ENSEMBLE or not is_reference(c)]

    @property
    def edges(self) -> dict[str, EdgeTest]:
        """Each strategy's luck verdict against its benchmark, as the report states it
        (``edges.json``; empty when the run wrote no report)."""
        return read_edges(self.folder)

    def _traded(self) -> int:
        """Trades of the run's strategies (the references' left out)."""
        return int(self.trades["strategy"].isin(self.strategies).sum())

    def __repr__(self) -> str:
        mine = self.strategies
        shown = repr(mine) if len(mine) <= 4 else f"{len(mine)} strategies"
        return (f"RunResult({self.folder.name!r}, strategies={shown}, "
                f"trades={self._traded()}, report={str(self.report)!r})")

    def _repr_html_(self) -> str:
        """For notebooks: the comparison table, the luck verdicts and links to the report
        and the tearsheet."""
        link = _href(self.report)
        tearsheet = (f" · <a href='{html.escape(_href(self.tearsheet))}' target=_blank>"
                     "tearsheet</a>" if self.tearsheet.exists() else "")
        verdicts = "".join(
            f"<li><b>{html.escape(name)}</b>: {html.escape(edge.verdict)}"
            + (f"<br><small>{html.escape(edge.secondary)}</small>" if edge.secondary else "")
            + "</li>" for name, edge in self.edges.items())
        return (f"<div class=xai-backtest-run><p><b>{html.escape(self.config.name)}</b> "
                f"({html.escape(self.folder.name)}, {self._traded():,} trades, "
                f"{self.seconds:.1f} s): <a href='{html.escape(link)}' target=_blank>"
                f"report</a>{tearsheet} <code>{html.escape(str(self.report))}</code></p>"
                + formatted_comparison(self.comparison).to_html(border=0)
                + (f"<p>Is the edge real?</p><ul>{verdicts}</ul>" if verdicts else "")
                + "</div>")


def _href(path: Path) -> str:
    """A link to ``path`` from a notebook in the working folder: relative when the path
    is, else a file URI."""
    return path.as_posix() if not path.is_absolute() else path.as_uri()


def write_edges(folder: Path, edges: Mapping[str, EdgeTest]) -> None:
    """``edges.json``: each strategy's luck verdict as the report states it (NaN: null)."""
    payload = {name: {k: None if isinstance(v, float) and math.isnan(v) else v
                      for k, v in asdict(edge).items()} for name, edge in edges.items()}
    atomic_write_text(folder / "edges.json", json.dumps(payload, indent=2))


def read_edges(folder: Path) -> dict[str, EdgeTest]:
    """What ``write_edges`` wrote (empty when it wrote nothing)."""
    try:
        payload = json.loads((folder / "edges.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return {name: EdgeTest(**_nan_for_null(fields)) for name, fields in payload.items()}


def _nan_for_null(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: math.nan if v is None else v for k, v in fields.items()}


def run_folder(config: RunConfig) -> Path:
    """A new folder ``<output_dir>/<time>-<name>[-n]``, created in one step (two runs
    starting at once get different folders)."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    parent = Path(config.output_dir)
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as e:
        raise ConfigError(f"output_dir {parent} is a file; give a folder") from e
    for suffix in range(1, 10_000):
        folder = parent / (f"{stamp}-{config.name}" + (f"-{suffix}" if suffix > 1 else ""))
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        except PermissionError as e:
            raise ConfigError(f"output_dir {parent} is not writable; choose another with "
                              "--output-dir") from e
        return folder
    raise ConfigError(f"output_dir {parent}: too many runs named {config.name!r} this second")


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fresh_folder(folder: Path) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


def write_status(folder: Path, config: RunConfig, status: str, **extra: object) -> None:
    payload = {"name": config.name, "config_hash": config.hash(), "status": status, **extra}
    atomic_write_text(folder / "run.json", json.dumps(payload, indent=2, default=str))


def start_run_folder(config: RunConfig, folder: Path | None) -> Path:
    """The run's folder (a new one, or ``folder`` cleanly replaced) with the resolved config,
    its hash and a ``run.json`` saying ``incomplete``."""
    folder = run_folder(config) if folder is None else fresh_folder(Path(folder))
    atomic_write_text(folder / "config.yaml", config.to_yaml())
    atomic_write_text(folder / "config.sha256", config.hash() + "\n")
    write_status(folder, config, "incomplete", started=datetime.now(UTC).isoformat())
    return folder


@dataclass(frozen=True)
class Written:
    """What a trade stage wrote: the comparison table, the trade log, the equity of every
    strategy and the orders the broker refused."""

    comparison: pd.DataFrame
    trades: pd.DataFrame
    equity: pd.DataFrame
    rejected: pd.DataFrame


@dataclass(frozen=True)
class Tearsheets:
    """The QuantStats tearsheets being written in the background (``writer``) and each
    signal's file name (``files``)."""

    writer: BackgroundTearsheets
    files: dict[str, str]


def start_tearsheets(folder: Path, config: RunConfig, equities: Mapping[str, pd.Series],
                     benchmark: pd.Series, words: str, background: bool) -> Tearsheets:
    """Each signal's tearsheet against ``benchmark`` (``words`` names it in the title),
    written by QuantStats in the background (with ``background``) once entered; the first
    signal's is ``tearsheet.html``; none when ``config.tearsheet`` is false."""
    jobs = {name: TearsheetJob(folder / ("tearsheet.html" if i == 0 else
                                         f"tearsheet-{name}.html"),
                               equity, benchmark, config.cash,
                               title=f"{config.name}: {name} vs {words}")
            for i, (name, equity) in enumerate(equities.items())} if config.tearsheet else {}
    executor = make_executor("local", 1, background=background)
    return Tearsheets(writer=BackgroundTearsheets(list(jobs.values()), config.cache_dir,
                                                  executor),
                      files={name: job.path.name for name, job in jobs.items()})


def add_figure_paths(trades: pd.DataFrame, explanations: dict[str, Explanation]) -> None:
    """The entry and exit figure of each trade, as paths in the run folder."""
    for side in ("entry", "exit"):
        trades[f"{side}_figure"] = pd.Series([figure_path(explanations, key) for key in
                                              trades[f"{side}_explanation_id"]],
                                             index=trades.index, dtype=TEXT)


def figure_path(explanations: dict[str, Explanation], key: object) -> str | None:
    found = explanations.get(key) if isinstance(key, str) else None
    return f"figures/{found.figure}" if found is not None and found.figure else None


def draw_figures(explanations: dict[str, Explanation], trades: pd.DataFrame, folder: Path,
                 progress: bool, cache_dir: str | None, workers: int) -> None:
    """Render the figure of every trade's entry and exit explanation (in place, on
    ``workers`` processes)."""
    ids = pd.concat([trades["entry_explanation_id"], trades["exit_explanation_id"]])
    keys = sorted({k for k in ids.dropna() if k in explanations})
    executor = make_executor("local", workers) if workers > 1 else None
    drawn = render_figures([explanations[k] for k in keys], folder, executor,
                           progress=progress, cache_dir=cache_dir)
    explanations.update({e.id: e for e in drawn})


def write_trades_first(folder: Path, trades: pd.DataFrame,
                       explanations: dict[str, Explanation], equity: pd.DataFrame) -> None:
    """The trade log (CSV and Parquet) before anything else, so a later failure loses no
    trades; then the explanations and the equity curves."""
    atomic_write(folder / "trades.csv", lambda tmp: trades.to_csv(tmp, index=False))
    atomic_write(folder / "trades.parquet", lambda tmp: trades.to_parquet(tmp, index=False))
    atomic_write_text(folder / "explanations.jsonl",
                      "".join(e.to_json() + "\n" for e in explanations.values()))
    atomic_write(folder / "equity.csv", lambda tmp: equity.to_csv(tmp))
