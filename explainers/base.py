"""The ``Explanation`` value object every explainer returns, its JSON form, and
``explanation``, the one function signals build it with."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Explanation", "UpOrDown", "explanation", "explanation_id"]


def explanation_id(signal: str, decision_time: pd.Timestamp) -> str:
    """Stable id of the explanation of one decision: ``signal@ISO-time``."""
    return f"{signal}@{pd.Timestamp(decision_time).isoformat()}"


def _frozen_array(values: Any) -> np.ndarray:
    array = np.array(values, dtype=float)
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class Explanation:
    """Why one signal made one decision.

    ``values`` and ``feature_names`` are parallel: ``values[i]`` is the contribution
    of ``feature_names[i]`` to the predicted class's score, relative to
    ``base_value``. ``data`` optionally holds the input value of each feature.
    ``raw`` holds named arrays an explainer produced (a Grad-CAM heatmap, a LIME
    fit score), ``texts`` the input texts of a text explanation (``data`` then indexes
    them), ``figure`` the path of a rendered figure, ``faithfulness`` how true the
    explanation is to the decision (explainers/faithfulness.py; empty: not measured),
    ``space`` the scale ``base_value + sum(values)`` is on (``"logit"``, ``"log-odds"``,
    ``"probability"``; empty: not stated), so a figure can name its axis.
    """

    method: str
    signal: str
    decision_time: pd.Timestamp
    prediction: str
    probability: float
    base_value: float
    values: np.ndarray
    feature_names: tuple[str, ...]
    summary: str
    data: np.ndarray | None = None
    raw: Mapping[str, np.ndarray] = field(default_factory=dict)
    figure: str | None = None
    fold: int | None = None
    texts: tuple[str, ...] = ()
    faithfulness: Mapping[str, Any] = field(default_factory=dict)
    space: str = ""

    def __post_init__(self) -> None:
        values = _frozen_array(self.values)
        if values.ndim != 1:
            raise ValueError(f"Explanation.values must be 1-D, got shape {values.shape}")
        names = tuple(str(n) for n in self.feature_names)
        if len(names) != len(values):
            raise ValueError(f"{len(values)} values but {len(names)} feature_names")
        data = None if self.data is None else _frozen_array(self.data)
        if data is not None and data.shape != values.shape:
            raise ValueError(f"data shape {data.shape} differs from values shape {values.shape}")
        stamp = pd.Timestamp(self.decision_time)
        if stamp.tzinfo is None:
            raise ValueError("Explanation.decision_time must be tz-aware")
        raw = MappingProxyType({k: _frozen_array(v) for k, v in self.raw.items()})
        for name, value in (("values", values), ("feature_names", names), ("data", data),
                            ("texts", tuple(str(t) for t in self.texts)),
                            ("faithfulness", MappingProxyType(dict(self.faithfulness))),
                            ("decision_time", stamp), ("raw", raw),
                            ("probability", float(self.probability)),
                            ("base_value", float(self.base_value))):
            object.__setattr__(self, name, value)

    @property
    def id(self) -> str:
        return explanation_id(self.signal, self.decision_time)

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, key: int | slice | Sequence[int] | np.ndarray) -> Explanation:
        """A new Explanation restricted to some features (the base value is kept)."""
        pick = np.arange(len(self.values))[key]
        pick = np.atleast_1d(pick)
        return replace(
            self,
            values=self.values[pick],
            feature_names=tuple(self.feature_names[i] for i in pick),
            data=None if self.data is None else self.data[pick],
        )

    def top(self, k: int) -> Explanation:
        """The ``k`` features with the largest absolute contribution, largest first."""
        order = np.argsort(-np.abs(self.values), kind="stable")[:k]
        return self[order]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                value = value.tolist()
            elif f.name == "raw":
                value = {k: v.tolist() for k, v in value.items()}
            elif f.name == "decision_time":
                value = value.isoformat()
            elif f.name in ("feature_names", "texts"):
                value = list(value)
            elif f.name == "faithfulness":
                value = dict(value)
            out[f.name] = value
        out["id"] = self.id
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), allow_nan=True)

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> Explanation:
        known = {f.name for f in fields(cls)}
        unknown = set(payload) - known - {"id"}
        if unknown:
            raise ValueError(f"unknown Explanation field(s) {sorted(unknown)}")
        kwargs = {k: v for k, v in payload.items() if k in known}
        kwargs["decision_time"] = pd.Timestamp(kwargs["decision_time"])
        return cls(**kwargs)

    @classmethod
    def from_json(cls, text: str) -> Explanation:
        return cls.from_dict(json.loads(text))

    def equals(self, other: Explanation) -> bool:
        """Exact equality of every field, arrays compared element-wise (NaN equal to NaN)."""
        if not isinstance(other, Explanation):
            return False
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if f.name == "raw":
                if a.keys() != b.keys() or not all(
                        np.array_equal(a[k], b[k], equal_nan=True) for k in a):
                    return False
            elif isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
                if a is None or b is None or not np.array_equal(a, b, equal_nan=True):
                    return False
            elif a != b:
                return False
        return True


def explanation(method: str, signal: str, at: Any, *, prediction: str, probability: float,
                values: Any, feature_names: Sequence[str], summary: str,
                base_value: float = 0.0, data: Any = None, raw: Mapping[str, Any] | None = None,
                texts: Sequence[str] = (), exact: str | None = None,
                faithfulness: Mapping[str, Any] | None = None, space: str = "") -> Explanation:
    """The explanation by ``method`` of ``signal``'s decision at ``at``: ``prediction`` with
    ``probability``, ``values`` of ``feature_names`` relative to ``base_value`` (0 unless
    given), the input ``data``, the ``summary`` sentence, named ``raw`` arrays, the input
    ``texts``. ``exact``: why ``values`` are the decision itself (``faithfulness`` labelled
    exact, explainers/faithfulness.py); or ``faithfulness``, what is known of it when
    explaining; else it is left for the signal's ``measure``. ``space``: the scale of
    ``base_value + sum(values)`` (``"logit"``, ``"log-odds"``, ``"probability"``)."""
    from xai_backtest.explainers.faithfulness import exact as exact_record

    if exact is not None and faithfulness is not None:
        raise ValueError("give exact or faithfulness, not both")
    if exact is not None:
        faithfulness = exact_record(exact)
    return Explanation(
        method=method, signal=signal, decision_time=pd.Timestamp(at), prediction=prediction,
        probability=probability, base_value=base_value, values=values,
        feature_names=tuple(feature_names), summary=summary, data=data, raw=raw or {},
        texts=tuple(texts), faithfulness=faithfulness or {}, space=space)


@dataclass(frozen=True)
class UpOrDown:
    """The predicted class of a two-class decision: ``up`` or not."""

    up: bool

    @property
    def label(self) -> str:
        return "up" if self.up else "down"

    @property
    def sign(self) -> float:
        """+1 for up, -1 for down: turns values towards up into values towards the label."""
        return 1.0 if self.up else -1.0

    def probability(self, p_up: Any) -> Any:
        """The probability of the predicted class given P(up)."""
        return p_up if self.up else 1 - p_up
