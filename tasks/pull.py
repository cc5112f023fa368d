"""Prefect tasks for pulling activity from live platforms (groupops.connectors).

Network tasks retry with exponential backoff, only on transient errors (rate limits, timeouts,
5xx); on :class:`~groupops.connectors.base.RateLimited` the task first waits the platform's
``Retry-After`` (capped) so the retry never comes early. Credentials held in Prefect Secret
blocks are read here (the domain package never imports Prefect) and never logged.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from groupops import ingest
from groupops.connectors import registry, watermarks
from groupops.connectors.base import ConnectorError, Pull, RateLimited, Watermark
from groupops.connectors.config import SourceConfig, load_sources
from groupops.db import make_engine
from groupops.ingest import IngestSummary
from groupops.policy import load_policy
from tasks.retrying import RETRY_TRANSIENT

#: Longest Retry-After honoured inside one attempt; longer waits are left to the next run.
MAX_RATE_LIMIT_SLEEP_S = 300.0
PULL_RETRIES = 4
PULL_BACKOFF_S = 10
_sleep = time.sleep  # replaced in tests to observe the waits


def load_secret_block(name: str) -> str:
    """The value of the Prefect Secret block ``name``."""
    from prefect.blocks.system import Secret

    block = Secret.load(name)
    assert isinstance(block, Secret)
    return str(block.get())


def is_transient(_task: Any, _task_run: Any, state: Any) -> bool:
    """Prefect ``retry_condition_fn``: retry only what may succeed later."""
    exc = state.data if isinstance(state.data, BaseException) else None
    if exc is None:
        try:
            exc = state.result(raise_on_failure=False)
        except Exception:
            return False
    return isinstance(exc, ConnectorError) and exc.transient


def find_source(sources_path: str, name: str) -> SourceConfig:
    for source in load_sources(sources_path):
        if source.name == name:
            return source
    raise KeyError(f"{sources_path}: no source named {name!r}")


@task(name="load-watermark", cache_policy=NO_CACHE, **RETRY_TRANSIENT)
def load_watermark(database_url: str, source: str, group_id: str) -> Watermark | None:
    engine = make_engine(database_url)
    try:
        return watermarks.load_watermark(engine, source, group_id)
    finally:
        engine.dispose()


@task(
    name="pull-group",
    task_run_name="pull-{source_name}-{group_id}",
    retries=PULL_RETRIES,
    retry_delay_seconds=exponential_backoff(backoff_factor=PULL_BACKOFF_S),
    retry_jitter_factor=0.2,
    retry_condition_fn=is_transient,
    cache_policy=NO_CACHE,
)
def pull_group(
    sources_path: str,
    source_name: str,
    group_id: str,
    watermark: Watermark | None,
    now: datetime,
) -> Pull:
    """New records of one group since ``watermark`` (network; retried with backoff)."""
    source = find_source(sources_path, source_name)
    try:
        pulled = registry.pull_group(
            source, group_id, watermark, now=now, block_loader=load_secret_block
        )
    except RateLimited as exc:
        wait = min(exc.retry_after, MAX_RATE_LIMIT_SLEEP_S)
        get_run_logger().warning(
            "%s %s rate limited: waiting %.1f s before the retry", source_name, group_id, wait
        )
        _sleep(wait)
        raise
    get_run_logger().info("%s %s: pulled %s", source_name, group_id, pulled.summary())
    return pulled


@task(
    name="run-ingest",
    task_run_name="run-ingest-{pulled.name}",
    cache_policy=NO_CACHE,
    **RETRY_TRANSIENT,
)
def run_ingest(database_url: str, policy_path: str, pulled: Pull, now: datetime) -> IngestSummary:
    """The validated, idempotent ingest of one pull (transient database errors retried)."""
    engine = make_engine(database_url)
    try:
        return ingest.run_ingest(pulled, engine, load_policy(policy_path), now=now)
    finally:
        engine.dispose()


@task(name="save-watermark", cache_policy=NO_CACHE, **RETRY_TRANSIENT)
def save_watermark(
    database_url: str,
    source: SourceConfig,
    group_id: str,
    pulled: Pull,
    summary: IngestSummary,
    now: datetime,
) -> None:
    """Store the pull's watermark: called only after its ingest succeeded."""
    engine = make_engine(database_url)
    try:
        watermarks.save_watermark(
            engine,
            source=source.name,
            platform=source.kind,
            group_id=group_id,
            watermark=pulled.watermark,
            pulled_at=now,
            messages=pulled.count("messages"),
            ingest_run_id=summary.run_id,
        )
    finally:
        engine.dispose()
