"""Prefect tasks around a moderation run (groupops.moderation.run), one per domain step.

Store work retries transient database errors (``tasks.retrying``); ``carry_out_actions`` talks
to the platforms and retries transient connector errors (every action is recorded once, so a retry
never acts twice). Credentials in Prefect Secret blocks are read here, never logged.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from groupops.db import make_engine
from groupops.moderation import run as moderation
from groupops.moderation.actions import ConnectorPool
from groupops.moderation.decide import Decision
from groupops.moderation.notices import send_violation_notices as _send_violation_notices
from groupops.moderation.store import load_violations
from groupops.moderation.store import record_detections as _record_detections
from groupops.policy import load_policy
from tasks.pull import is_transient, load_secret_block
from tasks.retrying import RETRY_TRANSIENT


@task(name="detect-violations", cache_policy=NO_CACHE, **RETRY_TRANSIENT)
def detect_violations(
    database_url: str, policy_path: str, as_of: datetime, groups: list[str] | None
) -> list[Any]:
    engine = make_engine(database_url)
    try:
        return moderation.detect_violations(engine, load_policy(policy_path), as_of, groups)
    finally:
        engine.dispose()


@task(name="record-detections", cache_policy=NO_CACHE, **RETRY_TRANSIENT)
def record_detections(database_url: str, detections: list[Any], now: datetime) -> int:
    engine = make_engine(database_url)
    try:
        return _record_detections(engine, detections, now)
    finally:
        engine.dispose()


@task(name="file-detected-appeals", cache_policy=NO_CACHE, **RETRY_TRANSIENT)
def file_detected_appeals(
    database_url: str, policy_path: str, as_of: datetime, now: datetime, sender: str,
    outbox_dir: str, groups: list[str] | None,
) -> list[int]:  # fmt: skip
    engine = make_engine(database_url)
    try:
        return moderation.file_detected_appeals(
            engine, load_policy(policy_path), as_of, now=now, sender=sender,
            outbox_dir=Path(outbox_dir), groups=groups,
        )  # fmt: skip
    finally:
        engine.dispose()


@task(name="answer-detected-appeals", cache_policy=NO_CACHE, **RETRY_TRANSIENT)
def answer_detected_appeals(
    database_url: str, policy_path: str, as_of: datetime, now: datetime, sender: str,
    outbox_dir: str, groups: list[str] | None,
) -> list[dict[str, Any]]:  # fmt: skip
    engine = make_engine(database_url)
    try:
        return moderation.answer_detected_appeals(
            engine, load_policy(policy_path), as_of, now=now, sender=sender,
            outbox_dir=Path(outbox_dir), groups=groups,
        )  # fmt: skip
    finally:
        engine.dispose()


@task(name="decide-violations", cache_policy=NO_CACHE, **RETRY_TRANSIENT)
def decide_violations(
    database_url: str, policy_path: str, as_of: datetime, now: datetime,
    groups: list[str] | None, dry_run: bool, pending: list[Any],
) -> tuple[list[Decision], list[dict[str, Any]]]:  # fmt: skip
    """The new decisions and their rows for the run's report."""
    engine = make_engine(database_url)
    policy = load_policy(policy_path)
    try:
        decisions, violations = moderation.decide_violations(
            engine, policy, as_of, now=now, groups=groups, dry_run=dry_run, pending=pending
        )
        return decisions, moderation.decision_rows(decisions, violations, policy.tz)
    finally:
        engine.dispose()


@task(name="send-violation-notices", cache_policy=NO_CACHE, **RETRY_TRANSIENT)
def send_violation_notices(
    database_url: str, policy_path: str, decisions: list[Decision], sender: str,
    outbox_dir: str, now: datetime,
) -> list[str]:  # fmt: skip
    """Outbox keys newly queued."""
    engine = make_engine(database_url)
    try:
        fresh = {v.id: v for v in load_violations(engine, ids=[d.violation_id for d in decisions])}
        notices = _send_violation_notices(
            engine, fresh, decisions, load_policy(policy_path), sender=sender,
            outbox_dir=Path(outbox_dir), now=now,
        )  # fmt: skip
        return [n.key for n in notices if n.created]
    finally:
        engine.dispose()


@task(
    name="carry-out-actions",
    retries=2,
    retry_delay_seconds=exponential_backoff(backoff_factor=10),
    retry_condition_fn=is_transient,
    cache_policy=NO_CACHE,
)
def carry_out_actions(
    database_url: str, policy_path: str, sources_path: str, as_of: datetime, now: datetime,
    groups: list[str] | None,
) -> list[dict[str, Any]]:  # fmt: skip
    engine = make_engine(database_url)
    pool = ConnectorPool.from_file(Path(sources_path), block_loader=load_secret_block)
    try:
        return moderation.carry_out_actions(
            engine, load_policy(policy_path), as_of, pool, now=now, groups=groups
        )
    finally:
        pool.close()
        engine.dispose()


@task(name="escalate-appeals", cache_policy=NO_CACHE, **RETRY_TRANSIENT)
def escalate_appeals(
    database_url: str, policy_path: str, as_of: datetime, now: datetime, sender: str,
    outbox_dir: str,
) -> list[dict[str, Any]]:  # fmt: skip
    engine = make_engine(database_url)
    try:
        return moderation.escalate_appeals(
            engine, load_policy(policy_path), as_of, now=now, sender=sender,
            outbox_dir=Path(outbox_dir),
        )  # fmt: skip
    finally:
        engine.dispose()
