"""Flow: watch reply and task deadlines on the working clock.

Scheduled every 30 minutes from 09:00 to 17:30 every day (Asia/Shanghai, see prefect.yaml); a
run outside working time (weekends, holidays, lunch, unless a 调休 make-up working day) does
nothing, so the calendar lives in one place: the working clock. Each run computes the
obligations at ``as_of``, emails the escalation steps that became due (each step once, ever),
records non-response violations, and publishes the overdue items as a table artifact.
"""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger, unmapped
from prefect.artifacts import create_table_artifact
from pydantic import BaseModel

from groupops.clock.workclock import WorkClock
from groupops.deadlines.obligations import Obligations, to_records
from groupops.deadlines.reminders import DEFAULT_LOOKBACK_DAYS, SentReminder
from groupops.policy import load_policy
from groupops.settings import get_settings
from tasks.db import upgrade
from tasks.deadlines import load_obligations, record_violations, send_reminders
from tasks.mail import pending_entries, send_entry, smtp_config


class DeadlineWatch(BaseModel):
    """What one run saw and did."""

    as_of: datetime
    skipped: str | None = None  # why nothing was done (outside working time)
    overdue: int = 0
    pending: int = 0
    tasks: int = 0
    reminders: int = 0  # escalation steps newly recorded (or, dry run, that would be)
    emails: int = 0
    violations: int = 0
    dry_run: bool = False


@flow(name="watch-deadlines", log_prints=False)
def watch_deadlines(
    as_of: datetime | None = None,
    dry_run: bool = False,
    groups: list[str] | None = None,
    only_in_working_time: bool | None = None,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
) -> DeadlineWatch:
    """Remind, escalate and record what is overdue at ``as_of`` (default: now).

    ``dry_run``: compute and report only (no reminders recorded, no emails, no violations).
    ``only_in_working_time``: return at once outside working time; by default only for runs
    judging *now* (the schedule), not for an explicit ``as_of``."""
    settings = get_settings()
    db, policy_path = settings.database_url, str(settings.policy_path)
    policy = load_policy(policy_path)
    now = datetime.now(UTC)
    check_clock = as_of is None if only_in_working_time is None else only_in_working_time
    as_of = (as_of or now).astimezone(policy.tz)
    log = get_run_logger()

    if check_clock and not WorkClock.from_policy(policy).is_working_instant(as_of):
        log.info("%s is outside working time: nothing to do", as_of.isoformat())
        return DeadlineWatch(as_of=as_of, skipped="outside working time", dry_run=dry_run)

    upgrade(db)
    obligations = load_obligations(db, policy_path, as_of, groups, lookback_days)
    sent = send_reminders(
        db, policy_path, obligations, settings.mail_from, str(settings.outbox_dir), now, dry_run
    )
    emails = 0 if dry_run else _deliver(db, sent)
    violations = 0 if dry_run else record_violations(db, obligations, now)

    _publish(obligations, policy.tz, dry_run)
    result = DeadlineWatch(
        as_of=as_of,
        overdue=len(obligations.overdue),
        pending=len(obligations.pending),
        tasks=len(obligations.tasks),
        reminders=sum(1 for s in sent if s.created),
        emails=emails,
        violations=violations,
        dry_run=dry_run,
    )
    log.info("deadlines at %s: %s", as_of.isoformat(), result.model_dump(exclude={"as_of"}))
    return result


def _deliver(db: str, sent: list[SentReminder]) -> int:
    """Send the newly queued reminder emails when an SMTP server is configured (else they
    wait in the outbox); returns how many were queued."""
    keys = [s.outbox_key for s in sent if s.created and s.outbox_key]
    if keys and smtp_config() is not None:
        ids = pending_entries(keys=keys, database_url=db)
        for future in send_entry.map(ids, database_url=unmapped(db)):
            future.result(raise_on_failure=False)
    return len(keys)


def _publish(obligations: Obligations, tz: object, dry_run: bool) -> None:
    rows = to_records(obligations.overdue, tz)
    create_table_artifact(
        key="overdue-items",
        table=rows
        or [{"kind": "-", "group_id": "-", "message_id": "-", "assignee_id": "nothing overdue"}],
        description=(
            f"Overdue replies and tasks at {obligations.as_of.isoformat()}"
            f"{' (dry run)' if dry_run else ''}: {len(rows)} item(s); escalation 1 = admins, "
            "2 = owner."
        ),
    )
