from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from xai_backtest.engine.config import ConfigError, RunConfig, build_config, load_config

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("payload", "named"), [
    ({"nmae": "x"}, "unknown key 'nmae'"),
    ({"costs": {"comission": 0.001}}, "unknown key 'costs.comission'"),
    ({"strategy": {"threshold": 1.5}}, "strategy.threshold"),
    ({"strategy": {"threshold": "high"}}, "strategy.threshold"),
    ({"cash": -5}, "cash"),
    ({"signals": [{"kind": "ma_crossover", "fsat": 3}]}, "did you mean 'fast'"),
    ({"signals": [{"kind": "ma_crossover", "fast": 2.5}]}, "parameter 'fast'"),
    ({"signals": [{"kind": "bogus"}]}, "unknown signal kind 'bogus'"),
    ({"data": {"source": "file"}}, "data.path is required"),
    ({"data": {"start": "2020-01-01", "end": "2019-01-01"}}, "after data.end"),
    ({"strategy": {"exit_time": "15:00"}}, "strategy 'signal' has no parameter 'exit_time'"),
    ({"ensemble": {"method": "vote"}}, "ensemble needs at least two signals"),
    ({"signals": [{"kind": "ma_crossover"}, {"kind": "ma_crossover"}]}, "give each instance"),
    ({"signals": [{"kind": "ma_crossover", "threshold": 2}]}, "signals.0.threshold"),
    ({"strategy": {"kind": "intraday"}}, "needs strategy.exit_time or a data.session"),
    ({"data": {"instruments": []}}, "data.instruments is empty"),
    ({"data": {"instruments": [{"name": "a"}, {"name": "a"}]},
      "strategy": {"kind": "portfolio"}}, "['a'] appear more than once"),
    ({"data": {"instruments": [{"name": "a", "source": "file"}]},
      "strategy": {"kind": "portfolio"}}, "data.instruments 'a': data.path is required"),
    ({"data": {"instruments": [{"name": "a b"}]}}, "instrument name 'a b'"),
    ({"data": {"instruments": [{"name": "a"}]}}, "set strategy.kind: portfolio"),
    ({"strategy": {"kind": "portfolio"}}, "strategy.kind 'portfolio' trades a universe"),
    ({"signals": [{"kind": "ma_crossover", "pooled": True}]}, "this data holds one instrument"),
    ({"signals": [{"kind": "five_trend", "instrument_feature": True}]},
     "instrument_feature needs pooled: true"),
    ({"data": {"instruments": [{"name": "a"}]},
      "strategy": {"kind": "portfolio", "weighting": "equl"}}, "weighting must be one of"),
    ({"data": {"instruments": [{"name": "a"}]},
      "strategy": {"kind": "portfolio", "cap": 0}}, "need 0 < cap <= 1"),
])
def test_bad_configs_name_the_key(payload, named):
    with pytest.raises(ConfigError, match=None) as info:
        build_config(payload)
    assert named in str(info.value)


def test_defaults_are_resolved_and_hash_is_stable():
    config = RunConfig()
    assert config.to_dict()["signals"][0] == {"kind": "ma_crossover", "name": "ma_crossover",
                                              "walk_forward": None,
                                              "threshold": None, "pooled": False,
                                              "instrument_feature": False,
                                              "fast": 50, "slow": 200,
                                              "label_basis": "open_to_open"}
    assert config.hash() == build_config(config.to_dict()).hash()
    assert config.hash() != build_config({"costs": {"slippage": 0.0}}).hash()


def test_yaml_round_trip_and_overrides(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(RunConfig().to_yaml())
    config = load_config(path, {"strategy.threshold": 0.6})
    assert config.strategy.threshold == 0.6
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")


def test_configs_in_the_repo_are_valid():
    for path in sorted((ROOT / "configs").glob("*.yaml")):
        load_config(path)


def test_cli_help_documents_every_option():
    out = subprocess.run([sys.executable, str(ROOT / "run_backtest.py"), "--help"],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    for flag in ("--config", "--signal", "--threshold", "--commission", "--slippage",
                 "--data-source", "--start", "--end", "--quiet", "--no-tearsheet"):
        assert flag in out


def test_cli_rejects_a_bad_config_before_any_work(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("strategy:\n  treshold: 0.6\n")
    proc = subprocess.run([sys.executable, str(ROOT / "run_backtest.py"), "--config", str(path),
                           "--output-dir", str(tmp_path / "runs")], capture_output=True,
                          text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert "no parameter 'treshold'; did you mean 'threshold'?" in proc.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(("text", "message"), [
    ("cash: 100000\nstrategy: {threshold: 0.6}\ncash: 5000\n",
     "key 'cash' is written twice (lines 1 and 3)"),
    ("strategy:\n  threshold: 0.6\n  threshold: 0.5\n", "key 'threshold' is written twice"),
    ("# only a comment\n", "the config is empty"),
])
def test_duplicate_keys_and_empty_configs_are_refused(tmp_path, text, message):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(path)


def test_unreadable_configs_fail_in_one_line(tmp_path):
    (tmp_path / "latin1.yaml").write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load_config(tmp_path / "latin1.yaml")
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(tmp_path)


@pytest.mark.parametrize(("payload", "key"), [
    ({"cash": float("inf")}, "cash"), ({"cash": float("nan")}, "cash"),
    ({"seed": -1}, "seed"), ({"name": "../../escaped"}, "name"), ({"name": "a/b"}, "name"),
])
def test_values_that_would_run_wrong_are_refused(payload, key):
    with pytest.raises(ConfigError, match=key):
        build_config(payload)


def test_concurrent_runs_get_their_own_folders_and_a_file_is_no_output_dir(tmp_path):
    from xai_backtest.engine.run_folder import run_folder

    config = build_config({"output_dir": str(tmp_path / "runs"), "name": "same"})
    folders = {run_folder(config) for _ in range(50)}
    assert len(folders) == 50 and all(f.parent == tmp_path / "runs" for f in folders)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        run_folder(build_config({"output_dir": str(tmp_path / "file")}))


@pytest.mark.slow
def test_a_fold_error_is_one_line_and_leaves_no_run_folder(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "run_backtest.py"), "--quiet",
                           "--config", str(ROOT / "configs" / "sp500_ma_crossover.yaml"),
                           "--min-train", "100000", "--output-dir", str(tmp_path / "runs")],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: signal 'ma_crossover': ")
    assert "smaller min_train" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "runs").exists()


def test_a_mistyped_time_zone_is_refused_with_a_suggestion():
    with pytest.raises(ConfigError, match="did you mean 'America/New_York'"):
        build_config({"data": {"source": "file", "path": "x.csv", "tz": "America/NewYork"}})


@pytest.mark.slow
def test_a_session_on_daily_bars_is_one_clear_error(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "run_backtest.py"), "--quiet",
                           "--config", str(ROOT / "configs" / "sp500_ma_crossover.yaml"),
                           "--session", "NYSE", "--output-dir", str(tmp_path / "runs")],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    # a DataError is an XaiBacktestError: exit 2 like every error a user can hit (was 1)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ") and "set data.session: none" in proc.stderr
    assert not (tmp_path / "runs").exists()
