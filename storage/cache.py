"""On-disk cache of expensive pure steps, keyed by a content hash of their inputs.

Entries are written atomically and carry the SHA-256 of their bytes; a read whose
bytes do not match (a truncated or edited file) is treated as a miss, removed, and
recomputed, with a warning.
"""

from __future__ import annotations

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


def _tree_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


class DiskCache:
    """Folders under ``root/<namespace>/<key>/``, each verified by a hash of its files."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.hits = 0
        self.misses = 0

    def folder_entry(self, namespace: str, key: str, build: Callable[[Path], None],
                     load: Callable[[Path], T]) -> T:
        """``load(folder)`` of the cached entry, building it with ``build(tmp_folder)`` first
        when absent or damaged."""
        entry = self.root / namespace / key
        stamp = entry.with_suffix(".sha256")
        if entry.is_dir() and stamp.is_file():
            if stamp.read_text().strip() == _tree_hash(entry):
                self.hits += 1
                return load(entry)
            warnings.warn(f"cache entry {entry} does not match its hash; rebuilding it",
                          stacklevel=2)
        self.misses += 1
        stamp.unlink(missing_ok=True)
        shutil.rmtree(entry, ignore_errors=True)
        entry.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", dir=entry.parent))
        try:
            build(work / "entry")
            digest = _tree_hash(work / "entry")
            (work / "entry").rename(entry)  # fails if another process got there first
            (work / "stamp").write_text(digest + "\n")
            (work / "stamp").replace(stamp)
        except OSError:
            if not (entry.is_dir() and stamp.is_file()):
                raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return load(entry)
