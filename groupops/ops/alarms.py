"""The stale-data alarm to ops: one email per source and silence, through the outbox.

The ``health-check`` flow finds the stale sources (:func:`groupops.ops.doctor.find_stale`) and
queues one email per silent source to ``policy.ops.alert_emails``; the outbox key
(:func:`groupops.ops.freshness.alarm_email_key`) makes it once per silence: the next hourly
run finds it queued already, and a new message ends the silence (the next silence is a new
alarm). With no ``alert_emails`` nothing is queued (the flow run still fails, naming them).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from groupops.mail.outbox import enqueue
from groupops.mail.render import render_email
from groupops.ops.freshness import StaleSource, alarm_email_key
from groupops.policy import Policy

ALARM_KIND = "ops-alarm"


def queue_stale_alarms(
    engine: sa.Engine,
    policy: Policy,
    stale: Sequence[StaleSource],
    *,
    sender: str,
    outbox_dir: Path,
    as_of: datetime,
    now: datetime,
) -> list[str]:
    """Queue the alarm of each stale source (once per silence); the outbox keys to deliver."""
    if not policy.ops.alert_emails:
        return []
    keys: list[str] = []
    for item in stale:
        key = alarm_email_key(item)
        source = item.source
        context = {
            "company": policy.company,
            "source": source.name,
            "kind": source.kind,
            "groups": list(source.groups),
            "newest_at": source.newest_at.astimezone(policy.tz) if source.newest_at else None,
            "silent_hours": None
            if item.silent_working_hours is None
            else round(item.silent_working_hours, 1),
            "threshold": source.threshold_working_hours,
            "as_of": as_of.astimezone(policy.tz),
        }
        email = render_email("ops_stale_source", context, language=policy.language)
        enqueue(
            engine,
            email,
            key=key,
            kind=ALARM_KIND,
            to=dict.fromkeys(policy.ops.alert_emails),
            sender=sender,
            outbox_dir=outbox_dir,
            now=now,
        )
        keys.append(key)
    return keys
