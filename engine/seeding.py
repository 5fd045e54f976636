"""One seed for every random number generator a run touches."""

from __future__ import annotations

import os
import random

import numpy as np

__all__ = ["seed_everything"]


def seed_everything(seed: int, threads: int = 1) -> None:
    """Seed Python, NumPy and torch, ask torch for deterministic kernels, and fix its
    thread count: float sums differ with the number of threads, so the same config gives
    the same bits only with the same ``threads``."""
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch
    except ImportError:
        return
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.set_num_threads(threads)
