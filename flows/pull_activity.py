"""Flow: pull new activity from every configured live source (``data/sources.toml``).

For each source and group: read the stored watermark, pull what is newer (network task with
retries and backoff, honouring Retry-After), ingest it through the validated idempotent ingest,
and only then advance the watermark. A group that fails keeps its watermark (the next run pulls
the same window again, which adds nothing twice) and does not stop the others; the run fails at
the end if any group failed. Scheduled every 15 minutes (``prefect.yaml``).

Groups are independent, so each group's pull is one task (``pull-group-step``) submitted per
group and tagged ``group:<id>`` (``tasks.runners``): groups run in parallel on the configured
task runner (threads, or Dask at ``GROUPOPS_DASK_ADDRESS``), and a tag concurrency limit of 1
per group keeps two runs off the same group. Results come back in the sources' order, the same
as one group after another.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TypeVar, cast

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from groupops.connectors.config import SourceConfig, load_sources
from groupops.settings import get_settings
from tasks.db import ensure_schema
from tasks.pull import load_watermark, pull_group, run_ingest, save_watermark
from tasks.runners import configured_task_runner, group_tag


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


@flow(name="pull-activity", log_prints=False, task_runner=configured_task_runner())
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
    futures = [
        pull_group_step.with_options(tags=[group_tag(group_id)]).submit(
            db, policy_path, path, source.name, group_id, now
        )
        for source in sources
        for group_id in source.groups
    ]
    results = [future.result() for future in futures]

    _publish(results)
    failed = [r for r in results if r.error]
    if failed:
        raise PullFailed("; ".join(f"{r.source}/{r.group_id}: {r.error}" for r in failed))
    return results


@task(name="pull-group-step", task_run_name="group-{group_id}", cache_policy=NO_CACHE)
def pull_group_step(
    db: str, policy_path: str, path: str, source_name: str, group_id: str, now: datetime
) -> GroupPull:
    """One group: watermark, pull, ingest, new watermark (each a retried task of its own). A
    failure is returned as the group's ``error``, not raised: the other groups go on. The
    ``group:<id>`` tag is this task's alone (the tasks it calls are not tagged), so holding the
    group's one slot never waits on itself. Plain parameters (the source by name): the step may
    run on a Dask worker."""
    source = _source(path, source_name)
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


def _source(path: str, name: str) -> SourceConfig:
    return next(s for s in load_sources(path) if s.name == name)


def _publish(results: list[GroupPull]) -> None:
    create_table_artifact(
        key="pull-activity",
        table=[asdict(r) for r in results],
        description=f"{len(results)} group(s) pulled, {sum(bool(r.error) for r in results)} failed",
    )
