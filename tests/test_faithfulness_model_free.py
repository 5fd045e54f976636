"""The deletion test against a model-free ranking (issue 24, item 1): planted models where
the model-free ranking beats random but not the model's own ranking (faithful), and where
it beats both (not faithful), each with its verdict; GADF re-encoding on the original
window's scale."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from xai_backtest.explainers.base import Explanation
from xai_backtest.explainers.faithfulness import ranked_change, verdict
from xai_backtest.explainers.measured import DeletionWords, MeasuredSignal
from xai_backtest.reports.explanation_quality import faithfulness_summary, fold_bootstrap
from xai_backtest.signals.gadf import gadf

D = 10


class Planted(MeasuredSignal):
    """P(up) = sigmoid(weights . x); deleted inputs become 0 (their mean)."""

    name = "planted"
    classes_ = ("down", "up")
    seed = 0

    def __init__(self, weights: np.ndarray) -> None:
        self.weights = weights

    def check_fitted(self) -> None:
        pass

    def deletion_words(self) -> DeletionWords:
        return DeletionWords("zero, {k} inputs")

    def faithfulness_inputs(self, explanations: Sequence[Explanation]) -> np.ndarray:
        return np.stack([np.asarray(e.data) for e in explanations])

    def deletion_baseline(self, rows: np.ndarray) -> np.ndarray:
        return np.zeros(rows.shape[1])

    def class_probabilities(self, rows: np.ndarray) -> np.ndarray:
        p_up = 1 / (1 + np.exp(-rows @ self.weights))
        return np.column_stack([1 - p_up, p_up])


def _explained(model: Planted, rows: np.ndarray, values: np.ndarray) -> list[Explanation]:
    p_up = model.class_probabilities(rows)[:, 1]
    return [Explanation(method="planted", signal="planted",
                        decision_time=pd.Timestamp("2020-01-01", tz="UTC") + pd.Timedelta(days=i),
                        prediction="up" if p >= 0.5 else "down",
                        probability=float(max(p, 1 - p)), base_value=0.0, values=v,
                        feature_names=tuple(f"x{j}" for j in range(D)), data=x,
                        summary="planted.", fold=i // 25)
            for i, (x, v, p) in enumerate(zip(rows, values, p_up, strict=True))]


def _rows(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(200, D))


def test_a_model_free_ranking_that_beats_random_but_not_the_model_ranking_is_faithful():
    """The model weighs input 0 four times the others: |x| alone (model-free) picks inputs
    that move it more than random ones, but |w x| (the exact attribution) picks better."""
    weights = np.array([2.0] + [0.5] * (D - 1))
    model = Planted(weights)
    rows = _rows(0)
    measured = model.measure(_explained(model, rows, weights * rows))
    records = [e.faithfulness for e in measured]
    top = np.mean([r["top_k_change"] for r in records])
    random = np.mean([r["random_change"] for r in records])
    free = np.mean([r["model_free_change"] for r in records])
    print(f"planted faithful: top {top:.4f}, model-free {free:.4f}, random {random:.4f}")
    assert random < free < top  # the model-free ranking beats random, not the model's own
    assert records[0]["model_free"] == "largest |x - baseline| first"
    # a decision where both rankings pick the same input is a tie, not a win
    beaten = np.mean([r["model_free_change"] > r["top_k_change"] for r in records])
    print(f"faithful share {np.mean([r['faithful'] for r in records]):.0%}, model-free "
          f"better {beaten:.0%}")
    assert np.mean([r["faithful"] for r in records]) > 0.5 and beaten < 0.05
    summary = faithfulness_summary("planted", measured)
    assert summary.faithful is True
    assert summary.model_free_interval is not None and summary.model_free_interval[0] > 0
    assert "Faithful: the explanations name inputs the model uses" in summary.sentence
    good = next(r for r in records if r["faithful"])
    assert verdict(good).startswith("better than random and a model-free ranking: faithful")
    faithful_one = next(e for e in measured if e.faithfulness["faithful"])
    assert "more than the 1 inputs a model-free ranking picks" in faithful_one.summary


def test_a_model_free_ranking_that_beats_both_makes_the_explanation_not_faithful():
    """Every input weighs the same, and the explanation is |x| blurred by noise: it beats
    random (it leans to the inputs that moved most) but the model-free |x| ranking beats it,
    so it is not faithful: it shows how far the input moved, not what the model used."""
    weights = np.full(D, 0.5)
    model = Planted(weights)
    rows = _rows(1)
    noisy = weights * rows + np.random.default_rng(2).normal(0, 0.4, rows.shape)
    measured = model.measure(_explained(model, rows, noisy))
    records = [e.faithfulness for e in measured]
    top = np.mean([r["top_k_change"] for r in records])
    random = np.mean([r["random_change"] for r in records])
    free = np.mean([r["model_free_change"] for r in records])
    print(f"planted not faithful: top {top:.4f}, model-free {free:.4f}, random {random:.4f}")
    assert random < top < free  # beats random, but the model-free ranking beats both
    assert np.mean([r["better_than_random"] for r in records]) > 0.6
    beaten = np.mean([r["model_free_change"] > r["top_k_change"] for r in records])
    print(f"faithful share {np.mean([r['faithful'] for r in records]):.0%}, model-free "
          f"better {beaten:.0%}")
    assert np.mean([r["faithful"] for r in records]) < 0.5
    summary = faithfulness_summary("planted", measured)
    assert summary.faithful is False
    assert "Not faithful: they beat random inputs but not a ranking" in summary.sentence
    bad = next(r for r in records if r["better_than_random"] and not r["beats_model_free"])
    assert verdict(bad).startswith("better than random but no better than a model-free")


def test_new_fields_leave_the_old_ones_unchanged():
    weights = np.array([2.0] + [0.5] * (D - 1))
    model = Planted(weights)
    rows = _rows(0)[:20]
    measured = model.measure(_explained(model, rows, weights * rows))
    from xai_backtest.explainers.faithfulness import deletion_changes

    top, random = deletion_changes(rows, weights * rows, np.zeros(D), model.class_probabilities,
                                   model.class_indices(measured), 1, seed=0)
    assert [e.faithfulness["top_k_change"] for e in measured] == list(top)
    assert [e.faithfulness["random_change"] for e in measured] == list(random.mean(axis=1))
    again = model.measure(_explained(model, rows, weights * rows))
    assert [e.faithfulness for e in again] == [e.faithfulness for e in measured]


def test_ranked_change_deletes_the_top_ranked_inputs():
    rows = np.array([[3.0, -1.0, 0.5]])

    def predict(x: np.ndarray) -> np.ndarray:
        return np.column_stack([x[:, 0] / 10, x[:, 1] / 10])

    assert ranked_change(rows, np.abs(rows), 0.0, predict, np.array([0]), 1)[0] == 0.3
    assert ranked_change(rows, -np.abs(rows), 0.0, predict, np.array([0]), 1)[0] == 0.0


def test_fold_bootstrap_resamples_whole_folds():
    values = np.r_[np.full(10, 1.0), np.full(10, 3.0)]
    low, high = fold_bootstrap(values, [0] * 10 + [1] * 10)
    assert low == 1.0 and high == 3.0  # only the fold means can be drawn
    assert fold_bootstrap(values, [0] * 20) is None


def test_gadf_on_the_original_scale_changes_only_the_blanked_steps_row_and_column():
    window = np.array([[1.0, 4.0, 2.0, 3.0, 2.5, 1.5]])
    blanked = window.copy()
    blanked[0, 1] = window.mean()  # the window's max
    bounds = np.array([[window.min(), window.max()]])
    moved = gadf(blanked, bounds)[0] != gadf(window)[0]
    assert moved[1].any() and not np.delete(np.delete(moved, 1, 0), 1, 1).any()
    rescaled = gadf(blanked)[0] != gadf(window)[0]  # its own scale: every pixel moves
    assert np.delete(np.delete(rescaled, 1, 0), 1, 1).sum() > 10
