"""On-disk cache of expensive pure steps, keyed by a content hash of their inputs.

Entries are renamed into place whole and carry the SHA-256 of their bytes (a stamp
file inside the entry); a read whose bytes do not match (a truncated or edited file) is
treated as a miss, moved aside, and recomputed, with a warning. The stamp is a
checksum, not authentication: model files are loaded so that they cannot run code.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

__all__ = ["DiskCache", "content_hash", "stable_repr"]

T = TypeVar("T")


def stable_repr(value: Any) -> str:
    """A text for a value JSON cannot hold, the same in every process: ``module:name`` for
    functions and classes, the class and parameters of a scikit-learn-style estimator,
    else ``repr`` (or the type's name when the repr carries a memory address)."""
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{value.__module__}:{value.__qualname__}"
    kind = f"{type(value).__module__}:{type(value).__qualname__}"
    if callable(getattr(value, "get_params", None)):
        return kind + json.dumps(value.get_params(deep=False), sort_keys=True,
                                 default=stable_repr)
    text = repr(value)
    return kind if " at 0x" in text else text


def content_hash(*parts: Any) -> str:
    """SHA-256 over frames (values, index, columns, dtypes), arrays and JSON-able values."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, pd.DataFrame | pd.Series):
            digest.update(pd.util.hash_pandas_object(part, index=True).to_numpy().tobytes())
            if isinstance(part, pd.DataFrame):
                digest.update(str((list(part.columns), list(part.dtypes))).encode())
            else:
                digest.update(str((part.name, part.dtype)).encode())
            digest.update(str(part.index.dtype).encode())
        elif isinstance(part, np.ndarray):
            digest.update(np.ascontiguousarray(part).tobytes())
            digest.update(str((part.dtype, part.shape)).encode())
        elif part is None:
            digest.update(b"\x00none")
        else:
            digest.update(json.dumps(part, sort_keys=True, default=stable_repr).encode())
        digest.update(b"\x1f")
    return digest.hexdigest()


_STAMP = ".sha256"


def _tree_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != _STAMP):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _intact(entry: Path) -> bool:
    stamp = entry / _STAMP
    return stamp.is_file() and stamp.read_text().strip() == _tree_hash(entry)


class DiskCache:
    """Folders under ``root/<namespace>/<key>/``, each verified by a hash of its files.

    An entry is built in a private temporary folder, stamped with its hash, and renamed
    into place in one step, so a reader sees a whole entry or none. When two processes
    build one key at once, the first rename wins and the other keeps the winner's entry.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.hits = 0
        self.misses = 0

    def fetch_file(self, namespace: str, key: str, target: Path) -> bool:
        """Copy the file cached under ``key`` (by ``store_file``) to ``target``; False
        when there is none."""
        entry = self.lookup(namespace, key)
        if entry is None:
            return False
        shutil.copyfile(entry / "file", target)
        return True

    def store_file(self, namespace: str, key: str, source: Path) -> None:
        """Cache a copy of the file ``source`` under ``key``."""

        def build(folder: Path) -> None:
            folder.mkdir()
            shutil.copyfile(source, folder / "file")

        self.folder_entry(namespace, key, build=build, load=lambda folder: folder)

    def lookup(self, namespace: str, key: str) -> Path | None:
        """The folder of an intact entry, or None (a damaged one is discarded)."""
        entry = self.root / namespace / key
        if not entry.is_dir():
            return None
        if _intact(entry):
            self.hits += 1
            return entry
        self._discard(entry)
        return None

    def folder_entry(self, namespace: str, key: str, build: Callable[[Path], object],
                     load: Callable[[Path], T]) -> T:
        """``load(folder)`` of the cached entry, building it with ``build(tmp_folder)`` first
        when absent or damaged."""
        entry = self.root / namespace / key
        if entry.is_dir():
            if _intact(entry):
                self.hits += 1
                return load(entry)
            warnings.warn(f"cache entry {entry} does not match its hash; rebuilding it",
                          stacklevel=2)
            self._discard(entry)
        self.misses += 1
        entry.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", dir=entry.parent))
        try:
            build(work / "entry")
            (work / "entry" / _STAMP).write_text(_tree_hash(work / "entry") + "\n")
            try:
                (work / "entry").rename(entry)
            except OSError:  # another process renamed its entry into place first
                if not _intact(entry):
                    raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return load(entry)

    @staticmethod
    def _discard(entry: Path) -> None:
        """Move a damaged entry aside in one step (another reader may do the same), then
        delete it."""
        trash = Path(tempfile.mkdtemp(prefix=f".{entry.name}.damaged.", dir=entry.parent))
        with contextlib.suppress(OSError):  # already moved by another process
            entry.rename(trash / "entry")
        shutil.rmtree(trash, ignore_errors=True)
