"""Prefect tasks of the health-check flow: the stale-data alarm (groupops.ops). Transient
database errors are retried (``tasks.retrying``); queueing is idempotent by outbox key."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from groupops.connectors.config import load_sources
from groupops.db import make_engine
from groupops.ops import alarms, doctor
from groupops.ops.freshness import StaleSource
from groupops.policy import load_policy
from tasks.retrying import RETRY_TRANSIENT


@task(name="find-stale", cache_policy=NO_CACHE, **RETRY_TRANSIENT)
def find_stale(
    database_url: str, policy_path: str, sources_path: str, as_of: datetime
) -> list[StaleSource]:
    """Sources silent beyond their threshold at ``as_of``."""
    sources = load_sources(sources_path) if Path(sources_path).exists() else []
    engine = make_engine(database_url)
    try:
        return doctor.find_stale(engine, load_policy(policy_path), sources, as_of)
    finally:
        engine.dispose()


@task(name="queue-stale-alarms", cache_policy=NO_CACHE, **RETRY_TRANSIENT)
def queue_stale_alarms(
    database_url: str,
    policy_path: str,
    stale: list[StaleSource],
    sender: str,
    outbox_dir: str,
    as_of: datetime,
    now: datetime,
) -> list[str]:
    """One alarm email per silence to ``policy.ops.alert_emails``; the outbox keys."""
    engine = make_engine(database_url)
    try:
        return alarms.queue_stale_alarms(
            engine,
            load_policy(policy_path),
            stale,
            sender=sender,
            outbox_dir=Path(outbox_dir),
            as_of=as_of,
            now=now,
        )
    finally:
        engine.dispose()
