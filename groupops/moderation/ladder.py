"""The penalty ladder (rulebook ch. 6), a pure function of a member's violations in one group.

For a violation *v*, count that member's violations in that group that are not revoked and
whose ``at`` lies within ``ladder_window_days`` before *v* (``v.at - window < at <= v.at``, *v*
included; ties broken by id): 1 → ``warning``, 2 → ``mute``, 3 or more → ``removal``. A
violation of a severe category (``severe_categories``) is ``removal`` at once. Because the
count only looks at the record, revoking a violation and recounting gives every later violation
the step it would have had without it (a ``mute`` that was one only because of the revoked
violation becomes a ``warning``).

A violation's ``state`` at an instant: ``revoked`` (an upheld appeal), ``expired`` (older than
the window: it no longer counts), else ``active``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

Penalty = Literal["warning", "mute", "removal"]
State = Literal["active", "expired", "revoked"]
STEPS: Final[tuple[Penalty, ...]] = ("warning", "mute", "removal")
SEVERITY: Final[dict[str, int]] = {"warning": 0, "mute": 1, "removal": 2}


@dataclass(frozen=True)
class Rung:
    """What the ladder needs of a violation."""

    id: int
    platform: str
    group_id: str
    member_id: str
    category: str
    at: datetime
    revoked: bool = False


def step_for(count: int) -> Penalty:
    """The penalty of the ``count``-th counted violation (1-based)."""
    if count < 1:
        raise ValueError("count starts at 1")
    return STEPS[min(count, len(STEPS)) - 1]


@dataclass(frozen=True)
class Step:
    penalty: Penalty
    count: int  # how many counted violations, this one included


def penalties(
    rungs: Iterable[Rung], *, window_days: int, severe: Sequence[str]
) -> dict[int, Penalty]:
    """The penalty of every non-revoked violation, by id (revoked ones are left out)."""
    return {
        k: step.penalty for k, step in steps(rungs, window_days=window_days, severe=severe).items()
    }


def steps(rungs: Iterable[Rung], *, window_days: int, severe: Sequence[str]) -> dict[int, Step]:
    """The ladder step of every non-revoked violation, by id."""
    window = timedelta(days=window_days)
    by_member: dict[tuple[str, str, str], list[Rung]] = {}
    for rung in rungs:
        if not rung.revoked:
            by_member.setdefault((rung.platform, rung.group_id, rung.member_id), []).append(rung)
    out: dict[int, Step] = {}
    for items in by_member.values():
        items.sort(key=lambda r: (r.at, r.id))
        for k, rung in enumerate(items):
            count = sum(1 for earlier in items[: k + 1] if earlier.at > rung.at - window)
            penalty = "removal" if rung.category in severe else step_for(count)
            out[rung.id] = Step(penalty, count)
    return out


def state_at(at: datetime, revoked: bool, as_of: datetime, *, window_days: int) -> State:
    if revoked:
        return "revoked"
    if at <= as_of - timedelta(days=window_days):
        return "expired"
    return "active"
