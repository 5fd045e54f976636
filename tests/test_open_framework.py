"""Users bring their own signals and strategies: by module:Class, entry point or object."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import xai_backtest
from xai_backtest.engine.components import (
    ComponentError,
    known_names,
    register_signal,
    resolve_component,
)
from xai_backtest.engine.config import ConfigError, build_config, load_config
from xai_backtest.engine.runner import run_backtest
from xai_backtest.signals.ma_crossover import MACrossover

ROOT = Path(__file__).resolve().parents[1]
QUICK = {"data": {"source": "sample", "sample": "sp500", "start": "2009-01-01",
                  "end": "2014-12-31"},
         "walk_forward": {"min_train": 300, "retrain_every": 250}, "tearsheet": False,
         "cache_dir": None}

USER_SIGNAL = '''
from xai_backtest.signals.ma_crossover import MACrossover


class UserCrossover(MACrossover):
    """A user's signal in the user's own module."""

    name = "user_crossover"

    def __init__(self, fast: int = 10, slow: int = 40, tilt: float = 0.0):
        super().__init__(fast=fast, slow=slow)
        self.tilt = tilt


NOT_A_SIGNAL = 3
'''


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "user_sig_mod.py").write_text(USER_SIGNAL)
    importlib.invalidate_caches()
    yield "user_sig_mod"
    sys.modules.pop("user_sig_mod", None)


@pytest.mark.slow
def test_a_signal_named_module_colon_class_runs_from_a_config(user_module, tmp_path):
    config = build_config({**QUICK, "output_dir": str(tmp_path / "runs"), "signals": [
        {"kind": f"{user_module}:UserCrossover", "fast": 5, "tilt": 0.5}]})
    spec = config.signals[0]
    assert (spec.name, spec.params) == ("user_crossover", {"fast": 5, "slow": 40, "tilt": 0.5})
    result = run_backtest(config, progress=False)
    assert set(result.signals) == {"user_crossover"}
    assert result.signals["user_crossover"].fold_models()[0].fast == 5
    assert (result.trades["strategy"] == "user_crossover").sum() > 0


@pytest.mark.parametrize(("kind", "params", "message"), [
    ("no_such_module_xyz:Thing", {}, "module 'no_such_module_xyz' does not import"),
    ("user_sig_mod:UserCrosover", {}, "did you mean 'UserCrossover'"),
    ("user_sig_mod:NOT_A_SIGNAL", {}, "not a subclass of xai_backtest.signals.base.Signal"),
    ("xai_backtest.strategies.signal_strategy:SignalStrategy", {}, "not a subclass"),
    ("user_sig_mod:UserCrossover", {"tilte": 1.0}, "no parameter 'tilte'; did you mean 'tilt'"),
    ("user_sig_mod:UserCrossover", {"tilt": "high"}, "parameter 'tilt': expected"),
    ("ma_crosover", {}, "did you mean 'ma_crossover'"),
])
def test_a_signal_that_cannot_be_built_fails_clearly(user_module, kind, params, message):
    with pytest.raises(ConfigError, match="signals.0") as info:
        build_config({"signals": [{"kind": kind, **params}]})
    assert message in str(info.value)


def test_a_strategy_that_is_not_a_backtrader_strategy_fails_clearly(user_module):
    with pytest.raises(ConfigError, match="not a subclass of backtrader"):
        build_config({"strategy": {"kind": "user_sig_mod:UserCrossover"}})
    with pytest.raises(ConfigError, match="no parameter 'stop_los'"):
        build_config({"strategy": {"kind": "intraday", "stop_los": 0.1}})


def test_an_installed_package_registers_a_signal_through_an_entry_point(tmp_path, monkeypatch,
                                                                        user_module):
    dist = tmp_path / "user_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: user-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[xai_backtest.signals]\nplugin_crossover = user_sig_mod:UserCrossover\n")
    importlib.invalidate_caches()
    assert "plugin_crossover" in known_names("signal")
    config = build_config({"signals": [{"kind": "plugin_crossover", "slow": 60}]})
    assert config.signals[0].name == "plugin_crossover"
    assert resolve_component("plugin_crossover", "signal").__name__ == "UserCrossover"


def test_a_signal_registered_in_process_is_named_like_a_built_in():
    class Registered(MACrossover):
        name = "registered"

    register_signal("my_registered_crossover", Registered)
    assert build_config({"signals": [{"kind": "my_registered_crossover"}]}).signals[0].params \
        == {"fast": 50, "slow": 200, "label_basis": "open_to_open"}
    with pytest.raises(ComponentError, match="built-in"):
        register_signal("ma_crossover", Registered)


@pytest.mark.slow
def test_two_instances_of_one_kind_carry_their_own_explanations(tmp_path):
    config = load_config(ROOT / "examples" / "two_instances.yaml",
                         {"output_dir": str(tmp_path), "tearsheet": False, "cache_dir": None,
                          "data.end": "2014-12-31"})
    result = run_backtest(config, progress=False)
    trades = result.trades
    expected = {"sma_fast": ("sma_20", "sma_100"), "sma_slow": ("sma_50", "sma_200")}
    for name, features in expected.items():
        mine = trades[trades["strategy"] == name].dropna(subset=["entry_explanation_id"])
        assert len(mine) > 0
        for key in mine["entry_explanation_id"]:
            assert key.startswith(f"{name}@")
            assert result.explanations[key].feature_names == features
    fast = trades[trades["strategy"] == "sma_fast"]["entry_decision_time"]
    slow = trades[trades["strategy"] == "sma_slow"]["entry_decision_time"]
    shared = set(fast.dropna()) & set(result.decisions["sma_slow"].frame.index)
    for when in shared:  # the same date explained once per instance, each by its own model
        ids = [f"{n}@{pd.Timestamp(when).isoformat()}" for n in expected]
        present = [result.explanations[i] for i in ids if i in result.explanations]
        assert len({e.feature_names for e in present}) == len(present)
    assert len(slow) > 0
    assert {"sma_fast", "sma_slow", "ensemble"} <= set(result.comparison.columns)


def test_duplicate_instance_names_are_refused():
    with pytest.raises(ConfigError, match="give each instance its own 'name:'"):
        build_config({"signals": [{"kind": "ma_crossover", "fast": 5},
                                  {"kind": "ma_crossover", "fast": 9}]})
    with pytest.raises(ConfigError, match="signal name 'buy_and_hold'"):
        build_config({"signals": [{"kind": "ma_crossover", "name": "buy_and_hold"}]})


def _run_script(folder: Path, body: str) -> subprocess.CompletedProcess[str]:
    script = folder / "user_script.py"
    script.write_text(textwrap.dedent(body))
    return subprocess.run([sys.executable, str(script)], cwd=folder, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.slow
def test_a_script_without_a_main_guard_draws_many_figures(tmp_path):
    proc = _run_script(tmp_path, f"""
        from xai_backtest import Backtest

        print("script body ran")
        result = Backtest("sp500", signals=["ma_crossover"], tearsheet=False,
                          cache_dir=None, output_dir={str(tmp_path / "runs")!r},
                          walk_forward={{"min_train": 300, "retrain_every": 250}}).run(
                          progress=False)
        print("figures", len(list((result.folder / "figures").iterdir())))
        """)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("script body ran") == 1  # workers never re-run the script
    figures = int(proc.stdout.split("figures")[-1])
    assert figures > 8


@pytest.mark.slow
def test_a_users_own_signals_and_engine_modules_shadow_nothing(tmp_path):
    for name in ("signals", "engine", "strategies", "reports"):
        (tmp_path / f"{name}.py").write_text(f"raise ImportError('the user\\'s {name}.py')\n")
    proc = _run_script(tmp_path, """
        import signals  # the user's own module is importable...
        """)
    assert "the user's signals.py" in proc.stderr  # ...and is the user's, not ours
    proc = _run_script(tmp_path, f"""
        from xai_backtest import Backtest

        result = Backtest({{"source": "sample", "start": "2010-01-01"}},
                          signals=["ma_crossover"], tearsheet=False, cache_dir=None,
                          output_dir={str(tmp_path / "runs")!r},
                          walk_forward={{"min_train": 300, "retrain_every": 250}}).run(
                          progress=False)
        print("trades", len(result.trades))
        """)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "trades" in proc.stdout


def test_the_public_api_lists_what_it_exports():
    for name in xai_backtest.__all__:
        assert getattr(xai_backtest, name) is not None
    with pytest.raises(AttributeError):
        xai_backtest.NoSuchThing  # noqa: B018


def test_an_own_strategy_runs_under_the_look_ahead_guard(daily_bars):
    import backtrader as bt

    from xai_backtest.strategies.backtest import run_strategy
    from xai_backtest.strategies.guard import LookAheadError

    class Peeking(bt.Strategy):
        def next(self):
            if len(self.data) > 5 and self.data.close[1] > self.data.close[0]:
                self.buy()

    with pytest.raises(LookAheadError, match="in the future"):
        run_strategy("peeking", daily_bars, None, Peeking)
