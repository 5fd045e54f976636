"""One backtrader broker and cash account over a universe of instruments.

Every instrument is a data feed on the universe's calendar. On a date an instrument did
not trade, its feed carries a placeholder bar (its last close, volume 0, ``tradable`` 0)
so the feeds stay in step; nothing is ever ordered on such a bar, so no fill happens at a
made-up price, and the position is valued at its last real close.

``PortfolioStrategy`` decides at each bar's close and trades at the next open
(backtrader's cheat-on-open, sells before buys). Exchanges open at different times on one
calendar date (the NSE ten hours before the NYSE): each order is sized only with the prices
known at its own fill time, its exchange's open (``Universe.opens_utc``). An instrument
already open then is valued at today's open, one not yet open at its last close; whether
the day trades at all (a weight beyond the band, a side changed) is decided at the day's
first open with the prices known then; the instruments of each opening time trade in
turn, earliest first, and their buys spend only the cash left by the earlier openings and
what their own sells bring in (never a later exchange's sells). On a calendar where every
instrument opens at one time this is the one open of the day. Target weights come from each
instrument's latest decision: long (short, with ``allow_short``) where the probability of
the decided class is at least ``threshold``, weighted ``equal`` among those, by
``probability`` above the threshold, or by ``inverse_vol`` (the inverse of the standard
deviation of the last ``vol_window`` returns between the instrument's own bars,
placeholders skipped); each weight is capped at ``cap`` and
what the cap cuts stays in cash. Nothing trades while every weight is within ``band`` of
its target; an entry, an exit, a reversal or a weight beyond the band brings every
instrument back to its target (so sells fund the buys). ``targets="equal"`` is the equal-
weight buy-and-hold reference: 1/N of the instruments listed so far, rebalanced within the
band (``rebalance=True``), or 1/N of the equity in each instrument bought once at its
first bar and held (an instrument listed later is bought with the cash kept for it; a
refused buy is retried at the next bar, and an instrument counts as bought once its order
filled). Costs apply to every leg, and every buy is sized to pay all of them from its
budget: slippage, commission and spread on the value, ``per_share`` a unit and the larger
of ``per_order`` and ``minimum`` an order (twice for a reversal, whose two legs backtrader
charges apart). A buy whose budget cannot pay its fixed fee is refused (``NoCash``) with
why; a rebalance leg worth no more than its fixed fee is not traded. Every fill records
the instrument, the reason and the row of the decision that caused it: the latest decision
that changed the side held in that instrument (a rebalance is caused by drift, not by a
new decision, and carries the decision that put the position on; decisions that keep the
side cause no fill).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd

from xai_backtest.data_feeds.bt_feeds import aligned_decisions
from xai_backtest.data_feeds.universe import Universe
from xai_backtest.explainers.base import explanation_id
from xai_backtest.signals.base import SignalFrame
from xai_backtest.strategies.costs import Costs
from xai_backtest.strategies.guard import guarded
from xai_backtest.strategies.references import EQUAL_WEIGHT_HELD, EQUAL_WEIGHT_REBALANCED

__all__ = ["WEIGHTINGS", "PortfolioResult", "PortfolioStrategy", "check_portfolio_params",
           "contributions",
           "equal_weight_references", "portfolio_params", "run_portfolio"]

WEIGHTINGS = ("equal", "probability", "inverse_vol")
_LINES = ("tradable", "opens", "direction", "probability", "decision")


class PortfolioFeed(bt.feeds.PandasData):
    """OHLCV, whether the instrument traded on the date, its session open (minutes
    after the date's midnight UTC), and its decision lines."""

    lines = _LINES
    params = tuple((name, -1) for name in _LINES)


def portfolio_feed(universe: Universe, name: str, decisions: pd.DataFrame | None,
                   opens: pd.DataFrame | None = None) -> PortfolioFeed:
    """``name``'s bars on the universe calendar, placeholder bars where it did not trade
    (``opens``: ``universe.opens_utc()``, computed once for every feed)."""
    own = universe.bars[name]
    lines = aligned_decisions(own, decisions, name)
    frame = own.reindex(universe.calendar)
    tradable = frame["close"].notna()
    last = frame["close"].ffill().fillna(own["open"].iloc[0])  # valuation only, never traded
    for column in ("open", "high", "low", "close"):
        frame[column] = frame[column].where(tradable, last)
    frame["volume"] = frame["volume"].where(tradable, 0.0)
    frame["tradable"] = tradable.astype(float)
    frame["opens"] = (universe.opens_utc() if opens is None else opens)[name]
    for line in ("direction", "probability", "decision"):
        frame[line] = lines[line].reindex(universe.calendar)
    frame.index = frame.index.tz_localize(None)
    return PortfolioFeed(dataname=frame, name=name)


@dataclass(frozen=True)
class PortfolioResult:
    """Equity and per-instrument weights at each close, fills (with the instrument, the
    decision row and time, the explanation id and the reason) and refused orders."""

    name: str
    equity: pd.Series
    weights: pd.DataFrame
    fills: pd.DataFrame
    rejected: pd.DataFrame
    cash: float
    engine: str = "backtrader"

    @property
    def returns(self) -> pd.Series:
        return self.equity.pct_change().fillna(0.0)

    @property
    def exposure(self) -> pd.Series:
        """Gross exposure at each close: the sum of |weight| over instruments."""
        return self.weights.abs().sum(axis=1)


class PortfolioStrategy(bt.Strategy):
    """Target weights from every instrument's latest decision; see the module docstring."""

    # backtrader's metaclass turns this tuple into a parameter class (``_getpairs()``)
    params: Any = (("weighting", "equal"), ("cap", 1.0), ("allow_short", False),
                   ("band", 0.02), ("threshold", 0.5), ("vol_window", 20),
                   ("targets", "signals"), ("rebalance", True))

    def __init__(self) -> None:
        check_portfolio_params(weighting=self.p.weighting, cap=self.p.cap, band=self.p.band)
        n = len(self.datas)
        self._side = [0] * n  # held side of each instrument: +1, 0, -1
        self._probability = [math.nan] * n
        self._row = [-1] * n
        self._listed = [False] * n  # has had a bar of its own
        self._bought = [False] * n  # has a filled order (the held reference buys once)
        self._index = {d._name: i for i, d in enumerate(self.datas)}
        self._target: list[float] | None = None
        self._order_reasons: dict[int, tuple[str, int, str]] = {}
        self.equity: list[float] = []
        self.weights: list[list[float]] = []
        self.fills: list[tuple[int, str, float, float, float, float, int, str]] = []
        self.rejected: list[tuple[int, str, str, float, str]] = []

    @guarded
    def next(self) -> None:
        equity = self.broker.getvalue()
        self.equity.append(equity)
        self.weights.append([self.getposition(d).size * d.close[0] / equity
                             for d in self.datas])
        for i, data in enumerate(self.datas):
            self._listed[i] |= bool(data.tradable[0])
            if math.isnan(data.direction[0]):
                continue
            side = int(data.direction[0]) if data.probability[0] >= self.p.threshold else 0
            side = side if side > 0 or self.p.allow_short else 0
            self._probability[i] = data.probability[0]
            if side != self._side[i]:  # this decision changes what is held: it is the cause
                self._side[i] = side
                self._row[i] = int(data.decision[0])
        self._target = self._targets()

    def _targets(self) -> list[float]:
        n = len(self.datas)
        if self.p.targets == "equal":  # held: 1/N each; rebalanced: 1/N of those listed
            listed = n if not self.p.rebalance else max(sum(self._listed), 1)
            return [min(1 / listed, self.p.cap) if own else 0.0 for own in self._listed]
        sides = self._side
        raw = [self._raw_weight(i) if side else 0.0 for i, side in enumerate(sides)]
        total = sum(raw)
        if total <= 0:
            return [0.0] * n
        return [side * min(w / total, self.p.cap) for side, w in zip(sides, raw, strict=True)]

    def _raw_weight(self, i: int) -> float:
        if self.p.weighting == "probability":
            return max(self._probability[i] - self.p.threshold, 1e-9)
        if self.p.weighting == "inverse_vol":
            data = self.datas[i]
            window = self.p.vol_window
            own: list[float] = []  # the last window + 1 closes of its own bars
            for k in range(len(data)):
                if data.tradable[-k]:
                    own.append(data.close[-k])
                    if len(own) > window:
                        break
            if len(own) <= window:
                return 1.0
            closes = np.array(own[::-1])
            spread = float(np.std(np.diff(closes) / closes[:-1], ddof=1))
            return 1 / spread if spread > 0 else 1.0
        return 1.0

    @guarded
    def next_open(self) -> None:
        if self._target is None:
            return
        times = sorted({d.opens[0] for d in self.datas if d.tradable[0]})
        if not times:
            return
        cash = self.broker.getcash()  # what the buys of the openings so far may spend
        for k, at in enumerate(times):
            # the portfolio before today's orders, valued with the prices known at ``at``
            equity = self.broker.getcash() + sum(self.getposition(d).size * self._known(d, at)
                                                 for d in self.datas)
            orders, triggered = self._wanted(equity, at)
            if k == 0 and not triggered:
                return  # decided at the day's first open: nothing trades today
            funded, cash = self._funded(orders, cash)
            self._place(funded, equity)

    @staticmethod
    def _known(data: bt.feeds.DataBase, at: float) -> float:
        """``data``'s latest price known at ``at`` (minutes after today's midnight UTC):
        today's open once its exchange has opened, else its last close."""
        return data.open[0] if data.tradable[0] and data.opens[0] <= at else data.close[-1]

    def _wanted(self, equity: float, at: float) -> tuple[list[tuple], bool]:
        """The orders, in units before fixed fees, of each tradable instrument opening at
        ``at`` towards its target, and whether any weight (valued with the prices known at
        ``at``) is beyond the band or any side changes. A rebalance leg worth no more than
        its own fixed fee is left out."""
        assert self._target is not None  # next_open trades once the first targets are set
        orders, triggered = [], False
        for i, data in enumerate(self.datas):
            if not data.tradable[0] or (self._bought[i] and not self.p.rebalance):
                continue  # no bar of its own today (or held, bought): nothing trades
            held = self.getposition(data).size
            price = self._known(data, at)
            target = self._target[i]
            triggered |= (abs(target - held * price / equity) > self.p.band
                          or np.sign(target) != np.sign(held))
            if data.opens[0] != at:
                continue  # its exchange opens at another time: ordered then
            fees = _Fees.of(self.broker, data)
            delta = target * equity / (price * fees.buffer) - held
            legs = 2 if held * (held + delta) < 0 else 1  # a reversal pays 2 fixed fees
            reason = _reason(held, target)
            if reason == "rebalance" and abs(delta) * price <= legs * fees.fixed:
                continue
            if abs(delta) * price > 1e-9 * equity:
                orders.append((delta, i, data, reason, fees, legs))
        return orders, triggered

    @staticmethod
    def _funded(orders: list[tuple], cash: float) -> tuple[list[tuple], float]:
        """Buys scaled to ``cash`` plus what the sells bring in (worst-case prices and
        fees), and the cash left after them: an instrument without a bar today, or whose
        exchange opens later, cannot be sold to pay for them."""
        proceeds = sum(o[4].proceeds(-o[0], o[2].open[0], o[5]) for o in orders if o[0] < 0)
        cost = sum(o[0] * o[2].open[0] * o[4].buffer for o in orders if o[0] > 0)
        scale = max(0.0, min(1.0, (cash + proceeds) / cost)) if cost > 0 else 1.0
        return ([(d * scale if d > 0 else d, *rest) for d, *rest in orders],
                cash + proceeds - scale * cost)

    def _place(self, orders: list[tuple], equity: float) -> None:
        """Sells, then buys; each buy pays its own fixed and per-unit fees from its budget,
        or is refused (``NoCash``) with why."""
        for delta, i, data, reason, fees, legs in sorted(orders, key=lambda o: o[0]):
            price = data.open[0]
            if delta > 0:
                fitted = fees.affordable(delta, price, legs)
                if fitted * price <= 1e-9 * equity < delta * price:  # the fee eats the cash
                    budget = delta * price * fees.buffer
                    self._refuse(data, f"{reason}: {fees.too_small(budget, legs)}")
                    continue
                delta = fitted
            if abs(delta) * price <= 1e-9 * equity:  # no cash left for this buy
                self._refuse(data, reason)
                continue
            order = (self.buy(data=data, size=delta) if delta > 0
                     else self.sell(data=data, size=-delta))
            self._order_reasons[order.ref] = (data._name, self._row[i], reason)

    def _refuse(self, data: bt.feeds.DataBase, reason: str) -> None:
        self.rejected.append((len(data) - 1, data._name, "NoCash", 0.0, reason))

    def notify_order(self, order: bt.Order) -> None:
        instrument, row, reason = self._order_reasons.get(order.ref,
                                                          (order.data._name, -1, "order"))
        bar = len(order.data) - 1
        if order.status == order.Completed:
            slippage = abs(order.executed.size * (order.executed.price - order.data.open[0]))
            self.fills.append((bar, instrument, order.executed.size, order.executed.price,
                               order.executed.comm, slippage, row, reason))
            self._bought[self._index[instrument]] = True  # once filled, not when placed
        elif order.status in (order.Canceled, order.Margin, order.Rejected):
            self.rejected.append((bar, instrument, order.getstatusname(),
                                  float(order.created.size), reason))


def _reason(held: float, target: float) -> str:
    """Why an order towards ``target`` (a weight) from ``held`` (units) is placed."""
    return ("exit" if target == 0 else "entry" if held == 0 else
            "reverse" if np.sign(held) != np.sign(target) else "rebalance")


@dataclass(frozen=True)
class _Fees:
    """Worst-case costs of an order at an open, from the broker's slippage and an
    instrument's cost model (strategies/costs.py): ``slip`` and ``rate`` on the traded
    value, ``per_share`` a unit, and at most ``fixed`` (the larger of ``per_order`` and
    ``minimum``) an order leg."""

    slip: float
    rate: float
    per_share: float = 0.0
    per_order: float = 0.0
    minimum: float = 0.0

    @classmethod
    def of(cls, broker: bt.brokers.BackBroker, data: bt.feeds.DataBase) -> _Fees:
        costs = broker.getcommissioninfo(data).p
        return cls(slip=broker.p.slip_perc,
                   rate=costs.commission + getattr(costs, "half_spread", 0.0),
                   per_share=getattr(costs, "per_share", 0.0),
                   per_order=getattr(costs, "per_order", 0.0),
                   minimum=getattr(costs, "minimum", 0.0))

    @property
    def buffer(self) -> float:
        """Worst-case cost of a unit bought (slippage, commission and spread), per unit of
        open."""
        return (1 + self.slip) * (1 + self.rate) * (1 + 1e-9)

    @property
    def fixed(self) -> float:
        return max(self.per_order, self.minimum)

    def affordable(self, units: float, price: float, legs: int = 1) -> float:
        """The units a buy of ``units`` costs once its per-unit and fixed fees are paid from
        the same budget (``units * price * buffer``); below 0 when the budget cannot pay
        the fixed fee."""
        per_unit = price * self.buffer + self.per_share
        return units - (legs * self.fixed + units * self.per_share) / per_unit

    def proceeds(self, units: float, price: float, legs: int = 1) -> float:
        """Worst-case cash from selling ``units`` at ``price``, every fee paid."""
        kept = (1 - self.slip) * (1 - self.rate)
        return units * price * kept - units * self.per_share - legs * self.fixed

    def too_small(self, budget: float, legs: int) -> str:
        """Why a buy with ``budget`` cannot be placed."""
        return (f"its {budget:,.2f} of cash does not pay the {legs * self.fixed:,.2f} fixed "
                f"fee of {'a reversal (two legs)' if legs > 1 else 'an order'} "
                f"(costs.per_order {self.per_order:g}, costs.minimum {self.minimum:g}); "
                "give more cash, lower those fees or trade fewer instruments")


def check_portfolio_params(weighting: object = "equal", cap: object = 1.0, band: object = 0.0,
                           **_: object) -> None:
    """Refuse a weighting not in ``WEIGHTINGS``, a cap outside (0, 1] or a negative band."""
    if weighting not in WEIGHTINGS:
        raise ValueError(f"strategy.weighting must be one of {WEIGHTINGS}, got {weighting!r}")
    if not 0 < float(cap) <= 1 or float(band) < 0:  # type: ignore[arg-type]
        raise ValueError(f"strategy: need 0 < cap <= 1 and band >= 0, got cap={cap}, "
                         f"band={band}")


def portfolio_params(**given: Any) -> dict[str, Any]:
    """``PortfolioStrategy``'s parameters: its defaults, with ``given`` over them."""
    return {**dict(PortfolioStrategy.params._getpairs()), **given}


def run_portfolio(universe: Universe, decisions: Mapping[str, SignalFrame] | None = None, *,
                  name: str = "portfolio", costs: Costs | None = None,
                  cash: float = 100_000.0, **params: object) -> PortfolioResult:
    """Run ``PortfolioStrategy`` (``params``) over ``universe`` with each instrument's
    decisions (indexed by the universe's session dates; ``None``: the references)."""
    decisions = decisions or {}
    unknown = set(decisions) - set(universe.names)
    if unknown:
        raise ValueError(f"decisions for {sorted(unknown)}, which the universe does not hold")
    names = [frame.signal for frame in decisions.values()]
    shared = sorted({n for n in names if names.count(n) > 1})
    if shared:
        raise ValueError(f"several instruments' decisions carry the signal name(s) {shared}: "
                         "their explanation ids would collide; name each instrument's signal "
                         "with signals.pooled.instrument_signal(signal, instrument)")
    cerebro = bt.Cerebro(stdstats=False, preload=True, runonce=True, cheat_on_open=True,
                         quicknotify=True)
    opens = universe.opens_utc()
    for instrument in universe.names:
        frame = decisions.get(instrument)
        cerebro.adddata(portfolio_feed(universe, instrument,
                                       None if frame is None else frame.frame, opens),
                        name=instrument)
    cerebro.broker.setcash(cash)
    (costs or Costs()).apply(cerebro.broker)
    cerebro.addstrategy(PortfolioStrategy, **params)
    (strat,) = cerebro.run()
    index = universe.calendar
    equity = pd.Series(strat.equity, index=index[:len(strat.equity)], name=name)
    weights = pd.DataFrame(strat.weights, index=equity.index, columns=universe.names)
    fills = pd.DataFrame(strat.fills, columns=["bar", "instrument", "size", "price",
                                               "commission", "slippage", "decision",
                                               "reason"])
    fills.insert(0, "time", index[fills["bar"].to_numpy(dtype=int)])
    fills["decision_time"], fills["explanation_id"] = _decision_keys(fills, decisions)
    rejected = pd.DataFrame(strat.rejected, columns=["bar", "instrument", "status", "size",
                                                     "reason"])
    rejected.insert(0, "time", index[rejected["bar"].to_numpy(dtype=int)])
    return PortfolioResult(name=name, equity=equity, weights=weights, fills=fills,
                           rejected=rejected, cash=cash)


def _decision_keys(fills: pd.DataFrame,
                   decisions: Mapping[str, SignalFrame]) -> tuple[list, list]:
    """The time and explanation id of the decision behind each fill (None for none)."""
    times: list[pd.Timestamp | None] = []
    keys: list[str | None] = []
    for instrument, row in zip(fills["instrument"], fills["decision"], strict=True):
        frame = decisions.get(instrument)
        if frame is None or row < 0:
            times.append(None)
            keys.append(None)
            continue
        when = frame.frame.index[int(row)]
        times.append(when)
        keys.append(explanation_id(frame.signal, when))
    return times, keys


def equal_weight_references(universe: Universe, costs: Costs | None = None,
                            cash: float = 100_000.0,
                            band: float = 0.0) -> dict[str, PortfolioResult]:
    """Equal-weight buy-and-hold of the universe, rebalanced to 1/N on every bar where a
    weight drifted more than ``band`` from it, and bought once and never rebalanced,
    through the same engine and costs."""
    return {name: run_portfolio(universe, name=name, costs=costs, cash=cash, targets="equal",
                                band=band, rebalance=rebalance)
            for name, rebalance in ((EQUAL_WEIGHT_REBALANCED, True),
                                    (EQUAL_WEIGHT_HELD, False))}


def contributions(result: PortfolioResult, closes: pd.DataFrame) -> pd.Series:
    """Each instrument's P&L net of its costs over the starting cash (``closes`` on the
    universe calendar; a position still held is marked at its last close); with a row
    ``other`` for what no fill carries (a borrow fee), they sum to the total return."""
    fills = result.fills
    flows = (-(fills["size"] * fills["price"]) - fills["commission"]).groupby(
        fills["instrument"]).sum()
    held = fills.groupby("instrument")["size"].sum()
    last = closes.ffill().iloc[-1]
    pnl = (flows + held * last.reindex(held.index)).reindex(closes.columns, fill_value=0.0)
    out = pnl / result.cash
    other = float(result.equity.iloc[-1] / result.cash - 1 - out.sum())
    if abs(other) > 1e-9:
        out["other"] = other
    return out.rename(result.name)
