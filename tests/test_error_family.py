"""One error family: every error a user can hit is an ``XaiBacktestError``, exported from
``xai_backtest``, and the command line prints it as one line with exit code 2 (issue 23,
item 3)."""

from __future__ import annotations

import pytest

import xai_backtest
from xai_backtest import DataError, XaiBacktestError
from xai_backtest.engine import cli

EXPORTED = sorted(name for name in xai_backtest.__all__
                  if isinstance(getattr(xai_backtest, name), type)
                  and issubclass(getattr(xai_backtest, name), BaseException))


def _raised(cls: type[BaseException]) -> BaseException:
    if issubclass(cls, DataError):
        return cls("prices.csv", "row 3 has no close", "fill it in or drop the row")
    return cls(f"{cls.__name__}: what went wrong, and the fix")


def test_the_errors_users_hit_are_exported():
    assert {"XaiBacktestError", "ConfigError", "DataError", "UniverseError", "ContractError",
            "LookAheadError", "ModelFileError", "NotFittedError", "StrategyDataError",
            "AdditivityError", "ComponentError", "WalkForwardError", "DeviceError",
            "FastPathError"} <= set(EXPORTED)


@pytest.mark.parametrize("name", EXPORTED)
def test_every_exported_error_is_one_family(name):
    cls = getattr(xai_backtest, name)
    assert issubclass(cls, XaiBacktestError)
    assert issubclass(cls, ValueError | AssertionError) or cls is XaiBacktestError


def test_errors_defined_twice_are_one_class_caught_as_before():
    from xai_backtest.explainers import shap_explainer, sklearn_shap
    from xai_backtest.signals import contract, walk_forward
    from xai_backtest.strategies import guard

    assert guard.LookAheadError is walk_forward.LookAheadError is xai_backtest.LookAheadError
    assert issubclass(xai_backtest.LookAheadError, RuntimeError | ValueError)
    assert shap_explainer.AdditivityError is sklearn_shap.AdditivityError
    assert issubclass(contract.ContractError, AssertionError)  # a failed check, as before


def test_old_import_paths_name_the_same_classes():
    from xai_backtest.data_feeds.errors import DataError as data_error
    from xai_backtest.data_feeds.universe import UniverseError
    from xai_backtest.engine.config import ConfigError
    from xai_backtest.signals.base import ModelFileError, NotFittedError
    from xai_backtest.strategies.signal_strategy import StrategyDataError

    assert (data_error, UniverseError, ConfigError, ModelFileError, NotFittedError,
            StrategyDataError) == (xai_backtest.DataError, xai_backtest.UniverseError,
                                   xai_backtest.ConfigError, xai_backtest.ModelFileError,
                                   xai_backtest.NotFittedError,
                                   xai_backtest.StrategyDataError)


@pytest.mark.parametrize("stage", ["config", "run"])
@pytest.mark.parametrize("name", EXPORTED)
def test_the_cli_prints_every_exported_error_as_one_line(name, stage, monkeypatch, tmp_path,
                                                         capsys):
    error = _raised(getattr(xai_backtest, name))

    def fail(*args, **kwargs):
        raise error

    target = ("xai_backtest.engine.config.build_config" if stage == "config" else
              "xai_backtest.engine.runner.run_backtest")
    monkeypatch.setattr(target, fail)
    code = cli.main(["--quiet", "--output-dir", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert code == 2
    assert err == f"error: {error}\n"
    assert "Traceback" not in err


def test_a_universe_that_cannot_load_is_one_line_not_a_traceback(tmp_path, capsys):
    path = tmp_path / "universe.yaml"
    path.write_text("data:\n  source: file\n  instruments:\n"
                    f"    - {{name: a, path: {tmp_path / 'a.csv'}}}\n"
                    f"    - {{name: b, path: {tmp_path / 'b.csv'}}}\n"
                    "strategy: {kind: portfolio}\nsignals: [{kind: ma_crossover}]\n")
    code = cli.main(["--config", str(path), "--quiet", "--output-dir", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.startswith("error: no instrument of the universe could be loaded: a: left out")
    assert err.count("\n") == 1
