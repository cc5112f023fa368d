"""Prefect tasks around deadline watching. The store's transient errors are retried
(``tasks.retrying``; every step is idempotent); sending the queued emails goes through
``tasks.mail.deliver``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from groupops import moderation, watch
from groupops.db import make_engine
from groupops.deadlines import DEFAULT_LOOKBACK_DAYS
from groupops.deadlines import reminders as deadlines
from groupops.deadlines.obligations import Obligations
from groupops.policy import load_policy
from tasks.retrying import RETRY_TRANSIENT


@task(name="load-obligations", cache_policy=NO_CACHE, **RETRY_TRANSIENT)
def load_obligations(
    database_url: str,
    policy_path: str,
    as_of: datetime,
    groups: list[str] | None = None,
    lookback_days: int | None = DEFAULT_LOOKBACK_DAYS,
) -> Obligations:
    engine = make_engine(database_url)
    try:
        # Every source of obligations: task messages and meetings (groupops.watch).
        return watch.load_obligations(
            engine, load_policy(policy_path), as_of, groups=groups, lookback_days=lookback_days
        )
    finally:
        engine.dispose()


@task(name="send-reminders", cache_policy=NO_CACHE, **RETRY_TRANSIENT)
def send_reminders(
    database_url: str,
    policy_path: str,
    obligations: Obligations,
    sender: str,
    outbox_dir: str,
    now: datetime,
    dry_run: bool,
) -> list[deadlines.SentReminder]:
    engine = make_engine(database_url)
    try:
        return deadlines.send_reminders(
            engine,
            obligations,
            load_policy(policy_path),
            sender=sender,
            outbox_dir=Path(outbox_dir),
            now=now,
            dry_run=dry_run,
        )
    finally:
        engine.dispose()


@task(name="record-violations", cache_policy=NO_CACHE, **RETRY_TRANSIENT)
def record_violations(database_url: str, obligations: Obligations, now: datetime) -> int:
    """Non-response violations into the moderation record (one place for every violation)."""
    engine = make_engine(database_url)
    try:
        return moderation.record_violations(engine, obligations.violations, now)
    finally:
        engine.dispose()
