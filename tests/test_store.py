"""The store migrates and round-trips aware instants on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from groupops.db import session_scope, upgrade
from groupops.db.models import Group, Message
from groupops.db.queries import load_messages
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

    postgresql = db_url.startswith("postgresql")

    def include(obj: object, name: str | None, kind: str, reflected: bool, other: object) -> bool:
        # The search index's dialect-only parts, made by archive_0002/0003 and not models: SQLite's
        # FTS5 table (and its shadow tables), PostgreSQL's GIN index over the gram array.
        if (name or "").startswith(("archive_search_fts", "ix_archive_search_grams")):
            return False
        # On PostgreSQL, store_0003's statement triggers stand for the messages' group key.
        return not (postgresql and name == "fk_messages_platform_group_id_groups")

    engine = make_engine(db_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": include}
        )
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


TEXTS = ["你好", "", 'say "hi" \\ back\\slash', "第一行\r\n第二行\t完", "emoji 😀 and \u2028 sep",
         '{"json": [1, 2]}', "null", "[]"]  # fmt: skip


@pytest.mark.parametrize("chunk", [2, 100_000])
def test_load_messages_returns_what_was_stored_in_every_filter_and_chunk(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """Every text, list and flag comes back as stored (SQLite hands columns over as JSON
    arrays, a rowid range at a time; a gap left by a deleted row is no different)."""
    from groupops.db import queries

    monkeypatch.setattr(queries, "COLUMN_CHUNK", chunk)
    base = datetime(2026, 11, 2, 1, 2, 3, 456789, tzinfo=UTC)
    now = datetime.now(UTC)
    with session_scope(engine) as s:
        for g in ("g1", "g2"):
            s.add(Group(platform="wecom", group_id=g, name=g, admin_ids=[], content_hash=1,
                        updated_at=now))  # fmt: skip
        s.flush()
        for n, text in enumerate(TEXTS):
            s.add(
                Message(
                    platform="wecom", group_id=f"g{1 + n % 2}", message_id=f"m{n}",
                    sender_id=f"u{n}", sent_at=base + timedelta(minutes=n), kind="text",
                    text=text, reply_to=f"m{n - 1}" if n % 3 else None,
                    mentions=[f"u{k}" for k in range(n % 3)], mention_all=n == 4,
                    pinned=n == 5, content_hash=n, updated_at=now,
                )
            )  # fmt: skip
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM messages WHERE message_id = 'm3'"))
    kept = [n for n in range(len(TEXTS)) if n != 3]

    frame = load_messages(engine)
    assert list(frame["message_id"]) == [f"m{n}" for n in kept]
    assert list(frame["text"]) == [TEXTS[n] for n in kept]
    assert list(frame["sent_at"]) == [base + timedelta(minutes=n) for n in kept]
    assert str(frame["sent_at"].dt.tz) == "UTC"
    assert list(frame["mentions"]) == [[f"u{k}" for k in range(n % 3)] for n in kept]
    assert [None if pd.isna(r) else r for r in frame["reply_to"]] == [
        f"m{n - 1}" if n % 3 else None for n in kept
    ]
    assert list(frame["mention_all"]) == [n == 4 for n in kept]
    assert list(frame["pinned"]) == [n == 5 for n in kept]

    window = load_messages(
        engine, since=base + timedelta(minutes=2), until=base + timedelta(minutes=6),
        groups=["g1"], columns=("message_id", "sent_at", "mentions"),
    )  # fmt: skip
    assert list(window.columns) == ["message_id", "sent_at", "mentions"]
    assert list(window["message_id"]) == ["m2", "m4"]
    assert load_messages(engine, groups=["nope"]).empty


CHUNK_CONSTANTS = [
    ("updated_at", pd.Timestamp(datetime(2026, 11, 24, 9, 30, 1, 250, tzinfo=UTC))),
    ("ingest_run_id", 7),
    ("ingest_run_id", None),
]


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
@pytest.mark.parametrize(("column", "value"), CHUNK_CONSTANTS)
def test_a_chunk_constant_is_converted_once_as_each_row_would_be(
    dialect: str, column: str, value: object
) -> None:
    """`upsert` converts a column with one value for the whole chunk (`updated_at`, the run's
    id) once and repeats it: the same DBAPI values as converting every row."""
    from groupops.ingest.store import _column_values

    rows = pd.DataFrame({"n": range(5)}, index=[3, 9, 4, 0, 7]).assign(**{column: value})
    once = _column_values("messages", column, rows[column].iloc[:1], dialect) * len(rows)
    assert once == _column_values("messages", column, rows[column], dialect)


def test_an_ingest_stores_its_time_and_run_on_every_row_written(
    engine: sa.Engine, tmp_path: Path
) -> None:
    from groupops.ingest.bundle import open_bundle
    from groupops.ingest.pipeline import run_ingest
    from groupops.policy import Policy
    from tests.bundles import dated_message, write_bundle

    now = datetime(2026, 11, 24, 9, 30, 1, 250, tzinfo=UTC)
    write_bundle(tmp_path / "b", messages=[dated_message(f"m{i}", "11-02 10:00", "好") for i in
                                            range(3)])  # fmt: skip
    run = run_ingest(open_bundle(tmp_path / "b"), engine, Policy(), now=now)
    with session_scope(engine) as session:
        stored = {(m.updated_at, m.ingest_run_id) for m in session.query(Message)}
    assert stored == {(now, run.run_id)}
