"""Prefect task around the store's schema (local work: no retries)."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from groupops import db


@task(name="upgrade", cache_policy=NO_CACHE)
def upgrade(database_url: str) -> None:
    """Migrate the store to the newest schema (idempotent)."""
    db.upgrade(database_url)
