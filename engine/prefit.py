"""Fit a run's signals on two interpreters at once, into the model cache.

A run fits its signals one after another on one thread; on a machine with a second core
that core idles. ``Prefit`` starts ``python -m xai_backtest.engine.prefit`` on the run's
config. The run takes the signals from the first, the second interpreter from the last;
each claims a signal (a file created exclusively in a shared folder) before fitting it,
so no signal is fitted twice and neither side waits while the other has work left. The
second interpreter fits and predicts into the cache (fold models and decisions); the run
loads what it fitted from there. Fits are seeded per fold model, so the models are the
same bits as a fit in the run's own process (tests/test_prefit.py).

It applies only when it cannot change a result or surprise anyone: the model cache is
on, the config names its data (not ``data.source: python``), two or more signals are
not cached yet, and each signal is a built-in one (a user's class may live in a script
the second interpreter cannot import). A failing second interpreter is not an error:
the run fits whatever is not in the cache itself.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from types import TracebackType

from xai_backtest.engine.config import RunConfig, load_config

__all__ = ["Prefit", "prefit_signals"]


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
        self._proc: subprocess.Popen[bytes] | None = None
        if len(shared) < 2:
            return
        self._tmp = tempfile.TemporaryDirectory(prefix="xai-prefit-")
        self._claims = Path(self._tmp.name) / "claims"
        self._claims.mkdir()
        path = Path(self._tmp.name) / "config.yaml"
        path.write_text(config.to_yaml())
        self._proc = subprocess.Popen(
            [sys.executable, "-m", __name__, str(path), str(self._claims), *shared[::-1]],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=Path.cwd())

    def claim(self, name: str) -> bool:
        return self._proc is None or _claim(self._claims, name)

    def wait(self) -> None:
        """Wait for the second interpreter (whatever it did not fit, the run fits)."""
        if self._proc is not None:
            self._proc.wait()

    def __enter__(self) -> Prefit:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
                self._proc.wait()
            self._tmp.cleanup()


def _main(path: str, claims: str, names: list[str]) -> None:
    from xai_backtest.engine.data import load_market_data
    from xai_backtest.engine.runner import build_signal
    from xai_backtest.engine.seeding import seed_everything

    config = load_config(path)
    seed_everything(config.seed, config.threads)
    data, _ = load_market_data(config.data)
    specs = {spec.name: spec for spec in config.signals}
    for name in names:
        if _claim(Path(claims), name):
            build_signal(specs[name], config, progress=False).fit(data).predict(data)


if __name__ == "__main__":
    _main(sys.argv[1], sys.argv[2], sys.argv[3:])
