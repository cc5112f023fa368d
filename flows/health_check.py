"""Flow: the stale-data alarm to ops (hourly in working hours).

Finds the sources with no new message for longer than their threshold (working hours on the
working clock; ``policy.ops.stale_after_working_hours`` or the source's own), emails
``policy.ops.alert_emails`` once per silence through the outbox, publishes a table artifact,
and ends Failed while any source is stale, so the Prefect UI shows the alarm too.
"""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact
from pydantic import BaseModel

from groupops.mail import Delivery
from groupops.ops.alarms import ALARM_KIND
from groupops.settings import get_settings
from tasks.db import ensure_schema
from tasks.mail import deliver, pending_entries
from tasks.ops import find_stale, queue_stale_alarms


class StaleData(RuntimeError):
    """Sources are silent beyond their threshold (the run fails after alerting ops)."""


class HealthCheck(BaseModel):
    as_of: datetime
    stale: list[dict[str, object]]
    alarms: list[str]  # outbox keys (queued now or before)
    sent: list[str] = []


@flow(name="health-check", log_prints=False)
def health_check(as_of: datetime | None = None, send: bool = True) -> HealthCheck:
    """Alert ops about sources silent beyond their threshold at ``as_of`` (default: now)."""
    settings = get_settings()
    db, policy_path = settings.database_url, str(settings.policy_path)
    now = datetime.now(UTC)
    as_of = as_of or now

    ensure_schema(db, settings.auto_upgrade)
    stale = find_stale(db, policy_path, str(settings.sources_path), as_of)
    keys = queue_stale_alarms(db, policy_path, stale, settings.mail_from,
                              str(settings.outbox_dir), as_of, now)  # fmt: skip
    delivery = deliver(pending_entries(ALARM_KIND, keys, db), db) if send and keys else Delivery()

    run = HealthCheck(
        as_of=as_of, stale=[s.as_dict() for s in stale], alarms=keys, sent=delivery.sent
    )
    _publish(run)
    delivery.raise_for_failures()
    if stale:
        raise StaleData("stale data: " + "; ".join(s.describe() for s in stale))
    return run


def _publish(run: HealthCheck) -> None:
    create_table_artifact(
        key="stale-sources",
        table=run.stale or [{"source": "(none)", "silent_working_hours": 0}],
        description=f"Sources silent beyond their threshold at {run.as_of.isoformat()}",
    )
    get_run_logger().info(
        "%d stale source(s), %d alarm email(s), %d sent", len(run.stale), len(run.alarms),
        len(run.sent),
    )  # fmt: skip
