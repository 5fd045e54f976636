"""device: cpu | cuda | auto for the torch signals (no GPU in CI)."""

from __future__ import annotations

import pytest
import torch

from xai_backtest.engine.cli import main
from xai_backtest.engine.config import build_config
from xai_backtest.engine.runner import run_backtest
from xai_backtest.signals.device import DeviceError, resolve_device
from xai_backtest.signals.gadf_cnn import GADFCNN
from xai_backtest.signals.news_lstm import NewsLSTM


def test_auto_picks_the_cpu_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    assert GADFCNN(device="auto").resolved_device() == "cpu"


def test_auto_picks_cuda_where_it_is_visible(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")


def test_a_missing_cuda_is_refused_before_any_work(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(DeviceError, match="no CUDA device"):
        NewsLSTM(device="cuda")
    config = build_config({"signals": [{"kind": "gadf_cnn", "device": "cuda"}],
                           "output_dir": str(tmp_path / "runs")})
    with pytest.raises(DeviceError, match="no CUDA device here"):
        run_backtest(config, progress=False)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
    path = tmp_path / "cuda.yaml"
    path.write_text("signals:\n  - {kind: gadf_cnn, device: cuda}\n")
    assert main(["--config", str(path), "--output-dir", str(tmp_path / "runs"),
                 "--quiet"]) == 2
    assert "error: device: cuda, but torch sees no CUDA device" in capsys.readouterr().err
    with pytest.raises(DeviceError, match="one of auto, cpu, cuda"):
        GADFCNN(device="tpu")


def test_the_device_is_part_of_the_model_cache_key(monkeypatch, daily_bars):
    from xai_backtest.data_feeds.market_data import MarketData
    from xai_backtest.signals.walk_forward import WalkForwardSignal

    walk = WalkForwardSignal(GADFCNN(frequency="daily", window=20), min_train=200,
                             retrain_every=200, cache_dir="unused")
    history = MarketData(daily_bars)
    cpu = walk._fold_key(history, "code")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert walk._fold_key(history, "code") != cpu
