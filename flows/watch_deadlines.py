"""Flow: watch reply and task deadlines on the working clock.

Scheduled every 30 minutes from 09:00 to 17:30 every day (Asia/Shanghai, see prefect.yaml); a
run outside working time (weekends, holidays, lunch, unless a 调休 make-up working day) does
nothing, so the calendar lives in one place: the working clock. Each run computes the
obligations at ``as_of``, queues the escalation steps that became due (each step once, ever),
records non-response violations, delivers every reminder email still unsent in the outbox by
the one delivery rule (``groupops.mail.delivery``: retried with backoff; what still cannot be
sent stays in the outbox for the next run and the run ends Failed), and publishes the overdue
items as a table artifact. Reminders routed to a group bot (the policy's ``[chatbots]``) are
posted there as cards, each once (``tasks/chatbots.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact
from pydantic import BaseModel

from groupops.chatbots import BotDelivery, CardsNotPosted
from groupops.clock.workclock import WorkClock
from groupops.deadlines import DEFAULT_LOOKBACK_DAYS
from groupops.deadlines.obligations import Obligations, to_records
from groupops.deadlines.reminders import REMINDER_KIND
from groupops.mail import Delivery
from groupops.policy import load_policy
from groupops.settings import get_settings
from tasks.chatbots import pending_cards, post_cards
from tasks.db import ensure_schema
from tasks.deadlines import load_obligations, record_violations, send_reminders
from tasks.mail import deliver, pending_entries


class DeadlineWatch(BaseModel):
    """What one run saw and did."""

    as_of: datetime
    skipped: str | None = None  # why nothing was done (outside working time)
    overdue: int = 0
    pending: int = 0
    tasks: int = 0
    reminders: int = 0  # escalation steps newly recorded (or, dry run, that would be)
    emails: int = 0  # reminder emails this run put into the outbox
    emails_sent: int = 0  # reminder emails the SMTP server accepted (earlier runs' unsent too)
    emails_failed: list[str] = []  # not sent: kept in the outbox for the next run (run fails)
    cards_posted: int = 0  # reminder cards a group bot accepted (earlier runs' unposted too)
    cards_failed: dict[str, str] = {}  # card → the error (kept for the next run; run fails)
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

    ensure_schema(db, settings.auto_upgrade)
    obligations = load_obligations(db, policy_path, as_of, groups, lookback_days)
    sent = send_reminders(
        db, policy_path, obligations, settings.mail_from, str(settings.outbox_dir), now, dry_run
    )
    violations = 0 if dry_run else record_violations(db, obligations, now)
    delivery = Delivery() if dry_run else deliver(pending_entries(REMINDER_KIND, None, db), db)
    cards = (
        BotDelivery()
        if dry_run or not policy.chatbots
        else post_cards(pending_cards(REMINDER_KIND, None, db), policy_path, db)
    )

    _publish(obligations, policy.tz, dry_run)
    result = DeadlineWatch(
        as_of=as_of,
        overdue=len(obligations.overdue),
        pending=len(obligations.pending),
        tasks=len(obligations.tasks),
        reminders=sum(1 for s in sent if s.created),
        emails=0 if dry_run else sum(1 for s in sent if s.created and s.outbox_key),
        emails_sent=len(delivery.sent),
        emails_failed=list(delivery.failed),
        cards_posted=len(cards.sent),
        cards_failed=cards.failed,
        violations=violations,
        dry_run=dry_run,
    )
    log.info("deadlines at %s: %s", as_of.isoformat(), result.model_dump(exclude={"as_of"}))
    delivery.raise_for_failures()
    CardsNotPosted.raise_for(cards)
    return result


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
