"""GADF-CNN replication on the NIFTY 50 minute bars (../shared/data/nifty_minute).

The first trading hour (09:16-10:15) of every session becomes a 60x60 GADF image; a
small CNN is refitted walk-forward (expanding window, 250 sessions of warm-up, monthly
refits of 21 sessions), so every prediction comes from a model that never saw its day.
Prints and writes benchmarks/results/gadf_replication.md with:

* first-hour coverage (days filled or skipped, by reason);
* out-of-sample accuracy, precision, recall, F1 and the confusion matrix beside the
  majority-class baseline, for the tradable label (default) and the paper's label, and
  the paper's reported 62% (NIFTY 100, 2017-2021, its own protocol) labelled as such;
* the intraday backtest (long after the first hour when P(up) >= 0.5, out at 15:30,
  costs on) vs buy-and-hold and vs always long after the first hour;
* Grad-CAM faithfulness (blank the top-6 minutes vs 6 random ones; last and first conv
  block) and timings: encoding, training per fold, inference and Grad-CAM per trade.

    python benchmarks/gadf_replication.py [--data ../shared/data] [--out ...]
"""

from __future__ import annotations

import argparse
import copy
import time
from datetime import time as clock
from pathlib import Path

import numpy as np
import pandas as pd

from xai_backtest.data_feeds import NSE, filter_session, load_bars
from xai_backtest.data_feeds.market_data import MarketData
from xai_backtest.explainers.figures import render_figure
from xai_backtest.explainers.gradcam import Faithfulness, deletion_test
from xai_backtest.reports.comparison import comparison_table, format_comparison
from xai_backtest.reports.metrics import summarize
from xai_backtest.reports.model_quality import confusion, signal_quality
from xai_backtest.reports.trade_log import build_trade_log, decision_times_of_fills
from xai_backtest.signals.base import SignalFrame
from xai_backtest.signals.gadf_cnn import GADFCNN
from xai_backtest.signals.walk_forward import WalkForwardSignal
from xai_backtest.strategies import BuyAndHold
from xai_backtest.strategies.backtest import BacktestResult, run_strategy
from xai_backtest.strategies.costs import Costs
from xai_backtest.strategies.intraday import IntradayStrategy
from xai_backtest.strategies.references import always_long

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "gadf_replication.md"
PAPER_ACCURACY = 0.62
SEED = 0
K = 6


def walk_forward(data: MarketData, label: str) -> tuple[WalkForwardSignal, SignalFrame, float]:
    model = WalkForwardSignal(GADFCNN(label=label, filters=8, epochs=20, seed=SEED),
                              min_train=250, retrain_every=21, progress=False)
    started = time.perf_counter()
    model.fit(data)
    seconds = time.perf_counter() - started
    return model, model.predict(data), seconds


def faithfulness(model: WalkForwardSignal, data: MarketData, decisions: SignalFrame,
                 layer: str) -> Faithfulness:
    """Deletion test over every out-of-sample day, each with its own fold model."""
    tops, randoms, n = [], [], 0
    for fold, fitted in zip(model.folds_, model.models_, strict=True):
        seen = data.until(fold.test_end)
        times = decisions.between(fold.test_start, fold.test_end).frame.index
        if not len(times):
            continue
        explainer = copy.copy(fitted)
        explainer.cam_layer = layer
        importance = np.array([e.values for e in explainer.explain(seen, list(times))])
        found = fitted.windows(seen)
        rows = found.times.get_indexer(times)
        result = deletion_test(found.closes[rows], importance, fitted.proba_up, k=K, seed=SEED)
        tops.append(result.top_k_change * result.n)
        randoms.append(result.random_change * result.n)
        n += result.n
    return Faithfulness(k=K, n=n, top_k_change=sum(tops) / n, random_change=sum(randoms) / n)


def backtests(bars: pd.DataFrame, decisions: SignalFrame) -> dict[str, BacktestResult]:
    costs = Costs()
    rules = {"exit_time": clock(15, 30)}
    return {
        "gadf_cnn": run_strategy("gadf_cnn", bars, decisions, IntradayStrategy, costs=costs,
                                 threshold=0.5, **rules),
        "always_long": run_strategy("always_long", bars, always_long(decisions),
                                    IntradayStrategy, costs=costs, threshold=0.0, **rules),
        "buy_and_hold": run_strategy("buy_and_hold", bars, None, BuyAndHold, costs=costs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    lines: list[str] = ["# GADF-CNN replication on NIFTY 50 minute bars", ""]

    def say(text: str = "") -> None:
        print(text)
        lines.append(text)

    bars, _ = filter_session(load_bars(args.data / "nifty_minute", layout="nifty"), NSE)
    data = MarketData(bars, symbol="NIFTY 50")
    signal = GADFCNN(seed=SEED)
    started = time.perf_counter()
    found = signal.windows(data)
    images = signal.images(found.closes)
    encode = time.perf_counter() - started
    n_days = bars.index.normalize().nunique()
    say(f"Data: {len(bars):,} in-session minute bars, {n_days} sessions "
        f"({bars.index[0].date()} to {bars.index[-1].date()}).")
    say(f"First hour: {len(found.times)} sessions usable, {found.filled} missing minutes "
        f"forward-filled; skipped: {found.skipped or 'none'}. Decisions at "
        f"{sorted({t.strftime('%H:%M') for t in found.times})}.")
    say()

    runs = {label: walk_forward(data, label) for label in ("tradable", "paper")}
    model, decisions, fit_seconds = runs["tradable"]
    sizes = [m.n_train_ + m.n_valid_ for m in model.models_]
    say("## Out-of-sample classification (walk-forward, expanding, monthly refits)")
    say()
    say("| label | n | accuracy | precision | recall | F1 | majority class | "
        "majority accuracy | majority F1 |")
    say("|---|---|---|---|---|---|---|---|---|")
    confusions = {}
    for label, (fitted, frame, _) in runs.items():
        truth = fitted.labels(data)
        quality = signal_quality(frame, truth, classes=["down", "up"])
        joined = frame.frame[["label"]].join(truth.rename("truth"), how="inner").dropna()
        confusions[label] = confusion(joined["truth"], joined["label"], ["down", "up"])
        say(f"| {label} | {quality.n} | {quality.accuracy:.1%} | {quality.precision:.1%} | "
            f"{quality.recall:.1%} | {quality.f1:.1%} | {quality.majority_class} | "
            f"{quality.majority_accuracy:.1%} | {quality.majority_f1:.1%} |")
    say(f"| paper's reported figure (NIFTY 100, 2017-2021, its protocol) | 988 days | "
        f"{PAPER_ACCURACY:.0%} | | | | | | |")
    say()
    say("Macro-averaged precision/recall/F1. 'tradable': the close of the day above the "
        "10:15 close (what a trade entered after the first hour earns); 'paper': the close "
        "above the day's first open (the paper's label; its first hour is inside the input).")
    say()
    for label, table in confusions.items():
        say(f"Confusion matrix, {label} label (rows true, columns predicted):")
        say()
        say("```")
        say(table.to_string())
        say("```")
        say()

    bt_bars = bars[bars.index >= decisions.frame.index[0]]
    results = backtests(bt_bars, decisions)
    logs = {name: build_trade_log(result, bt_bars, decisions if name == "gadf_cnn" else None,
                                  {}) for name, result in results.items()}
    table = comparison_table({name: summarize(r, logs[name]) for name, r in results.items()})
    rows = ["total_return", "sharpe", "max_drawdown", "trades", "hit_rate", "exposure",
            "costs_paid", "final_equity"]
    say(f"## Backtest, {bt_bars.index[0].date()} to {bt_bars.index[-1].date()} "
        "(costs: 5 bp commission + 2 bp slippage per side)")
    say()
    say("```")
    say(format_comparison(table.loc[rows], headline=False))
    say("```")
    say()
    say("gadf_cnn: long at the 10:16 open when P(up) >= 0.5, out at the open of the 15:30 bar. "
        "always_long: the same rule on every day. buy_and_hold: long from the first decision "
        "day to the end.")
    say()

    times = decision_times_of_fills(results["gadf_cnn"], decisions)
    started = time.perf_counter()
    explanations = model.explain(data, times)
    gradcam_seconds = time.perf_counter() - started
    started = time.perf_counter()
    model.predict(data)
    predict_seconds = time.perf_counter() - started
    figure_dir = args.out.parent / "figures"
    started = time.perf_counter()
    drawn = render_figure(explanations[0], figure_dir) if explanations else None
    figure_seconds = time.perf_counter() - started
    if drawn is not None:
        say(f"Example explanation ({drawn.decision_time:%Y-%m-%d}): {drawn.summary}")
        say(f"Figure: figures/{drawn.figure}")
        say()

    say(f"## Grad-CAM faithfulness (deletion test, k={K} of 60 minutes, all test days)")
    say()
    say("| conv block | days | mean abs change of P(up), top-k blanked | same, k random |")
    say("|---|---|---|---|")
    for layer in ("last", "first"):
        result = faithfulness(model, data, decisions, layer)
        say(f"| {layer} | {result.n} | {result.top_k_change:.4f} | "
            f"{result.random_change:.4f} |")
    say()
    say("Blanking = replacing the minutes' closes by the window mean and re-encoding.")
    say()

    say("## Timings (1 torch thread, shared 2-core machine)")
    say()
    say(f"- encode all {len(found.times)} first hours to {images.shape[1:]} images: "
        f"{encode * 1000:.0f} ms")
    say(f"- training: {len(model.folds_)} folds, {min(sizes)}-{max(sizes)} images each, "
        f"{fit_seconds:.1f} s in all, {fit_seconds / len(model.folds_):.1f} s per fold "
        f"(epochs run: {[m.epochs_run_ for m in model.models_]})")
    say(f"- inference, all folds over all {len(decisions)} test days: {predict_seconds:.2f} s "
        f"({predict_seconds / max(len(decisions), 1) * 1000:.1f} ms per day)")
    say(f"- Grad-CAM for {len(times)} trades: {gradcam_seconds:.2f} s "
        f"({gradcam_seconds / max(len(times), 1) * 1000:.0f} ms per trade); one 3-panel "
        f"figure: {figure_seconds * 1000:.0f} ms")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"\nwritten: {args.out}")


if __name__ == "__main__":
    main()
