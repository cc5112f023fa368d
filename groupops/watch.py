"""What the deadline watcher follows, in one place: task and reply messages
(:mod:`groupops.deadlines`) and, as a second source, meetings (:mod:`groupops.meetings`: action
items from minutes become tasks; missing minutes go up the same escalation ladder).

Every caller that judges deadlines (``groupops overdue`` / ``groupops tasks``, the
watch-deadlines flow, the digests' overdue section) loads through :func:`load_obligations`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from groupops.clock.workclock import WorkClock
from groupops.deadlines import DEFAULT_LOOKBACK_DAYS
from groupops.policy import Policy

if TYPE_CHECKING:  # the frame engine (pandas) only where it computes: not the row path
    from groupops.db.queries import LoadedMessages
    from groupops.deadlines.obligations import Obligations
    from groupops.deadlines.rows import Msg, RowObligations
    from groupops.meetings.meetings import Meetings, MeetingWorld


def load_obligations(
    engine: sa.Engine,
    policy: Policy,
    as_of: datetime,
    *,
    groups: Sequence[str] | None = None,
    lookback_days: int | None = DEFAULT_LOOKBACK_DAYS,
    clock: WorkClock | None = None,
    meetings_dir: Path | None = None,
    loaded: LoadedMessages | None = None,
    found: Meetings | None = None,
) -> Obligations:
    """Obligations at ``as_of`` from every source (``meetings_dir``: the declared meetings,
    default ``Settings.meetings_dir``; ``loaded``: messages loaded before, see
    :func:`groupops.db.queries.load_messages`; ``found``: the meetings at ``as_of`` found over
    the same messages, window and groups, by :func:`groupops.meetings.store.load_meetings`:
    not found again)."""
    from groupops.deadlines import reminders
    from groupops.meetings.meetings import found_source, meeting_source
    from groupops.meetings.store import meeting_world

    since = as_of - timedelta(days=lookback_days) if lookback_days is not None else None
    if found is not None:
        source = found_source(found)
    else:
        if meetings_dir is None:
            from groupops.settings import get_settings  # here: commands pass the folder

            meetings_dir = get_settings().meetings_dir
        world, _ = meeting_world(engine, policy, meetings_dir, groups=groups)
        source = meeting_source(world, since=since)
    return reminders.load_obligations(
        engine,
        policy,
        as_of,
        groups=groups,
        lookback_days=lookback_days,
        clock=clock,
        sources=[source],
        loaded=loaded,
    )


#: Up to this many messages in the span, :func:`load_obligation_rows` computes with the row
#: engine (:mod:`groupops.deadlines.rows`); above it with the frame engine.
ROW_ENGINE_MAX_MESSAGES = 20_000


def load_obligation_rows(
    engine: sa.Engine,
    policy: Policy,
    as_of: datetime,
    *,
    groups: Sequence[str] | None = None,
    lookback_days: int | None = DEFAULT_LOOKBACK_DAYS,
    meetings_dir: Path | None = None,
    max_messages: int | None = None,
) -> RowObligations | None:
    """What ``groupops overdue`` / ``groupops tasks`` print (:class:`RowObligations`, in the
    policy's zone) by the row engine, without pandas: equal to :func:`load_obligations`'
    frames as :func:`groupops.deadlines.obligations.to_records` gives them. ``None`` when the
    span holds more than ``max_messages`` messages (default :data:`ROW_ENGINE_MAX_MESSAGES`;
    one count decides; the caller then uses :func:`load_obligations`)."""
    from groupops.deadlines.rows import compute_rows
    from groupops.meetings.meetings import find_meetings_rows, sourced_rows
    from groupops.roster import Directory

    since = as_of - timedelta(days=lookback_days) if lookback_days is not None else None
    msgs = _message_rows(engine, since, as_of, groups, max_messages)
    if msgs is None:
        return None
    clock = WorkClock.from_policy(policy)
    world, _ = meeting_world_rows(engine, policy, meetings_dir, groups=groups)
    found = find_meetings_rows(msgs, policy, as_of, world, clock=clock, since=since)
    declared, extra = sourced_rows(found.meetings)
    return compute_rows(
        msgs,
        policy,
        as_of,
        clock=clock,
        people=Directory.load(engine),
        declared_tasks=declared,
        extra_items=extra,
        tz=policy.tz,
    )


def _message_rows(
    engine: sa.Engine,
    since: datetime | None,
    as_of: datetime,
    groups: Sequence[str] | None,
    max_messages: int | None,
) -> list[Msg] | None:
    """The span's messages for the row engine, or ``None`` above the bound."""
    from groupops.db.rows import count_messages, load_message_rows
    from groupops.deadlines.rows import msg

    until = as_of + timedelta(microseconds=1)
    limit = ROW_ENGINE_MAX_MESSAGES if max_messages is None else max_messages
    if count_messages(engine, since=since, until=until, groups=groups) > limit:
        return None
    return [msg(r) for r in load_message_rows(engine, since=since, until=until, groups=groups)]


def meeting_world_rows(
    engine: sa.Engine,
    policy: Policy,
    meetings_dir: Path | None,
    *,
    groups: Sequence[str] | None = None,
) -> tuple[MeetingWorld, list[str]]:
    """:func:`groupops.meetings.store.meeting_world` as rows (no pandas)."""
    from groupops.db.rows import load_group_rows, load_member_rows, load_membership_rows
    from groupops.meetings.declared import load_declared
    from groupops.meetings.meetings import MeetingWorld

    if meetings_dir is None:
        from groupops.settings import get_settings  # here: commands pass the folder

        meetings_dir = get_settings().meetings_dir
    declared, problems = load_declared(meetings_dir, policy.tz)
    group_rows = load_group_rows(engine)
    if groups:
        wanted = set(groups)
        declared = [d for d in declared if d.group_id in wanted]
        group_rows = [g for g in group_rows if g["group_id"] in wanted]
    world = MeetingWorld(
        load_member_rows(engine), group_rows, load_membership_rows(engine), declared
    )
    return world, problems


@dataclass(frozen=True)
class MeetingRows:
    """What ``groupops meetings`` prints (:class:`groupops.meetings.store.MeetingsView`'s
    ``found``, ``records`` and ``problems``), from the row engine."""

    found: Meetings
    records: list[dict[str, Any]]
    problems: list[str]


def load_meeting_rows(
    engine: sa.Engine,
    policy: Policy,
    as_of: datetime,
    *,
    groups: Sequence[str] | None = None,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
    meetings_dir: Path | None = None,
    max_messages: int | None = None,
) -> MeetingRows | None:
    """:func:`groupops.meetings.store.load_meetings` by the row engine, without pandas: the
    same meetings, records and problems; ``None`` above the bound (see
    :func:`load_obligation_rows`)."""
    from groupops.deadlines.rows import compute_rows
    from groupops.meetings.meetings import (
        find_meetings_rows,
        meeting_records_rows,
        sourced_rows,
    )

    clock = WorkClock.from_policy(policy)
    since = as_of - timedelta(days=lookback_days)
    world, problems = meeting_world_rows(engine, policy, meetings_dir, groups=groups)
    msgs = _message_rows(engine, since, as_of, groups, max_messages)
    if msgs is None:
        return None
    found = find_meetings_rows(msgs, policy, as_of, world, clock=clock, since=since)
    declared, extra = sourced_rows(found.meetings)
    ob = compute_rows(msgs, policy, as_of, clock=clock, declared_tasks=declared, extra_items=extra)
    records = meeting_records_rows(found, ob.raw_tasks, policy.tz)
    return MeetingRows(found, records, [*problems, *found.problems])
