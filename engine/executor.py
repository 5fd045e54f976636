"""One interface to run many independent tasks: local processes (default) or Ray."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Protocol, TypeVar

__all__ = ["Executor", "LocalExecutor", "RayExecutor", "make_executor"]

T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol):
    """Runs ``fn`` on every item and returns the results in the items' order."""

    workers: int

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]: ...


def _single_threaded() -> None:
    """Each worker gets one core: no oversubscription by BLAS/OpenMP/torch threads."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = "1"


class LocalExecutor:
    """In this process for one worker, else a pool of fresh (spawned) processes."""

    def __init__(self, workers: int = 1) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers = workers

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        if self.workers == 1:
            return [fn(item) for item in items]
        context = multiprocessing.get_context("spawn")  # fork is unsafe once torch is loaded
        with ProcessPoolExecutor(self.workers, mp_context=context,
                                 initializer=_single_threaded) as pool:
            return list(pool.map(fn, items))


class RayExecutor:
    """Ray tasks, one CPU each. ``address=None`` starts a local Ray with ``workers`` CPUs;
    an address (e.g. ``ray://head:10001`` or ``auto``) joins an existing cluster."""

    def __init__(self, workers: int = 1, address: str | None = None) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers = workers
        self.address = address

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        try:
            import ray
        except ImportError as e:
            raise ImportError("the Ray executor needs Ray: pip install 'ray>=2.9'") from e
        started_here = not ray.is_initialized()
        if started_here:
            env = {"env_vars": {n: "1" for n in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}}
            if self.address is None:
                ray.init(num_cpus=self.workers, include_dashboard=False, log_to_driver=False,
                         runtime_env=env)
            else:
                ray.init(address=self.address, log_to_driver=False, runtime_env=env)
        try:
            task = ray.remote(num_cpus=1, max_retries=0)(fn)
            return list(ray.get([task.remote(item) for item in items]))
        finally:
            if started_here:
                ray.shutdown()


def make_executor(kind: str = "local", workers: int = 1,
                  address: str | None = None) -> Executor:
    """``local`` or ``ray``; see the two classes."""
    if kind == "local":
        return LocalExecutor(workers)
    if kind == "ray":
        return RayExecutor(workers, address)
    raise ValueError(f"unknown executor {kind!r}; use 'local' or 'ray'")
