"""Every name a run gives its own references is refused as a signal name, from one list
(strategies/references.py: REFERENCE_NAMES) that the config and the runners share."""

from __future__ import annotations

import pytest

from tests.conftest import make_daily_bars
from xai_backtest.data_feeds.universe import build_universe
from xai_backtest.engine.config import ConfigError, build_config, load_config

ADDED_BY_THE_RUN = ["buy_and_hold", "always_long", "always_flat", "ensemble",
                    "equal_weight_rebalanced", "equal_weight_held"]


@pytest.mark.parametrize("name", ADDED_BY_THE_RUN)
def test_a_reference_name_is_refused_as_a_signal_name(name):
    with pytest.raises(ConfigError, match=f"signal name '{name}'"):
        build_config({"signals": [{"kind": "ma_crossover", "name": name}]})


def test_a_yaml_signal_named_like_the_held_reference_is_refused(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("signals:\n  - {kind: ma_crossover, name: equal_weight_held}\n")
    with pytest.raises(ConfigError, match="signal name 'equal_weight_held'.*not one of"):
        load_config(path)
    assert build_config({"signals": [{"kind": "ma_crossover", "name": "equal_weight"}]})


def test_the_config_refuses_exactly_the_reference_names():
    from xai_backtest.engine import config
    from xai_backtest.strategies import references

    assert config.RESERVED_NAMES is references.REFERENCE_NAMES
    assert sorted(references.REFERENCE_NAMES) == sorted(ADDED_BY_THE_RUN)


def test_every_strategy_the_engine_adds_is_a_reference_name():
    from xai_backtest.engine import report
    from xai_backtest.signals import ensemble
    from xai_backtest.strategies.portfolio import equal_weight_references
    from xai_backtest.strategies.references import REFERENCE_NAMES, is_reference, on_instrument

    added = {ensemble.NAME, report.BENCHMARK, report.PORTFOLIO_BENCHMARK}
    assert added <= set(REFERENCE_NAMES)
    universe = build_universe([("a", make_daily_bars(30, seed=1)),
                               ("b", make_daily_bars(30, seed=2))])
    assert set(equal_weight_references(universe)) <= set(REFERENCE_NAMES)
    assert on_instrument("buy_and_hold", "TCS") == "buy_and_hold[TCS]"
    assert is_reference("buy_and_hold[TCS]") and not is_reference("ma_crossover[TCS]")
    with pytest.raises(ValueError, match="not a reference"):
        on_instrument("ma_crossover", "TCS")
