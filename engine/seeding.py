"""One seed for every random number generator a run touches."""

from __future__ import annotations

import os
import random

import numpy as np
from threadpoolctl import threadpool_limits

__all__ = ["seed_everything"]


def seed_everything(seed: int, threads: int = 1) -> None:
    """Seed Python, NumPy and torch, ask torch for deterministic kernels, and fix the
    thread count of torch and of NumPy's BLAS: float sums differ with the number of
    threads, so the same config gives the same bits only with the same ``threads``. (On
    two busy cores, BLAS on two threads also made LIME's small ridge fits several times
    slower: the five-trend's 219 explanations of the default run took 23 s, 7.8 s on one
    thread, bit for bit the same.)"""
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    threadpool_limits(limits=threads, user_api="blas")
    try:
        import torch
    except ImportError:
        return
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.set_num_threads(threads)
