"""Signal kinds a run config can name, imported only when used (torch stays unloaded)."""

from __future__ import annotations

import importlib

from signals.base import Signal

__all__ = ["SIGNAL_KINDS", "signal_class"]

#: kind -> "module:Class"
SIGNAL_KINDS: dict[str, str] = {
    "ma_crossover": "signals.ma_crossover:MACrossover",
    "gadf_cnn": "signals.gadf_cnn:GADFCNN",
    "five_trend": "signals.five_trend:FiveTrendDNN",
    "news_lstm": "signals.news_lstm:NewsLSTM",
    "vader": "signals.vader:VaderSentiment",
    "ohlc_lstm": "signals.ohlc_lstm:OHLCLSTM",
}


def signal_class(kind: str) -> type[Signal]:
    """The ``Signal`` subclass registered under ``kind``."""
    if kind not in SIGNAL_KINDS:
        raise ValueError(f"unknown signal kind {kind!r}; known: {sorted(SIGNAL_KINDS)}")
    module, _, name = SIGNAL_KINDS[kind].partition(":")
    cls: type[Signal] = getattr(importlib.import_module(module), name)
    return cls
