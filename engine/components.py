"""One way to name a component: a registered name or ``package.module:Class``.

Signals and strategies named in a config (or passed from Python) are resolved by
``resolve_component``. A name is looked up, in order, among the names registered
in this process (``register_signal``/``register_strategy``), the built-in ones,
and those that installed packages declare in the entry-point groups
``xai_backtest.signals`` and ``xai_backtest.strategies``::

    [project.entry-points."xai_backtest.signals"]
    my_rsi = "my_package.rsi:RSIMeanReversion"

``"module:Class"`` imports the class from the user's environment. Parameters are
checked against the class itself: a signal's ``__init__`` arguments, a
backtrader strategy's ``params``.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import typing
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from typing import Any, Literal, cast

import backtrader as bt
from pydantic import TypeAdapter, ValidationError

from xai_backtest.errors import ConfigError
from xai_backtest.signals.base import Signal
from xai_backtest.signals.registry import SIGNAL_KINDS
from xai_backtest.strategies import STRATEGY_KINDS

__all__ = ["ComponentError", "Group", "component_params", "known_names", "register_signal",
           "register_strategy", "resolve_component", "validate_params"]

Group = Literal["signal", "strategy"]


class ComponentError(ConfigError):
    """A signal or strategy that cannot be found, imported, or built with these parameters
    (a config error: the config names it)."""


@dataclass(frozen=True)
class _Kind:
    base: type
    builtin: dict[str, str]
    entry_points: str


_KINDS: dict[Group, _Kind] = {
    "signal": _Kind(Signal, SIGNAL_KINDS, "xai_backtest.signals"),
    "strategy": _Kind(bt.Strategy, STRATEGY_KINDS, "xai_backtest.strategies"),
}
_REGISTERED: dict[Group, dict[str, type]] = {"signal": {}, "strategy": {}}


def register_signal(name: str, cls: type[Signal]) -> type[Signal]:
    """Make ``cls`` available under ``name`` in this process (configs may then say
    ``kind: name``). For sweeps on other processes use ``module:Class`` or an entry point."""
    return _register("signal", name, cls)


def register_strategy(name: str, cls: type[bt.Strategy]) -> type[bt.Strategy]:
    """Make the backtrader strategy ``cls`` available under ``name`` in this process."""
    return _register("strategy", name, cls)


def _register(group: Group, name: str, cls: type) -> type:
    kind = _KINDS[group]
    if name in kind.builtin:
        raise ComponentError(f"{name!r} is a built-in {group}; register yours under another "
                             "name")
    _check_class(group, name, cls)
    _REGISTERED[group][name] = cls
    return cls


def known_names(group: Group) -> list[str]:
    """Every name ``resolve_component`` accepts without a ``module:`` prefix."""
    kind = _KINDS[group]
    names = set(kind.builtin) | set(_REGISTERED[group])
    names |= {ep.name for ep in metadata.entry_points(group=kind.entry_points)}
    return sorted(names)


def resolve_component(kind: str, group: Group) -> type:
    """The class a ``kind`` names: a registered, built-in or entry-point name, or
    ``package.module:Class``."""
    if not isinstance(kind, str) or not kind:
        raise ComponentError(f"{group} kind must be a non-empty string, got {kind!r}")
    spec = _KINDS[group]
    if ":" in kind:
        return _check_class(group, kind, _import(kind, group))
    if kind in _REGISTERED[group]:
        return _REGISTERED[group][kind]
    if kind in spec.builtin:
        return _check_class(group, kind, _import(spec.builtin[kind], group))
    found = [ep for ep in metadata.entry_points(group=spec.entry_points) if ep.name == kind]
    if found:
        try:
            loaded = found[0].load()
        except Exception as e:
            raise ComponentError(f"{group} {kind!r} (entry point {found[0].value!r} of "
                                 f"{spec.entry_points!r}) failed to import: {e}") from e
        return _check_class(group, kind, loaded)
    names = known_names(group)
    guess = difflib.get_close_matches(kind, names, n=1)
    hint = f"did you mean {guess[0]!r}? " if guess else ""
    raise ComponentError(f"unknown {group} kind {kind!r}; {hint}known: {names}; or name your "
                         f"own class as 'package.module:ClassName'")


def _import(target: str, group: Group) -> Any:
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise ComponentError(f"{group} kind {target!r}: expected 'package.module:ClassName'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ComponentError(f"{group} kind {target!r}: module {module_name!r} does not import "
                             f"({e}); is it installed or on the Python path (PYTHONPATH)?"
                             ) from e
    found: Any = module
    for part in attr.split("."):
        if not hasattr(found, part):
            public = sorted(n for n in dir(module) if not n.startswith("_"))
            guess = difflib.get_close_matches(part, public, n=1)
            hint = f"; did you mean {guess[0]!r}?" if guess else ""
            raise ComponentError(f"{group} kind {target!r}: module {module_name!r} has no "
                                 f"attribute {attr!r}{hint}")
        found = getattr(found, part)
    return found


def _check_class(group: Group, kind: str, cls: Any) -> type:
    base = _KINDS[group].base
    if not (inspect.isclass(cls) and issubclass(cls, base)):
        what = f"the class {cls.__name__}" if inspect.isclass(cls) else repr(cls)
        raise ComponentError(f"{group} kind {kind!r} is {what}, not a subclass of "
                             f"{base.__module__}.{base.__qualname__}")
    return cls


def component_params(cls: type, group: Group) -> dict[str, Any]:
    """Parameter name -> default (``inspect.Parameter.empty`` when required)."""
    if group == "strategy":
        return dict(cast(Any, cls).params._getitems())  # a backtrader Strategy's params
    signature = inspect.signature(cast(Any, cls).__init__).parameters
    return {name: p.default for name, p in signature.items()
            if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


def validate_params(cls: type, group: Group, params: dict[str, Any],
                    label: str) -> dict[str, Any]:
    """``params`` checked against ``cls`` (unknown names fail with a suggestion, annotated
    signal arguments are type-checked), with the class's defaults filled in."""
    accepted = component_params(cls, group)
    hints = _hints(cls) if group == "signal" else {}
    resolved: dict[str, Any] = {}
    for key, value in params.items():
        if key not in accepted:
            guess = difflib.get_close_matches(key, list(accepted), n=1)
            hint = f"; did you mean {guess[0]!r}?" if guess else ""
            raise ComponentError(f"{label} has no parameter {key!r}{hint} (parameters: "
                                 f"{sorted(accepted)})")
        if key in hints:
            try:
                value = _adapter(hints[key]).validate_python(value, strict=True)
            except ValidationError as e:
                raise ComponentError(f"{label} parameter {key!r}: expected {hints[key]}, got "
                                     f"{value!r}") from e
        resolved[key] = value
    for key, default in accepted.items():
        if key not in resolved:
            if default is inspect.Parameter.empty:
                raise ComponentError(f"{label} needs parameter {key!r}")
            resolved[key] = default
    return resolved


def _adapter(hint: Any) -> TypeAdapter[Any]:
    """A validator of ``hint``, built once per hint (building one costs about a
    millisecond; a sweep checks thousands of parameters)."""
    try:
        return _cached_adapter(hint)
    except TypeError:  # an unhashable hint
        return TypeAdapter(hint)


@lru_cache(maxsize=512)
def _cached_adapter(hint: Any) -> TypeAdapter[Any]:
    return TypeAdapter(hint)


def _hints(cls: type) -> dict[str, Any]:
    """Type hints of a signal's ``__init__``; none when they cannot be evaluated."""
    try:
        hints = typing.get_type_hints(cast(Any, cls).__init__)
    except (NameError, TypeError, AttributeError):  # unresolvable user annotations: no check
        return {}
    hints.pop("return", None)
    return hints
