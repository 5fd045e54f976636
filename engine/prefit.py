"""Fit some of a run's signals in a second interpreter, into the model cache.

A run fits its signals one after another on one thread; on a machine with a second core
that core idles. ``Prefit`` starts ``python -m xai_backtest.engine.prefit`` on the run's
config for half of the signals (every second one, in config order); it fits and predicts
them into the cache (fold models and decisions) while the run fits the others, and the
run then loads them from the cache. Fits are seeded per fold model, so the models are
the same bits as a fit in the run's own process (tests/test_prefit.py).

It applies only when it cannot change a result or surprise anyone: the model cache is
on, the config names its data (not ``data.source: python``), there are two or more
signals, and each is a built-in one (a user's class may live in a script the second
interpreter cannot import). A failing prefit is not an error: the run fits what is not
in the cache itself.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from types import TracebackType

from xai_backtest.engine.config import RunConfig, load_config

__all__ = ["Prefit", "prefit_signals"]


def prefit_signals(config: RunConfig | None) -> list[str]:
    """Names of the signals a second interpreter would fit (empty: prefit does not apply)."""
    if (config is None or not config.cache_dir or config.data.source == "python"
            or len(config.signals) < 2):
        return []
    for spec in config.signals:
        if spec.instance is not None or not type(spec.build()).__module__.startswith(
                "xai_backtest."):
            return []
    return [spec.name for spec in config.signals[1::2]]


class Prefit:
    """The second interpreter, as a context manager (stopped if the run fails first); the
    signals in ``cached`` (whose fold models are all cached) are not handed to it."""

    def __init__(self, config: RunConfig | None, cached: frozenset[str] = frozenset()) -> None:
        self.names = [name for name in prefit_signals(config) if name not in cached]
        self._proc: subprocess.Popen[bytes] | None = None
        if not self.names:
            return
        self._tmp = tempfile.TemporaryDirectory(prefix="xai-prefit-")
        path = Path(self._tmp.name) / "config.yaml"
        path.write_text(config.to_yaml())
        self._proc = subprocess.Popen(
            [sys.executable, "-m", __name__, str(path), *self.names],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=Path.cwd())

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


def _main(path: str, names: list[str]) -> None:
    from xai_backtest.engine.data import load_market_data
    from xai_backtest.engine.runner import build_signal
    from xai_backtest.engine.seeding import seed_everything

    config = load_config(path)
    seed_everything(config.seed, config.threads)
    data, _ = load_market_data(config.data)
    for spec in config.signals:
        if spec.name in names:
            build_signal(spec, config, progress=False).fit(data).predict(data)


if __name__ == "__main__":
    _main(sys.argv[1], sys.argv[2:])
