"""Fit a run's signals on two interpreters at once, into the model cache.

A run fits its signals one after another on one thread; on a machine with a second core
that core idles. ``Prefit`` submits ``fit_claimed`` on the run's config to the executor
(a fresh interpreter). The run takes the signals from the first, the second interpreter
from the last;
each claims a signal (a file created exclusively in a shared folder) before fitting it,
so no signal is fitted twice and neither side waits while the other has work left. The
second interpreter fits and predicts into the cache (fold models and decisions); the run
loads what it fitted from there. Fits are seeded per fold model, so the models are the
same bits as a fit in the run's own process (tests/test_prefit.py).

It applies only when it cannot change a result or surprise anyone: the model cache is
on, the config names its data (not ``data.source: python``), two or more signals are
not cached yet, and each signal is a built-in one (a user's class may live in a script
the second interpreter cannot import). A failing second interpreter does not stop the
run, which fits whatever is not in the cache itself, but its traceback is shown as a
warning.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from types import TracebackType

from xai_backtest.engine.config import RunConfig, load_config
from xai_backtest.engine.executor import LocalExecutor, Pending, WorkerError

__all__ = ["Prefit", "fit_claimed", "prefit_signals"]


def prefit_signals(config: RunConfig) -> list[str]:
    """Names of the signals two interpreters may share (empty: prefit does not apply)."""
    if (not config.cache_dir or config.data.source == "python"
            or len(config.signals) < 2):
        return []
    for spec in config.signals:
        if spec.instance is not None or not type(spec.build()).__module__.startswith(
                "xai_backtest."):
            return []
    return [spec.name for spec in config.signals]


def _claim(folder: Path, name: str) -> bool:
    """True for the one process that claims ``name`` first."""
    try:
        (folder / name).open("x").close()
    except FileExistsError:
        return False
    return True


class Prefit:
    """The second interpreter, as a context manager (stopped if the run fails first),
    sharing the signals ``shared`` (names from ``prefit_signals``, less those already
    cached) with the run; none when fewer than two. ``claim(name)`` is True when the run
    should fit ``name`` itself."""

    def __init__(self, config: RunConfig, shared: list[str]) -> None:
        self._task: Pending | None = None
        if len(shared) < 2:
            return
        self._tmp = tempfile.TemporaryDirectory(prefix="xai-prefit-")
        self._claims = Path(self._tmp.name) / "claims"
        self._claims.mkdir()
        path = Path(self._tmp.name) / "config.yaml"
        path.write_text(config.to_yaml())
        self._task = LocalExecutor(1).submit(
            fit_claimed, [(str(path), str(self._claims), shared[::-1])])

    def claim(self, name: str) -> bool:
        return self._task is None or _claim(self._claims, name)

    def wait(self) -> None:
        """Wait for the second interpreter (whatever it did not fit, the run fits); its
        failure is a warning with its traceback."""
        if self._task is not None:
            try:
                self._task.result()
            except WorkerError as e:
                warnings.warn(f"the second interpreter fitting signals failed; the run fits "
                              f"them itself. {e}", stacklevel=2)

    def __enter__(self) -> Prefit:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._task is not None:
            self._task.__exit__(kind, error, trace)
            self._tmp.cleanup()


def fit_claimed(task: tuple[str, str, list[str]]) -> None:
    """In the second interpreter: fit and predict, into the cache, each of ``names`` that
    it claims first (config path, claims folder, names)."""
    from xai_backtest.engine.data import load_market_data
    from xai_backtest.engine.runner import build_signal
    from xai_backtest.engine.seeding import seed_everything

    path, claims, names = task
    config = load_config(path)
    seed_everything(config.seed, config.threads)
    data, _ = load_market_data(config.data)
    specs = {spec.name: spec for spec in config.signals}
    for name in names:
        if _claim(Path(claims), name):
            build_signal(specs[name], config, progress=False).fit(data).predict(data)
