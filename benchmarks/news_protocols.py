"""News LSTM-CNN under the paper's protocol and an honest one, on two data sets.

Data sets: (1) the paper's Indian headlines (../shared/data/sensex_headlines.csv) with the
NIFTY 50 daily bars for labels and trading; (2) the NYT economy headlines shipped in
``wigpy`` with the S&P 500 daily bars shipped in ``arch`` (1999-2018).

Protocols, each beside the majority-class and VADER-only baselines:

* (a) paper: every headline row labelled with the direction of the day after its date
  (``ms_tomorrow`` in the Sensex file; computed the same way from the S&P 500 for NYT),
  shuffled and split 80/20 at random, so one day's headlines (and the file's duplicate
  rows) sit on both sides;
* (b1) honest, same target, split by date: the first 80% of dates train (minus the last
  date, whose label is the first test day), the last 20% test;
* (b2) honest signal: daily decisions (mean headline P(up)) refitted walk-forward, target
  the next session after the decision (a headline dated d first reaches the decision at
  the close of the first bar after d), traded long/flat with costs vs buy-and-hold, with
  a LIME explanation of every trade.

Plus the paper's OHLC LSTM (next open) on a chronological 80/20 split, beside the
persistence forecast. Writes benchmarks/results/news.md.

    python benchmarks/news_protocols.py [--data ../shared/data] [--out benchmarks/results/news.md]
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from xai_backtest.data_feeds import load_bars, load_sample_bars
from xai_backtest.data_feeds.headlines import load_headlines, load_wigpy_headlines
from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.reports.comparison import comparison_table, format_comparison
from xai_backtest.reports.metrics import summarize
from xai_backtest.reports.model_quality import Quality, classification_quality, signal_quality
from xai_backtest.reports.trade_log import build_trade_log, decision_times_of_fills
from xai_backtest.signals.news_lstm import NewsLSTM
from xai_backtest.signals.ohlc_lstm import OHLCLSTM
from xai_backtest.signals.vader import (
    FINANCE_LEXICON,
    VaderSentiment,
    vader_blindness,
    vader_scores,
)
from xai_backtest.signals.walk_forward import WalkForwardSignal
from xai_backtest.strategies import BuyAndHold
from xai_backtest.strategies.backtest import run_strategy

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "news.md"
PAPER = {"LSTM-CNN on headlines": "74.76%", "LSTM on OHLC": "88.73%"}
SEED = 0


def _labels_after(dates: pd.Series, bars: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """For headline dates d: did the first session after d close above the last close at or
    before d (the paper's ``ms_tomorrow``), and did the session of d itself rise (NaN when d
    is not a trading day)."""
    index = bars.index
    close = bars["close"].to_numpy()
    day = pd.DatetimeIndex(dates.dt.normalize()).as_unit(index.unit)
    last = index.searchsorted(day, side="right") - 1
    ok = (last >= 1) & (last + 1 < len(index))
    tomorrow = np.full(len(day), np.nan)
    tomorrow[ok] = close[last[ok] + 1] > close[last[ok]]
    today = np.full(len(day), np.nan)
    trading = ok & (index[np.clip(last, 0, None)] == day)
    today[trading] = close[last[trading]] > close[last[trading] - 1]
    return pd.Series(tomorrow, index=dates.index), pd.Series(today, index=dates.index)


def _model(**kwargs: object) -> NewsLSTM:
    return NewsLSTM(seed=SEED, **kwargs)  # type: ignore[arg-type]


def _headline_protocol(texts: list[str], y: np.ndarray, train: np.ndarray, test: np.ndarray,
                       val: np.ndarray) -> dict[str, Quality]:
    """LSTM-CNN (+VADER), VADER-only logistic regression, majority: fitted on ``train``
    (early stopping on ``val``), scored on ``test``."""
    from sklearn.linear_model import LogisticRegression

    texts_a = np.asarray(texts, dtype=object)
    model = _model().fit_headlines(list(texts_a[train]), y[train], list(texts_a[val]), y[val])
    truth = np.where(y[test] == 1, "up", "down")
    predicted = np.where(model.headline_probability(list(texts_a[test])) >= 0.5, "up", "down")
    fit_rows = np.r_[train, val]
    vader = LogisticRegression().fit(vader_scores(list(texts_a[fit_rows])), y[fit_rows])
    vader_pred = np.where(vader.predict(vader_scores(list(texts_a[test]))) == 1, "up", "down")
    majority = "up" if y[fit_rows].mean() > 0.5 else "down"
    return {"LSTM-CNN + VADER": classification_quality(truth, predicted, ["down", "up"]),
            "VADER only (logistic)": classification_quality(truth, vader_pred, ["down", "up"]),
            "majority of training": classification_quality(
                truth, np.full(len(truth), majority), ["down", "up"])}


def paper_protocol(texts: list[str], y: np.ndarray) -> dict[str, Quality]:
    rng = np.random.default_rng(SEED)
    order = rng.permutation(len(y))
    n_test, n_val = len(y) // 5, len(y) // 10
    return _headline_protocol(texts, y, order[n_test + n_val:], order[:n_test],
                              order[n_test:n_test + n_val])


def date_protocol(texts: list[str], y: np.ndarray, dates: pd.Series) -> dict[str, Quality]:
    days = np.sort(dates.unique())
    test_start = days[int(len(days) * 0.8)]
    train_days = days[days < test_start][:-1]  # purge the last date: its label is a test day
    val_start = train_days[int(len(train_days) * 0.85)]
    position = np.arange(len(y))
    stamp = dates.to_numpy()
    return _headline_protocol(texts, y, position[stamp < val_start], position[stamp >= test_start],
                              position[(stamp >= val_start) & (stamp <= train_days[-1])])


def _quality_rows(results: dict[str, Quality]) -> list[str]:
    rows = []
    for name, q in results.items():
        rows.append(f"| {name} | {q.n} | {q.accuracy:.2%} | {q.precision:.2%} | {q.recall:.2%} "
                    f"| {q.f1:.2%} | {q.majority_accuracy:.2%} ({q.majority_class}) |")
    return rows


_QUALITY_HEAD = ["| model | n | accuracy | precision | recall | F1 (macro) | majority of test |",
                 "| --- | --- | --- | --- | --- | --- | --- |"]


def walk_forward(data: MarketData, min_train: int, retrain_every: int,
                 lines: list[str]) -> None:
    """(b2): walk-forward signals, their quality, the backtest and LIME per trade."""
    models = {"news_lstm": WalkForwardSignal(_model(label_basis="close_to_close"),
                                             min_train=min_train, retrain_every=retrain_every,
                                             progress=False),
              "vader": WalkForwardSignal(VaderSentiment(label_basis="close_to_close"),
                                         min_train=min_train,
                                         retrain_every=retrain_every, progress=False)}
    decisions, seconds = {}, {}
    for name, model in models.items():
        started = time.perf_counter()
        decisions[name] = model.fit(data).predict(data)
        seconds[name] = time.perf_counter() - started
    truth = models["news_lstm"].labels(data)
    start = decisions["news_lstm"].frame.index[0]
    lines += [f"Walk-forward: expanding window, first fit on {min_train} news days, refit every "
              f"{retrain_every}; {len(models['news_lstm'].folds_)} folds; out of sample from "
              f"{start.date()} ({len(decisions['news_lstm'])} decisions). Target: next session "
              "(close of the bar after the decision above the decision bar's close).", "",
              *_QUALITY_HEAD]
    lines += _quality_rows({"LSTM-CNN + VADER (walk-forward)": signal_quality(
        decisions["news_lstm"], truth, ["down", "up"]), "VADER only (walk-forward)":
        signal_quality(decisions["vader"], truth, ["down", "up"])})
    bars = data.bars[data.bars.index >= start]
    results = {name: run_strategy(name, bars, frame.between(start, None), threshold=0.5)
               for name, frame in decisions.items()}
    results["buy_and_hold"] = run_strategy("buy_and_hold", bars, None, BuyAndHold)
    started = time.perf_counter()
    traded = decision_times_of_fills(results["news_lstm"], decisions["news_lstm"])
    explanations = models["news_lstm"].explain(data, traded)
    lime_seconds = time.perf_counter() - started
    again = models["news_lstm"].explain(data, traded[:3])
    reproducible = all(a.equals(b) for a, b in zip(explanations, again, strict=False))
    by_id = {e.id: e for e in explanations}
    summaries = {}
    for name, result in results.items():
        frame = decisions.get(name)
        summaries[name] = summarize(result, build_trade_log(
            result, bars, frame.between(start, None) if frame is not None else None, by_id))
    lines += ["", "Backtest, long when the day's P(up) >= 0.5 else flat; commission 5 bp, "
              "slippage 2 bp, fills at the next open:", "", "```",
              format_comparison(comparison_table(summaries)), "```", ""]
    scores = np.array([e.raw["lime_score"][0] for e in explanations])
    lines += [f"LIME: {len(explanations)} explanations, one per decision that caused a fill "
              f"({lime_seconds:.0f} s, 500 samples each, seed {SEED}); reproducible on rerun: "
              f"{reproducible}; local fit R² median {np.median(scores):.2f} "
              f"(10%-90%: {np.quantile(scores, 0.1):.2f}-{np.quantile(scores, 0.9):.2f}). "
              "Examples:", ""]
    lines += [f"- {e.decision_time.date()}: {e.summary}" for e in explanations[:4]]
    lines += ["", f"Fit+predict time: news_lstm {seconds['news_lstm']:.0f} s, vader "
              f"{seconds['vader']:.0f} s.", ""]


def ohlc(bars: pd.DataFrame, lines: list[str]) -> None:
    """Paper's OHLC LSTM on a chronological 80/20 split, beside persistence."""
    cut = bars.index[int(len(bars) * 0.8)]
    data = MarketData(bars)
    model = OHLCLSTM(seed=SEED).fit(data.until(cut))
    predicted = model.predicted_open(data)
    test = predicted.index[(predicted.index >= cut)][:-1]
    actual = bars["open"].shift(-1).reindex(test)
    error = predicted.reindex(test) - actual
    naive = bars["close"].reindex(test) - actual
    q = signal_quality(model.predict(data).between(cut, None), model.labels(data),
                       ["down", "up"])
    rmse = float(np.sqrt(np.mean(error ** 2)))
    lines += [f"Chronological split at {cut.date()} ({len(test)} test days), 10-bar windows, "
              "MinMax fitted on the training bars:", "",
              "| forecast of the next open | RMSE | MAPE |", "| --- | --- | --- |",
              f"| OHLC LSTM | {rmse:,.2f} | {np.mean(np.abs(error / actual)):.3%} |",
              f"| persistence (next open = today's close) | {np.sqrt(np.mean(naive ** 2)):,.2f}"
              f" | {np.mean(np.abs(naive / actual)):.3%} |", "",
              f"Direction (next open above today's close): accuracy {q.accuracy:.2%}, F1 "
              f"{q.f1:.2%}; majority '{q.majority_class}' {q.majority_accuracy:.2%}. "
              f"Paper: {PAPER['LSTM on OHLC']} (the paper's). The scaler is fitted on the "
              "training bars only, so test prices above the training maximum scale above 1, "
              "where the LSTM extrapolates badly; persistence is the bar to beat.", ""]


def blindness(texts: list[str], same_day: pd.Series, lines: list[str]) -> None:
    known = same_day.notna().to_numpy()
    sample = [t for t, k in zip(texts, known, strict=True) if k]
    up = same_day[known].astype(int).to_numpy()
    lines += [f"VADER blindness on {len(sample)} headlines dated on trading days, against the "
              "direction of their own day:", "",
              "| lexicon | compound = 0 | direction words unknown to VADER | corr(compound, up "
              "today) |", "| --- | --- | --- | --- |"]
    for finance in (False, True):
        b = vader_blindness(sample, up, finance_lexicon=finance)
        name = f"VADER + finance ({len(FINANCE_LEXICON)} words)" if finance else "VADER"
        lines.append(f"| {name} | {b.neutral_share:.1%} | {len(b.unknown_words)} of "
                     f"{len(b.direction_words)} ({b.unknown_share:.0%}) | {b.correlation:+.3f} |")
        if not finance:
            shown = ", ".join(b.unknown_words[:15])
    lines += ["", f"Most frequent direction words VADER does not know: {shown}.", ""]


def run_dataset(title: str, bars: pd.DataFrame, raw: pd.DataFrame, clean: pd.DataFrame,
                target: pd.Series, same_day: pd.Series, report: str, min_train: int,
                retrain_every: int, lines: list[str]) -> None:
    started = time.perf_counter()
    lines += [f"## {title}", "", f"Loading: {report}", ""]
    keep = target.notna().to_numpy()
    texts, y = raw["text"][keep].tolist(), target[keep].astype(int).to_numpy()
    dates = raw["timestamp"][keep].dt.normalize().reset_index(drop=True)
    lines += [f"### (a) Paper protocol: {len(y)} headline rows (duplicates kept, as in the "
              f"paper), random 70/10/20 split; up share {y.mean():.1%}", "", *_QUALITY_HEAD]
    lines += _quality_rows(paper_protocol(texts, y))
    lines += ["", f"Paper: {PAPER['LSTM-CNN on headlines']} accuracy (the paper's).", "",
              f"### (b1) Honest, same target, split by date (last 20% of {dates.nunique()} "
              "dates tested)", "", *_QUALITY_HEAD]
    lines += _quality_rows(date_protocol(texts, y, dates))
    lines += ["", "### (b2) Honest signal, walk-forward, traded", ""]
    walk_forward(MarketData(bars, clean, "index"), min_train, retrain_every, lines)
    lines += ["### VADER blindness", ""]
    blindness(raw["text"].tolist(), same_day, lines)
    lines += ["### OHLC LSTM (next open)", ""]
    ohlc(bars, lines)
    lines += [f"Dataset time: {time.perf_counter() - started:.0f} s.", ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    lines = ["# News LSTM-CNN: paper protocol vs honest protocol", "",
             "Generated by `python benchmarks/news_protocols.py` (seed 0, 1 torch thread). "
             "Model: embedding 32 -> Conv1D 32x3 -> MaxPool 2 -> LSTM 100 -> [+ VADER "
             "compound/pos/neg/neu] -> sigmoid; BCE, Adam 1e-3, <= 10 epochs, early stopping "
             "(patience 2) and LR halving on the validation slice; vocabulary 2000 words, 32 "
             "tokens.", ""]

    tz = "Asia/Kolkata"
    nifty = load_bars(args.data / "nifty50_daily.csv", tz=tz)
    nifty = nifty[(nifty.index >= pd.Timestamp("2013-01-01", tz=tz))
                  & (nifty.index < pd.Timestamp("2018-01-01", tz=tz))]
    path = args.data / "sensex_headlines.csv"
    raw, raw_report = load_headlines(path, tz=tz, keep_duplicates=True,
                                     extra_columns=("ms_tomorrow",))
    clean, report = load_headlines(path, tz=tz, earliest=nifty.index[0],
                                   latest=nifty.index[-1])
    tomorrow_bars, same_day = _labels_after(raw["timestamp"], nifty)
    ms_tomorrow = raw["ms_tomorrow"].astype(int)
    agree = float((ms_tomorrow[tomorrow_bars.notna()] == tomorrow_bars.dropna()).mean())
    run_dataset("Sensex headlines (paper data), NIFTY 50 daily bars", nifty, raw,
                clean, ms_tomorrow.astype(float), same_day,
                f"{report.summary()}; ms_tomorrow agrees with the NIFTY's next-session direction "
                f"on {agree:.1%} of rows. (a) and (b1) use {raw_report.summary()}", 252, 63,
                lines)

    ny = "America/New_York"
    sp500 = load_sample_bars("sp500")
    raw, raw_report = load_wigpy_headlines(tz=ny, earliest=sp500.index[0],
                                           latest=sp500.index[-1])
    target, same_day = _labels_after(raw["timestamp"], sp500)
    run_dataset("NYT economy headlines (wigpy), S&P 500 daily bars (arch)", sp500, raw, raw,
                target, same_day, raw_report.summary(), 504, 126, lines)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
