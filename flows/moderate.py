"""Flow: moderation (rulebook ch. 6) — detect violations up to ``as_of``, file the appeals
written in the groups and decide those an admin answered there, decide on the penalty ladder, notify (member, admins, department head,
owner for severe ones), act through the platforms (post the notice, mute, lift ended mutes,
remove; admin to-dos where no connector can), escalate overdue appeal answers, and deliver every
moderation email still unsent by the one delivery rule (``groupops.mail``: retried with backoff;
what still cannot be sent stays in the outbox and the run ends Failed).

Scheduled every 30 minutes in working hours (prefect.yaml); like the deadline watcher it
returns at once outside working time when judging *now*. Re-running changes nothing: no second
decision for the same evidence, no second notice, no second action.
"""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact
from pydantic import BaseModel

from groupops.clock.workclock import WorkClock
from groupops.mail import Delivery
from groupops.moderation.notices import MODERATION_KIND
from groupops.policy import load_policy
from groupops.settings import get_settings
from tasks.db import ensure_schema
from tasks.mail import deliver, pending_entries
from tasks.moderation import (
    answer_detected_appeals,
    carry_out_actions,
    decide_violations,
    detect_violations,
    escalate_appeals,
    file_detected_appeals,
    record_detections,
    send_violation_notices,
)


class ModerationRun(BaseModel):
    """What one run saw and did (``groupops moderate --json`` prints it)."""

    as_of: datetime
    skipped: str | None = None
    dry_run: bool = False
    detected: int = 0
    recorded: int = 0
    appeals_filed: list[int] = []
    appeals_answered: list[dict[str, object]] = []
    decisions: list[dict[str, object]] = []
    notices: list[str] = []
    actions: list[dict[str, object]] = []
    escalations: list[dict[str, object]] = []
    emails_sent: int = 0
    emails_failed: list[str] = []
    runs: list[str] = []  # catch-up runs merged into one report (groupops moderate --since)


@flow(name="moderate", log_prints=False)
def moderate(
    as_of: datetime | None = None,
    groups: list[str] | None = None,
    dry_run: bool = False,
    only_in_working_time: bool | None = None,
) -> ModerationRun:
    """Moderate at ``as_of`` (default: now). ``dry_run``: detect and decide in memory only
    (nothing recorded, no email, no platform action)."""
    settings = get_settings()
    db, policy_path = settings.database_url, str(settings.policy_path)
    outbox, sender = str(settings.outbox_dir), settings.mail_from
    policy = load_policy(policy_path)
    now = datetime.now(UTC)
    check_clock = as_of is None if only_in_working_time is None else only_in_working_time
    as_of = (as_of or now).astimezone(policy.tz)
    if check_clock and not WorkClock.from_policy(policy).is_working_instant(as_of):
        return ModerationRun(as_of=as_of, skipped="outside working time", dry_run=dry_run)

    ensure_schema(db, settings.auto_upgrade)
    detections = detect_violations(db, policy_path, as_of, groups)
    run = ModerationRun(as_of=as_of, dry_run=dry_run, detected=len(detections))
    if not dry_run:
        run.recorded = record_detections(db, detections, now)
        run.appeals_filed = file_detected_appeals(
            db, policy_path, as_of, now, sender, outbox, groups
        )
        run.appeals_answered = answer_detected_appeals(
            db, policy_path, as_of, now, sender, outbox, groups
        )
    decisions, run.decisions = decide_violations(
        db, policy_path, as_of, now, groups, dry_run, detections
    )
    if not dry_run:
        run.notices = send_violation_notices(db, policy_path, decisions, sender, outbox, now)
        run.actions = carry_out_actions(
            db, policy_path, str(settings.sources_path), as_of, now, groups
        )
        run.escalations = escalate_appeals(db, policy_path, as_of, now, sender, outbox)
    # This run's emails and those the appeals commands queued: every unsent moderation email.
    delivery = Delivery() if dry_run else deliver(pending_entries(MODERATION_KIND, None, db), db)
    run.emails_sent, run.emails_failed = len(delivery.sent), list(delivery.failed)

    _publish(run)
    delivery.raise_for_failures()
    return run


def _publish(run: ModerationRun) -> None:
    create_table_artifact(
        key="moderation-decisions",
        table=run.decisions or [{"violation_id": "-", "penalty": "nothing to decide"}],
        description=(
            f"Moderation at {run.as_of.isoformat()}{' (dry run)' if run.dry_run else ''}: "
            f"{run.detected} detected, {len(run.decisions)} decided, "
            f"{len(run.actions)} action(s), {len(run.notices)} notice(s)."
        ),
    )
    get_run_logger().info(
        "moderation at %s: %s", run.as_of.isoformat(), run.model_dump(exclude={"as_of"})
    )
