"""The trade log: round trips rebuilt from fills, joined with the decisions that caused them."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from xai_backtest.explainers.base import Explanation, explanation_id
from xai_backtest.explainers.faithfulness import verdict
from xai_backtest.signals.base import SignalFrame
from xai_backtest.strategies.backtest import BacktestResult
from xai_backtest.strategies.portfolio import PortfolioResult

__all__ = ["TRADE_COLUMNS", "build_portfolio_trade_log", "build_trade_log",
           "TEXT", "decision_times_of_fills", "typed_trade_log"]

_SIDE = ("entry", "exit")
_DECISION_COLUMNS = ("decision_time", "label", "probability", "score", "explanation_id",
                     "explanation", "faithfulness", "faithfulness_ratio", "randomisation_corr")
TRADE_COLUMNS = (
    ["trade", "strategy", "side", "status", "entry_time", "entry_price", "exit_time",
     "exit_price", "size", "gross_pnl", "commission", "net_pnl", "return_pct", "bars_held",
     "entry_reason", "exit_reason"]
    + [f"{s}_{c}" for s in _SIDE for c in _DECISION_COLUMNS]
)
#: the dtype of each column by kind; every other column (reasons, labels, ids, the
#: explanation sentences, figure paths) is text
_TIMES = ("entry_time", "exit_time", "entry_decision_time", "exit_decision_time")
_COUNTS = ("trade", "bars_held", "rebalances")
_NUMBERS = ("entry_price", "exit_price", "size", "gross_pnl", "commission", "net_pnl",
            "return_pct", *(f"{s}_{c}" for s in _SIDE for c in (
                "probability", "score", "faithfulness_ratio", "randomisation_corr")))
#: text with NaN for none (pandas 3's ``str``), as the report's cells expect
TEXT = pd.StringDtype(na_value=np.nan)


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
    return typed_trade_log(pd.DataFrame(rows, columns=list(TRADE_COLUMNS)), bars.index)


def typed_trade_log(trades: pd.DataFrame, index: pd.DatetimeIndex) -> pd.DataFrame:
    """``trades`` with one dtype per column, the same with or without rows (so logs
    concatenate without turning into ``object``): times as datetimes in the time zone and
    unit of ``index`` (the bars'), prices, P&L and probabilities as floats (NaN where
    there is none), counts as integers, everything else as text."""
    out = trades.copy()
    for column in out.columns:
        if column in _TIMES:
            out[column] = (pd.to_datetime(out[column], utc=True).dt.tz_convert(index.tz)
                           .dt.as_unit(index.unit))
        elif column in _NUMBERS:
            out[column] = pd.to_numeric(out[column]).astype("float64")
        elif column in _COUNTS:
            out[column] = out[column].astype("int64")
        else:
            out[column] = out[column].astype(TEXT)
    return out


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


def build_portfolio_trade_log(result: PortfolioResult, closes: pd.DataFrame,
                              decisions: Mapping[str, SignalFrame],
                              explanations: Mapping[str, Explanation]) -> pd.DataFrame:
    """One row per round trip of each instrument of a portfolio: from the fill that opens a
    position to the fill that brings it back to zero (a fill that reverses it closes one
    trade and opens the next, its size and commission split pro rata); the rebalancing
    fills between are counted and priced in. ``entry_price`` and ``exit_price`` are the
    volume-weighted prices of the fills that grew and shrank the position, ``size`` its
    largest, ``return_pct`` the net P&L over the cash the growing fills spent. A position
    still open at the end is marked at the instrument's last close (``closes``: closes on
    the universe calendar, NaN where it has no bar)."""
    rows: list[dict[str, object]] = []
    for instrument, fills in result.fills.groupby("instrument", sort=False):
        signals = decisions.get(str(instrument))
        held = 0.0
        legs: list[pd.Series] = []
        for _, fill in fills.iterrows():
            size = float(fill["size"])
            if held and np.sign(held + size) == -np.sign(held):  # reverses: close, then open
                share = -held / size
                legs.append(_leg(fill, -held, share))
                rows.append(_round_trip(instrument, result.name, legs, signals, explanations))
                legs, held = [_leg(fill, size + held, 1 - share)], size + held
                continue
            legs.append(fill)
            held += size
            if abs(held) <= 1e-9 * max(abs(size), 1.0):
                rows.append(_round_trip(instrument, result.name, legs, signals, explanations))
                legs, held = [], 0.0
        if legs:
            column = closes[instrument].dropna()
            rows.append(_round_trip(instrument, result.name, legs, signals, explanations,
                                    last=(int(closes.index.get_loc(column.index[-1])),
                                          column.index[-1], float(column.iloc[-1]))))
    columns = ["trade", "strategy", "instrument", *TRADE_COLUMNS[2:], "rebalances"]
    if not rows:
        return typed_trade_log(pd.DataFrame(columns=columns), closes.index)
    log = pd.DataFrame(rows).sort_values(["entry_time", "instrument"], kind="stable")
    log.insert(0, "trade", np.arange(1, len(log) + 1))
    return typed_trade_log(log[columns].reset_index(drop=True), closes.index)


def _leg(fill: pd.Series, size: float, share: float) -> pd.Series:
    """Part of a fill: ``size`` units with ``share`` of its commission."""
    part = fill.copy()
    part["size"], part["commission"] = size, float(fill["commission"]) * share
    return part


def _round_trip(instrument: object, strategy: str, legs: list[pd.Series],
                signals: SignalFrame | None, explanations: Mapping[str, Explanation], *,
                last: tuple[int, pd.Timestamp, float] | None = None) -> dict[str, object]:
    """The trade row of one instrument's fills from opening to closing (or ``last``: the
    bar, time and close it is marked at while still open)."""
    sizes = np.array([float(leg["size"]) for leg in legs])
    prices = np.array([float(leg["price"]) for leg in legs])
    position = np.cumsum(sizes)
    side = np.sign(sizes[0])
    grows = np.sign(sizes) == side
    commission = float(sum(float(leg["commission"]) for leg in legs))
    gross = float(-(sizes * prices).sum())
    if last is not None:
        exit_bar, exit_time, exit_price = last
        gross += float(position[-1]) * exit_price
        exit_fill = None
    else:
        exit_fill = legs[-1]
        exit_bar, exit_time = int(exit_fill["bar"]), exit_fill["time"]
        exit_price = float(np.average(prices[~grows], weights=np.abs(sizes[~grows])))
    spent = float(np.abs(sizes[grows] * prices[grows]).sum())
    return {
        "strategy": strategy,
        "instrument": instrument,
        "side": "long" if side > 0 else "short",
        "status": "open" if last is not None else "closed",
        "entry_time": legs[0]["time"],
        "entry_price": float(np.average(prices[grows], weights=np.abs(sizes[grows]))),
        "exit_time": exit_time,
        "exit_price": exit_price,
        "size": float(position[np.argmax(np.abs(position))]),
        "gross_pnl": gross,
        "commission": commission,
        "net_pnl": gross - commission,
        "return_pct": (gross - commission) / spent,
        "bars_held": exit_bar - int(legs[0]["bar"]),
        "entry_reason": legs[0]["reason"],
        "exit_reason": exit_fill["reason"] if exit_fill is not None else "open at the end",
        "rebalances": len(legs) - 1 - (exit_fill is not None),
        **_decision(legs[0], "entry", signals, explanations),
        **_decision(exit_fill, "exit", signals, explanations),
    }
