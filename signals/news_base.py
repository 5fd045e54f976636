"""Shared plumbing of the headline signals: which headlines each daily decision sees, labels.

A decision is made at every bar that has at least one headline that became
available since the previous bar (``previous bar < available_at <= bar``); see
data_feeds/headlines.py for when a headline becomes available. Several headlines
of one decision are aggregated by the signal (mean of per-headline scores).

**Days without news** get no decision: the strategy keeps its position through
them (``SignalStrategy`` holds on bars without a decision), i.e. the last news
day's call is carried forward without decay until news arrives again.

The label of a decision at bar ``t`` follows the signal's ``label_basis``: by default
``open_to_open``, the return the trade earns (filled at the open of ``t+1``, held to the
open of ``t+2``); ``close_to_close`` (close ``t`` to close ``t+1``, the papers' "next day"
label) includes the overnight gap that a next-open fill never earns.
"""

from __future__ import annotations

from typing import ClassVar

import pandas as pd

from xai_backtest.data_feeds.headlines import decision_bars
from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.signals.base import Signal
from xai_backtest.signals.labels import LabelBasis, direction_labels, label_reach

__all__ = ["NewsSignal"]


class NewsSignal(Signal):
    """Base of the signals that decide from the headlines of each day."""

    #: a run refuses this signal before any work when its data has no headlines
    needs_headlines: ClassVar[bool] = True

    def day_headlines(self, data: MarketData) -> pd.DataFrame:
        """The headlines that reach a decision, with its time in ``decision_time``."""
        if data.headlines is None:
            raise ValueError(f"{type(self).__name__} needs headlines: load MarketData with "
                             "headlines (data.headlines in the run config)")
        headlines = data.headlines
        times = decision_bars(headlines, pd.DatetimeIndex(data.bars.index))
        out = headlines.assign(decision_time=times)
        return out[out["decision_time"].notna()]

    def decision_times(self, data: MarketData) -> pd.DatetimeIndex:
        times = pd.DatetimeIndex(self.day_headlines(data)["decision_time"].unique())
        return times.sort_values().rename("decision_time")

    label_basis: LabelBasis

    def labels(self, data: MarketData) -> pd.Series:
        """Direction after each decision time (see the module docstring)."""
        return direction_labels(data.bars, self.label_basis).reindex(self.decision_times(data))

    def training_headlines(self, history: MarketData) -> pd.DataFrame:
        """Headlines of ``history`` whose decision has a known label, with column ``label``;
        sets ``train_start_``, ``train_end_`` and ``label_end_``."""
        headlines = self.day_headlines(history)
        labels = direction_labels(history.bars, self.label_basis)
        headlines = headlines.assign(label=labels.reindex(
            pd.DatetimeIndex(headlines["decision_time"])).to_numpy())
        headlines = headlines[headlines["label"].notna()]
        days = headlines["decision_time"].nunique()
        if days < 4:
            raise ValueError(f"{type(self).__name__}: {days} labelled news days in the history "
                             f"{history.bars.index[0]} .. {history.bars.index[-1]}; need at "
                             "least 4 (use a longer training window)")
        index = history.bars.index
        last = index.get_loc(headlines["decision_time"].max())
        self.train_start_ = index[0]
        self.train_end_ = index[-1]
        self.label_end_ = index[last + label_reach(self.label_basis)]
        return headlines
