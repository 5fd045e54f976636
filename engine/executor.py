"""One interface to run many independent tasks: local processes (default) or Ray."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Protocol, TypeVar

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
    """A pool of long-lived Ray actors, one CPU each, that import torch and the run code
    once and then take items as they come free (results in the items' order).
    ``address=None`` starts a local Ray with ``workers`` CPUs and no dashboard; an address
    (e.g. ``ray://head:10001`` or ``auto``) joins an existing cluster. ``put`` places an
    object in Ray's object store once (the sweep shares each data set that way)."""

    def __init__(self, workers: int = 1, address: str | None = None) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers = workers
        self.address = address
        self._started_here = False
        self._actors: list[Any] = []

    def _ray(self) -> Any:
        """Ray, started (or joined) with the worker actors created, once."""
        try:
            import ray
        except ImportError as e:
            raise ImportError("the Ray executor needs Ray: pip install 'ray>=2.9'") from e
        if not ray.is_initialized():
            if self.address is None:  # no runtime_env: it adds an agent to every worker
                ray.init(num_cpus=self.workers, include_dashboard=False, log_to_driver=False,
                         configure_logging=False)
            else:
                ray.init(address=self.address, log_to_driver=False)
            self._started_here = True
        if not self._actors:  # they start importing while the caller goes on
            worker = ray.remote(num_cpus=1, max_restarts=0)(_Worker)
            cpus = int(ray.cluster_resources().get("CPU", 1))  # more would wait forever
            self._actors = [worker.remote() for _ in range(max(1, min(self.workers, cpus)))]
        return ray

    def put(self, value: Any) -> Any:
        """An object-store reference to ``value`` (starts Ray if needed)."""
        return self._ray().put(value)

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        self._ray()
        from ray.util import ActorPool

        try:
            pool = ActorPool(self._actors)
            return list(pool.map(lambda actor, item: actor.call.remote(fn, item), items))
        finally:
            self.shutdown()

    def shutdown(self) -> None:
        """Stop the workers, and the local Ray this executor started (a joined cluster
        keeps running)."""
        if self._actors:
            import ray

            for actor in self._actors:
                ray.kill(actor)
            self._actors = []
        if self._started_here:
            import ray

            ray.shutdown()
            self._started_here = False


class _Worker:
    """A Ray actor: one thread, the heavy modules imported once, then any number of calls."""

    def __init__(self) -> None:
        _single_threaded()
        import torch

        import xai_backtest.engine.runner  # noqa: F401  (imported once per worker)

        torch.set_num_threads(1)

    def call(self, fn: Callable[[T], R], item: T) -> R:
        return fn(item)


def make_executor(kind: str = "local", workers: int = 1,
                  address: str | None = None) -> Executor:
    """``local`` or ``ray``; see the two classes."""
    if kind == "local":
        return LocalExecutor(workers)
    if kind == "ray":
        return RayExecutor(workers, address)
    raise ValueError(f"unknown executor {kind!r}; use 'local' or 'ray'")
