"""The trade log: round trips rebuilt from fills, joined with the decisions that caused them."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from xai_backtest.explainers.base import Explanation, explanation_id
from xai_backtest.explainers.faithfulness import verdict
from xai_backtest.signals.base import SignalFrame
from xai_backtest.strategies.backtest import BacktestResult

__all__ = ["TRADE_COLUMNS", "build_trade_log", "decision_times_of_fills"]

_SIDE = ("entry", "exit")
_DECISION_COLUMNS = ("decision_time", "label", "probability", "score", "explanation_id",
                     "explanation", "faithfulness", "faithfulness_ratio", "randomisation_corr")
TRADE_COLUMNS = (
    ["trade", "strategy", "side", "status", "entry_time", "entry_price", "exit_time",
     "exit_price", "size", "gross_pnl", "commission", "net_pnl", "return_pct", "bars_held",
     "entry_reason", "exit_reason"]
    + [f"{s}_{c}" for s in _SIDE for c in _DECISION_COLUMNS]
)


def decision_times_of_fills(result: BacktestResult,
                            signals: SignalFrame | None) -> list[pd.Timestamp]:
    """Decision times that caused fills: the only decisions worth explaining."""
    if signals is None:
        return []
    rows = sorted({int(r) for r in result.fills["decision"] if r >= 0})
    return list(signals.frame.index[rows])


def build_trade_log(result: BacktestResult, bars: pd.DataFrame, signals: SignalFrame | None,
                    explanations: Mapping[str, Explanation]) -> pd.DataFrame:
    """One row per round trip; a position still open at the end is marked at the last close."""
    rows: list[dict[str, object]] = []
    open_fill: pd.Series | None = None
    for _, fill in result.fills.iterrows():
        if open_fill is None:
            open_fill = fill
            continue
        rows.append(_trade(len(rows) + 1, result.name, open_fill, fill, signals, explanations))
        open_fill = None
    if open_fill is not None:
        rows.append(_trade(len(rows) + 1, result.name, open_fill, None, signals, explanations,
                           last_bar=len(bars) - 1, last_close=float(bars["close"].iloc[-1]),
                           last_time=bars.index[-1]))
    return pd.DataFrame(rows, columns=list(TRADE_COLUMNS))


def _decision(fill: pd.Series | None, side: str, signals: SignalFrame | None,
              explanations: Mapping[str, Explanation]) -> dict[str, object]:
    empty: dict[str, object] = {f"{side}_{c}": None for c in _DECISION_COLUMNS}
    if fill is None or signals is None or fill["decision"] < 0:
        if fill is not None:
            empty[f"{side}_explanation"] = fill["reason"]
        return empty
    row = signals.frame.iloc[int(fill["decision"])]
    when = signals.frame.index[int(fill["decision"])]
    key = explanation_id(signals.signal, when)
    found = explanations.get(key)
    return {
        f"{side}_decision_time": when,
        f"{side}_label": row["label"],
        f"{side}_probability": float(row["probability"]),
        f"{side}_score": float(row["score"]),
        f"{side}_explanation_id": key if found else None,
        f"{side}_explanation": found.summary if found else None,
        f"{side}_faithfulness": verdict(found.faithfulness) if found else None,
        f"{side}_faithfulness_ratio": found.faithfulness.get("ratio") if found else None,
        f"{side}_randomisation_corr": (found.faithfulness.get("randomisation_corr")
                                       if found else None),
    }


def _trade(number: int, strategy: str, entry: pd.Series, exit_: pd.Series | None,
           signals: SignalFrame | None, explanations: Mapping[str, Explanation], *,
           last_bar: int = 0, last_close: float = np.nan,
           last_time: pd.Timestamp | None = None) -> dict[str, object]:
    size = float(entry["size"])
    entry_price = float(entry["price"])
    if exit_ is not None:
        exit_price, exit_time, exit_bar = float(exit_["price"]), exit_["time"], int(exit_["bar"])
        commission = float(entry["commission"] + exit_["commission"])
    else:
        exit_price, exit_time, exit_bar = last_close, last_time, last_bar
        commission = float(entry["commission"])
    gross = size * (exit_price - entry_price)
    return {
        "trade": number,
        "strategy": strategy,
        "side": "long" if size > 0 else "short",
        "status": "closed" if exit_ is not None else "open",
        "entry_time": entry["time"],
        "entry_price": entry_price,
        "exit_time": exit_time,
        "exit_price": exit_price,
        "size": size,
        "gross_pnl": gross,
        "commission": commission,
        "net_pnl": gross - commission,
        "return_pct": (gross - commission) / (abs(size) * entry_price),
        "bars_held": exit_bar - int(entry["bar"]),
        "entry_reason": entry["reason"],
        "exit_reason": exit_["reason"] if exit_ is not None else "open at the end",
        **_decision(entry, "entry", signals, explanations),
        **_decision(exit_, "exit", signals, explanations),
    }
