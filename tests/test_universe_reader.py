"""A universe folder read by the one reader: a dd/mm file lands on its days, an invalid
bar leaves its instrument out with the reason, a real crash is noted and never adjusted,
and splits are adjusted only when stated (a corporate actions file or adjust: detected)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xai_backtest import Backtest
from xai_backtest.engine.config import DataConfig
from xai_backtest.engine.data import load_universe

TZ = "Asia/Kolkata"
N = 60


def _bars(start: float = 100.0, volume: float = 1_000.0) -> pd.DataFrame:
    dates = pd.bdate_range("2020-01-01", periods=N)
    close = start * np.cumprod(np.r_[1.0, np.full(N - 1, 1.001)])
    return pd.DataFrame({"Date": dates, "Open": close, "High": close * 1.01,
                         "Low": close * 0.99, "Close": close,
                         "Volume": np.full(N, volume)})


def _write(frame: pd.DataFrame, path, date_format: str = "%Y-%m-%d") -> None:
    frame.assign(Date=frame["Date"].dt.strftime(date_format)).to_csv(path, index=False)


def _crash(frame: pd.DataFrame, day: int) -> pd.DataFrame:
    """Open 20% below the previous close (a 5:4 ratio), close 45% below: a crash."""
    out = frame.copy()
    previous = out["Close"].iloc[day - 1]
    out.loc[day:, ["Open", "High", "Low", "Close"]] *= 0.55 * previous / out["Close"].iloc[day]
    out.loc[day, "Open"] = previous * 0.8
    out.loc[day, "High"] = previous * 0.8
    out.loc[day, "Volume"] = 9_000.0
    return out


def _bonus(frame: pd.DataFrame, day: int, ratio: float, volume_follows: bool) -> pd.DataFrame:
    """A bonus issue nobody adjusted for: prices from ``day`` divided by ``ratio``."""
    out = frame.copy()
    out.loc[day:, ["Open", "High", "Low", "Close"]] /= ratio
    if volume_follows:
        out.loc[day:, "Volume"] *= ratio
    return out


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "stocks"
    root.mkdir()
    _write(_bars(), root / "PLAIN.csv")
    _write(_bars(50.0), root / "DAYFIRST.csv", "%d/%m/%Y")
    bad = _bars(70.0)
    bad.loc[10, "Close"] = bad.loc[10, "High"] * 1.5  # close above the high
    _write(bad, root / "INVALID.csv")
    _write(_crash(_bars(80.0), 30), root / "CRASH.csv")
    _write(_bonus(_bars(368.4), 40, 1.5, volume_follows=True), root / "BONUS.csv")
    return root


def _load(folder, **keys):
    config = DataConfig(source="file", path=str(folder), layout="one_file_per_symbol",
                        tz=TZ, **keys)
    return load_universe(config)


def test_each_instrument_is_read_validated_and_noted(folder):
    universe, notes = _load(folder)
    assert universe.names == ["BONUS", "CRASH", "DAYFIRST", "PLAIN"]
    assert list(universe.bars["DAYFIRST"].index) == list(universe.bars["PLAIN"].index)
    assert universe.bars["DAYFIRST"].index[12] == pd.Timestamp("2020-01-17", tz="UTC")
    text = "\n".join(notes)
    assert "INVALID: left out" in text and "open or close outside [low, high]" in text
    crash = next(n for n in notes if n.startswith("CRASH"))
    assert "close -45%" in crash and "not adjusted" in crash
    raw = pd.read_csv(folder / "CRASH.csv")
    np.testing.assert_allclose(universe.bars["CRASH"]["close"].to_numpy(), raw["Close"])
    bonus = next(n for n in notes if n.startswith("BONUS"))
    assert "like a 3:2 bonus issue (price and volume confirm it)" in bonus
    assert universe.bars["BONUS"]["close"].iloc[40] == pytest.approx(
        pd.read_csv(folder / "BONUS.csv")["Close"].iloc[40])  # flagged, never changed


def test_adjust_detected_adjusts_only_what_price_and_volume_confirm(folder):
    universe, notes = _load(folder, adjust="detected")
    bonus = universe.bars["BONUS"]["close"]
    np.testing.assert_allclose(bonus.pct_change().dropna(), 0.001, rtol=1e-9)
    crash = universe.bars["CRASH"]["close"]
    assert crash.iloc[30] / crash.iloc[29] == pytest.approx(0.55)  # a crash stays a crash
    assert any("BONUS" in n and "earlier prices / 1.5" in n for n in notes)


def test_a_bonus_issue_without_volume_evidence_is_only_flagged(tmp_path):
    root = tmp_path / "stocks"
    root.mkdir()
    _write(_bonus(_bars(), 40, 1.5, volume_follows=False), root / "ITC.csv")
    universe, notes = _load(root, adjust="detected")
    assert universe.bars["ITC"]["close"].iloc[39] == pytest.approx(
        _bars()["Close"].iloc[39])
    assert any("the price confirms it, the volume does not" in n for n in notes)


def test_a_corporate_actions_file_adjusts_exactly_its_rows(folder, tmp_path):
    actions = tmp_path / "actions.csv"
    day = pd.bdate_range("2020-01-01", periods=N)[40]
    actions.write_text(f"date,symbol,ratio\n{day:%d-%b-%Y},BONUS,1.5\n")
    universe, notes = _load(folder, corporate_actions=str(actions))
    bonus = universe.bars["BONUS"]["close"]
    np.testing.assert_allclose(bonus.pct_change().dropna(), 0.001, rtol=1e-9)
    assert universe.bars["BONUS"]["volume"].iloc[0] == pytest.approx(1_500.0)
    assert not any("BONUS" in n and "not adjusted" in n for n in notes)


def test_a_dataframe_is_cleaned_like_a_file():
    frame = _bars().set_index("Date").rename(columns=str.lower)
    frame.index = frame.index.tz_localize(TZ)
    doubled = pd.concat([frame, frame.iloc[[5]]])
    with pytest.warns(UserWarning, match="1 rows repeated exactly"):
        backtest = Backtest(doubled)
    assert len(backtest.market_data.bars) == N


def test_a_single_file_run_reports_every_adjustment(tmp_path):
    dates = pd.bdate_range("2018-01-01", periods=400)
    rng = np.random.default_rng(3)
    close = 100 * np.cumprod(1 + rng.normal(0, 0.01, 400))
    frame = pd.DataFrame({"Date": dates, "Open": close, "High": close * 1.01,
                          "Low": close * 0.99, "Close": close, "Volume": 1_000.0})
    frame = _bonus(frame, 300, 2.0, volume_follows=True)
    path = tmp_path / "stock.csv"
    _write(frame, path)
    actions = tmp_path / "actions.csv"
    actions.write_text(f"date,symbol,ratio\n{dates[300]:%Y-%m-%d},stock,2\n")
    result = Backtest({"source": "file", "path": str(path), "tz": TZ,
                       "corporate_actions": str(actions)},
                      signals=[{"kind": "ma_crossover", "fast": 10, "slow": 30}],
                      tearsheet=False, cache_dir=None, output_dir=str(tmp_path / "runs"),
                      walk_forward={"min_train": 100, "retrain_every": 50}).run(
                          progress=False)
    page = result.report.read_text()
    assert f"adjusted for a split or bonus issue on {dates[300]:%Y-%m-%d}" in page
    assert "earlier prices / 2" in page


def test_a_takeover_day_is_never_taken_for_a_reverse_split(tmp_path):
    """+95% on a bid (close / previous close about 1:2, volume up, not halved)."""
    root = tmp_path / "stocks"
    root.mkdir()
    frame = _bars()
    frame.loc[40:, ["Open", "High", "Low", "Close"]] *= 1.95
    frame.loc[40:, "Volume"] *= 3.0
    _write(frame, root / "TARGET.csv")
    universe, notes = _load(root, adjust="detected")
    close = universe.bars["TARGET"]["close"]
    assert close.iloc[40] / close.iloc[39] == pytest.approx(1.95 * 1.001)
    assert any("like a 1:2 reverse split (the price confirms it, the volume does not)" in n
               for n in notes)
