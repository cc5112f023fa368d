"""Read the store as plain rows, without pandas: what the row engines
(:mod:`groupops.deadlines.rows`, the meetings' row path) read for small spans. The same
statements as :mod:`groupops.db.queries` (the same columns, filters and, for the tables, the
same order), each value converted by its column's type (aware UTC instants, ``mentions`` lists);
``tests/test_obligation_rows.py`` checks them against the frames."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from groupops.db.models import Group, Member, MembershipEvent, Message

#: The columns the row engines read (those of ``groupops.deadlines.rows.Msg``).
MESSAGE_ROW_COLUMNS = ("platform", "group_id", "message_id", "sender_id", "sent_at", "kind",
                       "text", "reply_to", "mentions", "mention_all")  # fmt: skip


def _span(
    table: sa.Table, since: datetime | None, until: datetime | None, groups: Sequence[str] | None
) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if since is not None:
        where.append(table.c.sent_at >= since)
    if until is not None:
        where.append(table.c.sent_at < until)
    if groups:
        where.append(table.c.group_id.in_(list(groups)))
    return where


def count_messages(
    engine: sa.Engine,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    groups: Sequence[str] | None = None,
) -> int:
    """How many messages :func:`load_message_rows` would read (one indexed count)."""
    table = Message.__table__
    assert isinstance(table, sa.Table)
    stmt = sa.select(sa.func.count()).select_from(table).where(*_span(table, since, until, groups))
    with engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def load_message_rows(
    engine: sa.Engine,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    groups: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Messages with ``since <= sent_at < until`` as dicts of :data:`MESSAGE_ROW_COLUMNS`
    (``sent_at`` aware UTC, ``mentions`` a list), oldest first (``sent_at``, ``message_id``),
    as :func:`groupops.db.queries.load_messages` orders them."""
    table = Message.__table__
    assert isinstance(table, sa.Table)
    stmt = sa.select(*(table.c[c] for c in MESSAGE_ROW_COLUMNS)).where(
        *_span(table, since, until, groups)
    )
    with engine.connect() as conn:
        rows = [dict(zip(MESSAGE_ROW_COLUMNS, r, strict=True)) for r in conn.execute(stmt)]
    rows.sort(key=lambda r: (r["sent_at"], r["message_id"]))
    for r in rows:
        if r["mentions"] is None:
            r["mentions"] = []
    return rows


def _table_rows(engine: sa.Engine, model: type[Any]) -> list[dict[str, Any]]:
    """A table's rows as :func:`groupops.db.queries._load_table` reads them (same columns,
    same statement, so the same order)."""
    table = model.__table__
    cols = [c for c in table.c if c.name not in {"content_hash", "updated_at"}]
    with engine.connect() as conn:
        return [
            dict(zip([c.name for c in cols], r, strict=True))
            for r in conn.execute(sa.select(*cols))
        ]


def load_group_rows(engine: sa.Engine) -> list[dict[str, Any]]:
    """:func:`groupops.db.queries.load_groups` as rows."""
    return _table_rows(engine, Group)


def load_member_rows(engine: sa.Engine) -> list[dict[str, Any]]:
    """:func:`groupops.db.queries.load_members` as rows."""
    return _table_rows(engine, Member)


def load_membership_rows(engine: sa.Engine) -> list[dict[str, Any]]:
    """:func:`groupops.db.queries.load_memberships` as rows (``at`` aware UTC)."""
    return _table_rows(engine, MembershipEvent)
