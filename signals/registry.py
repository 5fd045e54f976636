"""Signal kinds a run config can name, imported only when used (torch stays unloaded)."""

from __future__ import annotations

import importlib

from xai_backtest.signals.base import Signal

__all__ = ["SIGNAL_KINDS", "signal_class"]

#: kind -> "module:Class"
SIGNAL_KINDS: dict[str, str] = {
    "ma_crossover": "xai_backtest.signals.ma_crossover:MACrossover",
    "gadf_cnn": "xai_backtest.signals.gadf_cnn:GADFCNN",
    "five_trend": "xai_backtest.signals.five_trend:FiveTrendDNN",
    "news_lstm": "xai_backtest.signals.news_lstm:NewsLSTM",
    "vader": "xai_backtest.signals.vader:VaderSentiment",
    "ohlc_lstm": "xai_backtest.signals.ohlc_lstm:OHLCLSTM",
}


def signal_class(kind: str) -> type[Signal]:
    """The ``Signal`` subclass registered under ``kind``."""
    if kind not in SIGNAL_KINDS:
        raise ValueError(f"unknown signal kind {kind!r}; known: {sorted(SIGNAL_KINDS)}")
    module, _, name = SIGNAL_KINDS[kind].partition(":")
    cls: type[Signal] = getattr(importlib.import_module(module), name)
    return cls
