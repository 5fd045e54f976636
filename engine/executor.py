"""One interface to run work elsewhere: local fresh interpreters (default) or Ray.

Sweeps, per-instrument fits, explanation figures, tearsheets and the second interpreter
of engine/prefit.py all go through it: ``map(fn, items)`` runs ``fn`` on every item and
returns the results in order; ``submit(fn, items)`` starts them in the background and
``Pending.result()`` joins. Local workers are fresh interpreters running
``python -m xai_backtest.engine.worker`` (never the caller's script, so a script without
a ``__main__`` guard is not run again); ``fn`` and the items travel pickled, so ``fn``
must be importable by module path, and the classes the caller's script defines travel by
value (cloudpickle) to stand in for its ``__main__`` there. A task that fails raises
``WorkerError`` here with the worker's traceback; nothing a worker says is thrown away.
"""

from __future__ import annotations

import os
import pickle
import queue
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, TypeVar

import cloudpickle

__all__ = ["Executor", "LocalExecutor", "Pending", "RayExecutor", "WorkerError",
           "make_executor"]

T = TypeVar("T")
R = TypeVar("R")


class WorkerError(RuntimeError):
    """A task failed in a worker; the message ends with the worker's traceback."""


class Pending(Protocol):
    """Work started in the background: ``result()`` waits and returns the results in the
    items' order (raising ``WorkerError`` with the traceback of a failed task); leaving a
    ``with`` block early stops it."""

    def result(self) -> list[Any]: ...

    def __enter__(self) -> Pending: ...

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None: ...


class Executor(Protocol):
    """Runs ``fn`` on every item and returns the results in the items' order."""

    workers: int

    def map(self, fn: Callable[[T], R], items: Sequence[T],
            on_done: Callable[[], object] | None = None) -> list[R]: ...

    def submit(self, fn: Callable[[T], R], items: Sequence[T]) -> Pending: ...


class _Batch:
    """Tasks of one fresh interpreter (``python -m xai_backtest.engine.worker``)."""

    def __init__(self, tasks: list[tuple[int, Callable[[Any], Any], Any]], folder: Path,
                 name: str) -> None:
        self.indices = [i for i, _, _ in tasks]
        self.results = folder / f"{name}.results"
        self.errors = folder / f"{name}.stderr"
        (folder / f"{name}.tasks").write_bytes(cloudpickle.dumps((_script(), tasks)))
        paths = [p for p in sys.path if p and Path(p).is_dir()]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}  # the caller's modules
        with open(self.errors, "w") as errors:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "xai_backtest.engine.worker",
                 str(folder / f"{name}.tasks"), str(self.results)],
                stdout=subprocess.PIPE, stderr=errors, text=True, env=env, cwd=Path.cwd())

    def pump(self, done: queue.Queue[bool]) -> None:
        """Put True on ``done`` per finished task, then False once the worker ends."""
        assert self.proc.stdout is not None
        for _ in self.proc.stdout:
            done.put(True)
        done.put(False)

    def collect(self) -> dict[int, Any]:
        code = self.proc.wait()
        done = pickle.loads(self.results.read_bytes()) if self.results.exists() else {}
        if -1 in done or code != 0:
            said = done.get(-1, (None, self.errors.read_text().strip() or "no message"))[1]
            raise WorkerError(f"a worker failed (exit {code}):\n{said}")
        return {i: value for i, (_, value) in done.items()}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def _script() -> tuple[str | None, dict[str, type]]:
    """The caller's ``__main__``: its file (code fingerprints read it) and the classes it
    defines (a worker's ``__main__`` holds them, so ``__main__:Class`` resolves there)."""
    main = sys.modules["__main__"]
    classes = {name: value for name, value in vars(main).items()
               if isinstance(value, type) and value.__module__ == "__main__"}
    return getattr(main, "__file__", None), classes


class _LocalPending:
    """Batches running in fresh interpreters, in a temporary folder."""

    def __init__(self, fn: Callable[[Any], Any], items: Sequence[Any], workers: int) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="xai-workers-")
        tasks = [(i, fn, item) for i, item in enumerate(items)]
        self._count = len(tasks)
        self._batches = [_Batch(tasks[w::workers], Path(self._tmp.name), f"worker-{w}")
                         for w in range(min(workers, len(tasks)))]

    def result(self, on_done: Callable[[], object] | None = None) -> list[Any]:
        try:
            done: queue.Queue[bool] = queue.Queue()
            for batch in self._batches:
                threading.Thread(target=batch.pump, args=(done,), daemon=True).start()
            running = len(self._batches)
            while running:
                if done.get():
                    if on_done is not None:
                        on_done()
                else:
                    running -= 1
            found: dict[int, Any] = {}
            for batch in self._batches:
                found.update(batch.collect())
            return [found[i] for i in range(self._count)]
        finally:
            self.close()

    def close(self) -> None:
        for batch in self._batches:
            batch.stop()
        self._tmp.cleanup()

    def __enter__(self) -> _LocalPending:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()


class _Done:
    """Work done here, in this process, when its result is asked for."""

    def __init__(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> None:
        self._fn, self._items = fn, items

    def result(self) -> list[Any]:
        return [self._fn(item) for item in self._items]

    def __enter__(self) -> _Done:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        return None


class LocalExecutor:
    """``workers`` fresh interpreters (in this process for one worker, unless
    ``background``: ``submit`` then still uses one fresh interpreter)."""

    def __init__(self, workers: int = 1, background: bool = True) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers = workers
        self.background = background

    def map(self, fn: Callable[[T], R], items: Sequence[T],
            on_done: Callable[[], object] | None = None) -> list[R]:
        if self.workers == 1 or len(items) < 2:
            out = []
            for item in items:
                out.append(fn(item))
                if on_done is not None:
                    on_done()
            return out
        return _LocalPending(fn, items, self.workers).result(on_done)

    def submit(self, fn: Callable[[T], R], items: Sequence[T]) -> Pending:
        if not self.background or not items:
            return _Done(fn, items)
        return _LocalPending(fn, items, self.workers)


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

    def map(self, fn: Callable[[T], R], items: Sequence[T],
            on_done: Callable[[], object] | None = None) -> list[R]:
        self._ray()
        from ray.util import ActorPool

        try:
            pool = ActorPool(self._actors)
            out = []
            for result in pool.map(lambda actor, item: actor.call.remote(fn, item),
                                   list(items)):
                out.append(result)
                if on_done is not None:
                    on_done()
            return out
        finally:
            self.shutdown()

    def submit(self, fn: Callable[[T], R], items: Sequence[T]) -> Pending:
        """Map in the background: on Ray, a local fresh interpreter joins it (one task of
        the run, such as its tearsheets, does not need a cluster)."""
        return LocalExecutor(1).submit(fn, items)

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


def _single_threaded() -> None:
    """Each worker gets one core: no oversubscription by BLAS/OpenMP/torch threads."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = "1"


class _Worker:
    """A Ray actor: one thread, the heavy modules imported once, then any number of calls."""

    def __init__(self) -> None:
        _single_threaded()
        import torch

        import xai_backtest.engine.runner  # noqa: F401  (imported once per worker)

        torch.set_num_threads(1)

    def call(self, fn: Callable[[T], R], item: T) -> R:
        return fn(item)


def make_executor(kind: str = "local", workers: int = 1, address: str | None = None,
                  background: bool = True) -> Executor:
    """``local`` or ``ray``; see the two classes."""
    if kind == "local":
        return LocalExecutor(workers, background)
    if kind == "ray":
        return RayExecutor(workers, address)
    raise ValueError(f"unknown executor {kind!r}; use 'local' or 'ray'")
