"""An ensemble that combines the decisions of several signals by vote or by mean confidence.

It learns nothing and sees no data: it reads the members' ``SignalFrame``s. At each
time any member decides, every member's latest decision at or before that time
counts (a member that has not decided yet abstains). A member *votes* its
direction when its probability clears its own threshold (``thresholds[name]``, the one it
trades with; default ``threshold``), else it abstains.

* ``vote``: long (short) when more than half of the members vote long (short).
* ``mean``: the mean of ``direction * probability`` over members; long (short) when it is
  above ``margin`` (below ``-margin``).

The ensemble's explanation of a decision names each member's vote, and the trade log
carries the explanations of the members that voted with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from xai_backtest.explainers.base import Explanation, explanation
from xai_backtest.signals.base import SignalFrame

__all__ = ["Ballot", "Ensemble"]

NAME = "ensemble"
_WORD = {1: "long", 0: "flat", -1: "short"}


@dataclass(frozen=True)
class Ballot:
    """Each member's standing decision at every ensemble decision time (``view``, columns
    ``(member, field)``) and its vote (``votes``: direction x probability, or 0)."""

    members: tuple[str, ...]
    view: pd.DataFrame
    votes: pd.DataFrame


@dataclass(frozen=True)
class Ensemble:
    """Combine member decisions; ``combine`` then ``explain`` the decisions that traded."""

    method: Literal["vote", "mean"] = "vote"
    threshold: float = 0.5
    margin: float = 0.1
    thresholds: Mapping[str, float] = field(default_factory=dict)

    def ballot(self, members: Mapping[str, SignalFrame]) -> Ballot:
        """Every member's latest decision at each time any member decides, and its vote."""
        if len(members) < 2:
            raise ValueError(f"an ensemble needs at least 2 member signals, got {list(members)}")
        times = pd.DatetimeIndex(sorted(set().union(*(m.frame.index for m in members.values()))))
        parts = {}
        for name, member in members.items():
            frame = member.frame[["direction", "probability", "label"]].assign(
                decided_at=member.frame.index)
            parts[name] = frame.reindex(times, method="ffill")
        view = pd.concat(parts, axis=1)
        votes = {}
        for name in members:
            direction = view[(name, "direction")].fillna(0).astype(float)
            probability = view[(name, "probability")].fillna(0).astype(float)
            bar = self.thresholds.get(name, self.threshold)
            votes[name] = np.where(probability >= bar, direction * probability, 0.0)
        return Ballot(tuple(members), view, pd.DataFrame(votes, index=times))

    def combine(self, ballot: Ballot) -> SignalFrame:
        """The ensemble's decisions at every time of the ballot."""
        votes, n = ballot.votes, len(ballot.members)
        if self.method == "vote":
            longs, shorts = (votes > 0).sum(axis=1), (votes < 0).sum(axis=1)
            direction = np.where(longs > n / 2, 1, np.where(shorts > n / 2, -1, 0))
            agree = np.where(direction > 0, longs, np.where(direction < 0, shorts,
                                                            n - longs - shorts))
            score = (longs - shorts) / n
            probability = agree / n
        else:
            score = (votes.sum(axis=1) / n).to_numpy()
            direction = np.where(score > self.margin, 1, np.where(score < -self.margin, -1, 0))
            probability = np.clip(np.abs(score), 0, 1)
        frame = pd.DataFrame({"known_at": votes.index, "score": np.asarray(score, float),
                              "label": [_WORD[int(d)] for d in direction],
                              "probability": np.asarray(probability, float),
                              "direction": direction.astype(int), "fold": -1},
                             index=votes.index)
        return SignalFrame(NAME, frame)

    def explain(self, ballot: Ballot, at: list[pd.Timestamp],
                decisions: SignalFrame) -> list[Explanation]:
        """Why the ensemble decided as it did at each time in ``at``: each member's vote."""
        out = []
        for stamp in at:
            row = decisions.frame.loc[stamp]
            direction = int(row["direction"])
            with_it: list[str] = []
            against: list[str] = []
            for name in ballot.members:
                label = ballot.view.loc[stamp, (name, "label")]
                p = ballot.view.loc[stamp, (name, "probability")]
                vote = np.sign(ballot.votes.loc[stamp, name])
                text = f"{name} ({label}, p={p:.2f})" if isinstance(label, str) else \
                    f"{name} (no decision yet)"
                (with_it if vote == direction and vote != 0 else against).append(text)
            summary = (f"{_WORD[direction]}: " + (" and ".join(with_it) or "no member")
                       + f" voted {_WORD[direction]}"
                       + (f"; {', '.join(against)} did not" if against else ""))
            out.append(explanation(
                "rule", NAME, stamp, prediction=row["label"], probability=row["probability"],
                values=ballot.votes.loc[stamp].to_numpy(), feature_names=ballot.members,
                summary=summary, exact="the decision is the members' vote"))
        return out

    def supporters(self, ballot: Ballot, stamp: pd.Timestamp,
                   direction: int) -> dict[str, pd.Timestamp]:
        """Members that voted ``direction`` at ``stamp``, with the time of their decision."""
        return {name: ballot.view.loc[stamp, (name, "decided_at")] for name in ballot.members
                if direction != 0 and np.sign(ballot.votes.loc[stamp, name]) == direction}
