"""The Python API as a new user meets it: a short repr and a notebook view of a run, a
typed trade log in the data's time zone, a rule with no ``__init__`` that trades from its
first indicator value, and every run option accepted in one place or refused with where
it lives."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tests.conftest import make_daily_bars
from xai_backtest import Backtest, ConfigError, RuleSignal
from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.engine import backtest as backtest_module
from xai_backtest.engine.config import RunConfig
from xai_backtest.engine.run_folder import RunResult, read_edges, write_edges
from xai_backtest.reports.significance import EdgeTest
from xai_backtest.reports.trade_log import TRADE_COLUMNS, typed_trade_log
from xai_backtest.signals.ma_crossover import MACrossover
from xai_backtest.signals.walk_forward import WalkForwardError, WalkForwardSignal

PERIOD = 20


class AboveAverage(RuleSignal):
    """No ``__init__`` of its own: its one setting is a class attribute."""

    name = "above"

    def indicators(self, bars):
        return pd.DataFrame({"ma": bars["close"].rolling(PERIOD).mean(),
                             "close": bars["close"]})

    def rule(self, values):
        return np.where(values["close"] > values["ma"], 1, -1)


# -- repr and the notebook view ------------------------------------------------------------

def _result(tmp_path, trades: pd.DataFrame) -> RunResult:
    folder = tmp_path / "20261204-101500-above"
    folder.mkdir()
    comparison = pd.DataFrame({"above": [0.1, 0.8, 12.0], "always_long": [0.2, 0.9, 1.0],
                               "always_flat": [0.0, 0.0, 0.0], "buy_and_hold": [0.2, 0.9, 1.0]},
                              index=["total_return", "sharpe", "trades"])
    return RunResult(folder=folder, config=RunConfig(name="above"), comparison=comparison,
                     trades=trades, equity=pd.DataFrame(), decisions={}, signals={},
                     explanations={}, rejected=pd.DataFrame(), notes=[], seconds=3.2)


def test_repr_is_one_short_line_naming_folder_strategies_trades_and_report(tmp_path):
    trades = pd.DataFrame({"strategy": ["above"] * 12 + ["always_long", "buy_and_hold"],
                           "entry_explanation": ["rsi = 30 -> up " * 40] * 14})
    result = _result(tmp_path, trades)
    text = repr(result)
    assert text == (f"RunResult('20261204-101500-above', strategies=['above'], trades=12, "
                    f"report={str(result.report)!r})")
    assert len(text) < 200 and "\n" not in text


def test_the_notebook_view_shows_the_table_the_verdicts_and_links_the_report(tmp_path):
    result = _result(tmp_path, pd.DataFrame({"strategy": ["above"] * 12}))
    edge = EdgeTest(sharpe_difference=-0.4, interval_low=-0.9, interval_high=0.1, level=0.95,
                    probabilistic_sharpe=0.7, deflated_sharpe=math.nan, trials=1,
                    verdict="Not distinguishable from buy-and-hold: <interval> includes zero.",
                    secondary="Chance its true Sharpe is above zero: 70%.")
    write_edges(result.folder, {"above": edge})
    assert read_edges(result.folder)["above"].verdict == edge.verdict
    assert math.isnan(read_edges(result.folder)["above"].deflated_sharpe)
    page = result._repr_html_()
    assert "Not distinguishable from buy-and-hold: &lt;interval&gt; includes zero." in page
    assert "Chance its true Sharpe is above zero: 70%." in page
    assert f"href='{result.report.as_uri()}'" in page
    assert "<td>10.00%</td>" in page  # the comparison, formatted as the CLI prints it
    assert "12 trades" in page


def test_the_notebook_view_without_a_report_shows_no_verdicts(tmp_path):
    result = _result(tmp_path, pd.DataFrame({"strategy": ["above"]}))
    assert result.edges == {}
    assert "Is the edge real?" not in result._repr_html_()


# -- the trade log's dtypes ----------------------------------------------------------------

def _row(**changes: object) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(TRADE_COLUMNS)
    row.update(trade=1, strategy="above", side="long", status="closed",
               entry_time=pd.Timestamp("2020-01-02 09:15", tz="UTC"), entry_price=10.0,
               exit_time=pd.Timestamp("2020-01-03 09:15", tz="UTC"), exit_price=11.0,
               size=2.0, gross_pnl=2.0, commission=0.1, net_pnl=1.9, return_pct=0.095,
               bars_held=1, entry_reason="signal: entry", exit_reason="signal: exit",
               entry_explanation="ma = 9.5, close = 10 -> up")
    row.update(changes)
    return row


def test_a_typed_log_keeps_its_dtypes_through_concat_with_an_empty_one():
    index = pd.date_range("2020-01-01", periods=3, tz="Asia/Kolkata").as_unit("us")
    full = typed_trade_log(pd.DataFrame([_row()], columns=list(TRADE_COLUMNS)), index)
    empty = typed_trade_log(pd.DataFrame(columns=list(TRADE_COLUMNS)), index)
    both = pd.concat([full, empty], ignore_index=True)
    assert str(both["entry_time"].dtype) == "datetime64[us, Asia/Kolkata]"
    assert both.loc[0, "entry_time"] == pd.Timestamp("2020-01-02 14:45", tz="Asia/Kolkata")
    assert both["entry_decision_time"].isna().all()  # NaT, not None
    assert both["net_pnl"].dtype == "float64" and both["trade"].dtype == "int64"
    assert both["entry_faithfulness_ratio"].dtype == "float64"  # all missing: NaN floats
    assert both["entry_explanation"].dtype == "str"
    assert both["exit_explanation"].isna().all()  # missing text is NaN, never 'None'
    assert list(both["net_pnl"].describe().index)[:3] == ["count", "mean", "std"]


# -- a rule without __init__, without a warm-up ----------------------------------------------

def test_a_rule_without_its_own_init_clones_and_names_its_parameters():
    rule = AboveAverage()
    assert rule.get_params() == {} and repr(rule) == "AboveAverage()"
    assert isinstance(rule.clone(), AboveAverage)
    assert Backtest(make_daily_bars(60), signals=[rule]).config.signals[0].name == "above"


def test_a_rule_decides_from_its_first_indicator_value_not_after_the_warm_up():
    data = MarketData(make_daily_bars(700))
    first_value = data.bars.index[PERIOD - 1]
    walk = WalkForwardSignal(AboveAverage(), progress=False)  # min_train 504 by default
    (fold,) = walk.plan(data)
    assert fold.test_start == first_value and fold.train_end == first_value
    decisions = walk.fit(data).predict(data).frame
    assert decisions.index[0] == first_value and len(decisions) == 700 - PERIOD + 1
    learned = WalkForwardSignal(MACrossover(fast=5, slow=20), progress=False).plan(data)
    assert learned[0].test_start > data.bars.index[504]  # a model still waits its warm-up
    with pytest.raises(WalkForwardError, match="none after the first bar"):
        walk.plan(MarketData(make_daily_bars(PERIOD - 1)))  # the average is never complete


# -- every run option in one place ----------------------------------------------------------

def test_progress_is_accepted_by_the_constructor_and_run_can_override_it(monkeypatch):
    seen = []
    monkeypatch.setattr(backtest_module, "run_backtest",
                        lambda config, progress, data: seen.append(progress))
    quiet = Backtest(make_daily_bars(60), signals=[AboveAverage()], progress=False)
    quiet.run()
    quiet.run(progress=True)
    Backtest(make_daily_bars(60), signals=[AboveAverage()]).run()
    assert seen == [False, True, True]


@pytest.mark.parametrize(("key", "value", "hint"), [
    ("threshold", 0.6, "'threshold' is a key of strategy: Backtest(..., strategy={'kind': "
                       "'signal', 'threshold': 0.6})"),
    ("commission", 0.001, "'commission' is a key of costs: Backtest(..., "
                          "costs={'commission': 0.001})"),
    ("min_train", 100, "'min_train' is a key of walk_forward: Backtest(..., "
                       "walk_forward={'min_train': 100})"),
    ("lookahead", False, "'lookahead' is a key of check: Backtest(..., "
                         "check={'lookahead': False})"),
    ("start", "2010-01-01", "'start' is a key of data: Backtest(data={'source': 'sample', "
                            "'sample': 'sp500', 'start': '2010-01-01'}, ...)"),
    ("fast", 10, "'fast' is a parameter of signal 'ma_crossover': Backtest(signals=[{'kind': "
                 "'ma_crossover', 'fast': 10}], ...)"),
])
def test_a_key_of_a_section_is_refused_with_the_argument_it_belongs_in(key, value, hint):
    with pytest.raises(ConfigError) as raised:
        Backtest("sp500", signals=["ma_crossover"], **{key: value})
    assert str(raised.value) == f"Backtest: {hint}"


def test_a_parameter_of_a_signal_object_is_refused_with_the_call_that_sets_it():
    class Tuned(AboveAverage):
        def __init__(self, period: int = 20):
            self.period = period

    with pytest.raises(ConfigError, match=r"pass it to the signal, Tuned\(period=5\)"):
        Backtest(make_daily_bars(60), signals=[Tuned()], period=5)


# -- one short run, end to end ----------------------------------------------------------------

@pytest.mark.slow
def test_a_run_on_kolkata_bars_gives_a_typed_log_in_kolkata_time_and_a_short_repr(tmp_path):
    bars = make_daily_bars(300, tz="Asia/Kolkata")
    result = Backtest(bars, signals=[AboveAverage()], output_dir=str(tmp_path),
                      tearsheet=False, cache_dir=None, progress=False).run()
    trades = result.trades
    for column in ("entry_time", "exit_time", "entry_decision_time", "exit_decision_time"):
        assert str(trades[column].dtype).endswith(", Asia/Kolkata]"), column
    for column in ("entry_price", "net_pnl", "return_pct", "entry_probability"):
        assert trades[column].dtype == "float64", column
    assert trades["entry_explanation"].dtype == "str"
    assert "mean" in trades["net_pnl"].describe().index
    assert result.decisions["above"].frame.index[0] == bars.index[PERIOD - 1]
    assert "+05:30" in (result.folder / "trades.csv").read_text().splitlines()[1]
    assert len(repr(result)) < 200 and "strategies=['above']" in repr(result)
    page = result._repr_html_()
    assert result.edges["above"].verdict in page.replace("&#x27;", "'")
