"""The signal contract: estimator-like models that emit time-stamped decisions.

A signal is built like a scikit-learn estimator: ``__init__`` stores
hyperparameters only, ``fit(history)`` learns from data strictly before a cut and
sets attributes ending in ``_``, ``predict(data)`` returns a ``SignalFrame`` with
one row per decision time, and ``explain(data, at)`` explains given decisions with
the same fitted model.
"""

from __future__ import annotations

import importlib
import inspect
import json
import platform
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from xai_backtest.data_feeds.market_data import MarketData, window_mask
from xai_backtest.errors import ModelFileError, NotFittedError
from xai_backtest.explainers.base import Explanation

__all__ = ["SIGNAL_COLUMNS", "ModelFileError", "NotFittedError", "Signal", "SignalFrame",
           "library_versions"]

SIGNAL_COLUMNS = ("known_at", "score", "label", "probability", "direction", "fold")
_VERSIONED = ("numpy", "pandas", "torch", "scikit-learn", "shap", "lime", "grad-cam")


@dataclass(frozen=True)
class SignalFrame:
    """Decisions of one signal, indexed by decision time.

    Columns: ``known_at`` (when the decision could first be made, never after its
    index), ``score`` (the signal's continuous output), ``label`` (predicted class),
    ``probability`` (of that class, in [0, 1]), ``direction`` (+1 long, 0 flat,
    -1 short: what the class means for trading) and ``fold`` (which walk-forward
    model made it; -1 for a single model).
    """

    signal: str
    frame: pd.DataFrame

    def __post_init__(self) -> None:
        frame = self.frame
        missing = [c for c in SIGNAL_COLUMNS if c not in frame.columns]
        if missing:
            raise ValueError(f"SignalFrame of {self.signal!r} lacks columns {missing}")
        index = frame.index
        if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
            raise ValueError(f"SignalFrame of {self.signal!r} needs a tz-aware DatetimeIndex")
        if not index.is_monotonic_increasing or index.has_duplicates:
            raise ValueError(f"SignalFrame of {self.signal!r}: decision times must be sorted "
                             "and unique")
        late = frame["known_at"].to_numpy() > index.to_numpy()
        if late.any():
            raise ValueError(f"SignalFrame of {self.signal!r}: decision at {index[late][0]} is "
                             "known only later (known_at after the decision time)")
        prob = frame["probability"].to_numpy(dtype=float)
        if ((prob < 0) | (prob > 1)).any():
            raise ValueError(f"SignalFrame of {self.signal!r}: probability outside [0, 1]")
        if not frame["direction"].isin((-1, 0, 1)).all():
            raise ValueError(f"SignalFrame of {self.signal!r}: direction must be -1, 0 or 1")
        frame = frame.loc[:, list(SIGNAL_COLUMNS)].copy()
        frame.index.name = "decision_time"
        object.__setattr__(self, "frame", frame)

    def __len__(self) -> int:
        return len(self.frame)

    def between(self, start: pd.Timestamp | None, end: pd.Timestamp | None) -> SignalFrame:
        """Decisions with ``start <= t < end``."""
        return SignalFrame(self.signal, self.frame[window_mask(self.frame.index, start, end)])

    def with_fold(self, fold: int) -> SignalFrame:
        return SignalFrame(self.signal, self.frame.assign(fold=fold))

    @classmethod
    def concat(cls, signal: str, parts: Sequence[SignalFrame]) -> SignalFrame:
        frames = [p.frame for p in parts if len(p)]
        if not frames:
            return cls.empty(signal)
        return cls(signal, pd.concat(frames))

    @classmethod
    def up_down(cls, signal: str, index: pd.DatetimeIndex, *, up: np.ndarray,
                score: np.ndarray, probability: np.ndarray) -> SignalFrame:
        """Decisions of a two-class signal known at their own bar: ``up`` (bool per time)
        gives label ``up``/``down`` and direction +1/-1; ``probability`` is that of the
        predicted class."""
        up = np.asarray(up, dtype=bool)
        frame = pd.DataFrame({"known_at": index, "score": np.asarray(score, dtype=float),
                              "label": np.where(up, "up", "down").astype(object),
                              "probability": np.asarray(probability, dtype=float),
                              "direction": np.where(up, 1, -1), "fold": -1}, index=index)
        return cls(signal, frame)

    @classmethod
    def from_p_up(cls, signal: str, index: pd.DatetimeIndex, p_up: np.ndarray,
                  score: np.ndarray | None = None) -> SignalFrame:
        """``up_down`` from P(up): up when P(up) >= 0.5 (score: P(up) unless given)."""
        p_up = np.asarray(p_up, dtype=float)
        up = p_up >= 0.5
        return cls.up_down(signal, index, up=up, score=p_up if score is None else score,
                           probability=np.where(up, p_up, 1 - p_up))

    @classmethod
    def empty(cls, signal: str, tz: str = "UTC") -> SignalFrame:
        index = pd.DatetimeIndex([], tz=tz, name="decision_time")
        frame = pd.DataFrame({"known_at": pd.Series([], dtype=f"datetime64[ns, {tz}]"),
                              "score": [], "label": pd.Series([], dtype=object),
                              "probability": [], "direction": pd.Series([], dtype=int),
                              "fold": pd.Series([], dtype=int)}, index=index)
        return cls(signal, frame)


class Signal(ABC):
    """Base class of every signal; subclasses set ``name`` and implement the four steps."""

    name: ClassVar[str]
    #: fitted attributes saved with ``torch.save`` (weights, arrays) instead of JSON
    state_attrs: ClassVar[tuple[str, ...]] = ()
    #: False for signals with nothing to learn (rules): no walk-forward warm-up (one fold,
    #: deciding from the first decision time) and nothing cached
    learns: ClassVar[bool] = True
    def lookback_bars(self) -> int | None:
        """How many bars before a decision time its decision and explanation read at
        most (None, the default: any). A stream hands the signal only that tail of the
        bars seen, and checks at each fold's first decision that the tail decides as all
        the bars do."""
        return None

    #: identifies the code of fit/predict in the fold-model cache key; None (default): a
    #: hash of the source of this class's module and the project modules it imports
    code_version: ClassVar[str | None] = None
    #: set by ``fit``: the first and last bar seen, and the last bar any training label read
    train_start_: pd.Timestamp
    train_end_: pd.Timestamp
    label_end_: pd.Timestamp

    # -- estimator plumbing ---------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        """Hyperparameters, read back from the attributes named like ``__init__``'s arguments."""
        parameters = inspect.signature(type(self).__init__).parameters.values()
        names = [p.name for p in parameters if p.name != "self" and p.kind not in
                 (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)]
        return {n: getattr(self, n) for n in names}

    def clone(self) -> Self:
        """A new, unfitted signal with the same hyperparameters."""
        return type(self)(**self.get_params())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "train_end_")

    def check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit(history) first")

    # -- the contract -----------------------------------------------------------------------
    @abstractmethod
    def decision_times(self, data: MarketData) -> pd.DatetimeIndex:
        """Times at which the signal can decide on ``data`` (its features are complete)."""

    @abstractmethod
    def fit(self, history: MarketData) -> Self:
        """Learn from ``history``; set ``train_start_``, ``train_end_`` (first and last bar
        seen) and ``label_end_`` (last bar any training label used)."""

    @abstractmethod
    def predict(self, data: MarketData) -> SignalFrame:
        """One decision per decision time of ``data``."""

    @abstractmethod
    def explain(self, data: MarketData, at: Sequence[pd.Timestamp]) -> list[Explanation]:
        """Explanations of the decisions at times ``at`` (each a decision time of ``data``)."""

    def inputs(self, data: MarketData) -> pd.DataFrame | None:
        """The named inputs the decisions read, one row per bar or decision time, each row
        from data up to its time; None (the default) when the signal does not name them.
        The look-ahead check names the first of these columns that read the future."""
        return None

    def measure(self, explanations: Sequence[Explanation]) -> list[Explanation]:
        """``explanations`` made by this fitted model, with ``faithfulness`` measured
        (explainers/faithfulness.py: the deletion test and the randomisation check, batched).
        By default they are returned as they are: not measured, unless ``explain`` labelled
        them exact."""
        return list(explanations)

    @abstractmethod
    def labels(self, data: MarketData) -> pd.Series:
        """The true class of each decision time of ``data`` (looks forward by definition;
        ``None`` where ``data`` ends before the label is known). For evaluation and
        training only, never a feature."""

    def evaluation_labels(self, data: MarketData) -> pd.Series:
        """The true class of every decision time, to score what was traded; by default
        ``labels``. A signal that trains on a subset (the five trends without "no trend"
        days) returns every decision's outcome here."""
        return self.labels(data)

    # -- persistence ------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        """Fitted tensors and arrays kept out of the JSON header; override for modules
        (return their ``state_dict``)."""
        return {name: getattr(self, name) for name in self.state_attrs}

    def _set_state(self, state: dict[str, Any]) -> None:
        """Restore what ``_state`` returned."""
        for name, value in state.items():
            setattr(self, name, value)

    def _fitted_json(self) -> dict[str, Any]:
        """Fitted attributes that are plain JSON (thresholds, feature names, windows)."""
        return {k: _to_json(v) for k, v in vars(self).items()
                if k.endswith("_") and not k.startswith("_") and k not in self.state_attrs}

    def _save_state(self, folder: Path) -> None:
        """Write ``_state()`` as tensors only (``state.pt``, read back with
        ``weights_only=True``, which runs no code), numpy arrays converted and listed in
        ``state.json``. Override (with ``_load_state``) to store other fitted objects."""
        state = self._state()
        if not state:
            return
        import torch

        arrays = sorted(k for k, v in state.items() if isinstance(v, np.ndarray))
        torch.save({k: torch.from_numpy(np.ascontiguousarray(v)) if k in arrays else v
                    for k, v in state.items()}, folder / "state.pt")
        (folder / "state.json").write_text(json.dumps({"numpy": arrays}))

    def _load_state(self, folder: Path) -> None:
        """Read what ``_save_state`` wrote; a file holding anything but tensors is refused."""
        state_file = folder / "state.pt"
        if not state_file.exists():
            return
        import pickle

        import torch

        try:
            state = torch.load(state_file, weights_only=True)
            arrays = json.loads((folder / "state.json").read_text())["numpy"]
        except pickle.UnpicklingError as e:
            raise ModelFileError(
                f"{state_file}: refused, it holds objects other than tensors and arrays, and "
                "loading those could run code; only load model files you made yourself, "
                "or refit") from e
        except Exception as e:  # torch raises several types for a damaged file
            raise ModelFileError(f"{state_file}: truncated or corrupt ({e})") from e
        self._set_state({k: v.numpy() if k in arrays else v for k, v in state.items()})

    def save(self, path: str | Path) -> Path:
        """Write ``signal.json`` (hyperparameters, fitted window, versions) and the fitted
        state into the folder ``path``, atomically: the folder appears complete or not at
        all. Function parameters are saved by import path (``module:name``)."""
        self.check_fitted()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        header = {
            "signal": self.name,
            "class": f"{type(self).__module__}.{type(self).__qualname__}",
            "params": {k: _param_to_json(k, v) for k, v in self.get_params().items()},
            "fitted": self._fitted_json(),
            "versions": library_versions(),
        }
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
        try:
            (tmp / "signal.json").write_text(json.dumps(header, indent=2, sort_keys=True))
            self._save_state(tmp)
            if path.exists():
                shutil.rmtree(path)
            tmp.rename(path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return path

    @classmethod
    def load(cls, path: str | Path, expected_params: dict[str, Any] | None = None) -> Self:
        """Load a signal saved by ``save``; refuse files of another signal, and with
        ``expected_params``, files fitted with other hyperparameters (naming each)."""
        path = Path(path)
        header_file = path / "signal.json"
        try:
            header = json.loads(header_file.read_text())
        except FileNotFoundError as e:
            raise ModelFileError(f"{header_file}: no saved signal here") from e
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ModelFileError(f"{header_file}: truncated or corrupt ({e})") from e
        if header.get("signal") != cls.name:
            raise ModelFileError(f"{path}: saved by signal {header.get('signal')!r}, "
                                 f"cannot load as {cls.name!r}")
        if expected_params is not None:
            saved = header["params"]
            differ = {k: (saved.get(k), _param_to_json(k, v))
                      for k, v in expected_params.items() if saved.get(k) != _param_to_json(k, v)}
            if differ:
                detail = ", ".join(f"{k}: saved {a!r}, expected {b!r}"
                                   for k, (a, b) in differ.items())
                raise ModelFileError(f"{path}: fitted with other hyperparameters ({detail})")
        signal = cls(**{k: _param_from_json(path, k, v) for k, v in header["params"].items()})
        for key, value in header["fitted"].items():
            setattr(signal, key, _from_json(value))
        signal._load_state(path)
        return signal


def _param_to_json(name: str, value: Any) -> Any:
    """A hyperparameter as JSON: functions and classes by import path, estimators (objects
    with ``get_params`` and ``fit``) by class, for their signal to restore from its state."""
    if callable(getattr(value, "get_params", None)) and callable(getattr(value, "fit", None)):
        return {"__estimator__": f"{type(value).__module__}:{type(value).__qualname__}"}
    if callable(value) and hasattr(value, "__qualname__"):
        target = f"{value.__module__}:{value.__qualname__}"
        if "<" in value.__qualname__:
            raise ModelFileError(f"parameter {name!r} is {target}, which cannot be imported "
                                 "back; define it with def at the top level of a module")
        return {"__callable__": target}
    return _to_json(value)


def _param_from_json(path: Path, name: str, value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"__estimator__"}:
        return None  # restored from the fitted state by the signal's _load_state
    if isinstance(value, dict) and set(value) == {"__callable__"}:
        module, _, attr = value["__callable__"].partition(":")
        try:
            found: Any = importlib.import_module(module)
            for part in attr.split("."):
                found = getattr(found, part)
        except (ImportError, AttributeError) as e:
            raise ModelFileError(f"{path}: parameter {name!r} names {value['__callable__']}, "
                                 f"which does not import here ({e})") from e
        return found
    return _from_json(value)


def _to_json(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return {"__timestamp__": value.isoformat()}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple):
        return [_to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_json(v) for k, v in value.items()}
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"__timestamp__"}:
        return pd.Timestamp(value["__timestamp__"])
    return value


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries a fitted model depends on."""
    out = {"python": platform.python_version()}
    for package in _VERSIONED:
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return out
