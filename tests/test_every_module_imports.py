"""Every module of the package imports (the fast tier, ``-m "not slow"``, runs this, so a
module that only the slow end-to-end tests reach still fails fast when it breaks)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import xai_backtest

LAYERS = ("storage", "data_feeds", "signals", "explainers", "strategies", "reports", "engine")


def _modules() -> list[str]:
    names = []
    for layer in LAYERS:
        package = importlib.import_module(f"xai_backtest.{layer}")
        names.append(package.__name__)
        names += [f"{package.__name__}.{m.name}" for m in pkgutil.iter_modules(package.__path__)]
    return sorted(names)


def test_every_layer_has_modules():
    assert len(_modules()) > 8 * len(LAYERS)


@pytest.mark.parametrize("name", _modules())
def test_module_imports(name):
    module = importlib.import_module(name)
    assert module.__name__ == name


def test_every_public_name_resolves():
    for name in xai_backtest.__all__:
        assert getattr(xai_backtest, name) is not None, name
