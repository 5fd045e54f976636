"""torch side of the GADF-CNN signal: the networks and their seeded training loop.

Imported only inside ``GADFCNN`` methods, so ``import signals.gadf_cnn`` stays light.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

__all__ = ["SmallCNN", "TrainReport", "build_net", "predict_proba", "train_net"]


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


@dataclass(frozen=True)
class TrainReport:
    """How training went: epochs run, the best epoch and its validation loss."""

    epochs_run: int
    best_epoch: int
    best_valid_loss: float


def train_net(net: nn.Module, images: np.ndarray, targets: np.ndarray, *, valid: int,
              epochs: int, batch_size: int, learning_rate: float, weight_decay: float,
              patience: int, seed: int) -> TrainReport:
    """Train ``net`` in place with Adam and cross-entropy; the last ``valid`` samples (the end
    of the training window) are the early-stopping slice, and the best epoch's weights are
    kept. Shuffling uses its own seeded generator, so two calls give identical weights."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    x = torch.from_numpy(images)
    y = torch.from_numpy(targets.astype(np.int64))
    x_fit, y_fit, x_val, y_val = x[:-valid], y[:-valid], x[-valid:], y[-valid:]
    optimizer = torch.optim.Adam(net.parameters(), lr=learning_rate, weight_decay=weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    best = (float("inf"), 0, {k: v.clone() for k, v in net.state_dict().items()})
    stale = epoch = 0
    for epoch in range(1, epochs + 1):
        net.train()
        order = torch.randperm(len(x_fit), generator=generator)
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            if len(batch) < 2:  # batch norm needs two samples in training mode
                continue
            optimizer.zero_grad()
            loss_fn(net(x_fit[batch]), y_fit[batch]).backward()
            optimizer.step()
        net.eval()
        with torch.no_grad():
            valid_loss = float(loss_fn(net(x_val), y_val))
        if valid_loss < best[0] - 1e-6:
            best = (valid_loss, epoch, {k: v.clone() for k, v in net.state_dict().items()})
            stale = 0
        else:
            stale += 1
            if stale >= patience:
                break
    net.load_state_dict(best[2])
    net.eval()
    return TrainReport(epochs_run=epoch, best_epoch=best[1], best_valid_loss=best[0])


def predict_proba(net: nn.Module, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """P(up) of each image (class 1), in evaluation mode without gradients."""
    net.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            logits = net(torch.from_numpy(images[start:start + batch_size]))
            out.append(torch.softmax(logits, dim=1)[:, 1].numpy())
    return np.concatenate(out).astype(np.float64) if out else np.zeros(0)
