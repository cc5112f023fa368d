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

import sqlalchemy as sa

from groupops.clock.workclock import WorkClock
from groupops.db.queries import LoadedMessages
from groupops.deadlines import DEFAULT_LOOKBACK_DAYS, reminders
from groupops.deadlines.obligations import Obligations
from groupops.meetings.meetings import Meetings, found_source, meeting_source
from groupops.meetings.store import meeting_world
from groupops.policy import Policy


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
