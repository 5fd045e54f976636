"""A second interpreter fits half of a run's signals into the cache: the same bits as a
fit in the run's own process, and only where it cannot change a result."""

from __future__ import annotations

import pandas as pd
import pytest

from xai_backtest.engine.config import build_config
from xai_backtest.engine.data import load_market_data
from xai_backtest.engine.executor import LocalExecutor
from xai_backtest.engine.prefit import _claim, fit_claimed, prefit_signals
from xai_backtest.engine.runner import signal_decisions

PAYLOAD = {"data": {"start": "2015-01-01", "end": "2018-12-31"},
           "walk_forward": {"min_train": 300, "retrain_every": 200},
           "signals": [{"kind": "ma_crossover"},
                       {"kind": "five_trend", "epochs": 2, "lime_samples": 0, "seed": 3,
                        "walk_forward": {"min_train": 300, "retrain_every": 200,
                                         "embargo": 10}}]}


@pytest.mark.slow
def test_models_fitted_by_the_second_interpreter_equal_those_fitted_here(tmp_path,
                                                                         monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = build_config({**PAYLOAD, "cache_dir": str(tmp_path / "cache")})
    (tmp_path / "config.yaml").write_text(config.to_yaml())
    (tmp_path / "claims").mkdir()
    LocalExecutor(1).submit(fit_claimed, [(str(tmp_path / "config.yaml"),
                                           str(tmp_path / "claims"), ["five_trend"])]).result()
    data, _ = load_market_data(config.data)
    loaded = signal_decisions(config, data)
    model = loaded.models["five_trend"]
    assert model.cache_hits_ == len(model.folds_) and model.cache_misses_ == 0  # from there
    here = signal_decisions(config.model_copy(update={"cache_dir": None}), data)
    for name in ("ma_crossover", "five_trend"):
        pd.testing.assert_frame_equal(loaded.decisions[name].frame,
                                      here.decisions[name].frame)


def test_a_signal_is_claimed_by_one_interpreter_only(tmp_path):
    assert _claim(tmp_path, "five_trend")
    assert not _claim(tmp_path, "five_trend")
    assert _claim(tmp_path, "gadf_cnn")


def test_prefit_applies_only_where_it_cannot_change_a_result(tmp_path):
    base = {**PAYLOAD, "cache_dir": str(tmp_path)}
    assert prefit_signals(build_config({**base, "cache_dir": None})) == []
    assert prefit_signals(build_config({**base, "signals": PAYLOAD["signals"][:1]})) == []
    assert prefit_signals(build_config(base)) == ["ma_crossover", "five_trend"]
