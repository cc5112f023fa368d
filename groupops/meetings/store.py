"""Meetings against the store: load them at an ``as_of`` (with their action items' states from
the deadline watcher) and record what the meetings flow saw (table ``meetings``)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from groupops.clock.workclock import WorkClock
from groupops.db.models import MeetingRecord
from groupops.db.queries import (
    LoadedMessages,
    load_groups,
    load_members,
    load_memberships,
    load_messages,
)
from groupops.deadlines import DEFAULT_LOOKBACK_DAYS  # meetings are followed as long as obligations
from groupops.deadlines.obligations import Obligations, compute_obligations
from groupops.meetings.declared import load_declared
from groupops.meetings.meetings import (
    Meeting,
    Meetings,
    MeetingWorld,
    find_meetings,
    found_source,
    meeting_records,
)
from groupops.policy import Policy


def meeting_world(
    engine: sa.Engine,
    policy: Policy,
    meetings_dir: Path | None,
    *,
    groups: Sequence[str] | None = None,
) -> tuple[MeetingWorld, list[str]]:
    """The directory, groups, memberships and declared meetings (only ``groups``' when given),
    and the problems met reading the declared files."""
    declared, problems = load_declared(meetings_dir, policy.tz)
    group_frame = load_groups(engine)
    if groups:
        wanted = set(groups)
        declared = [d for d in declared if d.group_id in wanted]
        group_frame = group_frame[group_frame["group_id"].isin(list(wanted))]
    world = MeetingWorld(load_members(engine), group_frame, load_memberships(engine), declared)
    return world, problems


@dataclass(frozen=True)
class MeetingsView:
    """The meetings at ``as_of`` and the deadline watcher's view of their action items."""

    found: Meetings
    obligations: Obligations
    records: list[dict[str, Any]]
    problems: list[str]


def load_meetings(
    engine: sa.Engine,
    policy: Policy,
    as_of: datetime,
    *,
    groups: Sequence[str] | None = None,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
    meetings_dir: Path | None = None,
    clock: WorkClock | None = None,
    loaded: LoadedMessages | None = None,
    obligations: Callable[[Meetings], Obligations] | None = None,
) -> MeetingsView:
    """Meetings with a start from ``lookback_days`` before ``as_of`` (messages from then on),
    their action items' task states, and the records ``groupops meetings --json`` prints.

    ``obligations``: the obligations at ``as_of`` given the meetings found (default: computed
    here with those meetings as the only other source). The digest passes the deadline
    watcher's (:func:`groupops.watch.load_obligations` with ``found``): the same tasks'
    states, so the meetings are found and the obligations computed once."""
    clock = clock or WorkClock.from_policy(policy)
    since = as_of - timedelta(days=lookback_days)
    world, problems = meeting_world(engine, policy, meetings_dir, groups=groups)
    messages = load_messages(
        engine, since=since, until=as_of + timedelta(microseconds=1), groups=groups,
        loaded=loaded,
    )  # fmt: skip
    found = find_meetings(messages, policy, as_of, world, clock=clock, since=since)
    if obligations is None:
        assert not isinstance(world.groups, list)  # meeting_world reads frames
        view = compute_obligations(
            messages, policy, as_of, groups=world.groups, clock=clock, sources=[found_source(found)]
        )
    else:
        del messages  # the caller's obligations read their own: one frame at a time, not two
        view = obligations(found)
    records = meeting_records(found, view, policy.tz)
    return MeetingsView(found, view, records, [*problems, *found.problems])


def _fingerprint(m: Meeting, record: dict[str, Any]) -> str:
    keep = {k: v for k, v in record.items() if k not in ("action_items",)}
    keep["action_items"] = [
        (a["task_id"], a["assignee_id"], a["state"]) for a in record["action_items"]
    ]
    keep["sequence"] = m.sequence
    blob = json.dumps(keep, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha1(blob.encode(), usedforsecurity=False).hexdigest()


def record_meetings(engine: sa.Engine, view: MeetingsView, now: datetime) -> int:
    """Insert or update (when something changed) one row per meeting; returns how many rows
    changed. Re-running on the same data changes nothing."""
    table = MeetingRecord.__table__
    assert isinstance(table, sa.Table)
    records = {r["meeting_id"]: r for r in view.records}
    changed = 0
    with engine.begin() as conn:
        existing: dict[str, str] = {
            str(r[0]): str(r[1])
            for r in conn.execute(sa.select(table.c.meeting_id, table.c.fingerprint)).all()
        }
        for m in view.found.meetings:
            record = records[m.meeting_id]
            fingerprint = _fingerprint(m, record)
            if existing.get(m.meeting_id) == fingerprint:
                continue
            values = {
                "platform": m.platform,
                "group_id": m.group_id,
                "source": m.source,
                "topic": m.topic,
                "start_at": m.start,
                "end_at": m.end,
                "place": m.place,
                "organizer_id": m.organizer_id,
                "attendees": list(m.attendees),
                "on_leave": list(m.on_leave),
                "late_leave": list(m.late_leave),
                "notice_message_id": m.notice_message_id,
                "sequence": m.sequence,
                "state": m.state,
                "minutes_message_id": m.minutes_message_id,
                "minutes_state": m.minutes_state,
                "minutes_due_at": m.minutes_due_at,
                "action_items": len(m.action_items),
                "fingerprint": fingerprint,
                "as_of": view.found.as_of,
                "updated_at": now,
            }
            if m.meeting_id in existing:
                conn.execute(
                    table.update().where(table.c.meeting_id == m.meeting_id).values(**values)
                )
            else:
                conn.execute(
                    table.insert().values(meeting_id=m.meeting_id, created_at=now, **values)
                )
            changed += 1
    return changed


def recorded_meetings(engine: sa.Engine) -> pd.DataFrame:
    table = MeetingRecord.__table__
    assert isinstance(table, sa.Table)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(table).order_by(table.c.start_at, table.c.meeting_id)).all()
    return pd.DataFrame(rows, columns=[c.name for c in table.c])
