"""Fold models are cached by content hash: reused when nothing changed, refitted otherwise."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.engine.config import load_config
from xai_backtest.engine.runner import run_backtest
from xai_backtest.signals.ma_crossover import MACrossover
from xai_backtest.signals.walk_forward import WalkForwardSignal
from xai_backtest.storage.cache import DiskCache, content_hash

ROOT = Path(__file__).resolve().parents[1]


def _fit(data, cache_dir, **params):
    signal = WalkForwardSignal(MACrossover(**{"fast": 5, "slow": 20, **params}), min_train=100,
                               retrain_every=100, progress=False, cache_dir=str(cache_dir))
    return signal.fit(data)


def test_second_fit_is_all_hits_and_identical(daily_bars, tmp_path):
    data = MarketData(daily_bars)
    first = _fit(data, tmp_path)
    assert (first.cache_hits_, first.cache_misses_) == (0, len(first.folds_))
    second = _fit(data, tmp_path)
    assert (second.cache_hits_, second.cache_misses_) == (len(second.folds_), 0)
    pd.testing.assert_frame_equal(first.predict(data).frame, second.predict(data).frame)


def test_one_changed_bar_misses_from_its_fold_on(daily_bars, tmp_path):
    _fit(MarketData(daily_bars), tmp_path)
    changed = daily_bars.copy()
    changed.iloc[250, changed.columns.get_loc("close")] *= 1.001
    signal = _fit(MarketData(changed), tmp_path)
    untouched = sum(f.train_end <= changed.index[250] for f in signal.folds_)
    assert signal.cache_hits_ == untouched > 0
    assert signal.cache_misses_ == len(signal.folds_) - untouched > 0


def test_other_hyperparameters_miss(daily_bars, tmp_path):
    data = MarketData(daily_bars)
    _fit(data, tmp_path)
    assert _fit(data, tmp_path, fast=6).cache_hits_ == 0


def test_damaged_entry_is_rebuilt(daily_bars, tmp_path):
    data = MarketData(daily_bars)
    first = _fit(data, tmp_path)
    header = next(tmp_path.rglob("signal.json"))
    header.write_text(header.read_text()[:-20])
    with pytest.warns(UserWarning, match="does not match its hash"):
        again = _fit(data, tmp_path)
    assert again.cache_misses_ == 1
    pd.testing.assert_frame_equal(first.predict(data).frame, again.predict(data).frame)


def test_content_hash_sees_values_index_and_names():
    frame = pd.DataFrame({"a": [1.0, 2.0]}, index=pd.date_range("2020", periods=2, tz="UTC"))
    base = content_hash(frame)
    assert content_hash(frame.copy()) == base
    assert content_hash(frame.rename(columns={"a": "b"})) != base
    assert content_hash(frame.shift(1, freq="D")) != base
    assert content_hash(frame * 1.0000001) != base
    assert content_hash(None) != content_hash(frame)


@pytest.mark.slow
def test_rerun_with_only_the_threshold_changed_does_not_refit(tmp_path):
    overrides = {"output_dir": str(tmp_path / "runs"), "cache_dir": str(tmp_path / "cache"),
                 "tearsheet": False, "data.start": "2012-01-01"}
    path = ROOT / "configs" / "sp500_ma_crossover.yaml"
    first = run_backtest(load_config(path, overrides), progress=False)
    second = run_backtest(load_config(path, {**overrides, "strategy.threshold": 0.52}),
                          progress=False)
    folds = json.loads((first.folder / "run.json").read_text())["fold_models"]["ma_crossover"]
    again = json.loads((second.folder / "run.json").read_text())["fold_models"]["ma_crossover"]
    assert folds["from_cache"] == 0 and folds["fitted"] > 0
    assert again == {"fitted": 0, "from_cache": folds["fitted"]}


def test_cache_counts(tmp_path):
    cache = DiskCache(tmp_path)
    build = lambda folder: (folder.mkdir(), (folder / "x").write_text("1"))  # noqa: E731
    load = lambda folder: (folder / "x").read_text()  # noqa: E731
    assert cache.folder_entry("ns", "k", build, load) == "1"
    assert cache.folder_entry("ns", "k", build, load) == "1"
    assert (cache.hits, cache.misses) == (1, 1)
