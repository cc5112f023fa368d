"""Flow: pull new activity from every configured live source (``data/sources.toml``).

For each source and group: read the stored watermark, pull what is newer (network task with
retries and backoff, honouring Retry-After), ingest it through the validated idempotent ingest,
and only then advance the watermark. A group that fails keeps its watermark (the next run pulls
the same window again, which adds nothing twice) and does not stop the others; the run fails at
the end if any group failed. Scheduled every 15 minutes (``prefect.yaml``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TypeVar, cast

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact
from prefect.utilities.annotations import quote

from groupops.connectors.config import SourceConfig, load_sources
from groupops.settings import get_settings
from tasks.db import ensure_schema
from tasks.pull import load_watermark, pull_group, run_ingest, save_watermark


@dataclass(frozen=True)
class GroupPull:
    """What one group's pull did."""

    source: str
    group_id: str
    messages: int = 0
    loaded: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    watermark: str | None = None
    ingest_run_id: int | None = None
    error: str | None = None


T = TypeVar("T")


def _opaque(value: T) -> T:
    """Hand ``value`` to a task as is: Prefect does not walk its records looking for futures."""
    return cast(T, quote(value))


class PullFailed(RuntimeError):
    """At least one group could not be pulled or ingested (the others were)."""


@flow(name="pull-activity", log_prints=False)
def pull_activity(
    sources_path: str | None = None,
    only: list[str] | None = None,
    now: datetime | None = None,
) -> list[GroupPull]:
    """Pull every enabled source (or the ones named in ``only``) from its watermarks."""
    settings = get_settings()
    db, policy_path = settings.database_url, str(settings.policy_path)
    path = sources_path or str(settings.sources_path)
    now = now or datetime.now(UTC)
    sources = [s for s in load_sources(path) if s.enabled and (not only or s.name in only)]

    ensure_schema(db, settings.auto_upgrade)
    results = [
        _pull_group(db, policy_path, path, source, group_id, now)
        for source in sources
        for group_id in source.groups
    ]

    _publish(results)
    failed = [r for r in results if r.error]
    if failed:
        raise PullFailed("; ".join(f"{r.source}/{r.group_id}: {r.error}" for r in failed))
    return results


def _pull_group(
    db: str, policy_path: str, path: str, source: SourceConfig, group_id: str, now: datetime
) -> GroupPull:
    watermark = load_watermark(db, source.name, group_id)
    try:
        pulled = pull_group(path, source.name, group_id, watermark, now)
        summary = run_ingest(db, policy_path, _opaque(pulled), now)
    except Exception as exc:
        get_run_logger().error("%s %s: %s: %s", source.name, group_id, type(exc).__name__, exc)
        return GroupPull(source.name, group_id, error=f"{type(exc).__name__}: {exc}")
    save_watermark(db, source, group_id, _opaque(pulled), summary, now)
    at = pulled.watermark.at
    return GroupPull(
        source.name,
        group_id,
        messages=pulled.count("messages"),
        loaded=summary.total("loaded"),
        updated=summary.total("updated"),
        unchanged=summary.total("unchanged"),
        quarantined=summary.total("quarantined"),
        watermark=at.isoformat() if at else None,
        ingest_run_id=summary.run_id,
    )


def _publish(results: list[GroupPull]) -> None:
    create_table_artifact(
        key="pull-activity",
        table=[asdict(r) for r in results],
        description=f"{len(results)} group(s) pulled, {sum(bool(r.error) for r in results)} failed",
    )
