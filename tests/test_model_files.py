"""Model files and cache entries are read without running code from them."""

from __future__ import annotations

import pathlib

import pytest
import torch

from tests.conftest import make_daily_bars
from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.signals.base import ModelFileError
from xai_backtest.signals.five_trend import FiveTrendDNN


class _Payload:
    """Unpickling this touches a marker file: what a crafted model file would do."""

    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    bars = make_daily_bars(260)
    signal = FiveTrendDNN(epochs=1, lime_samples=0, background=10, balance="none", seed=0)
    return signal.fit(MarketData(bars)).save(tmp_path_factory.mktemp("model") / "five_trend")


def test_a_state_file_carrying_a_pickle_payload_is_refused_and_runs_nothing(saved, tmp_path):
    marker = tmp_path / "payload-ran"
    state = torch.load(saved / "state.pt", weights_only=True)
    torch.save({**state, "mean_": _Payload(marker)}, saved / "state.pt")
    with pytest.raises(ModelFileError, match="refused.*could run code"):
        FiveTrendDNN.load(saved)
    assert not marker.exists()


def test_arrays_round_trip_through_tensors(tmp_path):
    bars = make_daily_bars(260)
    signal = FiveTrendDNN(epochs=1, lime_samples=0, background=10, balance="none", seed=0)
    fitted = signal.fit(MarketData(bars))
    loaded = FiveTrendDNN.load(fitted.save(tmp_path / "m"))
    assert type(loaded.mean_) is type(fitted.mean_)
    assert (loaded.mean_ == fitted.mean_).all()
    assert (loaded.background_ == fitted.background_).all()
