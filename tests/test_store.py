"""The store migrates and round-trips aware instants on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from groupops.db import session_scope, upgrade
from groupops.db.models import Group, Message
from groupops.db.schema import current_revision


def test_upgrade_is_idempotent(db_url: str) -> None:
    upgrade(db_url)
    assert current_revision(db_url) is not None


def test_aware_instants_round_trip_as_utc(engine: sa.Engine) -> None:
    shanghai = timezone(timedelta(hours=8))
    sent = datetime(2026, 11, 2, 9, 30, tzinfo=shanghai)
    now = datetime.now(UTC)
    with session_scope(engine) as s:
        s.add(
            Group(
                platform="wecom",
                group_id="g1",
                name="项目运营群",
                admin_ids=["a"],
                content_hash=1,
                updated_at=now,
            )
        )
        s.flush()
        s.add(
            Message(
                platform="wecom",
                group_id="g1",
                message_id="m1",
                sender_id="u1",
                sent_at=sent,
                kind="text",
                text="你好",
                mentions=["u2"],
                content_hash=2,
                updated_at=now,
            )
        )
    with session_scope(engine) as s:
        msg = s.get_one(Message, ("wecom", "g1", "m1"))
        assert msg.sent_at == sent
        assert msg.sent_at.utcoffset() == timedelta(0)
        assert msg.mentions == ["u2"]
        assert s.get_one(Group, ("wecom", "g1")).admin_ids == ["a"]


def test_naive_instants_are_refused(engine: sa.Engine) -> None:
    with pytest.raises(sa.exc.StatementError, match="naive datetime"), session_scope(engine) as s:
        s.add(
            Group(
                platform="x",
                group_id="g",
                name="n",
                admin_ids=[],
                content_hash=0,
                updated_at=datetime(2026, 1, 1),  # noqa: DTZ001 - naive on purpose: the test checks it is refused
            )
        )
        s.flush()


def test_migrations_match_the_models(db_url: str) -> None:
    """Every model change comes with a migration: a migrated store differs from the models in
    nothing Alembic can see (tables, columns, types, indexes, constraints)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from groupops.db import make_engine
    from groupops.db.models import Base

    def include(obj: object, name: str | None, kind: str, reflected: bool, other: object) -> bool:
        # The search index's dialect-only parts, made by archive_0002/0003 and not models: SQLite's
        # FTS5 table (and its shadow tables), PostgreSQL's GIN index over the gram array.
        return not (name or "").startswith(("archive_search_fts", "ix_archive_search_grams"))

    engine = make_engine(db_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": include}
        )
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []
