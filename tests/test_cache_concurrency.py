"""Two processes filling one cache key at once: the first rename wins, the other keeps it."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

from xai_backtest.storage.cache import DiskCache, _intact


def _wait_for(paths: list[Path], limit: float = 60.0) -> None:
    """Block until every marker file exists (the other process reached the same point)."""
    deadline = time.monotonic() + limit
    while not all(p.exists() for p in paths):
        if time.monotonic() > deadline:
            raise TimeoutError(f"markers never appeared: {paths}")
        time.sleep(0.01)


def _fill(root: str, me: str, other: str, out: str) -> None:
    markers = Path(root) / "markers"

    def build(folder: Path) -> None:
        folder.mkdir()
        (folder / "who").write_text(me)
        (markers / f"built-{me}").touch()
        _wait_for([markers / f"built-{other}"])  # both builds done before either renames

    def load(folder: Path) -> str:
        return (folder / "who").read_text()

    cache = DiskCache(Path(root) / "cache")
    got = cache.folder_entry("ns", "same-key", build, load)
    Path(out).write_text(f"{got} {cache.misses}")


def test_two_writers_of_one_key_end_with_one_intact_entry(tmp_path):
    (tmp_path / "markers").mkdir()
    context = multiprocessing.get_context("spawn")
    procs = [context.Process(target=_fill, args=(str(tmp_path), me, other,
                                                 str(tmp_path / f"out-{me}")))
             for me, other in (("a", "b"), ("b", "a"))]
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
