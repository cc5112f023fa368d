"""PostgreSQL's planner gets statistics while an ingest fills a fresh table: the lookup of a
chunk's keys (``groupops.ingest.store._differing``) then probes the primary key (or hashes the
table), never the
``(platform, group_id, sent_at)`` index filtered per message (which read the whole group for
every key: minutes for a one-group export's second chunk). SQLite needs no statistics."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from groupops.ingest.bundle import open_bundle
from groupops.ingest.pipeline import run_ingest
from groupops.ingest.store import STALE_SHARE, refresh_planner_stats
from groupops.policy import Policy
from tests.bundles import message, write_bundle

NOW = datetime(2026, 11, 24, tzinfo=UTC)
LOOKUP = (
    "EXPLAIN (FORMAT JSON) SELECT j.ord - 1, t.content_hash IS NOT NULL"
    " FROM unnest(%s::VARCHAR(32)[], %s::VARCHAR(191)[], %s::VARCHAR(191)[], %s::bigint[])"
    " WITH ORDINALITY AS j(k0, k1, k2, h, ord)"
    " LEFT JOIN messages AS t ON t.platform = j.k0 AND t.group_id = j.k1"
    " AND t.message_id = j.k2 WHERE t.content_hash IS DISTINCT FROM j.h"
)


def _forget_statistics(engine: sa.Engine) -> None:
    """The messages table as the planner sees a never-analyzed one (the session's PostgreSQL
    database is shared by the tests: a truncate keeps the old statistics)."""
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM pg_statistic WHERE starelid = 'messages'::regclass")
        conn.exec_driver_sql(
            "UPDATE pg_class SET reltuples = -1, relpages = 0 WHERE oid = 'messages'::regclass"
        )


@pytest.fixture
def unanalyzed(engine: sa.Engine) -> Iterator[sa.Engine]:
    if engine.dialect.name == "postgresql":
        _forget_statistics(engine)
    yield engine
    if engine.dialect.name == "postgresql":
        _forget_statistics(engine)


def _indexes(plan: object) -> set[str]:
    if isinstance(plan, dict):
        found = {plan["Index Name"]} if "Index Name" in plan else set()
        return found.union(*(_indexes(v) for v in plan.values()))
    if isinstance(plan, list):
        return set().union(*(_indexes(v) for v in plan))
    return set()


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_one_group_ingest_leaves_the_lookup_on_the_primary_key(
    unanalyzed: sa.Engine, tmp_path: Path
) -> None:
    engine = unanalyzed
    bundle = write_bundle(tmp_path / "b", messages=[message(n) for n in range(1, 3_001)])
    summary = run_ingest(open_bundle(bundle), engine, Policy(), now=NOW, chunk_size=1_000)
    assert summary.exit_code == 0
    keys = [f"m{n}" for n in range(3_001, 4_001)]
    with engine.connect() as conn:
        (plan,) = conn.exec_driver_sql(
            LOOKUP, (["wecom"] * len(keys), ["proj"] * len(keys), keys, [0] * len(keys))
        ).one()
        counted = conn.execute(sa.text("SELECT reltuples FROM pg_class WHERE relname = 'messages'"))
    assert counted.scalar_one() >= 2_000  # analyzed after a chunk, not left at -1 (never)
    # The primary key or a hash join over the table: never a probe per key into the group.
    assert "ix_messages_group_sent_at" not in _indexes(plan), plan


@pytest.mark.parametrize(
    ("added", "analyzed"),
    [(0, False), (1, True), (100, True)],
)
def test_a_never_analyzed_table_is_analyzed_once_rows_are_added(
    unanalyzed: sa.Engine, added: int, analyzed: bool
) -> None:
    engine = unanalyzed
    postgres = engine.dialect.name == "postgresql"
    assert refresh_planner_stats(engine, "messages", added) is (analyzed and postgres)


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_small_chunk_into_an_analyzed_table_does_not_analyze_again(
    unanalyzed: sa.Engine,
) -> None:
    engine = unanalyzed
    with engine.begin() as conn:  # the planner counted 1,000 rows
        conn.exec_driver_sql(
            "UPDATE pg_class SET reltuples = 1000 WHERE oid = 'messages'::regclass"
        )
    assert not refresh_planner_stats(engine, "messages", int(1_000 * STALE_SHARE))
    assert refresh_planner_stats(engine, "messages", int(1_000 * STALE_SHARE) + 1)
