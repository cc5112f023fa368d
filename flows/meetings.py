"""Flow: meetings — notices, changes, leave, minutes and their emails (rulebook ch. 5).

Scheduled every 15 minutes from 08:00 to 20:45 (Asia/Shanghai, see prefect.yaml) so that
reminders go out ``meetings.reminder_minutes_before`` the start. Each run reads the meetings at
``as_of`` (notices in the groups and ``data/meetings/*.md``), emails what is due — invitations
and updates with an ``.ics``, cancellations, reminders, minutes — each once (outbox keys),
records the meetings (table ``meetings``), delivers every meeting email still unsent by the one
delivery rule (``groupops.mail.delivery``; the run ends Failed when one cannot be sent) and
publishes the meetings as a table artifact. Action items
and missing minutes are followed by the watch-deadlines flow (its second source of tasks).
"""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact
from pydantic import BaseModel

from groupops.deadlines import DEFAULT_LOOKBACK_DAYS
from groupops.mail import Delivery
from groupops.meetings.notify import MAIL_WINDOW_DAYS, MEETING_KIND
from groupops.meetings.store import MeetingsView
from groupops.policy import load_policy
from groupops.settings import get_settings
from tasks.db import ensure_schema
from tasks.mail import deliver, pending_entries
from tasks.meetings import load_meetings, notify_meetings, record_meetings


class MeetingsRun(BaseModel):
    """What one run saw and did."""

    as_of: datetime
    meetings: int = 0
    scheduled: int = 0
    held: int = 0
    cancelled: int = 0
    minutes_missing: int = 0
    emails: int = 0  # newly queued (or, dry run, that would be)
    emails_sent: int = 0  # meeting emails the SMTP server accepted (earlier runs' unsent too)
    emails_failed: list[str] = []  # not sent: kept in the outbox for the next run (run fails)
    recorded: int = 0  # meeting rows inserted or changed
    problems: int = 0
    dry_run: bool = False


@flow(name="meetings", log_prints=False)
def meetings(
    as_of: datetime | None = None,
    dry_run: bool = False,
    groups: list[str] | None = None,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
    mail_window_days: int = MAIL_WINDOW_DAYS,
) -> MeetingsRun:
    """Read the meetings at ``as_of`` (default: now), email what is due, record them.

    ``dry_run``: compute and report only (no emails, nothing recorded)."""
    settings = get_settings()
    db, policy_path = settings.database_url, str(settings.policy_path)
    policy = load_policy(policy_path)
    now = datetime.now(UTC)
    as_of = (as_of or now).astimezone(policy.tz)

    ensure_schema(db, settings.auto_upgrade)
    view = load_meetings(db, policy_path, as_of, groups, lookback_days, str(settings.meetings_dir))
    mails = notify_meetings(
        db, policy_path, view, settings.mail_from, str(settings.outbox_dir), now, dry_run,
        mail_window_days,
    )  # fmt: skip
    recorded = 0 if dry_run else record_meetings(db, view, now)
    delivery = Delivery() if dry_run else deliver(pending_entries(MEETING_KIND, None, db), db)

    _publish(view, dry_run)
    states = [r["state"] for r in view.records]
    result = MeetingsRun(
        as_of=as_of,
        meetings=len(view.records),
        scheduled=states.count("scheduled"),
        held=states.count("held"),
        cancelled=states.count("cancelled"),
        minutes_missing=sum(1 for r in view.records if r["minutes_state"] == "missing"),
        emails=sum(1 for m in mails if m.created),
        emails_sent=len(delivery.sent),
        emails_failed=list(delivery.failed),
        recorded=recorded,
        problems=len(view.problems),
        dry_run=dry_run,
    )
    log = get_run_logger()
    for problem in view.problems:
        log.warning("%s", problem)
    log.info("meetings at %s: %s", as_of.isoformat(), result.model_dump(exclude={"as_of"}))
    delivery.raise_for_failures()
    return result


def _publish(view: MeetingsView, dry_run: bool) -> None:
    rows = [
        {
            "start": r["start"],
            "group_id": r["group_id"],
            "topic": r["topic"],
            "state": r["state"],
            "on_leave": len(r["on_leave"]) + len(r["late_leave"]),
            "minutes_state": r["minutes_state"],
            "action_items": len(r["action_items"]),
        }
        for r in view.records
    ]
    create_table_artifact(
        key="meetings",
        table=rows or [{"start": "-", "group_id": "-", "topic": "no meetings"}],
        description=(
            f"Meetings at {view.found.as_of.isoformat()}{' (dry run)' if dry_run else ''}: "
            f"{len(rows)} meeting(s); attendance is unknown (the platforms do not report it)."
        ),
    )
