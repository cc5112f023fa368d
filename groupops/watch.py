"""What the deadline watcher follows, in one place: task and reply messages
(:mod:`groupops.deadlines`) and, as a second source, meetings (:mod:`groupops.meetings`: action
items from minutes become tasks; missing minutes go up the same escalation ladder).

Every caller that judges deadlines (``groupops overdue`` / ``groupops tasks``, the
watch-deadlines flow, the digests' overdue section) loads through :func:`load_obligations`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import sqlalchemy as sa

from groupops.clock.workclock import WorkClock
from groupops.db.queries import LoadedMessages
from groupops.deadlines import DEFAULT_LOOKBACK_DAYS, reminders
from groupops.deadlines.obligations import Obligations
from groupops.meetings.meetings import Meetings, found_source, meeting_source
from groupops.meetings.store import meeting_world
from groupops.policy import Policy

if TYPE_CHECKING:
    from groupops.deadlines.rows import Msg, RowObligations


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


def message_rows(messages: pd.DataFrame) -> list[Msg]:
    """A ``load_messages`` frame as the row engine's messages (missing values as the frame
    engine's preparation reads them)."""
    from groupops.deadlines.rows import Msg

    mention_all = messages["mention_all"].fillna(False).astype(bool).tolist()
    kinds = messages["kind"].astype(object).where(messages["kind"].notna(), None).tolist()
    texts = messages["text"].fillna("").astype(str).tolist()
    reply_to = messages["reply_to"].astype(object).where(messages["reply_to"].notna(), None)
    sent = pd.to_datetime(messages["sent_at"], utc=True).dt.as_unit("us").dt.to_pydatetime()
    return [
        Msg(str(p), str(g), str(i), str(s), t, k, x, r, tuple(m), a)
        for p, g, i, s, t, k, x, r, m, a in zip(
            messages["platform"], messages["group_id"], messages["message_id"],
            messages["sender_id"], sent, kinds, texts, reply_to.tolist(),
            messages["mentions"], mention_all, strict=True,
        )
    ]  # fmt: skip


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
    policy's zone) by the row engine, equal to :func:`load_obligations`' frames as
    :func:`groupops.deadlines.obligations.to_records` gives them; ``None`` when the span holds
    more than ``max_messages`` messages (default :data:`ROW_ENGINE_MAX_MESSAGES`; the caller
    then uses :func:`load_obligations`)."""
    from groupops.db.queries import load_messages
    from groupops.deadlines.rows import compute_rows
    from groupops.meetings.meetings import find_meetings, sourced_rows
    from groupops.roster import Directory

    since = as_of - timedelta(days=lookback_days) if lookback_days is not None else None
    messages = load_messages(
        engine, since=since, until=as_of + timedelta(microseconds=1), groups=groups
    )
    if len(messages) > (ROW_ENGINE_MAX_MESSAGES if max_messages is None else max_messages):
        return None
    if meetings_dir is None:
        from groupops.settings import get_settings

        meetings_dir = get_settings().meetings_dir
    clock = WorkClock.from_policy(policy)
    world, _ = meeting_world(engine, policy, meetings_dir, groups=groups)
    found = find_meetings(messages, policy, as_of, world, clock=clock, since=since)
    declared, extra = sourced_rows(found.meetings)
    return compute_rows(
        message_rows(messages),
        policy,
        as_of,
        clock=clock,
        people=Directory.load(engine),
        declared_tasks=declared,
        extra_items=extra,
        tz=policy.tz,
    )
