"""How true the explanations of each signal are, per data set, and what measuring them costs.

Runs the replication configs (NIFTY minute GADF-CNN, S&P 500 daily GADF-CNN and five-trend
DNN, Sensex and NYT news LSTM) with faithfulness on, and summarises the measures every
explained trade decision carries (explainers/faithfulness.py):

- the deletion test: mean change of the predicted class's probability for the top-k
  inputs vs k random inputs (8 seeded draws) and vs the k inputs a model-free ranking
  picks, the paired differences with 95% intervals from a block bootstrap by fold, and
  the share of decisions where the top-k moved it more than random, and than both
  ("faithful");
- captum's infidelity and sensitivity_max (torch inputs only: not for text);
- the rank correlation with a re-initialised model's explanation, and the share flagged;
- LIME seed stability: the mean pairwise rank correlation of LIME weights over 5 seeds,
  on up to 20 explained decisions (five-trend and news);
- SHAP additivity: the largest gap between the SHAP sum and the explained logit.

Then a remove-and-retrain check (ROAR, Hooker et al. 2019) on one data set, the S&P 500
daily GADF-CNN: the top 10% and 30% of each window's days by Grad-CAM, by the model-free
ranking and at random are set to the window mean (re-encoded over the original min and
max) in training and test windows, the network retrained from scratch, and the test
accuracy lost compared: it separates what the model needs from what merely moves the
input. Then the cost: the default run, cold (fresh caches), with faithfulness off and on,
side by side. Writes benchmarks/results/faithfulness.md (``--roar-only``: only the ROAR
section of it is replaced).

    python benchmarks/faithfulness.py [--data ../shared/data] [--skip-cost] [--roar-only]
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from xai_backtest.engine.config import load_config
from xai_backtest.engine.runner import RunResult, run_backtest
from xai_backtest.explainers.faithfulness import randomisation_correlation, sensitivity
from xai_backtest.explainers.lime_text import word_weights_on
from xai_backtest.reports.explanation_quality import fold_bootstrap

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "faithfulness.md"
RUNS = {  # data set -> config file, signal
    "NIFTY 50 minute (first hour)": ("nifty_gadf_cnn.yaml", "gadf_cnn"),
    "S&P 500 daily (20 closes)": ("sp500_gadf_daily.yaml", "gadf_cnn"),
    "S&P 500 daily (270 inputs)": ("sp500_five_trend.yaml", "five_trend"),
    "Sensex headlines": ("sensex_news_lstm.yaml", "news_lstm"),
    "NYT headlines vs S&P 500": ("nyt_sp500_news_lstm.yaml", "news_lstm"),
}
SEEDS = range(5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--skip-cost", action="store_true")
    parser.add_argument("--only", nargs="*", default=None,
                        help="run only these data sets (substrings of their names)")
    parser.add_argument("--skip-roar", action="store_true")
    parser.add_argument("--roar-only", action="store_true",
                        help="run only ROAR and replace its section of the results file")
    args = parser.parse_args()
    if args.roar_only:
        text = OUT.read_text()
        head = text.split(ROAR_HEADING)[0].rstrip("\n")
        tail = text.split(ROAR_HEADING)[1].split("\n## ", 1) if ROAR_HEADING in text else []
        rest = f"\n## {tail[1]}" if len(tail) == 2 else ""
        OUT.write_text(f"{head}\n\n{roar_markdown(roar())}{rest}")
        print(f"wrote {OUT}")
        return
    rows = []
    with tempfile.TemporaryDirectory() as out:
        for dataset, (config_file, signal) in RUNS.items():
            if args.only and not any(o.lower() in dataset.lower() for o in args.only):
                continue
            overrides = {"output_dir": out, "tearsheet": False,
                         "cache_dir": str(ROOT / ".cache")}
            config = load_config(ROOT / "configs" / config_file, overrides)
            path = getattr(config.data, "path", None)
            if path:
                config = load_config(ROOT / "configs" / config_file, {
                    **overrides, "data.path": str(args.data / Path(path).name)})
            started = time.perf_counter()
            result = run_backtest(config, progress=False)
            row = summarise(dataset, signal, result)
            print(f"{dataset}: {row} ({time.perf_counter() - started:.0f} s)", flush=True)
            rows.append(row)
        cost = [] if args.skip_cost else measure_cost(Path(out))
    found = None if args.skip_roar else roar()
    OUT.write_text(markdown(rows, cost, found))
    print(f"wrote {OUT}")


def summarise(dataset: str, signal: str, result: RunResult) -> dict[str, object]:
    """The table row of ``signal``'s explanations in ``result``."""
    mine = [e for e in result.explanations.values() if e.signal == signal]
    tested = [e for e in mine if e.faithfulness.get("kind") == "deletion"]
    scored = [e.faithfulness for e in tested]
    folds = [e.fold for e in tested]
    top = np.array([r["top_k_change"] for r in scored])
    random = np.array([r["random_change"] for r in scored])
    free = np.array([np.nan if r.get("model_free_change") is None else r["model_free_change"]
                     for r in scored])
    gap = top - random
    low, high = fold_bootstrap(gap, folds) or (np.nan, np.nan)
    free_gap = top - free
    free_low, free_high = fold_bootstrap(free_gap, folds) or (np.nan, np.nan)
    rho = np.array([r["randomisation_corr"] for r in scored
                    if r.get("randomisation_corr") is not None])
    infidelity = [r["infidelity"] for r in scored if "infidelity" in r]
    additivity = [r["additivity_error"] for r in scored if "additivity_error" in r]
    return {"data": dataset, "signal": signal, "method": mine[0].method, "n": len(scored),
            "k": scored[0]["k"], "top": top.mean(), "random": random.mean(),
            "gap": gap.mean(), "low": low, "high": high,
            "better": float(np.mean(gap > 0)), "folds": len(set(folds)),
            "model_free": scored[0].get("model_free"), "free": free.mean(),
            "free_gap": free_gap.mean(), "free_low": free_low, "free_high": free_high,
            "faithful": float(np.mean([bool(r.get("faithful")) for r in scored])),
            "infidelity": float(np.mean(infidelity)) if infidelity else None,
            "rho": float(np.nanmean(rho)), "flagged": float(np.mean(rho > 0.5)),
            "lime_stability": lime_stability(result, signal, mine),
            "sensitivity": explanation_sensitivity(result, signal, mine),
            "additivity": max(additivity) if additivity else None}


def lime_stability(result: RunResult, signal: str, explanations: list) -> float | None:
    """Mean pairwise Spearman correlation of LIME weights across ``SEEDS``, over up to 20
    explained decisions, each re-explained by its own fold model."""
    if signal not in ("five_trend", "news_lstm"):
        return None
    fold_models = result.signals[signal].fold_models()
    correlations = []
    for e in explanations[:20]:
        model = fold_models[e.fold]
        original = model.seed
        weights = []
        for seed in SEEDS:
            model.seed = seed
            if signal == "five_trend":
                target = model.classes_.index(e.prediction)
                weights.append(model._lime(model.scale(e.data[None])[0], target).weights)
            else:
                first = e.texts[int(e.raw["lime_headline"][0])]
                found = model._lime(first)
                weights.append(word_weights_on(first, found.words, found.weights))
        model.seed = original
        for a, b in itertools.combinations(weights, 2):
            correlations.append(float(randomisation_correlation(a, b)[0]))
    return float(np.nanmean(correlations))


def explanation_sensitivity(result: RunResult, signal: str,
                            explanations: list) -> float | None:
    """Mean of captum's sensitivity_max (radius 0.1 on standardised inputs, 10 samples) over
    up to 50 explained decisions, each re-explained by its own fold model."""
    import torch

    from xai_backtest.explainers.gradcam import gradcam_heatmaps, time_importance
    from xai_backtest.explainers.shap_explainer import deep_shap_of_classes

    if signal not in ("five_trend", "gadf_cnn"):
        return None
    fold_models = result.signals[signal].fold_models()
    torch.manual_seed(0)
    found = []
    sample = explanations[:50]
    for fold in sorted({e.fold for e in sample}):
        mine = [e for e in sample if e.fold == fold]
        model = fold_models[fold]
        if signal == "five_trend":
            rows = model.scale(np.stack([e.data for e in mine]))
            classes = np.array([model.classes_.index(e.prediction) for e in mine])

            def explain(x: np.ndarray, c: np.ndarray, model=model) -> np.ndarray:
                return deep_shap_of_classes(model.net_, model.background_, x, c)
        else:
            closes = np.stack([e.data for e in mine])
            rows = (closes - closes.mean(axis=1, keepdims=True)) / closes.std(axis=1,
                                                                             keepdims=True)
            classes = np.array([int(e.prediction == "up") for e in mine])

            def explain(x: np.ndarray, c: np.ndarray, model=model) -> np.ndarray:
                return time_importance(gradcam_heatmaps(model._net, model.images(x), c,
                                                        model.cam_layer, model.cam_method))
        found.append(sensitivity(explain, rows, classes, radius=0.1))
    return float(np.mean(np.concatenate(found)))


ROAR_HEADING = "## Remove and retrain (ROAR)"
ROAR_SHARES = (0.1, 0.3)
ROAR_SEEDS = range(3)


def roar() -> list[dict[str, object]]:
    """ROAR on the S&P 500 daily GADF-CNN (config sp500_gadf_daily.yaml's network): one
    split in time, the first 70% of labelled windows to train (its last 20% to stop early),
    the rest to test; per removal share and ranking, the test accuracy of a network
    retrained from scratch on windows with those days removed, over ``ROAR_SEEDS``."""
    import torch

    from xai_backtest.data_feeds.market_data import MarketData
    from xai_backtest.data_feeds.samples import load_sample_bars
    from xai_backtest.explainers.gradcam import gradcam_heatmaps, time_importance
    from xai_backtest.signals._gadf_net import build_net, predict_proba, train_net
    from xai_backtest.signals.gadf_cnn import GADFCNN

    config = load_config(ROOT / "configs" / "sp500_gadf_daily.yaml", {})
    params = {k: v for k, v in config.signals[0].model_dump().items()
              if k in ("frequency", "window", "label", "filters", "epochs", "patience")}
    signal = GADFCNN(**params, seed=0)
    data = MarketData(load_sample_bars("sp500"))
    found = signal.windows(data)
    truth, _ = signal._truth(data.bars, found)
    known = truth >= 0
    closes, labels = found.closes[known], truth[known]
    cut = int(0.7 * len(closes))
    bounds = np.column_stack([closes.min(axis=1), closes.max(axis=1)])

    def fit(windows: np.ndarray, seed: int) -> object:
        images = signal.images(windows[:cut], bounds[:cut])
        torch.manual_seed(seed)
        net = build_net(signal.architecture, images.shape[1], signal.filters, signal.dropout)
        train_net(net, images, labels[:cut], valid=int(0.2 * cut), epochs=signal.epochs,
                  batch_size=signal.batch_size, learning_rate=signal.learning_rate,
                  weight_decay=signal.weight_decay, patience=signal.patience, seed=seed)
        return net

    def accuracy(net: object, windows: np.ndarray) -> float:
        p_up = predict_proba(net, signal.images(windows[cut:], bounds[cut:]))
        return float(np.mean((p_up >= 0.5) == labels[cut:]))

    base = [fit(closes, seed) for seed in ROAR_SEEDS]
    rows: list[dict[str, object]] = [{"ranking": "none (all days kept)", "share": 0.0, "k": 0,
                                      "accuracy": [accuracy(n, closes) for n in base]}]
    images = signal.images(closes)
    classes = (predict_proba(base[0], images) >= 0.5).astype(int)
    cam = time_importance(gradcam_heatmaps(base[0], images, classes, signal.cam_layer,
                                           signal.cam_method))
    mean = closes.mean(axis=1, keepdims=True)
    free = signal.model_free_ranking([], closes, mean)
    rankings = {"Grad-CAM of the trained network": cam, "model-free (extremes first)": free,
                "random": np.random.default_rng(0).random(closes.shape)}
    for share in ROAR_SHARES:
        k = max(1, round(share * closes.shape[1]))
        for name, score in rankings.items():
            picks = np.argsort(-score, axis=1, kind="stable")[:, :k]
            removed = closes.copy()
            rows_at = np.arange(len(closes))[:, None]
            removed[rows_at, picks] = np.broadcast_to(mean, closes.shape)[rows_at, picks]
            found_acc = [accuracy(fit(removed, seed), removed) for seed in ROAR_SEEDS]
            rows.append({"ranking": name, "share": share, "k": k, "accuracy": found_acc})
            print(f"ROAR {share:.0%} {name}: {np.mean(found_acc):.4f}", flush=True)
    rows.append({"ranking": "majority class of the test windows", "share": None, "k": None,
                 "accuracy": [float(max(labels[cut:].mean(), 1 - labels[cut:].mean()))]})
    for row in rows:
        row["train"], row["test"] = cut, len(closes) - cut
    return rows


def roar_markdown(rows: list[dict[str, object]]) -> str:
    lines = [ROAR_HEADING, "",
             f"S&P 500 daily GADF-CNN (sp500_gadf_daily.yaml's network, 20 closes), one split in "
             f"time: {rows[0]['train']} windows to train (the last 20% of them to stop early), "
             f"the following {rows[0]['test']} to test. Each ranking's top days of every "
             "window (train and test) are set to the window mean and re-encoded over the "
             "original min and max; the network is retrained from scratch with seeds "
             f"{', '.join(str(s) for s in ROAR_SEEDS)}. Grad-CAM is that of the network "
             "trained on all days (seed 0). A ranking that names what the model needs costs "
             "more accuracy than random removal.", "",
             "| removed | ranking | test accuracy (mean over seeds) | per seed |",
             "| --- | --- | ---: | --- |"]
    for r in rows:
        acc = np.asarray(r["accuracy"])
        share = "-" if r["share"] is None else (
            "0" if not r["share"] else f"{r['share']:.0%} ({r['k']} days)")
        lines.append(f"| {share} | {r['ranking']} | {acc.mean():.4f} | "
                     f"{', '.join(f'{a:.4f}' for a in acc)} |")
    return "\n".join(lines) + "\n"


def measure_cost(out: Path) -> list[dict[str, object]]:
    """The default run, cold, with faithfulness off and on."""
    rows = []
    for on in (False, True):
        with tempfile.TemporaryDirectory() as cache:
            config = load_config(ROOT / "configs" / "default.yaml", {
                "output_dir": str(out), "cache_dir": cache, "faithfulness": on})
            result = run_backtest(config, progress=False)
        status = json.loads((result.folder / "run.json").read_text())
        rows.append({"faithfulness": on, "seconds": status["seconds"],
                     "per_signal": status["faithfulness_seconds"],
                     "explain": {k: v for k, v in status["stages"].items()
                                 if k.startswith("explain")}})
        print(f"default run, faithfulness {on}: {status['seconds']:.1f} s", flush=True)
    return rows


def _f(value: object, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _verdict(r: dict[str, object]) -> str:
    """faithful: both intervals above 0; else what it beats."""
    beats_random = r["low"] > 0  # type: ignore[operator]
    beats_free = r["free_low"] > 0  # type: ignore[operator]
    if beats_random and beats_free:
        return "faithful"
    if beats_random:
        return "beats random only: not faithful"
    return "not faithful"


def markdown(rows: list[dict[str, object]], cost: list[dict[str, object]],
             roar_rows: list[dict[str, object]] | None = None) -> str:
    lines = [
        "# Faithfulness of the explanations",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} by `python benchmarks/faithfulness.py` on a "
        "2-core CPU, over every explained trade decision of each replication config (the "
        "decisions that caused fills, each explained by the fold model that made it).",
        "",
        "Deletion test: the top-k inputs of each explanation (10% of the window or inputs; 3 "
        "words for headlines) are replaced by a baseline (window mean for Grad-CAM, the fold's "
        "training mean for the DNN, removed for words) and the change of the predicted "
        "class's probability is compared with the mean of 8 seeded draws of k random inputs "
        "and with the k inputs a model-free ranking picks (Grad-CAM: the window's min and max, "
        "then the steps farthest from its mean; SHAP: largest |x - baseline|; headlines: the "
        "longest words). A GADF window with deleted steps is re-encoded over the original "
        "window's min and max. An explanation is faithful only if it beats both; intervals "
        "are 95% percentile intervals of a block bootstrap by fold (2000 draws), decisions "
        "of one fold resampled together. "
        "Randomisation: Spearman correlation of |attributions| with those of a "
        "re-initialised model (flagged above 0.5). Infidelity: captum, attributions rescaled "
        "optimally, 10 Gaussian perturbations of sd 0.1 (standardised inputs); lower is "
        "better. Sensitivity: captum's sensitivity_max, the largest relative change of the "
        "explanation over 10 uniform perturbations of radius 0.1 (standardised inputs), on "
        "up to 50 decisions; lower is steadier. LIME stability: mean pairwise Spearman "
        "correlation over 5 seeds.",
        "",
        "| data | signal (explainer) | n (folds) | k | top-k change | random-k change | "
        "model-free-k change | top - random [95% CI] | top - model-free [95% CI] | "
        "better than random | faithful (beats both) | verdict | infidelity | sensitivity | "
        "randomisation corr | flagged | LIME seed stability | SHAP additivity max error |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: | --- | ---: "
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['data']} | {r['signal']} ({r['method']}) | {r['n']} ({r['folds']}) | "
            f"{r['k']} | {_f(r['top'])} | {_f(r['random'])} | {_f(r['free'])} | "
            f"{r['gap']:+.4f} [{r['low']:+.4f}, {r['high']:+.4f}] | "
            f"{r['free_gap']:+.4f} [{r['free_low']:+.4f}, {r['free_high']:+.4f}] | "
            f"{r['better']:.0%} | {r['faithful']:.0%} | {_verdict(r)} | "
            f"{_f(r['infidelity'], 5)} | "
            f"{_f(r['sensitivity'], 3)} | "
            f"{_f(r['rho'], 2)} | {r['flagged']:.0%} | {_f(r['lime_stability'], 2)} | "
            f"{'-' if r['additivity'] is None else format(r['additivity'], '.1e')} |")
    lines += ["", "The Grad-CAM method and layer comparison is in "
              "[gradcam_variants.md](gradcam_variants.md).", ""]
    if roar_rows:
        lines += [roar_markdown(roar_rows)]
    if cost:
        off, on = cost
        lines += ["## Cost on the default run (cold caches)", "",
                  "| faithfulness | run seconds | measuring, per signal (s) |",
                  "| --- | ---: | --- |"]
        for row in cost:
            per = ", ".join(f"{k} {v:.2f}" for k, v in row["per_signal"].items())
            lines.append(f"| {'on' if row['faithfulness'] else 'off'} | "
                         f"{row['seconds']:.1f} | {per} |")
        added = on["seconds"] - off["seconds"]
        work = sum(on["per_signal"].values())
        lines += ["", f"Measuring is {work:.1f} s of in-run work, {work / off['seconds']:.0%} of "
                  f"the run without it (the budget is 25%). The whole-run difference is "
                  f"{added:+.1f} s ({added / off['seconds']:+.0%}), smaller because both runs "
                  "share one process and the second starts with its libraries imported.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
