from __future__ import annotations

import pandas as pd
import pytest

from xai_backtest.signals.base import SignalFrame
from xai_backtest.signals.ensemble import Ensemble

TIMES = pd.bdate_range("2021-01-04", periods=4, tz="UTC")


def _member(name, directions, probabilities, times=TIMES):
    frame = pd.DataFrame({"known_at": times, "score": 0.0,
                          "label": ["up" if d > 0 else "down" for d in directions],
                          "probability": probabilities, "direction": directions, "fold": -1},
                         index=times)
    return SignalFrame(name, frame)


MEMBERS = {
    "a": _member("a", [1, 1, -1, -1], [0.6, 0.6, 0.6, 0.6]),
    "b": _member("b", [1, -1, -1, 1], [0.7, 0.7, 0.4, 0.7]),
    "c": _member("c", [1, 1], [0.8, 0.55], times=TIMES[[0, 2]]),  # decides on two days only
}


def test_majority_vote_with_carried_member_decisions():
    ensemble = Ensemble("vote")
    frame = ensemble.combine(ensemble.ballot(MEMBERS)).frame
    # t0: all long; t1: a long, b short, c long (carried) -> long; t2: a short, b abstains
    # (p < 0.5), c long -> flat; t3: a short, b long, c long (carried) -> long
    assert frame["direction"].tolist() == [1, 1, 0, 1]
    assert frame["probability"].tolist() == pytest.approx([1.0, 2 / 3, 1 / 3, 2 / 3])


def test_members_vote_with_the_thresholds_they_trade_with():
    # b trades at 0.4, so its 0.4 short at t2 is a vote (not an abstention): a short, b
    # short, c long -> short; with c's own bar at 0.6, c's 0.55 at t2 abstains too
    ensemble = Ensemble("vote", thresholds={"b": 0.4, "c": 0.6})
    ballot = ensemble.ballot(MEMBERS)
    assert ballot.votes["b"].iloc[2] == pytest.approx(-0.4)
    assert ballot.votes["c"].iloc[2] == 0.0
    assert ensemble.combine(ballot).frame["direction"].iloc[2] == -1


def test_mean_of_confidence():
    ensemble = Ensemble("mean", margin=0.1)
    frame = ensemble.combine(ensemble.ballot(MEMBERS)).frame
    assert frame.loc[TIMES[0], "score"] == pytest.approx((0.6 + 0.7 + 0.8) / 3)
    assert frame.loc[TIMES[2], "score"] == pytest.approx((-0.6 + 0 + 0.55) / 3)
    assert frame["direction"].tolist() == [1, 1, 0, 1]


def test_explanation_names_the_voters_and_supporters():
    ensemble = Ensemble("vote")
    ballot = ensemble.ballot(MEMBERS)
    decisions = ensemble.combine(ballot)
    (e,) = ensemble.explain(ballot, [TIMES[1]], decisions)
    assert e.summary.startswith("long: a (up, p=0.60) and c (up, p=0.80) voted long")
    assert "b (down, p=0.70)" in e.summary
    assert e.feature_names == ("a", "b", "c")
    assert ensemble.supporters(ballot, TIMES[1], 1) == {"a": TIMES[1], "c": TIMES[0]}


def test_needs_two_members():
    with pytest.raises(ValueError, match="at least 2"):
        Ensemble().ballot({"a": MEMBERS["a"]})


@pytest.mark.slow
def test_ensemble_trades_carry_their_voters_explanations(tmp_path):
    from xai_backtest.engine.config import build_config
    from xai_backtest.engine.runner import run_backtest

    config = build_config({
        "name": "ensemble", "output_dir": str(tmp_path), "tearsheet": False, "cache_dir": None,
        "data": {"start": "2014-01-01", "headlines": {"source": "wigpy"}},
        "signals": [{"kind": "ma_crossover", "fast": 10, "slow": 40},
                    {"kind": "vader", "finance_lexicon": True}],
        "ensemble": {"method": "mean", "margin": 0.2},
        "walk_forward": {"min_train": 250, "retrain_every": 126}})
    result = run_backtest(config, progress=False)
    trades = result.trades[result.trades["strategy"] == "ensemble"]
    assert len(trades) > 0
    assert trades["entry_explanation"].str.contains("voted long").all()
    supporting = trades["entry_supporting_explanations"]
    assert supporting.str.len().gt(0).all()
    assert supporting.str.contains("SMA10|VADER|headline", regex=True).all()
    assert "ensemble" in result.comparison.columns
