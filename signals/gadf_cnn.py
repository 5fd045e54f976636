"""GADF-CNN: a small CNN reads the Gramian angular difference field of a price window.

After "Image Recognition in Stock Prediction with Visual Explanations from Grad-CAM"
(NIFTY 100 minute bars, first trading hour as the image, about 62% accuracy reported).

Two kinds of window share the encoder, network and explainer:

* ``frequency="minute"``: the closes of the session's first ``window`` minutes
  (NSE 09:16-10:15, bars labelled by close time). The decision is made at the first
  bar at or after the end of that hour (normally the 10:15 bar). Missing minutes are
  forward-filled (leading ones take the open of the first bar) when no run of
  missing minutes is longer than ``max_fill``; otherwise the day is skipped and
  counted, as are sessions that end inside the first hour. Label ``"tradable"``
  (default): the session's last close is above the close at the decision, which is
  what a trader entering after the first hour can earn (``"close_to_close"`` is the same
  here). Label ``"paper"``: the last
  close is above the session's first open, the paper's definition, which partly
  overlaps the input window and so flatters accuracy.
* ``frequency="daily"``: the last ``window`` daily closes, decided at that close.
  ``"tradable"``: the next open-to-open return is positive (open t+1 to open t+2, what
  a position filled at the next open and held a day earns); ``"close_to_close"``: the
  next close is above this close (which includes the overnight gap a next-open fill
  never earns); ``"paper"``: the next session closes above its open.

Classes are ``up`` and ``down``; ``score`` is P(up). Images need no scaler (each
window is rescaled over itself), so nothing is learned from outside the training
window but the weights. ``explain`` runs Grad-CAM on the fitted network for the
predicted class and projects the heatmap onto the time axis (explainers/gradcam.py).
The defaults (``cam_method="layercam"``, ``cam_layer="first"``: one cell per step) were
measured (benchmarks/results/gradcam_variants.md) among the seven methods of
pytorch-grad-cam on the first and the last conv block, chosen on the NIFTY replication and
reported on the daily S&P 500 run (held out). No variant is faithful: none beats a
model-free ranking (the window's min and max first) on either set, so the rule's pick
(widest lower bound of top-k minus model-free among the variants that pass the
randomisation check) found nothing and LayerCAM on the first block was kept; it beats
random deletions on both sets. Grad-CAM++ on the first block beat random by more but
barely changed when the network was re-initialised (rank correlation 0.84 on NIFTY): it
shows the image, not the model. Every method on the last block (4 steps per cell) did
worse than random on both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Self

import numpy as np
import pandas as pd

from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.data_feeds.sessions import SESSIONS
from xai_backtest.errors import XaiBacktestError
from xai_backtest.explainers.base import Explanation
from xai_backtest.explainers.gradcam import CAM_METHODS
from xai_backtest.explainers.measured import DeletionWords, MeasuredSignal
from xai_backtest.signals.base import Signal, SignalFrame
from xai_backtest.signals.device import OnDevice, resolve_device
from xai_backtest.signals.gadf import gadf, gasf

__all__ = ["GADFCNN", "GADFParameterError", "Windows"]

_CLASSES = ("down", "up")  # index = network output column


class GADFParameterError(XaiBacktestError, ValueError):
    """A GADF-CNN hyperparameter is out of range, or does not fit the data."""


@dataclass(frozen=True)
class Windows:
    """The price windows of one ``MarketData``: one row per decision.

    ``positions`` are the decision bars' row numbers in ``data.bars``; ``closes`` the
    (filled) window closes, shape ``(n, window)``; ``steps`` the time of every window
    step; ``filled`` the number of minutes filled; ``skipped`` days left out, by reason.
    """

    times: pd.DatetimeIndex
    positions: np.ndarray
    closes: np.ndarray
    steps: np.ndarray
    filled: int
    skipped: dict[str, int]


class GADFCNN(MeasuredSignal, OnDevice, Signal):
    """CNN on Gramian angular difference fields of the first hour (or last N daily closes)."""

    name = "gadf_cnn"

    def __init__(self, frequency: Literal["minute", "daily"] = "minute", window: int = 60,
                 session: Literal["NSE", "NYSE"] = "NSE",
                 label: Literal["tradable", "close_to_close", "paper"] = "tradable",
                 max_fill: int = 5,
                 gasf: bool = False, architecture: Literal["small", "resnet18"] = "small",
                 filters: int = 16, dropout: float = 0.3, epochs: int = 30,
                 batch_size: int = 32, learning_rate: float = 0.001,
                 weight_decay: float = 0.0001, patience: int = 5, valid_fraction: float = 0.2,
                 min_samples: int = 40, cam_layer: Literal["last", "first"] = "first",
                 cam_method: str = "layercam", seed: int | None = None,
                 device: str = "auto") -> None:
        self.frequency = frequency
        self.window = window
        self.session = session
        self.label = label
        self.max_fill = max_fill
        self.gasf = gasf
        self.architecture = architecture
        self.filters = filters
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.patience = patience
        self.valid_fraction = valid_fraction
        self.min_samples = min_samples
        self.cam_layer = cam_layer
        self.cam_method = cam_method
        self.seed = seed
        self.device = device
        self._check_device()

    # -- checks ----------------------------------------------------------------------------
    def _check_params(self) -> None:
        choices = {"frequency": ("minute", "daily"), "session": tuple(SESSIONS),
                   "label": ("tradable", "close_to_close", "paper"),
                   "architecture": ("small", "resnet18"),
                   "cam_layer": ("last", "first"), "cam_method": tuple(CAM_METHODS)}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise GADFParameterError(f"{name} must be one of {allowed}, "
                                         f"got {getattr(self, name)!r}")
        floors = {"window": 4, "max_fill": 0, "filters": 1, "epochs": 1, "batch_size": 2,
                  "patience": 1, "min_samples": 4}
        for name, low in floors.items():
            if getattr(self, name) < low:
                raise GADFParameterError(f"{name} must be >= {low}, got {getattr(self, name)}")
        for name in ("dropout", "valid_fraction"):
            if not 0 <= getattr(self, name) < 1:
                raise GADFParameterError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if self.valid_fraction == 0:
            raise GADFParameterError("valid_fraction must be > 0: early stopping needs a "
                                     "validation slice at the end of the training window")

    # -- windows, images, labels -------------------------------------------------------------
    def windows(self, data: MarketData) -> Windows:
        """Every complete window of ``data`` (see the module docstring for the rules)."""
        self._check_params()
        if self.frequency == "daily":
            return self._daily_windows(data.bars)
        return self._minute_windows(data.bars)

    def _daily_windows(self, bars: pd.DataFrame) -> Windows:
        close = bars["close"].to_numpy(dtype=np.float64)
        n = len(close) - self.window + 1
        if n <= 0:
            return _no_windows(bars, self.window, {})
        rows = np.arange(n)[:, None] + np.arange(self.window)[None, :]
        positions = np.arange(self.window - 1, len(close))
        return Windows(times=pd.DatetimeIndex(bars.index[positions]), positions=positions,
                       closes=close[rows], steps=bars.index.tz_localize(None).to_numpy()[rows],
                       filled=0,
                       skipped={})

    def _minute_windows(self, bars: pd.DataFrame) -> Windows:
        session = SESSIONS[self.session]
        local = bars.index.tz_convert(session.tz)
        day = local.normalize()
        opens_at = session.open.hour * 60 + session.open.minute
        offset = ((local - day).total_seconds().to_numpy() // 60).astype(np.int64) - opens_at
        codes, days = pd.factorize(day)
        n_days, w = len(days), self.window
        if n_days == 0:
            return _no_windows(bars, w, {})
        if np.bincount(codes).max() <= 1:
            raise GADFParameterError("frequency='minute' but the bars hold at most one bar per "
                                     "day; use frequency='daily' for daily bars")
        # decision bar of each day: its first bar at or after the end of the first hour
        after = np.flatnonzero(offset >= w)
        has_decision = np.zeros(n_days, dtype=bool)
        decision_pos = np.zeros(n_days, dtype=np.int64)
        found_days, first = np.unique(codes[after], return_index=True)
        has_decision[found_days] = True
        decision_pos[found_days] = after[first]
        # the first hour on a grid of close times, NaN where a minute is missing
        grid = np.full((n_days, w), np.nan)
        first_open = np.full(n_days, np.nan)
        inside = np.flatnonzero((offset >= 1) & (offset <= w))
        close = bars["close"].to_numpy(dtype=np.float64)
        grid[codes[inside], offset[inside] - 1] = close[inside]
        in_days, first_in = np.unique(codes[inside], return_index=True)
        first_open[in_days] = bars["open"].to_numpy(dtype=np.float64)[inside[first_in]]
        missing = np.isnan(grid)
        run = np.zeros(n_days, dtype=np.int64)
        longest = np.zeros(n_days, dtype=np.int64)
        for j in range(w):
            run = np.where(missing[:, j], run + 1, 0)
            longest = np.maximum(longest, run)
        gappy = has_decision & (longest > self.max_fill)
        later_day = np.arange(n_days) < n_days - 1
        ended_early = ~has_decision & later_day
        keep = has_decision & ~gappy
        skipped = {}
        if ended_early.any():
            skipped["session ended within the first hour"] = int(ended_early.sum())
        if gappy.any():
            skipped[f"first hour has a gap longer than max_fill={self.max_fill} minutes"] = int(
                gappy.sum())
        grid, missing = grid[keep], missing[keep]
        lead = missing[:, 0]  # leading minutes take the open of the hour's first bar
        grid[lead, 0] = first_open[keep][lead]
        for j in range(1, w):
            hole = np.isnan(grid[:, j])
            grid[hole, j] = grid[hole, j - 1]
        minute = pd.to_timedelta(opens_at + np.arange(1, w + 1), unit="min").to_numpy()
        steps = (days[keep].tz_localize(None).to_numpy()[:, None] + minute[None, :])
        positions = decision_pos[keep]
        return Windows(times=pd.DatetimeIndex(bars.index[positions]), positions=positions,
                       closes=grid, steps=steps, filled=int(missing.sum()), skipped=skipped)

    def images(self, closes: np.ndarray, bounds: np.ndarray | None = None) -> np.ndarray:
        """Network input of window closes ``(n, window)``: ``(n, channels, window, window)``
        (``bounds``: each window's ``(low, high)`` to rescale over instead of its own)."""
        planes = [gadf(closes, bounds)]
        if self.gasf:
            planes.append(gasf(closes, bounds))
        return np.stack(planes, axis=1)

    def decision_times(self, data: MarketData) -> pd.DatetimeIndex:
        return self.windows(data).times

    def lookback_bars(self) -> int:
        """A window of daily closes, or the decision's own session of minute bars (two
        sessions' worth of bars, pre-open bars included)."""
        return self.window if self.frequency == "daily" else 800

    def _truth(self, bars: pd.DataFrame, found: Windows) -> tuple[np.ndarray, np.ndarray]:
        """Label (1 up, 0 down, -1 unknown) and the last bar it needs, per window."""
        close = bars["close"].to_numpy(dtype=np.float64)
        pos = found.positions
        if self.frequency == "daily":
            opens = bars["open"].to_numpy(dtype=np.float64)
            reach = 2 if self.label == "tradable" else 1
            end = np.minimum(pos + reach, len(close) - 1)
            nxt = np.minimum(pos + 1, len(close) - 1)
            if self.label == "tradable":
                up = opens[end] > opens[nxt]
            elif self.label == "close_to_close":
                up = close[nxt] > close[pos]
            else:
                up = close[nxt] > opens[nxt]
            return np.where(pos + reach < len(close), up.astype(np.int64), -1), end
        session = SESSIONS[self.session]
        local = bars.index.tz_convert(session.tz)
        codes, _ = pd.factorize(local.normalize())
        last_of_day = np.r_[np.flatnonzero(np.diff(codes)), len(codes) - 1]
        end = last_of_day[codes[pos]]
        complete = (end < len(close) - 1) | (local[end].time >= session.close)
        if self.label != "paper":  # the first hour's close: where an entry can start
            base = close[pos]
        else:
            starts = np.r_[0, np.flatnonzero(np.diff(codes)) + 1]
            base = bars["open"].to_numpy(dtype=np.float64)[starts[codes[pos]]]
        up = close[end] > base
        return np.where(complete, up.astype(np.int64), -1), end

    def labels(self, data: MarketData) -> pd.Series:
        """``up``/``down`` per decision (see the module docstring), ``None`` when unknown."""
        found = self.windows(data)
        truth, _ = self._truth(data.bars, found)
        names = np.array([None, "down", "up"], dtype=object)[truth + 1]
        return pd.Series(names, index=found.times, dtype=object)

    # -- fit / predict -----------------------------------------------------------------------
    def fit(self, history: MarketData) -> Self:
        import torch

        from xai_backtest.signals._gadf_net import build_net, train_net

        found = self.windows(history)
        truth, label_bar = self._truth(history.bars, found)
        known = truth >= 0
        n = int(known.sum())
        if n < self.min_samples:
            detail = f"; skipped days: {found.skipped}" if found.skipped else ""
            raise GADFParameterError(
                f"{n} labelled windows in the history ({len(history.bars)} bars), fewer than "
                f"min_samples={self.min_samples}{detail}; give more history or lower "
                "min_samples (for daily bars set frequency='daily')")
        valid = max(1, int(round(self.valid_fraction * n)))
        if n - valid < 2:
            raise GADFParameterError(f"valid_fraction={self.valid_fraction} leaves {n - valid} "
                                     "training windows; lower it")
        images = self.images(found.closes[known])
        seed = 0 if self.seed is None else self.seed
        torch.manual_seed(seed)
        net = build_net(self.architecture, images.shape[1], self.filters, self.dropout)
        report = train_net(net, images, truth[known], valid=valid, epochs=self.epochs,
                           batch_size=self.batch_size, learning_rate=self.learning_rate,
                           weight_decay=self.weight_decay, patience=self.patience, seed=seed,
                           device=resolve_device(self.device))
        self._net = net
        self.n_train_ = n - valid
        self.n_valid_ = valid
        self.up_share_ = float(truth[known].mean())
        self.epochs_run_ = report.epochs_run
        self.best_epoch_ = report.best_epoch
        self.valid_loss_ = report.best_valid_loss
        self.filled_minutes_ = found.filled
        self.skipped_ = dict(found.skipped)
        self.train_start_ = history.bars.index[0]
        self.train_end_ = history.bars.index[-1]
        self.label_end_ = history.bars.index[int(label_bar[known].max())]
        return self

    def proba_up(self, closes: np.ndarray, bounds: np.ndarray | None = None) -> np.ndarray:
        """P(up) of the fitted network for window closes ``(n, window)`` (``bounds``: as in
        ``images``)."""
        self.check_fitted()
        from xai_backtest.signals._gadf_net import predict_proba

        return predict_proba(self._net, self.images(closes, bounds))

    def predict(self, data: MarketData) -> SignalFrame:
        self.check_fitted()
        found = self.windows(data)
        if not len(found.times):
            return SignalFrame.empty(self.name, str(data.bars.index.tz))
        return SignalFrame.from_p_up(self.name, found.times, self.proba_up(found.closes))

    def explain(self, data: MarketData, at: Sequence[pd.Timestamp]) -> list[Explanation]:
        """Grad-CAM of the fitted network for the predicted class of each asked decision."""
        self.check_fitted()
        from xai_backtest.explainers.gradcam import explain_windows

        found = self.windows(data)
        lookup = pd.Series(np.arange(len(found.times)), index=found.times)
        rows = []
        for stamp in at:
            stamp = pd.Timestamp(stamp)
            if stamp not in lookup.index:
                raise ValueError(f"at: {stamp} is not a decision time of this data (decisions "
                                 "are made once per window; use decision_times(data))")
            rows.append(int(lookup[stamp]))
        closes = found.closes[rows]
        step_format = "%H:%M" if self.frequency == "minute" else "%Y-%m-%d"
        steps = [tuple(pd.DatetimeIndex(found.steps[r]).strftime(step_format)) for r in rows]
        return explain_windows(self._net, self.images(closes), closes, self.proba_up(closes),
                               steps,
                               signal=self.name, decision_times=[found.times[r] for r in rows],
                               unit="minute" if self.frequency == "minute" else "day",
                               layer=self.cam_layer, method=self.cam_method)

    # -- faithfulness: what MeasuredSignal needs ------------------------------------------------
    def deletion_words(self) -> DeletionWords:
        """The top 10% of the window's steps set to the window mean vs as many random steps
        (the change of P(up))."""
        unit = "minute" if self.frequency == "minute" else "day"
        return DeletionWords(f"the window's mean close, {{k}} {unit}s", verb="blanking",
                             inputs=f"{unit}s", output="P(up)")

    def faithfulness_inputs(self, explanations: Sequence[Explanation]) -> np.ndarray:
        return np.stack([np.asarray(e.data) for e in explanations]).astype(np.float64)

    def deletion_baseline(self, rows: np.ndarray) -> np.ndarray:
        return rows.mean(axis=1, keepdims=True)

    def class_probabilities(self, rows: np.ndarray) -> np.ndarray:
        p_up = np.asarray(self.proba_up(rows), dtype=np.float64)
        return np.column_stack([1 - p_up, p_up])

    def deletion_probabilities(self, rows: np.ndarray, originals: np.ndarray,
                               origin: np.ndarray) -> np.ndarray:
        """A window with steps set to its mean is re-encoded over the ORIGINAL window's min
        and max (clipped to [-1, 1]): blanking an extreme then changes its own row and
        column of the image, not every pixel through a new scale."""
        bounds = np.column_stack([originals.min(axis=1), originals.max(axis=1)])[origin]
        p_up = np.asarray(self.proba_up(rows, bounds), dtype=np.float64)
        return np.column_stack([1 - p_up, p_up])

    def model_free_ranking(self, explanations: Sequence[Explanation], rows: np.ndarray,
                           baseline: np.ndarray) -> np.ndarray:
        """Extremes first: the window's min and max, then the steps farthest from the
        window mean; the model is not consulted."""
        score = np.abs(rows - np.broadcast_to(baseline, rows.shape))
        top = score.max(axis=1, keepdims=True) + 1
        at = np.arange(len(rows))
        score[at, rows.argmin(axis=1)] += top[:, 0]
        score[at, rows.argmax(axis=1)] += top[:, 0]
        return score

    def model_free_name(self) -> str:
        return "the window's min and max, then farthest from its mean"

    def class_indices(self, explanations: Sequence[Explanation]) -> np.ndarray:
        return np.array([_CLASSES.index(e.prediction) for e in explanations])

    def randomised_net(self) -> Any:
        return self._net

    def attributions_under(self, net: Any, rows: np.ndarray, classes: np.ndarray) -> np.ndarray:
        from xai_backtest.explainers.gradcam import gradcam_heatmaps, time_importance

        return time_importance(gradcam_heatmaps(net, self.images(rows), classes,
                                                self.cam_layer, self.cam_method))

    def infidelity_rows(self, explanations: Sequence[Explanation]) -> np.ndarray:
        """The standardised windows (the GADF image does not change under that)."""
        rows = self.faithfulness_inputs(explanations)
        spread = rows.std(axis=1, keepdims=True)
        return (rows - rows.mean(axis=1, keepdims=True)) / np.where(spread > 0, spread, 1)

    # -- persistence ---------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {"net": self._net.state_dict()}

    def _set_state(self, state: dict[str, Any]) -> None:
        from xai_backtest.signals._gadf_net import build_net

        net = build_net(self.architecture, 2 if self.gasf else 1, self.filters, self.dropout)
        net.load_state_dict(state["net"])
        net.eval()
        self._net = net


def _no_windows(bars: pd.DataFrame, window: int, skipped: dict[str, int]) -> Windows:
    return Windows(times=pd.DatetimeIndex([], tz=bars.index.tz), positions=np.zeros(0, int),
                   closes=np.zeros((0, window)), steps=np.zeros((0, window), "datetime64[ns]"),
                   filled=0, skipped=skipped)
