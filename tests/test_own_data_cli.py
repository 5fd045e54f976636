"""A run on the user's own data uses only what the user gave: the default config's sample
headlines are never attached to other bars, and a headline signal without headlines is
refused before any work, with the fix (issue 22, item 6)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import make_daily_bars
from tests.news_data import make_news_data
from xai_backtest import Backtest
from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.engine.cli import DEFAULT_CONFIG, _default_on_own_data, main
from xai_backtest.engine.config import ConfigError, load_config
from xai_backtest.signals.ma_crossover import MACrossover

NOTE = ("note: the default run's news signal(s) 'news_lstm' read the headlines that come "
        "with the sp500 sample, not your data; left out. To run them, give a --config with "
        "data.headlines (your headline file).")
FIX = ("needs headlines and data.headlines is not set: set data.headlines (source: csv, "
       "parquet or sqlite with path: your headline file), or choose signals that read bars "
       "only (--signal ma_crossover, or signals: in the config)")


def _own_csv(folder: Path, days: int) -> Path:
    """A plain daily CSV as a user has it: date,open,high,low,close,volume, naive dates."""
    bars = make_daily_bars(days, seed=3, start="2021-01-04")
    bars.index = bars.index.date
    path = folder / "prices.csv"
    bars.rename_axis("date").to_csv(path)
    return path


def _own_file_args(tmp_path: Path, days: int = 650) -> list[str]:
    return ["--data-source", "file", "--data-path", str(_own_csv(tmp_path, days)),
            "--tz", "America/New_York", "--output-dir", str(tmp_path / "runs"), "--quiet",
            "--no-cache", "--no-tearsheet"]


@pytest.mark.slow
def test_a_run_on_own_file_attaches_no_headlines_and_drops_the_news_signal(tmp_path, capsys):
    assert main(_own_file_args(tmp_path)) == 0
    assert NOTE in capsys.readouterr().err
    (folder,) = (tmp_path / "runs").iterdir()
    config = yaml.safe_load((folder / "config.yaml").read_text())
    assert config["data"]["source"] == "file" and config["data"]["headlines"] is None
    assert [s["name"] for s in config["signals"]] == ["gadf_cnn", "five_trend"]
    assert config["ensemble"]["method"] == "vote"  # still two signals to vote
    run = json.loads((folder / "run.json").read_text())
    assert run["status"] == "complete"
    assert "headline" not in json.dumps(run).lower()


@pytest.mark.parametrize("kind", ["news_lstm", "vader"])
def test_a_headline_signal_on_own_file_is_refused_with_the_fix(tmp_path, capsys, kind):
    assert main([*_own_file_args(tmp_path, 300), "--signal", kind]) == 2
    err = capsys.readouterr().err
    assert f"signal {kind!r} {FIX}" in err
    assert "no usable headline rows" not in err  # nothing about a file the user never gave
    assert not (tmp_path / "runs").exists()


def test_a_config_with_a_headline_signal_and_no_headlines_is_refused(tmp_path, capsys):
    path = tmp_path / "news.yaml"
    path.write_text(f"data: {{source: file, path: {_own_csv(tmp_path, 300)}, "
                    "tz: America/New_York}\nsignals: [{kind: news_lstm}, {kind: vader}]\n")
    with pytest.raises(ConfigError, match=r"signals \['news_lstm', 'vader'\] need headlines"):
        load_config(path)
    assert main(["--config", str(path), "--output-dir", str(tmp_path / "runs")]) == 2
    assert "set data.headlines" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_the_default_keeps_its_headlines_on_its_samples():
    assert load_config(DEFAULT_CONFIG).data.headlines is not None
    for same in ({}, {"data.start": "2015-01-01"}, {"data.sample": "nasdaq"},
                 {"data.source": "sample"}):
        assert _default_on_own_data(same, keep_signals=False) == same
    assert _default_on_own_data({"data.source": "yfinance"}, keep_signals=True) == \
        {"data.source": "yfinance", "data.headlines": None}


class NewsRule(MACrossover):
    """A user's signal that declares it reads headlines."""

    needs_headlines = True


def test_python_bars_without_headlines_refuse_a_headline_signal():
    bars = make_daily_bars(300)
    with pytest.raises(ConfigError, match=r"Backtest: signal 'news_lstm' needs headlines and "
                       r"the data has none: pass MarketData\(bars, headlines=\.\.\.\)"):
        Backtest(bars, signals=["news_lstm"])
    with pytest.raises(ConfigError, match="needs headlines"):
        Backtest(MarketData(bars), signals=[NewsRule()])
    with pytest.raises(ConfigError, match="which a universe of instruments does not carry"):
        Backtest({"a": bars, "b": bars}, signals=["vader"], strategy="portfolio")
    news = make_news_data(300)  # the same signal with headlines is accepted
    assert Backtest(news, signals=["vader"]).config.signals[0].kind == "vader"


@pytest.mark.slow
def test_a_data_path_alone_means_the_users_file(tmp_path):
    """``--data-path X`` with no ``--data-source`` reads X (it used to be refused as a key
    of another source, and before the typed config it was silently ignored)."""
    args = [a for a in _own_file_args(tmp_path, 900) if a not in ("--data-source", "file")]
    assert main([*args, "--signal", "ma_crossover"]) == 0
    (folder,) = (tmp_path / "runs").iterdir()
    config = yaml.safe_load((folder / "config.yaml").read_text())
    assert config["data"]["source"] == "file" and config["data"]["path"].endswith("prices.csv")
