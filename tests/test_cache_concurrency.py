"""Two processes filling one cache key at once: the first rename wins, the other keeps it."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from threading import BrokenBarrierError
from typing import Any

import pytest

from xai_backtest.storage.cache import DiskCache, _intact


def _fill(root: str, me: str, built: Any, out: str) -> None:
    def build(folder: Path) -> None:
        folder.mkdir()
        (folder / "who").write_text(me)
        try:  # both builds done before either renames
            built.wait(timeout=120)
        except BrokenBarrierError as e:
            raise TimeoutError("the other writer never finished its build") from e

    def load(folder: Path) -> str:
        return (folder / "who").read_text()

    cache = DiskCache(Path(root) / "cache")
    got = cache.folder_entry("ns", "same-key", build, load)
    Path(out).write_text(f"{got} {cache.misses}")


@pytest.mark.slow
def test_two_writers_of_one_key_end_with_one_intact_entry(tmp_path):
    context = multiprocessing.get_context("spawn")
    built = context.Barrier(2)
    procs = [context.Process(target=_fill, args=(str(tmp_path), me, built,
                                                 str(tmp_path / f"out-{me}")))
             for me in ("a", "b")]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
        assert proc.exitcode == 0
    results = {(tmp_path / f"out-{me}").read_text() for me in ("a", "b")}
    (winner,) = {r.split()[0] for r in results}  # both loaded the same entry
    assert all(r.endswith(" 1") for r in results)  # each built once (a miss), none failed
    entry = tmp_path / "cache" / "ns" / "same-key"
    assert _intact(entry) and (entry / "who").read_text() == winner
    assert not [p for p in entry.parent.iterdir() if p.name.startswith(".")]  # no leftovers
    again = DiskCache(tmp_path / "cache")
    assert again.folder_entry("ns", "same-key", lambda f: None,
                              lambda f: (f / "who").read_text()) == winner
    assert again.hits == 1
