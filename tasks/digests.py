"""Prefect task building the period's digests into the outbox (transient database errors retried: ``tasks.retrying``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from prefect import task
from prefect.cache_policies import NO_CACHE

from groupops import digest
from groupops.db import make_engine
from groupops.digest import DigestOutcome
from groupops.policy import load_policy
from tasks.retrying import RETRY_TRANSIENT


@task(name="prepare-digests", cache_policy=NO_CACHE, **RETRY_TRANSIENT)
def prepare_digests(
    database_url: str,
    policy_path: str,
    outbox_dir: str,
    sender: str,
    period: Literal["week", "month"],
    as_of: datetime,
    owner: str | None = None,
    force: bool = False,
) -> list[DigestOutcome]:
    """Statistics → digests → outbox (idempotent by digest key; ``force`` re-queues)."""
    engine = make_engine(database_url)
    try:
        return digest.prepare_digests(
            engine,
            load_policy(policy_path),
            kind=period,
            as_of=as_of,
            outbox_dir=Path(outbox_dir),
            sender=sender,
            owner=owner,
            force=force,
        )
    finally:
        engine.dispose()
