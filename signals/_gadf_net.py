"""torch side of the GADF-CNN signal: the networks and their seeded training loop.

Imported only inside ``GADFCNN`` methods, so ``import signals.gadf_cnn`` stays light.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from xai_backtest.signals._training import FitReport, fit_net

__all__ = ["SmallCNN", "build_net", "predict_proba", "train_net"]


class SmallCNN(nn.Module):
    """Three conv blocks (conv, batch norm, ReLU; max pooling after the first two),
    global average pooling, dropout and a linear layer to two logits."""

    def __init__(self, channels: int, filters: int, dropout: float) -> None:
        super().__init__()

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                                 nn.BatchNorm2d(cout), nn.ReLU())

        self.features = nn.Sequential(block(channels, filters), nn.MaxPool2d(2),
                                      block(filters, 2 * filters), nn.MaxPool2d(2),
                                      block(2 * filters, 2 * filters))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout),
                                  nn.Linear(2 * filters, 2))

    def cam_layer(self, which: str) -> nn.Module:
        """The ``last`` (or ``first``) conv block, whose activations Grad-CAM weighs."""
        return self.features[-1] if which == "last" else self.features[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class _ResNet(nn.Module):
    """torchvision's resnet18 (random init) with an input stem for ``channels`` planes."""

    def __init__(self, channels: int, dropout: float) -> None:
        super().__init__()
        from torchvision.models import resnet18

        net = resnet18(weights=None, num_classes=2)
        net.conv1 = nn.Conv2d(channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        net.fc = nn.Sequential(nn.Dropout(dropout), nn.Linear(net.fc.in_features, 2))
        self.net = net

    def cam_layer(self, which: str) -> nn.Module:
        return self.net.layer4[-1] if which == "last" else self.net.layer1[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def build_net(architecture: str, channels: int, filters: int, dropout: float) -> nn.Module:
    """A fresh network; ``architecture`` is ``small`` or ``resnet18``."""
    if architecture == "resnet18":
        return _ResNet(channels, dropout)
    return SmallCNN(channels, filters, dropout)


def train_net(net: nn.Module, images: np.ndarray, targets: np.ndarray, *, valid: int,
              epochs: int, batch_size: int, learning_rate: float, weight_decay: float,
              patience: int, seed: int, device: torch.device | None = None) -> FitReport:
    """Train ``net`` in place with Adam and cross-entropy; the last ``valid`` samples (the end
    of the training window) are the early-stopping slice, and the best epoch's weights are
    kept. Shuffling uses its own seeded generator, so two calls give identical weights."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    x = torch.from_numpy(images)
    y = torch.from_numpy(targets.astype(np.int64))
    optimizer = torch.optim.Adam(net.parameters(), lr=learning_rate, weight_decay=weight_decay)
    return fit_net(net, [x[:-valid]], y[:-valid], nn.CrossEntropyLoss(), optimizer,
                   epochs=epochs, batch_size=batch_size, generator=generator,
                   valid=([x[-valid:]], y[-valid:]), patience=patience, min_batch=2,
                   device=device)


def predict_proba(net: nn.Module, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """P(up) of each image (class 1), in evaluation mode without gradients."""
    net.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            logits = net(torch.from_numpy(images[start:start + batch_size]))
            out.append(torch.softmax(logits, dim=1)[:, 1].numpy())
    return np.concatenate(out).astype(np.float64) if out else np.zeros(0)
