"""The fold-model cache is keyed on the code that fits and predicts: an edit refits."""

from __future__ import annotations

import importlib
import sys
import textwrap
import types

import pytest

from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.signals.ma_crossover import MACrossover
from xai_backtest.signals.walk_forward import WalkForwardSignal
from xai_backtest.storage.code_hash import (
    SourceUnavailableError,
    code_fingerprint,
    project_sources,
)

SIGNAL = '''
from xai_backtest.signals.ma_crossover import MACrossover
from {helper} import SHIFT


class EditedSignal(MACrossover):
    name = "edited"
    code_version = {version!r}

    def fit(self, history):
        super().fit(history)
        self.bias_ = SHIFT + {constant}
        return self
'''


@pytest.fixture
def user_modules(tmp_path, monkeypatch):
    """Write the user's signal module (and a helper it imports) into a temp folder on the
    path; ``write(...)`` rewrites them and returns the freshly imported class."""
    monkeypatch.syspath_prepend(str(tmp_path))
    names = ("edited_signal_mod", "edited_helper_mod")

    def write(constant: float = 0.0, shift: float = 0.0, version: str | None = None):
        (tmp_path / f"{names[1]}.py").write_text(f"SHIFT = {shift}\n")
        (tmp_path / f"{names[0]}.py").write_text(textwrap.dedent(SIGNAL.format(
            helper=names[1], constant=constant, version=version)))
        for name in names:
            sys.modules.pop(name, None)
        importlib.invalidate_caches()
        return importlib.import_module(names[0]).EditedSignal

    yield write
    for name in names:
        sys.modules.pop(name, None)


def _fit(cls, data, cache_dir):
    return WalkForwardSignal(cls(fast=5, slow=20), min_train=100, retrain_every=200,
                             progress=False, cache_dir=str(cache_dir)).fit(data)


def test_editing_the_signal_or_a_module_it_imports_refits(user_modules, daily_bars, tmp_path):
    data, cache = MarketData(daily_bars), tmp_path / "cache"
    folds = len(_fit(user_modules(), data, cache).folds_)
    assert _fit(user_modules(), data, cache).cache_hits_ == folds  # unchanged: all hits
    edited = _fit(user_modules(constant=1.0), data, cache)
    assert (edited.cache_hits_, edited.cache_misses_) == (0, folds)
    assert all(m.bias_ == 1.0 for m in edited.models_)  # not a stale model
    helper_edited = _fit(user_modules(constant=1.0, shift=2.0), data, cache)
    assert helper_edited.cache_hits_ == 0
    assert all(m.bias_ == 3.0 for m in helper_edited.models_)


def test_an_explicit_code_version_replaces_the_source_hash(user_modules, daily_bars, tmp_path):
    data, cache = MarketData(daily_bars), tmp_path / "cache"
    folds = len(_fit(user_modules(version="1"), data, cache).folds_)
    assert _fit(user_modules(constant=5.0, version="1"), data, cache).cache_hits_ == folds
    assert _fit(user_modules(constant=5.0, version="2"), data, cache).cache_hits_ == 0


def test_a_class_without_readable_source_is_not_cached(daily_bars, tmp_path):
    module = types.ModuleType("notebook_cell")  # like a class typed into a REPL
    exec("from xai_backtest.signals.ma_crossover import MACrossover\n"
         "class CellSignal(MACrossover):\n    name = 'cell'\n", module.__dict__)
    with pytest.raises(SourceUnavailableError, match="code_version"):
        code_fingerprint(module.CellSignal)
    with pytest.warns(UserWarning, match="not cached"):
        fitted = _fit(module.CellSignal, MarketData(daily_bars), tmp_path / "cache")
    assert fitted.cache_hits_ == 0
    assert not (tmp_path / "cache").exists()


def test_the_fingerprint_follows_imports_made_inside_functions_and_skips_libraries():
    from xai_backtest.signals.gadf_cnn import GADFCNN

    modules = project_sources(GADFCNN)
    assert "xai_backtest.signals._gadf_net" in modules  # imported inside a method
    assert "xai_backtest.signals.gadf" in modules
    assert not any(name.startswith(("torch", "numpy", "pandas")) for name in modules)
    assert code_fingerprint(GADFCNN) != code_fingerprint(MACrossover)
