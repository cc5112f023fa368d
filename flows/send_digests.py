"""Flow: weekly and monthly digests of group activity to owners and admins.

Computes the last complete period's statistics, renders one digest per owner (all their groups)
and one per group for its admins into the outbox (idempotent: a digest already queued is not
queued again unless ``force``; a digest with nothing to say is not sent; a digest of a period
without data is held, with its reason logged), then delivers every
digest still unsent in the outbox (only this run's with ``owner``) by the one delivery rule
(``groupops.mail.delivery``): retried with backoff; a digest that still cannot be sent stays in
the outbox for the next run and the run ends Failed. Without an SMTP host the emails wait in
the outbox and the run succeeds. The digests' cards for group bots (the policy's
``[chatbots]``) are posted after the emails, each once (``tasks/chatbots.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact
from pydantic import BaseModel

from groupops.chatbots import BotDelivery, CardsNotPosted
from groupops.digest import DIGEST_KIND, DigestOutcome
from groupops.mail import Delivery
from groupops.settings import get_settings
from tasks.chatbots import pending_cards, post_cards
from tasks.db import ensure_schema
from tasks.digests import prepare_digests
from tasks.mail import deliver, pending_entries, smtp_config


class DigestRow(BaseModel):
    key: str
    audience: str
    subject_id: str
    subject_name: str = ""
    outcome: str
    recipients: list[str]
    eml_path: str | None
    sent: bool
    reason: str | None = None  # why a digest is held (no data for the period)
    cards: list[str] = []  # its group-bot cards stored by this run


class DigestRun(BaseModel):
    period: str
    smtp_configured: bool
    rows: list[DigestRow]  # this run's digests; ``sent``: accepted by the SMTP server now
    sent: list[str] = []  # every digest this run sent (an earlier run's unsent ones included)
    failed: list[str] = []  # not sent: kept in the outbox for the next run (the run fails)
    cards_posted: list[str] = []  # group-bot cards accepted by the platform now
    cards_failed: dict[str, str] = {}  # card → the error (kept for the next run; the run fails)
    cards_waiting: list[str] = []  # cards whose bot has no webhook configured


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

    ensure_schema(db, settings.auto_upgrade)
    outcomes = prepare_digests(db, str(settings.policy_path), str(settings.outbox_dir),
                               settings.mail_from, period, as_of, owner, force)  # fmt: skip
    own = [o.key for o in outcomes] if owner is not None else None
    delivery = deliver(pending_entries(DIGEST_KIND, own, db), db) if send else Delivery()
    own_cards = [c for o in outcomes for c in o.cards] if owner is not None else None
    cards = (
        post_cards(pending_cards(DIGEST_KIND, own_cards, db), str(settings.policy_path), db)
        if send
        else BotDelivery()
    )

    run = _summary(outcomes, delivery, cards, period_label=_label(outcomes, period, as_of))
    _publish(run)
    delivery.raise_for_failures()
    CardsNotPosted.raise_for(cards)
    return run


def _label(outcomes: list[DigestOutcome], period: str, as_of: datetime) -> str:
    if outcomes:
        return outcomes[0].key.split(":")[2]
    return f"{period} before {as_of.isoformat()}"


def _summary(
    outcomes: list[DigestOutcome], delivery: Delivery, cards: BotDelivery, *, period_label: str
) -> DigestRun:
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
                sent=o.key in delivery.sent,
                reason=o.reason,
                cards=list(o.cards),
            )
            for o in outcomes
        ],
        sent=delivery.sent,
        failed=list(delivery.failed),
        cards_posted=cards.sent,
        cards_failed=cards.failed,
        cards_waiting=list(cards.waiting),
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
    log = get_run_logger()
    log.info(
        "digests %s: %d queued, %d already queued, %d empty, %d held, %d sent",
        run.period,
        sum(r.outcome == "queued" for r in run.rows),
        sum(r.outcome == "already" for r in run.rows),
        sum(r.outcome == "empty" for r in run.rows),
        sum(r.outcome == "held" for r in run.rows),
        sum(r.sent for r in run.rows),
    )
    for r in run.rows:
        if r.outcome == "held":
            log.warning("digest %s held, not sent: %s", r.key, r.reason)
