"""``MeasuredSignal``: the faithfulness measures of every model signal, written once.

``measure(explanations)`` runs a chain of small steps (pytorch-grad-cam's habit: one
method, one step) and stores the result in each ``Explanation.faithfulness``, with one
sentence added to its summary:

1. ``deletion``: the deletion test (explainers/faithfulness.py), the top ``deletion_k``
   inputs by ``|values|`` set to ``deletion_baseline`` vs as many random inputs, seeded
   with the signal's seed;
   and ``model_free_deletion``: the same ``k`` inputs picked by ``model_free_ranking``, a
   ranking that ignores the model (largest ``|x - baseline|`` first by default), set to the
   same baseline: the explanation is "faithful" only if it beats random and this;
2. ``randomisation``: the rank correlation of the explanations with those of the model
   re-initialised (``randomised_net``, seeded ``seed + RANDOMISED_SEED_OFFSET``);
3. ``infidelity``: captum's infidelity of the values on ``infidelity_output`` at
   ``infidelity_rows``, perturbed with ``INFIDELITY_NOISE``;
4. ``measured_fields``: the signal's own fields (an additivity error, an exact split).

A signal mixes it in before ``Signal`` and supplies only what differs: its inputs
(``faithfulness_inputs``: the rows the model read, in the space its values are on), its
baseline (``deletion_baseline``), its model (``class_probabilities``, ``class_indices``),
the words of its record (``deletion_words``) and, for the randomisation check, its network
and its attribution (``randomised_net``, ``attributions_under``). Steps 2 and 3 are skipped
where those are not supplied. A signal whose inputs are not a row of numbers (the words
of headlines) overrides ``deletion`` and ``randomisation`` whole, its model-free change the
fourth of each ``Deleted`` tuple (None: not measured); news removes the longest words.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from xai_backtest.explainers import faithfulness
from xai_backtest.explainers.base import Explanation

__all__ = ["Deleted", "DeletionWords", "MeasuredSignal"]

#: per explanation: ``(k, top-k change, random changes, model-free change or None)`` of
#: the deletion test
Deleted = list[tuple[int, float, np.ndarray, float | None]]


@dataclass(frozen=True)
class DeletionWords:
    """How a deletion record and its sentence name the test: ``baseline`` (``{k}``: the
    number of inputs), ``verb``, ``inputs`` (plural noun), ``output`` (``{prediction}``: the
    predicted class) and ``how`` (after the top inputs), e.g. "setting the top 27 inputs
    to their training mean moved P(upward) by ..."."""

    baseline: str
    verb: str = "setting"
    inputs: str = "inputs"
    output: str = "P({prediction})"
    how: str = ""


class MeasuredSignal:
    """Mixin of a ``Signal`` whose explanations are measured (see the module docstring)."""

    # -- what a signal supplies ---------------------------------------------------------------
    def deletion_words(self) -> DeletionWords:
        """How the record and the sentence name this signal's deletion test."""
        raise NotImplementedError(f"{type(self).__name__} must define deletion_words")

    def faithfulness_inputs(self, explanations: Sequence[Explanation]) -> np.ndarray:
        """The rows ``(n, d)`` the model read for ``explanations``, in the space their
        ``values`` attribute (not ``Signal.inputs``, the named inputs of the look-ahead
        check)."""
        raise NotImplementedError(f"{type(self).__name__} must define faithfulness_inputs")

    def deletion_baseline(self, rows: np.ndarray) -> np.ndarray:
        """What a deleted input becomes: ``(d,)``, ``(n, 1)`` or ``(n, d)``."""
        raise NotImplementedError(f"{type(self).__name__} must define deletion_baseline")

    def class_probabilities(self, rows: np.ndarray) -> np.ndarray:
        """The fitted model: rows ``(m, d)`` to class probabilities ``(m, classes)``."""
        raise NotImplementedError(f"{type(self).__name__} must define class_probabilities")

    def deletion_probabilities(self, rows: np.ndarray, originals: np.ndarray,
                               origin: np.ndarray) -> np.ndarray:
        """``class_probabilities`` of the deletion test's ``rows``, row ``j`` a copy of
        ``originals[origin[j]]`` with some inputs deleted: by default the model as it is;
        a signal whose encoding depends on the row itself (GADF's min-max rescaling)
        re-encodes the copy on its original's scale."""
        return self.class_probabilities(rows)

    def class_indices(self, explanations: Sequence[Explanation]) -> np.ndarray:
        """The column of ``class_probabilities`` of each explanation's prediction."""
        classes = tuple(self.classes_)  # type: ignore[attr-defined]
        return np.array([classes.index(e.prediction) for e in explanations])

    def model_free_ranking(self, explanations: Sequence[Explanation], rows: np.ndarray,
                           baseline: np.ndarray) -> np.ndarray:
        """Scores ``(n, d)`` that rank ``rows``' inputs without the model, highest deleted
        first: by default ``|x - baseline|``, the inputs that move farthest when deleted."""
        return np.abs(rows - np.broadcast_to(baseline, rows.shape))

    def model_free_name(self) -> str:
        """How the record names ``model_free_ranking``."""
        if type(self).deletion is not MeasuredSignal.deletion:  # words of headlines
            from xai_backtest.explainers.lime_text import LONGEST_WORDS

            return LONGEST_WORDS
        return "largest |x - baseline| first"

    def randomised_net(self) -> Any:
        """The torch module the randomisation check re-initialises (None: not run)."""
        return None

    def attributions_under(self, net: Any, rows: np.ndarray, classes: np.ndarray) -> np.ndarray:
        """The values the signal's explainer gives ``rows`` for ``classes`` under ``net``."""
        raise NotImplementedError(f"{type(self).__name__} must define attributions_under")

    def infidelity_rows(self, explanations: Sequence[Explanation]) -> np.ndarray | None:
        """The rows infidelity perturbs around ``explanations``' inputs (None, the default:
        infidelity is not measured)."""
        return None

    def infidelity_output(self, rows: np.ndarray) -> np.ndarray:
        """The model output the values attribute, per class; by default the probabilities."""
        return self.class_probabilities(rows)

    def measured_fields(self, explanation: Explanation) -> Mapping[str, Any]:
        """Fields of the signal's own added to each record."""
        return {}

    def measure_seed(self) -> int:
        seed = getattr(self, "seed", None)
        return 0 if seed is None else seed

    # -- the steps written once -----------------------------------------------------------------
    def measure(self, explanations: Sequence[Explanation]) -> list[Explanation]:
        """``explanations`` made by this fitted model with ``faithfulness`` measured, batched
        (see the module docstring); returned as they are when there is nothing to delete."""
        self.check_fitted()  # type: ignore[attr-defined]
        if not explanations:
            return []
        seed = self.measure_seed()
        deleted = self.deletion(explanations, seed)
        if deleted is None:
            return list(explanations)
        free_name = self.model_free_name()
        net = self.randomised_net()
        correlation = None if net is None else self.randomisation(
            explanations, faithfulness.randomised_copy(
                net, seed + faithfulness.RANDOMISED_SEED_OFFSET))
        infidelity = self.infidelity(explanations, seed)
        words = self.deletion_words()
        out = []
        for i, (e, (k, top, random, free)) in enumerate(zip(explanations, deleted, strict=True)):
            record = faithfulness.deletion_record(k, words.baseline.format(k=k), top, random,
                                                  free, None if free is None else free_name)
            if correlation is not None:
                record |= faithfulness.sanity_fields(correlation[i])
            if infidelity is not None:
                record["infidelity"] = float(infidelity[i])
            record |= self.measured_fields(e)
            output = words.output.format(prediction=e.prediction.replace("_", " "))
            sentence = faithfulness.deletion_sentence(record, words.verb, words.inputs, output,
                                                      how=words.how)
            out.append(replace(e, faithfulness=record, summary=f"{e.summary} {sentence}"))
        return out

    def deletion(self, explanations: Sequence[Explanation], seed: int) -> Deleted | None:
        """The deletion test of each explanation, in one ``class_probabilities`` call (None:
        fewer than two inputs, nothing to compare the top one with)."""
        rows = self.faithfulness_inputs(explanations)
        if rows.shape[1] < 2:
            return None
        k = faithfulness.deletion_k(rows.shape[1])
        top, random = faithfulness.deletion_changes(
            rows, _values(explanations), self.deletion_baseline(rows),
            self._copies_probabilities(rows), self.class_indices(explanations), k, seed=seed,
            origin=True)
        free = self.model_free_deletion(explanations, k)
        return [(k, t, r, f) for t, r, f in zip(top, random, free, strict=True)]

    def model_free_deletion(self, explanations: Sequence[Explanation],
                            k: int) -> list[float | None]:
        """The change of each explanation's predicted class when the ``k`` inputs of largest
        ``model_free_ranking`` take the deletion baseline (one call of the model)."""
        rows = self.faithfulness_inputs(explanations)
        baseline = self.deletion_baseline(rows)
        return [float(c) for c in faithfulness.ranked_change(
            rows, self.model_free_ranking(explanations, rows, baseline), baseline,
            self._copies_probabilities(rows), self.class_indices(explanations), k, origin=True)]

    def _copies_probabilities(self, originals: np.ndarray) -> Callable[..., np.ndarray]:
        def predict(rows: np.ndarray, origin: np.ndarray) -> np.ndarray:
            return self.deletion_probabilities(rows, originals, origin)

        return predict

    def randomisation(self, explanations: Sequence[Explanation], net: Any) -> np.ndarray:
        """Rank correlation of each explanation's values with ``attributions_under`` the
        re-initialised ``net``, ``(n,)``."""
        rows = self.faithfulness_inputs(explanations)
        return faithfulness.randomisation_correlation(
            _values(explanations),
            self.attributions_under(net, rows, self.class_indices(explanations)))

    def infidelity(self, explanations: Sequence[Explanation], seed: int) -> np.ndarray | None:
        """captum's infidelity of each explanation, ``(n,)`` (None: not measured)."""
        rows = self.infidelity_rows(explanations)
        if rows is None:
            return None
        return faithfulness.infidelity(self.infidelity_output, rows, _values(explanations),
                                       self.class_indices(explanations),
                                       noise=faithfulness.INFIDELITY_NOISE, seed=seed)


def _values(explanations: Sequence[Explanation]) -> np.ndarray:
    return np.stack([e.values for e in explanations])
