"""Stream latency per signal: from a bar's arrival to its decision and explanation written.

Each case replays the last bars of its data through ``open_stream`` (the fold models of
the history are fitted first, from the model cache when there). For every bar the clock
starts when the source hands the bar over and stops when the decision's line is printed,
after the decision, its explanation and faithfulness record, the engine's book and the
journal writes. Bars without a decision of the signal (a GADF-CNN decides once a day)
are timed too and reported apart.

    python benchmarks/stream_latency.py [--bars 30] [--only gadf_cnn]

Targets (issue 26): under 1 s for the GADF-CNN on a minute bar, under 200 ms for the rule
and scikit-learn signals.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from xai_backtest import RuleSignal

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "nifty_minute"
TARGETS = {"gadf_cnn": 1.0, "rule": 0.2, "sklearn": 0.2, "ma_crossover": 0.2}

#: name -> (config file, overrides); embargo 1: each fold trains while the bar before
#: its first decision is traded (with 0, the first decision of a fold waits for a worker
#: interpreter to start and train, a few seconds: see ``waited`` in the stream's events)
CASES = {
    "rule": ("sp500_ma_crossover.yaml", {"signals": [
        {"kind": "stream_latency:OversoldRSI"}]}),
    "ma_crossover": ("sp500_ma_crossover.yaml", {}),
    "sklearn": ("sp500_ma_crossover.yaml", {"signals": [
        {"kind": "sklearn", "model": "sklearn.linear_model:LogisticRegression"}]}),
    "five_trend": ("sp500_five_trend.yaml", {"data.start": "2012-01-01"}),
    "gadf_cnn": ("nifty_gadf_cnn.yaml", {"data.path": str(SHARED),
                                         "walk_forward.retrain_every": 63}),
}
EMBARGO = {"walk_forward.embargo": 1}


class OversoldRSI(RuleSignal):
    """Long when the 14-day RSI is below 70, else short: a rule of past bars."""

    name = "rsi"

    def indicators(self, bars: pd.DataFrame) -> pd.DataFrame:
        change = bars["close"].diff()
        up = change.clip(lower=0).rolling(14).mean()
        down = (-change.clip(upper=0)).rolling(14).mean()
        return pd.DataFrame({"rsi": 100 - 100 / (1 + up / down)})

    def rule(self, values: pd.DataFrame) -> np.ndarray:
        return np.where(values["rsi"] > 70, -1, 1)


class Timed:
    """A source that notes when it handed over each bar."""

    def __init__(self, inner):
        self.inner, self.interval = inner, inner.interval
        self.handed: float | None = None

    @property
    def finished(self):
        return self.inner.finished

    def poll(self):
        events = self.inner.poll()
        self.handed = time.perf_counter()
        return events

    def history(self):
        return self.inner.history()


def measure(name: str, bars: int) -> dict[str, list[float]]:
    """Per streamed bar: seconds from hand-over to the line printed (bars the signal
    decided) or to the step written (the others), and the step's decide and book parts
    from the journal."""
    from xai_backtest.engine.config import load_config
    from xai_backtest.engine.stream.start import open_stream

    config_file, overrides = CASES[name]
    config = load_config(ROOT / "configs" / config_file,
                         {"tearsheet": False, "ensemble": None, **EMBARGO, **overrides})
    out: dict[str, list[float]] = {"decided": [], "quiet": []}
    with tempfile.TemporaryDirectory() as folder:
        stream = open_stream(config, "replay", bars=bars, folder=folder, echo=None)
        source = Timed(stream.source)
        stream.source = source
        lines: list[float] = []
        stream.echo = lambda line: lines.append(time.perf_counter())
        for _ in range(bars):
            lines.clear()
            stream.run(max_bars=1)
            handed = source.handed or time.perf_counter()
            if lines:
                out["decided"].append(lines[-1] - handed)
            else:
                out["quiet"].append(time.perf_counter() - handed)
        steps = stream.journal.frame("steps")
        out["decide"] = steps["decide_seconds"].dropna().tolist()
        out["book"] = steps["book_seconds"].dropna().tolist()
    return out


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.3f}" if values else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=10, help="daily bars per case; the "
                        "minute case streams 120 times as many (about 3 sessions at 10)")
    parser.add_argument("--only", choices=list(CASES))
    args = parser.parse_args()
    print("| signal | bars decided | decided bar: median / max (s) | other bars: median (s) "
          "| of which decide, book: median (s) | target (s) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in [args.only] if args.only else CASES:
        if name == "gadf_cnn" and not SHARED.is_dir():
            print(f"| {name} | skipped: {SHARED} not found | | | | |")
            continue
        got = measure(name, args.bars * (120 if name == "gadf_cnn" else 1))
        decided = got["decided"]
        worst = f"{max(decided):.3f}" if decided else "-"
        print(f"| {name} | {len(decided)} | {_median(decided)} / {worst} | "
              f"{_median(got['quiet'])} | {_median(got['decide'])}, {_median(got['book'])} | "
              f"{TARGETS.get(name, '-')} |", flush=True)


if __name__ == "__main__":
    main()
