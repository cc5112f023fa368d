"""Flow: weekly and monthly digests of group activity to owners and admins.

Computes the last complete period's statistics, renders one digest per owner (all their groups)
and one per group for its admins into the outbox (idempotent: a digest already queued is not
queued again unless ``force``; a digest with nothing to say is not sent), then sends what is
still unsent with retries and backoff. Without an SMTP host the emails stay in the outbox and
the run succeeds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact
from pydantic import BaseModel

from groupops.digest import DigestOutcome
from groupops.settings import get_settings
from tasks.db import upgrade
from tasks.digests import prepare_digests
from tasks.mail import pending_entries, send_entry, smtp_config


class DigestRow(BaseModel):
    key: str
    audience: str
    subject_id: str
    subject_name: str = ""
    outcome: str
    recipients: list[str]
    eml_path: str | None
    sent: bool


class DigestRun(BaseModel):
    period: str
    smtp_configured: bool
    rows: list[DigestRow]
    failed: list[str]


@flow(name="send-digests", log_prints=False)
def send_digests(
    period: Literal["week", "month"] = "week",
    as_of: datetime | None = None,
    owner: str | None = None,
    send: bool = True,
    force: bool = False,
) -> DigestRun:
    """Digests for the last complete ``period`` before ``as_of`` (default: now)."""
    settings = get_settings()
    db = settings.database_url
    as_of = as_of or datetime.now(UTC)

    upgrade(db)
    outcomes = prepare_digests(db, str(settings.policy_path), str(settings.outbox_dir),
                             settings.mail_from, period, as_of, owner, force)  # fmt: skip
    sent, failed = _deliver(outcomes, db) if send else (set(), [])

    run = _summary(outcomes, sent, failed, period_label=_label(outcomes, period, as_of))
    _publish(run)
    if failed:
        raise RuntimeError(
            f"{len(failed)} digest(s) could not be sent (kept in the outbox): {failed}"
        )
    return run


def _deliver(outcomes: list[DigestOutcome], db: str) -> tuple[set[str], list[str]]:
    """Send this run's unsent digests; ``(sent keys, failed keys)``."""
    keys = [o.key for o in outcomes if o.outbox_id is not None]
    if not keys:
        return set(), []
    if smtp_config() is None:
        get_run_logger().warning(
            "no SMTP host configured: %d digest(s) stay in the outbox", len(keys)
        )
        return set(), []
    ids = pending_entries(keys=keys, database_url=db)
    by_id = {o.outbox_id: o.key for o in outcomes}
    futures = send_entry.map(ids, database_url=db)
    sent: set[str] = set()
    failed: list[str] = []
    for entry_id, future in zip(ids, futures, strict=True):
        future.wait()
        if future.state.is_completed() and future.result() == "sent":
            sent.add(by_id[entry_id])
        else:
            failed.append(by_id[entry_id])
    return sent, failed


def _label(outcomes: list[DigestOutcome], period: str, as_of: datetime) -> str:
    if outcomes:
        return outcomes[0].key.split(":")[2]
    return f"{period} before {as_of.isoformat()}"


def _summary(outcomes: list[DigestOutcome], sent: set[str], failed: list[str], *,
             period_label: str) -> DigestRun:  # fmt: skip
    return DigestRun(
        period=period_label,
        smtp_configured=smtp_config() is not None,
        rows=[
            DigestRow(
                key=o.key,
                audience=o.audience,
                subject_id=o.subject_id,
                subject_name=o.subject_name,
                outcome=o.outcome,
                recipients=o.recipients,
                eml_path=str(o.eml_path) if o.eml_path else None,
                sent=o.key in sent,
            )
            for o in outcomes
        ],
        failed=failed,
    )


def _publish(run: DigestRun) -> None:
    create_table_artifact(
        key="digests",
        table=[
            {"digest": r.key, "outcome": r.outcome, "recipients": len(r.recipients), "sent": r.sent}
            for r in run.rows
        ],
        description=f"Digests {run.period}: {sum(r.sent for r in run.rows)} sent",
    )
    get_run_logger().info(
        "digests %s: %d queued, %d already queued, %d empty, %d sent",
        run.period,
        sum(r.outcome == "queued" for r in run.rows),
        sum(r.outcome == "already" for r in run.rows),
        sum(r.outcome == "empty" for r in run.rows),
        sum(r.sent for r in run.rows),
    )
