"""The data section is typed by its source: a key of another source is refused with the
keys that apply, an unknown key gets "did you mean", each setting has one default, and the
config's JSON schema is exported (issue 23, item 2)."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from xai_backtest.engine.cli import _default_payload, main
from xai_backtest.engine.config import (
    DATA_CLASSES,
    ConfigError,
    DataConfig,
    FileData,
    PythonData,
    RunConfig,
    SampleData,
    WalkForwardConfig,
    YFinanceData,
    build_config,
    config_schema,
    load_config,
)
from xai_backtest.signals.walk_forward import (
    DEFAULT_MIN_TRAIN,
    WalkForwardSignal,
    walk_forward_folds,
)

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_KEYS = ("adjust, bar_label, corporate_actions, date_format, dayfirst, end, headlines, "
               "instruments, min_overlap, price_basis, resample, sample, session, shortable, "
               "start")


def test_a_sample_with_a_path_is_refused_naming_the_keys_that_apply():
    with pytest.raises(ConfigError) as info:
        build_config({"data": {"source": "sample", "path": "prices.csv"}})
    assert str(info.value) == (
        "config: key 'data.path' does not apply to source 'sample' (it is a key of source "
        f"'file'); the keys of source 'sample' are: {SAMPLE_KEYS}")


def test_a_sample_with_a_path_is_refused_from_a_yaml_file_and_the_cli(tmp_path, capsys):
    path = tmp_path / "run.yaml"
    path.write_text("data:\n  source: sample\n  path: prices.csv\n")
    with pytest.raises(ConfigError, match="key 'data.path' does not apply to source 'sample'"):
        load_config(path)
    assert main(["--config", str(path), "--output-dir", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: key 'data.path' does not apply") and \
        err.count("\n") == 1
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(("data", "message"), [
    ({"source": "file", "pth": "x.csv"}, "unknown key 'data.pth'; did you mean 'path'?"),
    ({"pth": "x.csv"}, "unknown key 'data.pth'; did you mean 'path' (a key of source 'file')?"),
    ({"source": "fil", "path": "x.csv"},
     "data.source 'fil' is not a source; use one of sample, file, yfinance, python; did you "
     "mean 'file'?"),
    ({"source": "sample", "tz": "UTC"},
     "key 'data.tz' does not apply to source 'sample' (it is a key of source 'file' and "
     "'yfinance')"),
    ({"source": "sample", "auto_adjust": True},
     "key 'data.auto_adjust' does not apply to source 'sample' (it is a key of source "
     "'yfinance')"),
    ({"source": "file", "path": "x.csv", "offline": True},
     "key 'data.offline' does not apply to source 'file'"),
    ({"source": "yfinance", "layout": "long"}, "key 'data.layout' does not apply to source "
     "'yfinance'"),
    ({"source": "python", "headlines": {"source": "wigpy"}},
     "key 'data.headlines' does not apply to source 'python'"),
    ({"source": "python", "start": "2020-01-01"}, "bars from Python are used as given"),
    ({"instruments": [{"name": "a", "source": "sample", "path": "a.csv"}]},
     "data.instruments 'a': key 'path' does not apply to source 'sample'"),
    ({"source": "file", "path": "x.csv", "headlines": {"source": "csv", "pth": "h.csv"}},
     "unknown key 'data.headlines.pth'; did you mean 'path'?"),
])
def test_keys_of_another_source_and_typos_are_refused_with_the_fix(data, message):
    with pytest.raises(ConfigError) as info:
        build_config({"data": data, "strategy": {"kind": "portfolio"}}
                     if "instruments" in data else {"data": data})
    assert message in str(info.value)


@pytest.mark.parametrize(("payload", "message"), [
    ({"walk_forward": {"min_trian": 5}}, "unknown key 'walk_forward.min_trian'; did you mean "
     "'min_train'?"),
    ({"check": {"lookahed": False}}, "unknown key 'check.lookahed'; did you mean 'lookahead'?"),
    ({"costs": {"comission": 0.001}}, "unknown key 'costs.comission'; did you mean "
     "'commission'?"),
    ({"tearshet": False}, "unknown key 'tearshet'; did you mean 'tearsheet'?"),
])
def test_every_unknown_key_gets_did_you_mean(payload, message):
    with pytest.raises(ConfigError, match=message):
        build_config(payload)


@pytest.mark.parametrize(("keys", "cls"), [
    ({}, SampleData), ({"source": "sample", "sample": "nasdaq"}, SampleData),
    ({"source": "file", "path": "x.csv"}, FileData),
    ({"source": "yfinance", "symbol": "SPY"}, YFinanceData), ({"source": "python"}, PythonData),
])
def test_data_config_builds_the_class_of_its_source(keys, cls):
    assert type(DataConfig(**keys)) is cls
    assert type(DataConfig.model_validate(keys)) is cls
    assert type(build_config({"data": keys}).data) is cls
    assert isinstance(DataConfig(**keys), DataConfig)
    assert set(DATA_CLASSES) == {"sample", "file", "yfinance", "python"}


def test_a_file_is_named_after_itself_not_after_the_sp500():
    from xai_backtest.engine.data import file_symbol

    config = DataConfig(source="file", path="data/RELIANCE.csv")
    assert config.symbol is None and file_symbol(config) == "RELIANCE"
    assert file_symbol(DataConfig(source="file", path="x.csv", symbol="NIFTY")) == "NIFTY"
    assert DataConfig(source="yfinance").symbol == "^GSPC"  # yfinance's ticker keeps it


def test_min_train_has_one_default():
    signal = inspect.signature(WalkForwardSignal).parameters
    folds = inspect.signature(walk_forward_folds).parameters
    assert (WalkForwardConfig().min_train == signal["min_train"].default
            == folds["min_train"].default == DEFAULT_MIN_TRAIN == 504)
    assert WalkForwardConfig().retrain_every == signal["retrain_every"].default
    assert RunConfig().walk_forward.min_train == 504


@pytest.mark.parametrize("data", [
    {}, {"source": "file", "path": "x.csv", "tz": "Asia/Kolkata", "session": "NSE"},
    {"source": "yfinance", "symbol": "SPY", "auto_adjust": True},
    {"instruments": [{"name": "a", "source": "sample"},
                     {"name": "b", "source": "file", "path": "b.csv", "tz": "UTC"}]},
])
def test_a_saved_config_reloads_to_the_same_config(tmp_path, data):
    payload = {"data": data}
    if "instruments" in data:
        payload["strategy"] = {"kind": "portfolio"}
    config = build_config(payload)
    path = tmp_path / "config.yaml"
    path.write_text(config.to_yaml())
    again = load_config(path)
    assert again == config and again.hash() == config.hash()


def test_the_default_config_resolves_as_before():
    default = load_config(ROOT / "configs" / "default.yaml")
    assert type(default.data) is SampleData
    assert default.data.sample == "sp500" and str(default.data.start) == "2011-01-01"
    assert default.walk_forward.min_train == 504 and default.walk_forward.retrain_every == 252
    assert type(RunConfig().data) is SampleData


def test_own_data_on_the_default_config_leaves_out_the_sample_keys():
    payload = _default_payload({"data.source": "file", "data.path": "x.csv"})
    assert payload["data"]["source"] == "file" and "sample" not in payload["data"]
    assert str(payload["data"]["start"]) == "2011-01-01"  # a shared key stays
    assert "sample" in _default_payload({})["data"]


def test_the_json_schema_is_exported_and_checks_configs(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema == config_schema()
    checker = jsonschema.Draft202012Validator(schema)
    for path in sorted((ROOT / "configs").glob("*.yaml")):  # YAML dates reach editors as text
        config = json.loads(json.dumps(yaml.safe_load(path.read_text()), default=str))
        assert not list(checker.iter_errors(config)), path
    assert not checker.is_valid({"data": {"source": "sample", "path": "x.csv"}})
    assert not checker.is_valid({"data": {"source": "file"}, "nmae": "x"})
    assert checker.is_valid({"data": {"source": "file", "path": "x.csv"},
                             "signals": [{"kind": "ma_crossover"}]})
