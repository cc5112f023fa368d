"""A message belongs to a stored group, on both stores: SQLite by the foreign key the models
declare, PostgreSQL by the statement triggers of migration ``store_0003`` (which replaced the
key's row-by-row check: one lock and one check per statement). Same answers either way."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from groupops.db import make_engine
from groupops.db.models import Group, Message

AT = datetime(2026, 11, 2, 1, 2, 3, tzinfo=UTC)
FOREIGN_KEY = r"(?i)foreign key"  # SQLite: "FOREIGN KEY constraint failed"; PostgreSQL: its message


def group(group_id: str) -> dict[str, object]:
    return {"platform": "wecom", "group_id": group_id, "name": group_id, "category": None,
            "owner_id": None, "admin_ids": [], "content_hash": 1, "updated_at": AT}  # fmt: skip


def message(group_id: str, message_id: str) -> dict[str, object]:
    return {"platform": "wecom", "group_id": group_id, "message_id": message_id,
            "sender_id": "u1", "sent_at": AT, "kind": "text", "text": "hi", "reply_to": None,
            "mentions": [], "mention_all": False, "pinned": False, "content_hash": 1,
            "updated_at": AT, "ingest_run_id": None}  # fmt: skip


def count(engine: sa.Engine, group_id: str | None = None) -> int:
    query = sa.select(sa.func.count()).select_from(Message)
    if group_id is not None:
        query = query.where(Message.group_id == group_id)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


@pytest.fixture
def stored(engine: sa.Engine) -> sa.Engine:
    """Groups ``a`` and ``b``, two messages in ``a`` and one in ``b``."""
    with engine.begin() as conn:
        conn.execute(sa.insert(Group), [group("a"), group("b")])
        conn.execute(sa.insert(Message), [message("a", "1"), message("a", "2"), message("b", "3")])
    return engine


def test_messages_of_stored_groups_are_written(stored: sa.Engine) -> None:
    assert count(stored) == 3


@pytest.mark.parametrize(
    "rows",
    [
        pytest.param([message("nope", "9")], id="one-row"),
        pytest.param([message("a", "8"), message("nope", "9"), message("b", "7")], id="among-good"),
    ],
)
def test_a_message_of_an_unknown_group_is_refused_with_the_whole_statement(
    stored: sa.Engine, rows: list[dict[str, object]]
) -> None:
    with pytest.raises(sa.exc.IntegrityError, match=FOREIGN_KEY), stored.begin() as conn:
        conn.execute(sa.insert(Message), rows)
    assert count(stored) == 3


def test_an_upsert_moving_nothing_and_an_update_to_an_unknown_group(stored: sa.Engine) -> None:
    with stored.begin() as conn:  # an update that keeps the group: fine
        conn.execute(sa.update(Message).where(Message.message_id == "1").values(text="edited"))
    with pytest.raises(sa.exc.IntegrityError, match=FOREIGN_KEY), stored.begin() as conn:
        conn.execute(sa.update(Message).where(Message.message_id == "1").values(group_id="nope"))
    assert count(stored, "a") == 2


def test_deleting_a_group_deletes_its_messages_only(stored: sa.Engine) -> None:
    with stored.begin() as conn:
        conn.execute(sa.delete(Group).where(Group.group_id == "a"))
    assert (count(stored, "a"), count(stored, "b")) == (0, 1)


def test_a_group_key_its_messages_hold_cannot_change(stored: sa.Engine) -> None:
    with pytest.raises(sa.exc.IntegrityError, match=FOREIGN_KEY), stored.begin() as conn:
        conn.execute(sa.update(Group).where(Group.group_id == "a").values(group_id="renamed"))
    with stored.begin() as conn:  # other columns, and a group without messages, may change
        conn.execute(sa.update(Group).where(Group.group_id == "a").values(name="新名字"))
        conn.execute(sa.insert(Group), [group("empty")])
        conn.execute(sa.update(Group).where(Group.group_id == "empty").values(group_id="moved"))
    assert count(stored) == 3


@pytest.fixture
def pg(pg_database: str) -> Iterator[sa.Engine]:
    """The session's PostgreSQL store without groups (nor, by the cascade, messages)."""
    eng = make_engine(pg_database)
    with eng.begin() as conn:
        conn.execute(sa.delete(Group))
    yield eng
    eng.dispose()


@pytest.mark.postgres
def test_postgresql_has_the_triggers_not_the_row_by_row_key(pg: sa.Engine) -> None:
    with pg.connect() as conn:
        keys = sa.inspect(conn).get_foreign_keys("messages")
        triggers = set(conn.execute(sa.text(
            "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE '%group%'"
        )).scalars())  # fmt: skip
    assert keys == []
    assert {"messages_group_exists_insert", "messages_group_exists_update",
            "groups_delete_messages", "groups_keep_message_keys",
            "groups_truncate_messages"} <= triggers  # fmt: skip


@pytest.mark.postgres
def test_truncating_the_groups_empties_messages_too(pg: sa.Engine) -> None:
    with pg.begin() as conn:
        conn.execute(sa.insert(Group), [group("a")])
        conn.execute(sa.insert(Message), [message("a", "1")])
    with pg.begin() as conn:
        conn.execute(sa.text("TRUNCATE groups CASCADE"))
    assert count(pg) == 0


@pytest.mark.postgres
def test_a_group_being_written_to_cannot_be_deleted_until_the_write_commits(
    pg: sa.Engine,
) -> None:
    """The statement's check locks its groups ``FOR KEY SHARE`` as the key did: a concurrent
    delete of the group waits for the writer's commit, then takes the new messages with it."""
    with pg.begin() as conn:
        conn.execute(sa.insert(Group), [group("a")])
    writer = pg.connect()
    writer.begin()
    writer.execute(sa.insert(Message), [message("a", "1")])
    with pg.connect() as deleter:
        deleter.exec_driver_sql("SET lock_timeout = '300ms'")
        with pytest.raises(sa.exc.OperationalError, match="lock timeout"):
            deleter.execute(sa.delete(Group).where(Group.group_id == "a"))
        deleter.rollback()
    writer.commit()
    writer.close()
    with pg.begin() as conn:
        conn.execute(sa.delete(Group).where(Group.group_id == "a"))
    assert count(pg) == 0


@pytest.mark.postgres
def test_a_write_to_a_group_deleted_meanwhile_fails_once_the_delete_commits(
    pg: sa.Engine,
) -> None:
    """The other order: the delete holds the group; the writer's check waits for it and then
    finds the group gone (a foreign-key error, no orphan message)."""
    with pg.begin() as conn:
        conn.execute(sa.insert(Group), [group("a")])
    deleter = pg.connect()
    deleter.begin()
    deleter.execute(sa.delete(Group).where(Group.group_id == "a"))
    failure: list[BaseException] = []

    def write() -> None:
        try:
            with pg.begin() as conn:
                conn.execute(sa.insert(Message), [message("a", "1")])
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=write)
    thread.start()
    thread.join(0.5)
    assert thread.is_alive()  # waiting for the delete's lock
    deleter.commit()
    deleter.close()
    thread.join(30)
    assert len(failure) == 1 and isinstance(failure[0], sa.exc.IntegrityError)
    assert count(pg) == 0
