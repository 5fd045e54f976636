"""The paper's second model: an LSTM on windows of OHLC bars predicting the next open.

Inputs are the last ``window`` bars' open, high, low and close, MinMax-scaled with
the minimum and maximum of the training window only (prices later outside that
range scale outside [0, 1]). The network (LSTM(``units``) -> linear) predicts the
next bar's scaled open, trained with mean squared error, Adam, early stopping and
learning-rate halving on the last ``validation`` fraction of the training window.

The decision at bar ``t`` is the predicted gap: ``up`` when the predicted open of
``t+1`` is above the close of ``t``. Its probability is ``P(open > close)`` under a
normal error with the validation residuals' standard deviation. Note that a strategy
filling at the next open cannot earn this gap; the model is here to reproduce the
paper's price-prediction claim (error and direction accuracy), not as a trading edge.
The explanation occludes each day of the window (replaced by the window mean) and
reports how much the predicted gap moves towards the decision.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Self

import numpy as np
import pandas as pd

from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.explainers.base import Explanation, UpOrDown, explanation
from xai_backtest.signals.base import Signal, SignalFrame
from xai_backtest.signals.device import OnDevice, resolve_device

__all__ = ["OHLCLSTM"]

_COLUMNS = ("open", "high", "low", "close")


class OHLCLSTM(OnDevice, Signal):
    """LSTM over OHLC windows -> next open -> gap direction."""

    name = "ohlc_lstm"
    state_attrs = ("net_",)

    def __init__(self, window: int = 10, units: int = 50, epochs: int = 30,
                 batch_size: int = 32, learning_rate: float = 1e-3, patience: int = 3,
                 validation: float = 0.15, seed: int | None = None,
                 device: str = "auto") -> None:
        self.window = window
        self.units = units
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.patience = patience
        self.validation = validation
        self.seed = seed
        self.device = device
        self._check_device()

    def decision_times(self, data: MarketData) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(data.bars.index[self.window - 1:])

    def labels(self, data: MarketData) -> pd.Series:
        """``up`` when the next open is above this bar's close (None at the last bar)."""
        bars = data.bars
        after = bars["open"].shift(-1)
        label = pd.Series(np.where(after > bars["close"], "up", "down"), index=bars.index,
                          dtype=object)
        label[after.isna()] = None
        return label.reindex(self.decision_times(data))

    def _windows(self, bars: pd.DataFrame) -> np.ndarray:
        low, high = np.asarray(self.scale_min_), np.asarray(self.scale_max_)
        scaled = ((bars.loc[:, list(_COLUMNS)].to_numpy() - low) / (high - low)).astype(
            np.float32)
        view = np.lib.stride_tricks.sliding_window_view(scaled, self.window, axis=0)
        return np.ascontiguousarray(view.transpose(0, 2, 1))  # (samples, window, features)

    def _unscale_open(self, value: np.ndarray) -> np.ndarray:
        return value * (self.scale_max_[0] - self.scale_min_[0]) + self.scale_min_[0]

    def fit(self, history: MarketData) -> Self:
        import torch

        from xai_backtest.signals._news_nets import OHLCNet, train_net

        bars = history.bars
        if len(bars) < self.window + 10:
            raise ValueError(f"OHLCLSTM: {len(bars)} bars, need at least window + 10 = "
                             f"{self.window + 10}")
        if not 0 < self.validation < 0.5:
            raise ValueError(f"validation must be in (0, 0.5), got {self.validation}")
        prices = bars.loc[:, list(_COLUMNS)].to_numpy()
        self.scale_min_ = prices.min(axis=0).astype(float)
        self.scale_max_ = prices.max(axis=0).astype(float)
        x = self._windows(bars)[:-1]  # the last window's next open is not in the history
        next_open = bars["open"].to_numpy()[self.window:]
        y = ((next_open - self.scale_min_[0]) / (self.scale_max_[0] - self.scale_min_[0])
             ).astype(np.float32)
        n_val = max(1, int(round(self.validation * len(y))))
        seed = 0 if self.seed is None else self.seed
        torch.manual_seed(seed)
        self.net_ = OHLCNet(len(_COLUMNS), self.units)
        self.history_ = train_net(self.net_, [x[:-n_val]], y[:-n_val], [x[-n_val:]],
                                  y[-n_val:], loss="mse", epochs=self.epochs,
                                  batch_size=self.batch_size, learning_rate=self.learning_rate,
                                  patience=self.patience, seed=seed,
                                  device=resolve_device(self.device))
        residual = self._unscale_open(self._raw_predict(x[-n_val:])) - next_open[-n_val:]
        self.residual_std_ = float(max(residual.std(), 1e-12))
        self.train_start_ = bars.index[0]
        self.train_end_ = bars.index[-1]
        self.label_end_ = bars.index[-1]
        return self

    def _raw_predict(self, x: np.ndarray) -> np.ndarray:
        from xai_backtest.signals._news_nets import predict_net

        return predict_net(self.net_, [x]).astype(np.float64)

    def predicted_open(self, data: MarketData) -> pd.Series:
        """Predicted open of the bar after each decision time."""
        self.check_fitted()
        value = self._unscale_open(self._raw_predict(self._windows(data.bars)))
        return pd.Series(value, index=self.decision_times(data), name="predicted_open")

    def predict(self, data: MarketData) -> SignalFrame:
        predicted = self.predicted_open(data)
        close = data.bars["close"].reindex(predicted.index).to_numpy()
        gap = predicted.to_numpy() - close
        p_up = np.array([0.5 * (1 + math.erf(g / (self.residual_std_ * math.sqrt(2))))
                         for g in gap])
        up = gap > 0
        return SignalFrame.up_down(self.name, predicted.index, up=up, score=gap / close,
                                   probability=np.where(up, p_up, 1 - p_up))

    def explain(self, data: MarketData, at: Sequence[pd.Timestamp]) -> list[Explanation]:
        self.check_fitted()
        windows = self._windows(data.bars)
        times = self.decision_times(data)
        out = []
        for stamp in at:
            stamp = pd.Timestamp(stamp)
            x = windows[times.get_loc(stamp)]
            occluded = np.repeat(x[None], self.window + 1, axis=0)
            for day in range(self.window):
                occluded[day + 1, day] = x.mean(axis=0)
            predicted = self._unscale_open(self._raw_predict(occluded))
            close = float(data.bars["close"].loc[stamp])
            side = UpOrDown(predicted[0] > close)
            parts = side.sign * (predicted[0] - predicted[1:]) / close
            names = tuple(f"day t-{self.window - 1 - d}" for d in range(self.window))
            strongest = names[int(np.argmax(parts))]
            gap = predicted[0] / close - 1
            p_up = 0.5 * (1 + math.erf((predicted[0] - close) /
                                       (self.residual_std_ * math.sqrt(2))))
            out.append(explanation(
                "occlusion", self.name, stamp, prediction=side.label,
                probability=side.probability(p_up), values=parts, feature_names=names,
                data=x[:, 0],
                summary=(f"predicted next open {predicted[0]:,.2f} vs close {close:,.2f} "
                         f"({gap:+.2%}), so {side.label}; the OHLC of {strongest} pushed most "
                         "towards it")))
        return out

    def _state(self) -> dict[str, Any]:
        return {"net_": self.net_.state_dict()}

    def _set_state(self, state: dict[str, Any]) -> None:
        from xai_backtest.signals._news_nets import OHLCNet

        self.net_ = OHLCNet(len(_COLUMNS), self.units)
        self.net_.load_state_dict(state["net_"])
        self.net_.eval()
