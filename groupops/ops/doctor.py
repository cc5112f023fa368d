"""Every check of ``groupops doctor`` in one call (:func:`diagnose`), and the stale-data alarm
emails of the ``health-check`` flow (:func:`queue_stale_alarms`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from groupops.clock.workclock import WorkClock
from groupops.connectors.config import BlockLoader, SourceConfig, SourcesError, load_sources
from groupops.db.engine import make_engine
from groupops.ops.freshness import StaleSource, source_activity, stale_sources
from groupops.ops.health import (
    Check,
    FlowRuns,
    Report,
    SmtpTarget,
    check_flow,
    check_font,
    check_policy,
    check_runs,
    check_schema,
    check_smtp,
    check_store,
    source_checks,
)
from groupops.policy import Policy, PolicyError, load_policy
from groupops.settings import Settings, mask_url


def probe_sources(
    sources: Sequence[SourceConfig], block_loader: BlockLoader | None
) -> list[tuple[str, BaseException | None, str]]:
    """Each enabled source: its credentials resolve and the platform answers for each group
    (a read of the group's name and admins; nothing is pulled or changed)."""
    from groupops.connectors.registry import open_connector

    out: list[tuple[str, BaseException | None, str]] = []
    for source in sources:
        if not source.enabled:
            continue
        what = f"{source.kind} {source.base_url}"
        try:
            connector = open_connector(source, block_loader=block_loader)
            for group in source.groups:
                what = f"{source.kind} {source.base_url} group {group}"
                connector.group_info(group)
            what = f"{source.kind} {source.base_url} ({len(source.groups)} groups)"
        except Exception as exc:  # any failure is this source's health
            out.append((source.name, exc, what))
            continue
        out.append((source.name, None, what))
    return out


def _sources(settings: Settings) -> tuple[list[SourceConfig], Check | None]:
    path = Path(settings.sources_path)
    if not path.exists():
        return [], None
    try:
        return load_sources(path), None
    except SourcesError as exc:
        return [], Check("sources", "error", str(exc))


def diagnose(
    settings: Settings,
    *,
    now: datetime | None = None,
    as_of: datetime | None = None,
    smtp_password: str | None = None,
    block_loader: BlockLoader | None = None,
    font: Callable[[], str | None] | None = None,
    flows: Sequence[FlowRuns] = (),
    probe: bool = True,
    extra: Sequence[Check] = (),
) -> Report:
    """Every check, in order: store, schema, policy, SMTP, sources, font, runs, flows, stale
    data. Ages of runs are judged at ``now`` (the wall clock: runs are recorded on it), silence
    of sources at ``as_of`` (default ``now``; a replayed instant for past data).
    ``probe=False`` skips the network (SMTP, sources)."""
    now = now or datetime.now(UTC)
    as_of = as_of or now
    url = settings.database_url
    checks: list[Check] = [check_store(url, mask_url(url))]
    store_ok = checks[0].status == "ok"
    if store_ok:
        checks.append(check_schema(url))
    checks.append(check_policy(Path(settings.policy_path)))
    policy: Policy | None
    try:
        policy = load_policy(settings.policy_path)
    except PolicyError:
        policy = None

    if probe:
        target = None
        if settings.smtp_host:
            password = smtp_password
            if password is None and settings.smtp_password is not None:
                password = settings.smtp_password.get_secret_value()
            target = SmtpTarget(
                settings.smtp_host,
                settings.smtp_port,
                settings.smtp_tls,
                settings.smtp_user,
                password,
            )
        checks.append(check_smtp(target))

    sources, sources_error = _sources(settings)
    if sources_error is not None:
        checks.append(sources_error)
    if probe:
        checks += source_checks(probe_sources(sources, block_loader))

    if font is None:
        from groupops.digest.charts import cjk_font

        font = cjk_font
    checks.append(check_font(font))

    schema_ok = store_ok and checks[1].status == "ok"
    if schema_ok:
        engine = make_engine(url)
        try:
            checks.append(check_runs(engine, now, timedelta(seconds=settings.run_lease_seconds)))
            if policy is not None:
                checks += [
                    Check(f"stale:{s.source.name}", "error", s.describe(), s.as_dict())
                    for s in find_stale(engine, policy, sources, as_of)
                ]
        finally:
            engine.dispose()
    checks += extra  # what the caller checked itself (the Prefect server)
    checks += [check_flow(runs, now) for runs in flows]
    return Report(tuple(checks))


def find_stale(
    engine: sa.Engine, policy: Policy, sources: Sequence[SourceConfig], as_of: datetime
) -> list[StaleSource]:
    """The stale-data alarm's findings at ``as_of`` (:mod:`groupops.ops.freshness`)."""
    activity = source_activity(engine, policy, sources, as_of)
    return stale_sources(activity, WorkClock.from_policy(policy), as_of)
