"""``--signal KIND[:KEY=VALUE,...]``: a signal's parameters from the command line, for
built-in names and ``module:Class`` kinds alike, with errors that name the flag."""

from __future__ import annotations

import textwrap

import pytest

from xai_backtest.engine import cli, runner
from xai_backtest.engine.config import ConfigError


@pytest.mark.parametrize(("value", "entry"), [
    ("ma_crossover", {"kind": "ma_crossover"}),
    ("ma_crossover:fast=10,slow=50", {"kind": "ma_crossover", "fast": 10, "slow": 50}),
    ("my_rules:RSI", {"kind": "my_rules:RSI"}),
    ("pkg.my_rules:RSI:period=10,high=70.5,name=rsi_10",
     {"kind": "pkg.my_rules:RSI", "period": 10, "high": 70.5, "name": "rsi_10"}),
    ("sklearn:features=[rsi, macd],flag=true,label='a,b'",
     {"kind": "sklearn", "features": ["rsi", "macd"], "flag": True, "label": "a,b"}),
    ("ma_crossover:walk_forward={min_train: 100, retrain_every: 5}",
     {"kind": "ma_crossover", "walk_forward": {"min_train": 100, "retrain_every": 5}}),
])
def test_a_signal_value_becomes_a_config_entry_with_yaml_values(value, entry):
    assert cli.parse_signal(value) == entry


@pytest.mark.parametrize(("value", "problem"), [
    ("ma_crossover:", "expected KIND or KIND:key=value"),
    (":fast=1", "expected KIND or KIND:key=value"),
    ("ma_crossover:fast=1,slow", "'slow' is not key=value"),
    ("ma_crossover:fast=1,fast=2", "parameter 'fast' is given twice"),
    ("ma_crossover:fast=[1", "the value of 'fast' is not a YAML value"),
])
def test_a_malformed_value_is_refused_naming_the_flag(value, problem):
    with pytest.raises(ConfigError) as raised:
        cli.parse_signal(value)
    assert str(raised.value).startswith(f"--signal {value}: ")
    assert problem in str(raised.value)


def _config_of(monkeypatch, argv: list[str]):
    """The run config ``main(argv)`` would run (the run itself is stopped)."""
    seen = []

    def stop(config, progress):
        seen.append(config)
        raise ConfigError("stopped before the run")

    monkeypatch.setattr(runner, "run_backtest", stop)
    assert cli.main(argv) == 2
    return seen[0]


def test_the_parameters_reach_the_run_config(monkeypatch, capsys):
    config = _config_of(monkeypatch, ["--signal", "ma_crossover:fast=10,slow=50", "--quiet"])
    (signal,) = config.signals
    assert (signal.kind, signal.name, signal.params["fast"], signal.params["slow"]) == (
        "ma_crossover", "ma_crossover", 10, 50)
    assert config.ensemble is None


def test_a_module_class_kind_takes_parameters_too(tmp_path, monkeypatch, capsys):
    (tmp_path / "my_rules.py").write_text(textwrap.dedent("""
        import numpy as np
        import pandas as pd
        from xai_backtest import RuleSignal

        class Momentum(RuleSignal):
            name = "momentum"

            def __init__(self, period: int = 5):
                self.period = period

            def indicators(self, bars):
                return pd.DataFrame({"change": bars["close"].pct_change(self.period)})

            def rule(self, values):
                return np.sign(values["change"])
    """))
    monkeypatch.chdir(tmp_path)
    config = _config_of(monkeypatch, ["--signal", "my_rules:Momentum:period=10,name=mom_10",
                                      "--signal", "my_rules:Momentum", "--quiet"])
    assert [(s.kind, s.name, s.params["period"]) for s in config.signals] == [
        ("my_rules:Momentum", "mom_10", 10), ("my_rules:Momentum", "momentum", 5)]


@pytest.mark.parametrize(("argv", "message"), [
    (["--signal", "ma_crossover:fast=x"],
     "error: --signal ma_crossover:fast=x: signal 'ma_crossover' parameter 'fast': expected"),
    (["--signal", "ma_crossover:fsat=10"],
     "error: --signal ma_crossover:fsat=10: signal 'ma_crossover' has no parameter 'fsat'; "
     "did you mean 'fast'?"),
    (["--signal", "nope:fast=1"], "error: --signal nope:fast=1: unknown signal kind 'nope'"),
    (["--signal", "ma_crossover:fast=10", "--signal", "ma_crossover:fast=20"],
     "error: --signal ma_crossover:fast=20: a signal named 'ma_crossover' is given already "
     "(--signal ma_crossover:fast=10); give each its own name, e.g. --signal "
     "ma_crossover:fast=20,name=ma_crossover_2"),
])
def test_errors_from_a_signal_value_name_the_flag_not_the_default_config(argv, message,
                                                                         monkeypatch, capsys):
    monkeypatch.setattr(runner, "run_backtest", pytest.fail)  # refused before any run
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(message)
    assert "default.yaml" not in err and "signals.0" not in err


def test_the_help_shows_the_syntax(capsys):
    with pytest.raises(SystemExit):
        cli.parse_args(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--signal KIND[:KEY=VALUE,...]" in out
    assert "ma_crossover:fast=10,slow=50" in out
