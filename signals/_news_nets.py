"""Torch networks and the training loop of the news and OHLC LSTM signals (imported lazily)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from xai_backtest.signals._training import fit_net

__all__ = ["HeadlineNet", "OHLCNet", "predict_net", "train_net"]


class HeadlineNet(nn.Module):
    """Embedding -> Conv1D (ReLU) -> MaxPool1D(2) -> LSTM -> [last state, extras] -> logit."""

    def __init__(self, vocab_size: int, embedding_dim: int, filters: int, kernel_size: int,
                 lstm_units: int, extras: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        self.conv = nn.Conv1d(embedding_dim, filters, kernel_size, padding=kernel_size // 2)
        self.pool = nn.MaxPool1d(2)
        self.lstm = nn.LSTM(filters, lstm_units, batch_first=True)
        self.head = nn.Linear(lstm_units + extras, 1)

    def forward(self, tokens: torch.Tensor, extras: torch.Tensor) -> torch.Tensor:
        x = self.embedding(tokens).transpose(1, 2)  # (batch, embedding, time)
        x = self.pool(torch.relu(self.conv(x))).transpose(1, 2)
        _, (state, _) = self.lstm(x)
        return self.head(torch.cat([state[-1], extras], dim=1)).squeeze(1)


class OHLCNet(nn.Module):
    """LSTM over a window of scaled OHLC rows -> the next scaled open."""

    def __init__(self, features: int, units: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(features, units, batch_first=True)
        self.head = nn.Linear(units, 1)

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        _, (state, _) = self.lstm(window)
        return self.head(state[-1]).squeeze(1)


def _tensors(arrays: Sequence[np.ndarray]) -> list[torch.Tensor]:
    return [torch.as_tensor(a) for a in arrays]


def train_net(net: nn.Module, inputs: Sequence[np.ndarray], target: np.ndarray,
              val_inputs: Sequence[np.ndarray], val_target: np.ndarray, *, loss: str,
              epochs: int, batch_size: int, learning_rate: float, patience: int,
              seed: int, device: torch.device | None = None) -> dict[str, float]:
    """Adam with early stopping (best validation loss restored) and halving of the learning
    rate after one epoch without improvement. ``loss`` is ``"bce"`` (logits) or ``"mse"``."""
    criterion = nn.BCEWithLogitsLoss() if loss == "bce" else nn.MSELoss()
    optimizer = torch.optim.Adam(net.parameters(), lr=learning_rate)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=1)
    generator = torch.Generator().manual_seed(seed)
    valid = (_tensors(val_inputs), torch.as_tensor(val_target, dtype=torch.float32))
    report = fit_net(net, _tensors(inputs), torch.as_tensor(target, dtype=torch.float32),
                     criterion, optimizer, epochs=epochs, batch_size=batch_size,
                     generator=generator, valid=valid, patience=patience, scheduler=scheduler,
                     device=device)
    return {"best_epoch": float(report.best_epoch), "val_loss": report.best_valid_loss}


def predict_net(net: nn.Module, inputs: Sequence[np.ndarray],
                batch_size: int = 1024) -> np.ndarray:
    """Outputs of ``net`` (logits or values) for ``inputs``, in batches, without gradients."""
    net.eval()
    xs = _tensors(inputs)
    n = len(xs[0])
    out = []
    with torch.no_grad():
        for start in range(0, n, batch_size):
            out.append(net(*(x[start:start + batch_size] for x in xs)).numpy())
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)
