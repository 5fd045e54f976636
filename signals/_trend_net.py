"""The five-trend network and its training loop (torch; imported only inside methods)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from xai_backtest.signals._training import fit_net

__all__ = ["HIDDEN", "TrendNet", "predict_proba", "train_net"]

#: the paper's hidden layers
HIDDEN = (270, 135, 67, 405, 200)


class TrendNet(nn.Module):
    """270 inputs -> 270-135-67-405-200 ReLU layers -> class logits; dropout after the
    first hidden layer. Softmax is applied by the loss and by ``predict_proba``."""

    def __init__(self, n_inputs: int, n_classes: int, dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = n_inputs
        for i, size in enumerate(HIDDEN):
            layers += [nn.Linear(width, size), nn.ReLU()]
            if i == 0:
                layers.append(nn.Dropout(dropout))
            width = size
        layers.append(nn.Linear(width, n_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def train_net(x: np.ndarray, y: np.ndarray, n_classes: int, *, dropout: float, epochs: int,
              batch_size: int, learning_rate: float, class_weight: np.ndarray | None,
              seed: int, device: torch.device | None = None) -> TrendNet:
    """Adam on categorical cross-entropy; deterministic for a seed. Returns the net in
    float64 and eval mode (predictions and SHAP then run on the very same weights)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = TrendNet(x.shape[1], n_classes, dropout)
        generator = torch.Generator().manual_seed(seed)
        inputs = torch.as_tensor(x, dtype=torch.float32)
        targets = torch.as_tensor(y, dtype=torch.long)
        weight = None if class_weight is None else torch.as_tensor(class_weight,
                                                                   dtype=torch.float32)
        optimiser = torch.optim.Adam(net.parameters(), lr=learning_rate)
        fit_net(net, [inputs], targets, nn.CrossEntropyLoss(weight=weight), optimiser,
                epochs=epochs, batch_size=batch_size, generator=generator, device=device)
    return net.double().eval()


def predict_proba(net: TrendNet, x: np.ndarray) -> np.ndarray:
    """Class probabilities (softmax of the logits) of the rows of ``x``."""
    with torch.no_grad():
        logits = net(torch.as_tensor(x, dtype=torch.float64))
        return torch.softmax(logits, dim=1).numpy()
