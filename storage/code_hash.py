"""A fingerprint of the code behind a class, so a cache keyed on it misses after an edit.

The fingerprint hashes the source of the modules that define the class and its bases,
and, transitively, of every *project* module they import anywhere in their source
(also inside functions, where heavy imports are deferred). Project modules are those
not installed as a library: neither in the standard library nor in site-packages
(an editable install of this project or of the user's package counts as project code).
"""

from __future__ import annotations

import ast
import hashlib
import importlib.machinery
import importlib.util
import inspect
import site
import sys
import sysconfig
from functools import cache
from pathlib import Path

__all__ = ["SourceUnavailableError", "code_fingerprint", "module_fingerprint",
           "project_sources"]


class SourceUnavailableError(ValueError):
    """The source of a class (defined in a notebook cell or a REPL) cannot be read."""


def code_fingerprint(cls: type) -> str:
    """SHA-256 over the source files of ``cls``'s project modules (see the module doc)."""
    files = project_sources(cls)
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\x00" + files[name].read_bytes() + b"\x1f")
    return digest.hexdigest()


def module_fingerprint(*modules: str) -> str:
    """SHA-256 over the source files of ``modules`` and the project modules they import;
    for modules installed as a library, over their names and this package's version."""
    files = _sources(list(modules))
    digest = hashlib.sha256()
    if not files:
        from importlib.metadata import PackageNotFoundError, version

        try:
            installed = version("xai-backtest")
        except PackageNotFoundError:
            installed = "unknown"
        digest.update(f"{sorted(modules)} {installed}".encode())
    for name in sorted(files):
        digest.update(name.encode() + b"\x00" + files[name].read_bytes() + b"\x1f")
    return digest.hexdigest()


def project_sources(cls: type) -> dict[str, Path]:
    """Module name -> source file of every project module behind ``cls``."""
    files = _sources([c.__module__ for c in cls.__mro__ if c.__module__ != "builtins"])
    if cls.__module__ not in files:
        raise SourceUnavailableError(
            f"cannot read the source of {cls.__qualname__} (module {cls.__module__!r}); "
            "define it in a .py file, or set the class attribute code_version and bump it "
            "whenever fit or predict changes")
    return files


def _sources(pending: list[str]) -> dict[str, Path]:
    """Module name -> source file of ``pending`` and the project modules they import."""
    files: dict[str, Path] = {}
    while pending:
        name = pending.pop()
        if name in files:
            continue
        path = _project_file(name)
        if path is None:
            continue
        files[name] = path
        pending.extend(_imports(name, path))
    return files


def _project_file(module: str) -> Path | None:
    """The source file of ``module`` when it is project code, else None."""
    loaded = sys.modules.get(module)
    try:
        path = inspect.getsourcefile(loaded) if loaded is not None else _spec_origin(module)
    except TypeError:  # built-in module
        return None
    if path is None or not path.endswith(".py"):
        return None
    resolved = Path(path).resolve()
    if not resolved.is_file() or _in_library(resolved):
        return None
    return resolved


def _spec_origin(module: str) -> str | None:
    """Where ``module`` would load from, importing no library and no plain module (only the
    project packages above it)."""
    spec = _spec(module)
    return spec.origin if spec is not None else None


def _spec(module: str) -> importlib.machinery.ModuleSpec | None:
    parent, _, _ = module.rpartition(".")
    if parent:
        above = _spec(parent)
        if above is None or above.submodule_search_locations is None:
            return None  # the parent is not a package: ``module`` names an attribute
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None or _in_library(Path(spec.origin).resolve()):
        return None
    return spec


def _in_library(path: Path) -> bool:
    return any(path.is_relative_to(p) for p in _library_roots())


@cache
def _library_roots() -> tuple[Path, ...]:
    paths = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    paths.update(site.getsitepackages())
    paths.add(site.getusersitepackages())
    return tuple(Path(p).resolve() for p in paths if p)


def _imports(module: str, path: Path) -> list[str]:
    """Module names imported anywhere in ``path`` (``from a import b`` yields ``a`` and
    ``a.b``, since ``b`` may be a submodule)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            found.append(base)
            found.extend(f"{base}.{alias.name}" for alias in node.names)
    return [name for name in found if name]
