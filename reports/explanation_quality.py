"""How true a signal's explanations are, and what drove its winning and losing trades.

``faithfulness_summary`` condenses the per-explanation measures (explainers/faithfulness.py)
of one signal into figures and a verdict in words. ``winners_and_losers`` compares the
explanations of a signal's winning and losing trades: the mean attribution per driver
(family and lag for features named ``"<family> @ t-<k>"``, the window step for Grad-CAM,
the word for text, else the feature), their difference with a permutation-test p-value,
and for each driver that most often led a trade, how those trades did. It describes the
backtest; it is not a new signal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from xai_backtest.explainers.base import Explanation
from xai_backtest.explainers.faithfulness import RANDOMISATION_FLAG
from xai_backtest.explainers.waterfall import group_totals

__all__ = ["FaithfulnessSummary", "WinnersAndLosers", "drivers", "faithfulness_summary",
           "winners_and_losers"]


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
        if ratio <= 1:
            head += (". On this data the explanations do not beat random inputs: read them as "
                     "unverified")
        sanity = (f"; a re-initialised model's explanations rank-correlate "
                  f"{self.randomisation_corr:.2f} with the trained model's on average")
        if self.flagged_share > 0:
            sanity += (f" ({self.flagged_share:.0%} above {RANDOMISATION_FLAG}: there the "
                       "explainer shows the input more than the model)")
        return head + sanity


def faithfulness_summary(signal: str, explanations: Sequence[Explanation]) -> FaithfulnessSummary:
    """Means over the deletion-tested explanations of ``signal`` (``explanations``: its own)."""
    scored = [e.faithfulness for e in explanations if e.faithfulness.get("kind") == "deletion"]
    exact = sum(e.faithfulness.get("kind") == "exact" for e in explanations)

    def mean(key: str) -> float:
        found = [r[key] for r in scored if r.get(key) is not None]
        return float(np.mean(found)) if found else float("nan")

    unit = _unit(explanations)
    return FaithfulnessSummary(
        signal=signal, explained=len(explanations), exact=exact, measured=len(scored),
        k=scored[0]["k"] if scored else None, top_k_change=mean("top_k_change"),
        random_change=mean("random_change"),
        better_share=float(np.mean([r["better_than_random"] for r in scored])) if scored else 0.0,
        randomisation_corr=mean("randomisation_corr"),
        flagged_share=(float(np.mean([bool(r.get("randomisation_flagged")) for r in scored]))
                       if scored else 0.0),
        infidelity=mean("infidelity"), unit=unit)


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
    return WinnersAndLosers(signal=signal, winners=int(won.sum()), losers=int((~won).sum()),
                            permutations=permutations, table=table, leaders=leaders)
