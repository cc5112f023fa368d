"""Deciding violations on the ladder, in the store.

:func:`plan_decisions` is pure: from the recorded violations it gives the penalty of every
undecided one (decided at ``as_of``: when its notice goes out) and the recounts of decided ones
whose step changed because an earlier violation was revoked. :func:`apply_decisions` writes
them; a decided violation is never decided again, so re-runs change nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from groupops.db.models import Violation
from groupops.moderation.ladder import Rung, state_at, steps
from groupops.moderation.store import ViolationRecord
from groupops.policy import Moderation


@dataclass(frozen=True)
class Decision:
    violation_id: int
    penalty: str
    count: int
    decided_at: datetime
    mute_until: datetime | None
    severe: bool
    previous: str | None = None  # a recount: the penalty before


def rungs(violations: Sequence[ViolationRecord]) -> list[Rung]:
    return [
        Rung(v.id, v.platform, v.group_id, v.member_id, v.category, v.at, v.revoked)
        for v in violations
    ]


def plan_decisions(
    violations: Sequence[ViolationRecord], policy: Moderation, as_of: datetime
) -> tuple[list[Decision], list[Decision]]:
    """(new decisions for undecided, active violations with evidence up to ``as_of``; recounts
    of decided ones whose step changed), both in (``at``, id) order."""
    known = [v for v in violations if v.at <= as_of]
    ladder = steps(
        rungs(known), window_days=policy.ladder_window_days, severe=policy.severe_categories
    )
    new: list[Decision] = []
    recounts: list[Decision] = []
    for v in sorted(known, key=lambda v: (v.at, v.id)):
        step = ladder.get(v.id)
        if step is None:  # revoked
            continue
        severe = v.category in policy.severe_categories
        if v.decided_at is None:
            state = state_at(v.at, v.revoked, as_of, window_days=policy.ladder_window_days)
            if state != "active":
                continue
            mute_until = (
                as_of + timedelta(minutes=policy.mute_minutes) if step.penalty == "mute" else None
            )
            new.append(Decision(v.id, step.penalty, step.count, as_of, mute_until, severe))
        elif v.penalty != step.penalty:
            mute_until = v.mute_until if step.penalty == "mute" else None
            if step.penalty == "mute" and mute_until is None:  # a mute from the recount on
                mute_until = as_of + timedelta(minutes=policy.mute_minutes)
            recounts.append(
                Decision(
                    v.id, step.penalty, step.count, v.decided_at, mute_until, severe, v.penalty
                )
            )
    return new, recounts


def apply_decisions(engine: sa.Engine, decisions: Sequence[Decision], now: datetime) -> int:
    """Store decisions (new ones only where still undecided: a concurrent run wins); how many
    rows changed."""
    table = Violation.__table__
    assert isinstance(table, sa.Table)
    changed = 0
    with engine.begin() as conn:
        for d in decisions:
            stmt = table.update().where(table.c.id == d.violation_id)
            if d.previous is None:
                stmt = stmt.where(table.c.decided_at.is_(None)).values(decided_at=d.decided_at)
            changed += conn.execute(
                stmt.values(penalty=d.penalty, mute_until=d.mute_until, updated_at=now)
            ).rowcount
    return changed
