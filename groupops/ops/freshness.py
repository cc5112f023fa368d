"""The stale-data alarm: a source with no new activity for longer than its policy threshold.

A *source* is where a group's messages come from: a live connector source of
``data/sources.toml`` (all its groups together), or, for groups fed by imports, each group on
its own (``platform/group_id``). Its newest activity is the newest message stored for it. Silence
is measured in **working hours** on the working clock (``policy.ops.stale_after_working_hours``,
or a source's own ``stale_after_working_hours`` in the sources file): groups are quiet at night,
on weekends and holidays, and that is not an outage. A source that never brought any message is
stale as soon as it is configured (nothing has ever arrived).

:func:`stale_sources` is the one rule; ``groupops doctor`` reports it (exit 1) and the
``health-check`` flow emails ops about it (:func:`alarm_email_key` keeps that to one email per
source and silence).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from groupops.clock.workclock import WorkClock
from groupops.connectors.config import SourceConfig
from groupops.db.models import Group, Message
from groupops.db.types import UTCDateTime
from groupops.policy import Policy


@dataclass(frozen=True)
class SourceActivity:
    """One source, the groups it feeds and its newest stored message."""

    name: str
    kind: str  # "connector" (a live source) or "import" (a group fed by files)
    groups: tuple[str, ...]
    newest_at: datetime | None
    threshold_working_hours: float


@dataclass(frozen=True)
class StaleSource:
    source: SourceActivity
    silent_working_hours: float | None  # None: it never brought a message

    def describe(self) -> str:
        s = self.source
        if s.newest_at is None:
            return f"{s.name}: no message ever stored (groups {', '.join(s.groups)})"
        return (
            f"{s.name}: no new message for {self.silent_working_hours:.1f} working hours "
            f"(since {s.newest_at.isoformat(timespec='minutes')}; threshold "
            f"{s.threshold_working_hours:g})"
        )

    def as_dict(self) -> dict[str, object]:
        s = self.source
        return {
            "source": s.name,
            "kind": s.kind,
            "groups": list(s.groups),
            "newest_at": s.newest_at.isoformat() if s.newest_at else None,
            "silent_working_hours": None
            if self.silent_working_hours is None
            else round(self.silent_working_hours, 2),
            "threshold_working_hours": s.threshold_working_hours,
        }


def source_activity(
    engine: sa.Engine, policy: Policy, sources: Sequence[SourceConfig], as_of: datetime
) -> list[SourceActivity]:
    """Every enabled live source and every group not fed by one, with its newest message sent
    up to ``as_of``."""
    m = Message.__table__
    g = Group.__table__
    assert isinstance(m, sa.Table) and isinstance(g, sa.Table)
    newest_sent = sa.func.max(m.c.sent_at, type_=UTCDateTime())
    with engine.connect() as conn:
        newest = {
            (platform, group_id): at
            for platform, group_id, at in conn.execute(
                sa.select(m.c.platform, m.c.group_id, newest_sent)
                .where(m.c.sent_at <= as_of)
                .group_by(m.c.platform, m.c.group_id)
            )
        }
        stored = [(p, gid) for p, gid in conn.execute(sa.select(g.c.platform, g.c.group_id))]
    default = policy.ops.stale_after_working_hours
    out: list[SourceActivity] = []
    live: set[str] = set()
    for source in sources:
        if not source.enabled:
            continue
        live.update(source.groups)
        marks = [at for (_p, gid), at in newest.items() if gid in set(source.groups)]
        out.append(
            SourceActivity(
                name=source.name,
                kind="connector",
                groups=tuple(source.groups),
                newest_at=max(marks) if marks else None,
                threshold_working_hours=source.stale_after_working_hours or default,
            )
        )
    for platform, group_id in sorted(stored):
        if group_id in live:
            continue
        out.append(
            SourceActivity(
                name=f"{platform}/{group_id}",
                kind="import",
                groups=(group_id,),
                newest_at=newest.get((platform, group_id)),
                threshold_working_hours=default,
            )
        )
    return out


def stale_sources(
    activity: Sequence[SourceActivity], clock: WorkClock, as_of: datetime
) -> list[StaleSource]:
    """The sources silent for longer than their threshold, in working hours up to ``as_of``."""
    stale: list[StaleSource] = []
    for source in activity:
        if source.newest_at is None:
            stale.append(StaleSource(source, None))
            continue
        if source.newest_at >= as_of:
            continue
        silent = clock.working_minutes_between(source.newest_at, as_of) / 60
        if silent > source.threshold_working_hours:
            stale.append(StaleSource(source, silent))
    return stale


def alarm_email_key(stale: StaleSource) -> str:
    """The outbox key of the alarm about one silence: one email per source and silence (a new
    message ends the silence; the next silence is a new alarm)."""
    newest = stale.source.newest_at.isoformat() if stale.source.newest_at else "never"
    return f"ops-stale:{stale.source.name}:{newest}"
