"""Prefect tasks around the validated ingest. Transient database errors are retried
(``tasks.retrying``): the ingest is idempotent, so a retry never doubles a row.

Tasks take plain values (paths, URLs, ids), never engines or open sources, so Prefect can record
their parameters; each opens what it needs.
"""

from __future__ import annotations

from datetime import datetime

from prefect import task
from prefect.cache_policies import NO_CACHE

from groupops.canonical import Entity
from groupops.db import make_engine
from groupops.importers import open_source
from groupops.ingest import pipeline
from groupops.ingest.expectations import Validator
from groupops.ingest.pipeline import EntitySummary, IngestSummary
from groupops.policy import load_policy
from tasks.retrying import RETRY_TRANSIENT


@task(name="begin-run", cache_policy=NO_CACHE, **RETRY_TRANSIENT)
def begin_run(
    database_url: str,
    path: str,
    format_: str,
    now: datetime,
    options: dict[str, str] | None = None,
) -> int:
    source, _format = open_source(path, format_, **(options or {}))
    return pipeline.begin_run(make_engine(database_url), source.name, source.format, now=now)


@task(
    name="ingest-entity", task_run_name="ingest-{entity}", cache_policy=NO_CACHE, **RETRY_TRANSIENT
)
def ingest_entity(
    database_url: str,
    policy_path: str,
    path: str,
    format_: str,
    entity: Entity,
    run_id: int,
    now: datetime,
    chunk_size: int,
    options: dict[str, str] | None = None,
    validator: Validator | None = None,
    force: bool = False,
) -> EntitySummary:
    engine = make_engine(database_url)
    try:
        return pipeline.ingest_entity(
            engine,
            open_source(path, format_, **(options or {}))[0],
            entity,
            load_policy(policy_path),
            run_id=run_id,
            now=now,
            chunk_size=chunk_size,
            validator=validator,
            force=force,
        )
    finally:
        engine.dispose()


@task(name="finish-run", cache_policy=NO_CACHE, **RETRY_TRANSIENT)
def finish_run(
    database_url: str, run_id: int, entities: list[EntitySummary], error: str | None = None
) -> IngestSummary:
    return pipeline.finish_run(make_engine(database_url), run_id, entities, error=error)
