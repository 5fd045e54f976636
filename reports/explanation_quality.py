"""How true a signal's explanations are, and what drove its winning and losing trades.

``faithfulness_summary`` condenses the per-explanation measures (explainers/faithfulness.py)
of one signal into figures and a verdict in words: "faithful" only where the explanations'
top inputs move the prediction more than random inputs AND more than the inputs a
model-free ranking picks, the intervals of both differences from a block bootstrap by
fold (decisions of one fold share a model and overlapping windows, so they are resampled
together). ``winners_and_losers`` compares the
explanations of a signal's winning and losing trades: the mean attribution per driver
(family and lag for features named ``"<family> @ t-<k>"``, the window step for Grad-CAM,
the word for text, else the feature), their difference with a permutation-test p-value,
and for each driver that most often led a trade, how those trades did, in the unit of the
attributions (``attribution_unit``). It describes the backtest; it is not a new signal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from xai_backtest.explainers.base import Explanation
from xai_backtest.explainers.faithfulness import RANDOMISATION_FLAG
from xai_backtest.explainers.waterfall import group_totals

__all__ = ["FaithfulnessSummary", "WinnersAndLosers", "attribution_unit", "drivers",
           "faithfulness_summary", "fold_bootstrap", "winners_and_losers"]


@dataclass(frozen=True)
class FaithfulnessSummary:
    """The faithfulness of one signal's explanations in a run."""

    signal: str
    explained: int
    exact: int
    measured: int
    k: int | None
    top_k_change: float
    random_change: float
    better_share: float
    randomisation_corr: float
    flagged_share: float
    infidelity: float
    unit: str
    #: mean change when the same k inputs are picked by a model-free ranking (NaN: none)
    model_free_change: float = float("nan")
    #: share of the scored explanations that beat the model-free ranking
    beats_model_free_share: float = 0.0
    #: share that beat both random and the model-free ranking
    faithful_share: float = 0.0
    #: the model-free ranking's name
    model_free: str | None = None
    #: 95% block-bootstrap (by fold) intervals of mean(top-k - random) and
    #: mean(top-k - model-free); None with fewer than two folds
    random_interval: tuple[float, float] | None = None
    model_free_interval: tuple[float, float] | None = None
    folds: int = 0

    @property
    def faithful(self) -> bool | None:
        """Beats random and the model-free ranking on average, and (with two folds or more)
        both block-bootstrap intervals lie above 0; None: no model-free ranking measured."""
        if self.measured == 0 or np.isnan(self.model_free_change):
            return None
        means = (self.top_k_change > self.random_change
                 and self.top_k_change > self.model_free_change)
        intervals = [i for i in (self.random_interval, self.model_free_interval)
                     if i is not None]
        return bool(means and all(low > 0 for low, _ in intervals))

    @property
    def sentence(self) -> str:
        """The verdict in words, e.g. "blanking the top 6 minutes moved P(up) 2.1x as much
        as 6 random minutes; better than random in 71% of the 136 explained decisions"."""
        if self.measured == 0:
            if self.exact and self.exact == self.explained:
                return (f"all {self.exact} explanations are exact: the decision is the sum or "
                        "rule they show, so there is nothing to score")
            return "faithfulness was not measured for this signal's explanations"
        ratio = self.top_k_change / self.random_change if self.random_change > 0 else np.inf
        verb = {"words": "removing", "inputs": "replacing"}.get(self.unit, "blanking")
        head = (f"{verb} the top {self.k} "
                f"{self.unit} moved the predicted class's probability {ratio:.1f}x as much as "
                f"{self.k} random {self.unit}; better than random in {self.better_share:.0%} of "
                f"the {self.measured} explained decisions")
        if self.random_interval is not None:
            low, high = self.random_interval
            head += (f" (top-k minus random {self.top_k_change - self.random_change:+.4f}, "
                     f"95% CI [{low:+.4f}, {high:+.4f}] by fold)")
        if not np.isnan(self.model_free_change):
            free = (self.top_k_change / self.model_free_change if self.model_free_change > 0
                    else np.inf)
            head += (f"; {free:.1f}x as much as the {self.k} {self.unit} a model-free ranking "
                     f"picks ({self.model_free}); better than both in "
                     f"{self.faithful_share:.0%}")
            if self.model_free_interval is not None:
                low, high = self.model_free_interval
                head += (f" (top-k minus model-free "
                         f"{self.top_k_change - self.model_free_change:+.4f}, 95% CI "
                         f"[{low:+.4f}, {high:+.4f}] by fold over {self.folds} folds)")
            if self.faithful:
                head += ". Faithful: the explanations name inputs the model uses, beyond what "
                head += "merely moves the input"
            elif ratio > 1:
                head += (". Not faithful: they beat random inputs but not a ranking that "
                         "ignores the model, so they may show what moves the input rather than "
                         "what the model uses")
            else:
                head += ". Not faithful: they do not beat random inputs; read them as unverified"
        elif ratio <= 1:
            head += (". On this data the explanations do not beat random inputs: read them as "
                     "unverified")
        if np.isnan(self.randomisation_corr):
            return head
        sanity = (f"; a re-initialised model's explanations rank-correlate "
                  f"{self.randomisation_corr:.2f} with the trained model's on average")
        if self.flagged_share > 0:
            sanity += (f" ({self.flagged_share:.0%} above {RANDOMISATION_FLAG}: there the "
                       "explainer shows the input more than the model)")
        return head + sanity


def fold_bootstrap(values: np.ndarray, folds: Sequence[object], draws: int = 2000,
                   seed: int = 0) -> tuple[float, float] | None:
    """95% percentile interval of the mean of ``values`` by a block bootstrap whose blocks
    are the folds (all decisions of a resampled fold together); None with fewer than two
    folds. Seeded: the same explanations give the same interval."""
    values = np.asarray(values, dtype=np.float64)
    keys = pd.Index([str(f) for f in folds])
    codes, names = pd.factorize(keys)
    if len(names) < 2 or not len(values):
        return None
    sums = np.bincount(codes, weights=values, minlength=len(names))
    counts = np.bincount(codes, minlength=len(names)).astype(np.float64)
    picks = np.random.default_rng(seed).integers(0, len(names), (draws, len(names)))
    means = sums[picks].sum(axis=1) / counts[picks].sum(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def faithfulness_summary(signal: str, explanations: Sequence[Explanation]) -> FaithfulnessSummary:
    """Means over the deletion-tested explanations of ``signal`` (``explanations``: its own)."""
    tested = [e for e in explanations if e.faithfulness.get("kind") == "deletion"]
    scored = [e.faithfulness for e in tested]
    exact = sum(e.faithfulness.get("kind") == "exact" for e in explanations)

    def mean(key: str) -> float:
        found = [r[key] for r in scored if r.get(key) is not None]
        return float(np.mean(found)) if found else float("nan")

    unit = _unit(explanations)
    folds = [e.fold for e in tested]
    top = np.array([r["top_k_change"] for r in scored])
    random_interval = fold_bootstrap(top - np.array([r["random_change"] for r in scored]),
                                     folds)
    free = [(t, r["model_free_change"], f) for t, r, f in zip(top, scored, folds, strict=True)
            if r.get("model_free_change") is not None]
    free_interval = (fold_bootstrap(np.array([t - m for t, m, _ in free]),
                                    [f for _, _, f in free]) if free else None)
    names = {str(r["model_free"]) for r in scored if r.get("model_free")}
    return FaithfulnessSummary(
        signal=signal, explained=len(explanations), exact=exact, measured=len(scored),
        k=scored[0]["k"] if scored else None, top_k_change=mean("top_k_change"),
        random_change=mean("random_change"),
        better_share=float(np.mean([r["better_than_random"] for r in scored])) if scored else 0.0,
        randomisation_corr=mean("randomisation_corr"),
        flagged_share=(float(np.mean([bool(r.get("randomisation_flagged")) for r in scored]))
                       if scored else 0.0),
        infidelity=mean("infidelity"), unit=unit,
        model_free_change=mean("model_free_change"),
        beats_model_free_share=(float(np.mean([bool(r.get("beats_model_free")) for r in scored]))
                                if scored else 0.0),
        faithful_share=(float(np.mean([bool(r.get("faithful")) for r in scored]))
                        if scored else 0.0),
        model_free=", ".join(sorted(names)) or None, random_interval=random_interval,
        model_free_interval=free_interval, folds=len({str(f) for f in folds}))


def _unit(explanations: Sequence[Explanation]) -> str:
    methods = {e.method for e in explanations}
    if methods == {"lime_text"}:
        return "words"
    if methods == {"gradcam"}:
        names = explanations[0].feature_names
        return "minutes" if ":" in names[0] else "days"
    return "inputs"


def drivers(explanation: Explanation) -> dict[str, float]:
    """Driver -> attribution towards the decision: family and lag totals (``"family:
    rsi_5"``, ``"lag: t-3"``) for ``"<family> @ <lag>"`` features, the step's place in the
    window (``"t-19"`` .. ``"t"``) for Grad-CAM over daily windows, words (summed, lower
    case) for text, else each feature."""
    groups = group_totals(explanation)
    if groups:
        return {f"{kind}: {name}": value for kind, totals in groups.items()
                for name, value in totals.items()}
    if explanation.method == "gradcam" and ":" not in explanation.feature_names[0]:
        w = len(explanation.values)
        return {("t" if i == w - 1 else f"t-{w - 1 - i}"): float(v)
                for i, v in enumerate(explanation.values)}
    out: dict[str, float] = {}
    lower = explanation.method == "lime_text"
    for name, value in zip(explanation.feature_names, explanation.values, strict=True):
        key = name.lower() if lower else name
        out[key] = out.get(key, 0.0) + float(value)
    return out


@dataclass(frozen=True)
class WinnersAndLosers:
    """``table``: per driver the mean attribution among winning and losing trades, the
    difference and its permutation p-value; ``leaders``: per driver that led at least
    ``min_led`` trades (largest attribution towards the decision; of the families, where
    drivers are families and lags), the trades it led, their hit rate and mean return."""

    signal: str
    winners: int
    losers: int
    permutations: int
    table: pd.DataFrame
    leaders: pd.DataFrame
    #: what the attributions are measured in (``attribution_unit``)
    unit: str = ""


def winners_and_losers(signal: str, trades: pd.DataFrame,
                       explanations: Mapping[str, Explanation], permutations: int = 2000,
                       min_led: int = 3, seed: int = 0) -> WinnersAndLosers | None:
    """Compare the entry explanations of ``signal``'s closed trades that made money with
    those that lost it (None when there are not at least two of each)."""
    mine = trades[(trades["strategy"] == signal) & (trades["status"] == "closed")]
    rows = [(t.net_pnl, t.return_pct, drivers(explanations[t.entry_explanation_id]))
            for t in mine.itertuples() if t.entry_explanation_id in explanations]
    won = np.array([pnl > 0 for pnl, _, _ in rows])
    if won.sum() < 2 or (~won).sum() < 2:
        return None
    frame = pd.DataFrame([d for _, _, d in rows]).fillna(0.0)
    values = frame.to_numpy()
    gap = values[won].mean(axis=0) - values[~won].mean(axis=0)
    rng = np.random.default_rng(seed)
    shuffled = np.array([rng.permutation(won) for _ in range(permutations)])  # (P, n)
    w = shuffled.sum(axis=1, keepdims=True)
    null = (shuffled @ values) / w - ((~shuffled) @ values) / (len(won) - w)
    p = (1 + (np.abs(null) >= np.abs(gap) - 1e-12).sum(axis=0)) / (permutations + 1)
    table = pd.DataFrame({"winners": values[won].mean(axis=0),
                          "losers": values[~won].mean(axis=0), "difference": gap,
                          "p_value": p}, index=frame.columns)
    table = table.reindex(table["difference"].abs().sort_values(ascending=False).index)
    families = [c for c in frame.columns if c.startswith("family: ")]
    leading = frame[families] if families else frame  # a family leads, not a lag
    lead = leading.columns[leading.to_numpy().argmax(axis=1)]
    returns = np.array([r for _, r, _ in rows])
    leaders = (pd.DataFrame({"driver": lead, "won": won, "return": returns})
               .groupby("driver").agg(trades_led=("won", "size"), hit_rate=("won", "mean"),
                                      mean_return=("return", "mean")))
    leaders = leaders[leaders["trades_led"] >= min_led].sort_values("trades_led",
                                                                    ascending=False)
    unit = attribution_unit([explanations[t.entry_explanation_id] for t in mine.itertuples()
                             if t.entry_explanation_id in explanations])
    return WinnersAndLosers(signal=signal, winners=int(won.sum()), losers=int((~won).sum()),
                            permutations=permutations, table=table, leaders=leaders, unit=unit)


def attribution_unit(explanations: Sequence[Explanation]) -> str:
    """What the values of ``explanations`` are measured in, in words (one method and space;
    "mixed units" when they differ)."""
    kinds = {(e.method, e.space) for e in explanations}
    if len(kinds) != 1:
        return "mixed units" if kinds else ""
    method, space = kinds.pop()
    if method == "shap":
        return f"SHAP, {space or 'model output'}" + (" units" if space == "logit" else "")
    return _UNITS.get(method, f"{method} value")


_UNITS = {"gradcam": "Grad-CAM importance, 0-1",
          "lime_text": "LIME weight on the day's P(decision)",
          "lime_tabular": "LIME weight on P(class)", "occlusion": "change of P(class)",
          "rule": "the rule's own values"}
