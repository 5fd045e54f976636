"""Where the torch signals train: ``device: cpu | cuda | auto`` (auto: cuda when a CUDA
device is visible, else cpu).

Training runs on the device; the fitted net comes back to the CPU, where predictions and
explanations (SHAP, Grad-CAM, LIME) run, so a CPU run is bit-identical to a run before
this option existed. A model trained on CUDA differs from a CPU one in its last bits; the
resolved device is part of the fold-model cache key and is recorded in run.json.
"""

from __future__ import annotations

from typing import Any

from xai_backtest.errors import XaiBacktestError

__all__ = ["DEVICES", "DeviceError", "OnDevice", "resolve_device"]

DEVICES = ("auto", "cpu", "cuda")


class DeviceError(XaiBacktestError, ValueError):
    """A device that is not one of ``DEVICES``, or cuda where no CUDA device is visible."""


def resolve_device(requested: str) -> Any:
    """The ``torch.device`` that ``requested`` names on this machine."""
    import torch

    if requested not in DEVICES:
        raise DeviceError(f"device must be one of {', '.join(DEVICES)}; got {requested!r}")
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise DeviceError("device: cuda, but torch sees no CUDA device here (no GPU, or a "
                          "CPU-only torch build); use device: auto or cpu")
    return torch.device(requested)


class OnDevice:
    """Mixin of the torch signals: a ``device`` parameter, checked when the signal is built."""

    device: str

    def _check_device(self) -> None:
        resolve_device(self.device)  # a missing cuda fails here, before any work

    def resolved_device(self) -> str:
        """``cpu`` or ``cuda``: where this signal trains on this machine."""
        return str(resolve_device(self.device))
