"""Flow: ingest one activity source (canonical bundle or export) into the store.

Validated with Great Expectations, idempotent (the same input twice adds nothing), bad records
to quarantine with file, line, field and reason. The run's counts are recorded in
``ingest_runs`` and published as a Prefect artifact.
"""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact

from groupops.canonical import source_entities
from groupops.importers import open_source
from groupops.ingest.expectations import Validator
from groupops.ingest.pipeline import DEFAULT_CHUNK_SIZE, EntitySummary, IngestSummary
from groupops.settings import get_settings
from tasks.db import ensure_schema
from tasks.ingest import begin_run, finish_run, ingest_entity


@flow(name="ingest-activity", log_prints=False)
def ingest_activity(
    path: str,
    format: str = "canonical",
    now: datetime | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    options: dict[str, str] | None = None,
    validator: Validator = "great_expectations",
    force: bool = False,
) -> IngestSummary:
    """Ingest ``path`` (a bundle folder/zip, or an export with ``format`` and the importer's
    ``options``, e.g. ``{"date_order": "mdy"}`` for WhatsApp). Deployed runs validate with
    Great Expectations itself (``validator``); the in-process CLI runs the same suite with the
    vectorised evaluator (``GROUPOPS_VALIDATOR``, default ``builtin``; both engines give the
    same rejections, tests/test_validation_engines.py). A file unchanged since a clean run
    read it is skipped (its records count as unchanged) unless ``force``."""
    settings = get_settings()
    db, policy_path = settings.database_url, str(settings.policy_path)
    now = now or datetime.now(UTC)

    ensure_schema(db, settings.auto_upgrade)
    run_id = begin_run(db, path, format, now, options)
    entities: list[EntitySummary] = []
    try:
        for entity in source_entities(open_source(path, format, **(options or {}))[0]):
            entities.append(
                ingest_entity(
                    db,
                    policy_path,
                    path,
                    format,
                    entity,
                    run_id,
                    now,
                    chunk_size,
                    options,
                    validator,
                    force,
                )
            )
    except Exception as exc:
        finish_run(db, run_id, entities, error=f"{type(exc).__name__}: {exc}")
        raise
    summary = finish_run(db, run_id, entities)

    _publish(summary)
    return summary


def _publish(summary: IngestSummary) -> None:
    rows = [
        {
            "entity": e.entity,
            "loaded": e.loaded,
            "updated": e.updated,
            "unchanged": e.unchanged,
            "quarantined": e.quarantined,
        }
        for e in summary.entities
    ]
    create_table_artifact(
        key="ingest-summary",
        table=rows,
        description=f"Ingest run {summary.run_id} of {summary.source}: {summary.status}",
    )
    get_run_logger().info(
        "ingest run %s: %s loaded, %s updated, %s unchanged, %s quarantined",
        summary.run_id,
        summary.total("loaded"),
        summary.total("updated"),
        summary.total("unchanged"),
        summary.total("quarantined"),
    )
