"""Prefect task around the store's schema, retried when the database is briefly unreachable or
another process holds the migration lock (idempotent: at head, nothing runs)."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from groupops import db
from tasks.retrying import RETRY_TRANSIENT


@task(name="ensure-schema", cache_policy=NO_CACHE, **RETRY_TRANSIENT)
def ensure_schema(database_url: str, migrate: bool = True) -> str:
    """The store at this code's head: upgraded under the migration lock when behind and
    ``migrate``, else a clear failure naming `groupops db upgrade`."""
    return db.ensure_schema(database_url, migrate=migrate)
