"""A worker in a fresh interpreter: ``python -m xai_backtest.engine.worker TASKS RESULTS``.

It runs never the caller's script (a script without a ``__main__`` guard is not imported
again, as multiprocessing's spawn would), only the pickled ``(index, function, item)``
tasks in ``TASKS``; a stand-in ``__main__`` holds the script's classes (sent by value)
and names its file, so its signals resolve and fingerprint as in the caller. It prints
each finished index on stdout (for progress bars) and writes
``{index: ("ok", result) | ("error", traceback)}`` to ``RESULTS``. The first failure
stops it, with the traceback kept for the caller to raise.
"""

from __future__ import annotations

import os
import pickle
import sys
import traceback
import types
from pathlib import Path


def main(tasks: Path, results: Path) -> int:
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(name, "1")  # one core each: no oversubscription
    done: dict[int, tuple[str, object]] = {}
    code = 0
    try:
        (script, classes), todo = pickle.loads(tasks.read_bytes())
        _stand_in_main(script, classes)
        for index, fn, item in todo:
            done[index] = ("ok", fn(item))
            print(index, flush=True)
    except BaseException:  # noqa: BLE001 (the caller raises it with this traceback)
        done[-1] = ("error", traceback.format_exc())
        code = 1
    tmp = results.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(done))
    tmp.rename(results)
    return code


def _stand_in_main(script: str | None, classes: dict[str, type]) -> None:
    """The caller's script as ``__main__``, never run: its classes and its file."""
    main = types.ModuleType("__main__")
    if script is not None:
        main.__file__ = script
    vars(main).update(classes)
    sys.modules["__main__"] = main


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
