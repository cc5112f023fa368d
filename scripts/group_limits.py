"""Per-group tag concurrency limits: ``python -m scripts.group_limits`` (``make deploy`` runs it).

Flows that fan out per group tag each group's task ``group:<id>`` (``tasks.runners``). A Prefect
tag concurrency limit of 1 on that tag lets one task run at a time work on the group, across
every flow run and worker of the server, while other groups proceed in parallel. The groups are
those of the enabled sources in ``sources.toml`` and those already in the store. Idempotent: an
existing limit is set to ``--limit`` (Prefect's create is an upsert); a group added later gets
its limit at the next ``make deploy`` or run of this script (until then its tasks run unlimited).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import sqlalchemy as sa
from prefect.client.orchestration import get_client

from groupops.connectors.config import load_sources
from groupops.db import make_engine
from groupops.db.models import Group
from groupops.settings import get_settings
from tasks.runners import group_tag


def known_groups(sources_path: Path, database_url: str | None) -> list[str]:
    """Group ids of the enabled sources, then the store's (when it has the table), sorted."""
    groups: set[str] = set()
    if sources_path.is_file():
        groups.update(g for s in load_sources(sources_path) if s.enabled for g in s.groups)
    if database_url:
        engine = make_engine(database_url)
        try:
            if sa.inspect(engine).has_table(Group.__tablename__):
                with engine.connect() as conn:
                    groups.update(conn.execute(sa.select(Group.group_id)).scalars())
        finally:
            engine.dispose()
    return sorted(groups)


def ensure_group_limits(groups: list[str], limit: int = 1) -> dict[str, int]:
    """Create (or set) the ``group:<id>`` tag limit of each group: {tag: limit}."""
    with get_client(sync_client=True) as client:
        for group_id in groups:
            client.create_concurrency_limit(tag=group_tag(group_id), concurrency_limit=limit)
    return {group_tag(g): limit for g in groups}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--limit", type=int, default=1, help="task runs per group at once")
    parser.add_argument("--sources", type=Path, default=None, help="default: GROUPOPS_SOURCES_PATH")
    parser.add_argument("--no-store", action="store_true", help="only the sources' groups")
    args = parser.parse_args(argv)
    settings = get_settings()
    groups = known_groups(
        args.sources or settings.sources_path, None if args.no_store else settings.database_url
    )
    for tag, limit in ensure_group_limits(groups, args.limit).items():
        print(f"concurrency limit {tag!r}: {limit}")
    print(f"{len(groups)} group limit(s) set")


if __name__ == "__main__":
    main()
