"""Prefect tasks around meetings. The store's transient errors are retried (``tasks.retrying``;
every step is idempotent); sending the queued emails goes through ``tasks.mail.send_email``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from groupops.db import make_engine
from groupops.meetings import notify, store
from groupops.policy import load_policy
from tasks.retrying import RETRY_TRANSIENT


@task(name="load-meetings", cache_policy=NO_CACHE, **RETRY_TRANSIENT)
def load_meetings(
    database_url: str,
    policy_path: str,
    as_of: datetime,
    groups: list[str] | None,
    lookback_days: int,
    meetings_dir: str,
) -> store.MeetingsView:
    engine = make_engine(database_url)
    try:
        return store.load_meetings(
            engine,
            load_policy(policy_path),
            as_of,
            groups=groups,
            lookback_days=lookback_days,
            meetings_dir=Path(meetings_dir),
        )
    finally:
        engine.dispose()


@task(name="notify-meetings", cache_policy=NO_CACHE, **RETRY_TRANSIENT)
def notify_meetings(
    database_url: str,
    policy_path: str,
    view: store.MeetingsView,
    sender: str,
    outbox_dir: str,
    now: datetime,
    dry_run: bool,
    window_days: int,
) -> list[notify.MeetingMail]:
    engine = make_engine(database_url)
    try:
        return notify.notify_meetings(
            engine,
            view,
            load_policy(policy_path),
            sender=sender,
            outbox_dir=Path(outbox_dir),
            now=now,
            dry_run=dry_run,
            window_days=window_days,
        )
    finally:
        engine.dispose()


@task(name="record-meetings", cache_policy=NO_CACHE, **RETRY_TRANSIENT)
def record_meetings(database_url: str, view: store.MeetingsView, now: datetime) -> int:
    engine = make_engine(database_url)
    try:
        return store.record_meetings(engine, view, now)
    finally:
        engine.dispose()
