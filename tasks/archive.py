"""Prefect tasks around the archive (groupops.archive.cleanup): one cleanup run.

``cleanup`` reads and writes the store and, with ``apply``, asks the platforms to recall purged
messages through the configured connectors (each recall is recorded once per run; a failed one
stays ``failed`` in ``cleanup_actions``), so it is not retried as a whole: a retry would be a new
run. Credentials in Prefect Secret blocks are read here, never logged.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from groupops.archive import cleanup as archive
from groupops.db import make_engine
from groupops.moderation.actions import ConnectorPool
from groupops.policy import load_policy
from tasks.pull import load_secret_block


@task(name="cleanup", cache_policy=NO_CACHE)
def cleanup(
    database_url: str, policy_path: str, sources_path: str, as_of: datetime, now: datetime,
    ran_by: str, groups: list[str] | None, apply: bool, force: bool,
) -> dict[str, Any]:  # fmt: skip
    """One cleanup run (preview, or applied); its ``groupops cleanup --json`` object."""
    policy = load_policy(policy_path)
    engine = make_engine(database_url)
    pool = (
        ConnectorPool.from_file(Path(sources_path), block_loader=load_secret_block)
        if apply
        else None
    )
    try:
        result = archive.cleanup(
            engine, policy, as_of, now=now, ran_by=ran_by, groups=groups, apply=apply,
            force=force, connector_for=pool,
        )  # fmt: skip
        return result.as_dict(policy.tz)
    finally:
        if pool is not None:
            pool.close()
        engine.dispose()
