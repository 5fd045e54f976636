"""The one torch training loop of every network signal (imported only inside methods).

Mini-batches in a seeded random order each epoch; optionally a validation slice with
early stopping that restores the best epoch's weights, and a learning-rate scheduler
stepped on the validation loss. Two calls with the same seed give identical weights.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["FitReport", "fit_net"]


@dataclass(frozen=True)
class FitReport:
    """How training went: epochs run, the best epoch and its validation loss (``inf``
    and the last epoch without a validation slice)."""

    epochs_run: int
    best_epoch: int
    best_valid_loss: float


def fit_net(net: nn.Module, inputs: Sequence[torch.Tensor], target: torch.Tensor,
            loss_fn: Callable[..., torch.Tensor], optimizer: torch.optim.Optimizer, *,
            epochs: int, batch_size: int, generator: torch.Generator,
            valid: tuple[Sequence[torch.Tensor], torch.Tensor] | None = None,
            patience: int | None = None,
            scheduler: torch.optim.lr_scheduler.ReduceLROnPlateau | None = None,
            min_batch: int = 1, device: torch.device | None = None) -> FitReport:
    """Train ``net(*inputs) -> target`` in place; see the module doc. Batches smaller than
    ``min_batch`` are skipped (batch norm needs two samples in training mode). On a
    ``device`` other than the CPU the net trains there and comes back to the CPU."""
    away = device is not None and device.type != "cpu"
    if away:
        net.to(device)
        if isinstance(loss_fn, nn.Module):
            loss_fn.to(device)
        inputs = [x.to(device) for x in inputs]
        target = target.to(device)
        if valid is not None:
            valid = ([x.to(device) for x in valid[0]], valid[1].to(device))
    best_loss, best_epoch = float("inf"), 0
    best_state = {k: v.clone() for k, v in net.state_dict().items()}
    stale = epoch = 0
    for epoch in range(1, epochs + 1):
        net.train()
        order = torch.randperm(len(target), generator=generator)
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            if away:
                batch = batch.to(device)
            if len(batch) < min_batch:
                continue
            optimizer.zero_grad()
            loss_fn(net(*(x[batch] for x in inputs)), target[batch]).backward()
            optimizer.step()
        if valid is None:
            continue
        net.eval()
        with torch.no_grad():
            valid_loss = float(loss_fn(net(*valid[0]), valid[1]))
        if scheduler is not None:
            scheduler.step(valid_loss)
        if valid_loss < best_loss - 1e-6:
            best_loss, best_epoch, stale = valid_loss, epoch, 0
            best_state = {k: v.clone() for k, v in net.state_dict().items()}
        else:
            stale += 1
            if patience is not None and stale >= patience:
                break
    if valid is not None:
        net.load_state_dict(best_state)
    else:
        best_epoch = epoch
    net.eval()
    if away:
        net.cpu()
    return FitReport(epochs_run=epoch, best_epoch=best_epoch, best_valid_loss=best_loss)
