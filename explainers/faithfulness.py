"""Is an explanation true to the decision it explains? The measures every trade gets.

* **Deletion test.** Replace the ``k`` inputs an explanation ranks highest (by absolute
  attribution) with a stated baseline and measure how far the probability of the
  predicted class moves; compare with replacing ``k`` random inputs (``draws`` seeded
  draws, averaged). An explanation that names the inputs the model used moves it more.
  Beating random is not enough: an input that moves far from its baseline moves the model
  whatever the model attends to (GADF rescales each window to its own min and max; DeepSHAP
  values scale with ``x - baseline``). So the same ``k`` inputs are also chosen by a
  **model-free ranking** the signal supplies (largest ``|x - baseline|`` first; the
  window's extremes first for Grad-CAM), ``ranked_change``. An explanation is
  ``faithful`` only if it moves the output more than both.
* **Infidelity** (captum's ``infidelity``, Yeh et al. 2019): the expected squared gap
  between ``perturbation . attribution`` and the change of the model output under small
  Gaussian perturbations, with the attributions optimally rescaled (``normalize``); lower
  is better, 0 for a perfectly linear fit.
* **Sensitivity** (captum's ``sensitivity_max``): how much the explanation itself changes
  under small input perturbations; it re-explains every perturbed copy, so it is measured
  in benchmarks/faithfulness.py rather than on every trade.
* **Model-parameter randomisation** (Adebayo et al. 2018): explain a copy of the model
  with re-initialised weights and rank-correlate its attributions with the trained
  model's. An explainer whose output barely changes (``RANDOMISATION_FLAG``) describes
  the input, not the model.
* **Exact.** Rule signals and additive decompositions (the decision is the sum shown)
  are labelled exact instead of being scored.

Each measure lands in ``Explanation.faithfulness``, a JSON dict (see ``deletion_record``
and ``exact``), and from there in explanations.jsonl and the trade log.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = ["DELETION_SHARE", "INFIDELITY_NOISE", "RANDOMISATION_FLAG", "RANDOMISED_SEED_OFFSET",
           "RANDOM_DRAWS", "deletion_changes",
           "deletion_k", "deletion_record", "deletion_sentence", "exact", "infidelity",
           "randomisation_correlation", "randomised_copy", "ranked_change", "sanity_fields",
           "sensitivity", "verdict"]

#: random deletions per decision; their mean is the baseline of the top-k change
RANDOM_DRAWS = 8
#: share of an explanation's inputs the deletion test blanks (at least one)
DELETION_SHARE = 0.1
#: rank correlation with the randomised model's explanation above which an explainer is
#: flagged as insensitive to the model
RANDOMISATION_FLAG = 0.5
#: standard deviation of infidelity's Gaussian perturbations, in the units of the rows
#: perturbed (standardised inputs)
INFIDELITY_NOISE = 0.1
#: the randomised model of a signal seeded ``s`` is re-initialised with seed ``s`` plus this
#: (not ``s`` itself, whose draws the deletion test and infidelity already use)
RANDOMISED_SEED_OFFSET = 1


def deletion_k(inputs: int) -> int:
    """How many of ``inputs`` the deletion test blanks: ``DELETION_SHARE`` of them, at least
    one and never all (0: too few inputs to test)."""
    return min(max(1, round(DELETION_SHARE * inputs)), inputs - 1)


def deletion_changes(inputs: np.ndarray, attributions: np.ndarray, baseline: np.ndarray,
                     predict: Callable[..., np.ndarray], classes: np.ndarray, k: int,
                     draws: int = RANDOM_DRAWS, seed: int = 0,
                     origin: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``inputs`` ``(n, d)``: the absolute change of the probability of class
    ``classes[i]`` when its ``k`` inputs of largest ``|attributions|`` take the values of
    ``baseline`` (``(n, d)`` or ``(d,)``), and the same for ``draws`` seeded random picks of
    ``k`` inputs: arrays ``(n,)`` and ``(n, draws)``. ``predict`` maps rows ``(m, d)`` to
    class probabilities ``(m, classes)``; it is called once, on every perturbed copy (with
    ``origin``: as ``predict(rows, origin)``, ``origin[j]`` the row of ``inputs`` that row
    ``j`` is a copy of, for a model that re-encodes a copy with its original's scale)."""
    inputs = np.asarray(inputs, dtype=np.float64)
    n, d = inputs.shape
    if not 1 <= k < d:
        raise ValueError(f"k must be in [1, {d - 1}] for {d} inputs, got {k}")
    if np.shape(attributions) != inputs.shape:
        raise ValueError(f"attributions shape {np.shape(attributions)} differs from inputs "
                         f"{inputs.shape}")
    fill = np.broadcast_to(np.asarray(baseline, dtype=np.float64), inputs.shape)
    rng = np.random.default_rng(seed)
    top = np.argsort(-np.abs(attributions), axis=1, kind="stable")[:, None, :k]
    rand = np.argsort(rng.random((n, draws, d)), axis=2)[:, :, :k]
    picks = np.concatenate([top, rand], axis=1)  # (n, 1 + draws, k)
    copies = np.repeat(inputs[:, None, :], 1 + draws, axis=1)
    rows = np.arange(n)[:, None, None]
    copies[rows, np.arange(1 + draws)[None, :, None], picks] = fill[rows, picks]
    together = np.concatenate([inputs, copies.reshape(-1, d)])
    proba = (predict(together, np.concatenate([np.arange(n), np.repeat(np.arange(n), 1 + draws)]))
             if origin else predict(together))
    classes = np.asarray(classes, dtype=int)
    base = proba[np.arange(n), classes]
    moved = proba[n:].reshape(n, 1 + draws, -1)[np.arange(n), :, classes]
    change = np.abs(moved - base[:, None])
    return change[:, 0], change[:, 1:]


def ranked_change(inputs: np.ndarray, ranking: np.ndarray, baseline: np.ndarray,
                  predict: Callable[..., np.ndarray], classes: np.ndarray,
                  k: int, origin: bool = False) -> np.ndarray:
    """Per row of ``inputs`` ``(n, d)``: the absolute change of the probability of class
    ``classes[i]`` when its ``k`` inputs of largest ``ranking`` ``(n, d)`` (ties: the
    earlier input) take the values of ``baseline``; ``(n,)``. The model-free side of the
    deletion test: ``ranking`` is computed without the model (e.g. ``|x - baseline|``);
    ``predict`` and ``origin`` as in ``deletion_changes``."""
    inputs = np.asarray(inputs, dtype=np.float64)
    n, d = inputs.shape
    if not 1 <= k < d:
        raise ValueError(f"k must be in [1, {d - 1}] for {d} inputs, got {k}")
    if np.shape(ranking) != inputs.shape:
        raise ValueError(f"ranking shape {np.shape(ranking)} differs from inputs {inputs.shape}")
    fill = np.broadcast_to(np.asarray(baseline, dtype=np.float64), inputs.shape)
    picks = np.argsort(-np.asarray(ranking, dtype=np.float64), axis=1, kind="stable")[:, :k]
    copies = inputs.copy()
    rows = np.arange(n)[:, None]
    copies[rows, picks] = fill[rows, picks]
    together = np.concatenate([inputs, copies])
    proba = predict(together, np.tile(np.arange(n), 2)) if origin else predict(together)
    classes = np.asarray(classes, dtype=int)
    return np.abs(proba[n:][np.arange(n), classes] - proba[:n][np.arange(n), classes])


def deletion_record(k: int, baseline: str, top_change: float, random_changes: np.ndarray,
                    model_free_change: float | None = None,
                    model_free: str | None = None) -> dict[str, Any]:
    """The deletion result of one explanation, as stored in ``faithfulness``: against random
    inputs and, when measured, against a model-free ranking of the same ``k`` inputs
    (``model_free``: its name). ``faithful`` needs both beaten; it is None where no
    model-free ranking was measured."""
    random_change = float(np.mean(random_changes))
    ratio = float(top_change / random_change) if random_change > 0 else None
    better = bool(top_change > random_change)
    record: dict[str, Any] = {
        "kind": "deletion", "k": int(k), "baseline": baseline,
        "top_k_change": float(top_change), "random_change": random_change,
        "ratio": ratio, "better_than_random": better}
    if model_free_change is None:
        record |= {"model_free": None, "model_free_change": None, "beats_model_free": None,
                   "faithful": None}
    else:
        beats = bool(top_change > model_free_change)
        record |= {"model_free": model_free, "model_free_change": float(model_free_change),
                   "beats_model_free": beats, "faithful": better and beats}
    return record


def deletion_sentence(record: Mapping[str, Any], verb: str, inputs: str, output: str,
                      how: str = "") -> str:
    """"Faithfulness: blanking the top 6 minutes moved P(up) by 0.0210, more than 6 random
    minutes (0.0100) (2.1x)." from a ``deletion_record`` (``how``: words after the top k
    inputs, e.g. " to their training mean")."""
    k, ratio = record["k"], record["ratio"]
    times = "" if ratio is None else f" ({ratio:.1f}x)"
    verdict = "more" if record["better_than_random"] else "no more"
    text = (f"Faithfulness: {verb} the top {k} {inputs}{how} moved {output} by "
            f"{record['top_k_change']:.4f}, {verdict} than {k} random {inputs} "
            f"({record['random_change']:.4f}){times}")
    free = record.get("model_free_change")
    if free is None:
        return text + "."
    than = "more" if record["beats_model_free"] else "no more"
    found = ("faithful" if record["faithful"] else
             "not faithful: a ranking that ignores the model does as well")
    return (f"{text}, and {than} than the {k} {inputs} a model-free ranking picks "
            f"({record['model_free']}: {free:.4f}): {found}.")


def exact(why: str) -> dict[str, Any]:
    """``faithfulness`` of an explanation that is the decision itself (a rule, a sum)."""
    return {"kind": "exact", "why": why}


def randomisation_correlation(trained: np.ndarray, randomised: np.ndarray) -> np.ndarray:
    """Spearman rank correlation of ``|trained|`` and ``|randomised|`` attributions, per row
    (NaN where either row is constant)."""
    from scipy.stats import rankdata

    a = rankdata(np.abs(np.atleast_2d(trained)), axis=1)
    b = rankdata(np.abs(np.atleast_2d(randomised)), axis=1)
    a -= a.mean(axis=1, keepdims=True)
    b -= b.mean(axis=1, keepdims=True)
    norm = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, (a * b).sum(axis=1) / np.where(norm > 0, norm, 1), np.nan)


def randomised_copy(net: Any, seed: int) -> Any:
    """A copy of the torch module ``net`` whose every layer is re-initialised (seeded, the
    global torch random state untouched): the model of the randomisation test."""
    import torch

    twin = copy.deepcopy(net)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for module in twin.modules():
            reset = getattr(module, "reset_parameters", None)
            if callable(reset):
                reset()
    return twin.eval()


def infidelity(forward: Callable[[np.ndarray], np.ndarray], inputs: np.ndarray,
               attributions: np.ndarray, classes: np.ndarray,
               noise: float = INFIDELITY_NOISE, samples: int = 10, seed: int = 0) -> np.ndarray:
    """captum's infidelity of ``attributions`` of output ``classes[i]`` of
    ``forward(rows)`` ``(m, outputs)`` at each row of ``inputs`` ``(n, d)``, under Gaussian
    perturbations of standard deviation ``noise``, attributions rescaled optimally; per
    row ``(n,)``. One batched forward call for all perturbed copies."""
    import torch
    from captum.metrics import infidelity as captum_infidelity

    x = torch.as_tensor(np.asarray(inputs, dtype=np.float64))
    generator = torch.Generator().manual_seed(seed)

    def perturb(rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        step = torch.randn(rows.shape, generator=generator, dtype=rows.dtype) * noise
        return step, rows - step

    def model(rows: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(np.asarray(forward(rows.detach().numpy()), dtype=np.float64))

    found = captum_infidelity(model, perturb, x, torch.as_tensor(np.asarray(
        attributions, dtype=np.float64)), target=[int(c) for c in classes],
        n_perturb_samples=samples, normalize=True,
        max_examples_per_batch=len(x) * samples)
    return found.detach().numpy().astype(float)


def sanity_fields(correlation: float, infidelity: float | None = None) -> dict[str, Any]:
    """The randomisation check (and infidelity, when measured) for ``faithfulness``."""
    rho = None if np.isnan(correlation) else float(correlation)
    out: dict[str, Any] = {"randomisation_corr": rho,
                           "randomisation_flagged": rho is not None and rho > RANDOMISATION_FLAG}
    if infidelity is not None:
        out["infidelity"] = float(infidelity)
    return out


def sensitivity(explain: Callable[[np.ndarray, np.ndarray], np.ndarray], inputs: np.ndarray,
                classes: np.ndarray, radius: float, samples: int = 10) -> np.ndarray:
    """captum's ``sensitivity_max``: per row of ``inputs`` ``(n, d)``, the largest relative
    change of the explanation ``explain(rows, classes)`` (attributions ``(m, d)`` of class
    ``classes[i]``) over ``samples`` uniform perturbations within ``radius`` (lower is
    steadier). Draws from torch's global generator: seed it for a repeatable figure."""
    import torch
    from captum.metrics import sensitivity_max

    def explanation(rows: torch.Tensor | tuple[torch.Tensor],
                    target: object) -> tuple[torch.Tensor]:
        rows = rows[0] if isinstance(rows, tuple) else rows  # captum passes tuples
        picked = np.asarray(torch.as_tensor(target).numpy(), dtype=int)
        with torch.enable_grad():  # captum calls this under no_grad; gradient explainers
            found = explain(rows.detach().numpy(), picked)  # need the graph
        return (torch.as_tensor(np.asarray(found, dtype=np.float64)),)

    x = torch.as_tensor(np.asarray(inputs, dtype=np.float64))
    found = sensitivity_max(explanation, x, perturb_radius=radius, n_perturb_samples=samples,
                            max_examples_per_batch=len(x) * samples,
                            target=torch.as_tensor(np.asarray(classes, dtype=int)))
    return found.detach().numpy().astype(float)


def verdict(faithfulness: Mapping[str, Any]) -> str:
    """A few words for the trade log: ``"better than random and a model-free ranking:
    faithful (2.1x random, 1.3x model-free)"``, ``"exact"``, ``"not measured"``."""
    kind = faithfulness.get("kind")
    if kind == "exact":
        return "exact"
    if kind != "deletion":
        return "not measured"
    ratio = faithfulness.get("ratio")
    shown = "random moved nothing" if ratio is None else f"{ratio:.1f}x random"
    flag = faithfulness.get("randomisation_flagged")
    better = faithfulness["better_than_random"]
    free = faithfulness.get("model_free_change")
    if free is None:
        words = f"{'better' if better else 'not better'} than random ({shown})"
    else:
        times = (f"{faithfulness['top_k_change'] / free:.1f}x model-free" if free > 0
                 else "model-free moved nothing")
        if faithfulness["faithful"]:
            words = f"better than random and a model-free ranking: faithful ({shown}, {times})"
        elif better:
            words = (f"better than random but no better than a model-free ranking: not "
                     f"faithful ({shown}, {times})")
        else:
            words = f"not better than random: not faithful ({shown}, {times})"
    return f"{words}{'; flagged by the randomisation check' if flag else ''}"
