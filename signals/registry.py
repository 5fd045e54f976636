"""Built-in signal kinds, as ``module:Class`` so torch stays unloaded until one is used.

Names are resolved by ``xai_backtest.engine.components.resolve_component``, which also
accepts a user's ``package.module:Class`` and entry-point names.
"""

from __future__ import annotations

__all__ = ["SIGNAL_KINDS"]

#: kind -> "module:Class"
SIGNAL_KINDS: dict[str, str] = {
    "ma_crossover": "xai_backtest.signals.ma_crossover:MACrossover",
    "gadf_cnn": "xai_backtest.signals.gadf_cnn:GADFCNN",
    "five_trend": "xai_backtest.signals.five_trend:FiveTrendDNN",
    "news_lstm": "xai_backtest.signals.news_lstm:NewsLSTM",
    "vader": "xai_backtest.signals.vader:VaderSentiment",
    "ohlc_lstm": "xai_backtest.signals.ohlc_lstm:OHLCLSTM",
    "sklearn": "xai_backtest.signals.sklearn_signal:SklearnSignal",
}
