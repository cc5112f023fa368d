"""archive search: a time-ordered index (id from the message's time), the group as a gram,
register copies, and a queue filled by triggers on every write to messages, purged
messages and the register

The index is derived data: its old tables are dropped and the next search builds the new one.

Revision ID: archive_0003
Revises: report_0002
Create Date: 2026-11-30 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import groupops.db.types

revision: str = "archive_0003"
down_revision: str | None = "report_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (table, event, which row names the message) of every trigger that queues a message.
TRIGGERS: tuple[tuple[str, str, str], ...] = (
    ("messages", "INSERT", "NEW"),
    ("messages", "UPDATE", "NEW"),
    ("messages", "DELETE", "OLD"),
    ("purged_messages", "INSERT", "NEW"),
    ("purged_messages", "UPDATE", "NEW"),
    ("purged_messages", "DELETE", "OLD"),
    ("archive_register", "INSERT", "NEW"),
    ("archive_register", "UPDATE", "NEW"),
    ("archive_register", "DELETE", "OLD"),
)


def _name(table: str, event: str) -> str:
    return f"archive_search_q_{table}_{event.lower()}"


def _drop_0002(pg: bool) -> None:
    if pg:
        op.execute("DROP INDEX IF EXISTS ix_archive_search_grams")
    else:
        op.execute("DROP TABLE IF EXISTS archive_search_fts")
    op.drop_index("ix_archive_search_sent_at", table_name="archive_search")
    op.drop_table("archive_search")
    op.execute("DELETE FROM archive_search_state")


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    _drop_0002(pg)
    op.create_table(
        "archive_search",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False,
                  nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("group_id", sa.String(length=191), nullable=False),
        sa.Column("message_id", sa.String(length=191), nullable=False),
        sa.Column("sent_at", groupops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("grams", postgresql.ARRAY(sa.Text()) if pg else sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archive_search")),
        sa.UniqueConstraint(
            "platform", "group_id", "message_id",
            name=op.f("uq_archive_search_platform_group_id_message_id"),
        ),
    )  # fmt: skip
    op.create_table(
        "archive_search_queue",
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("group_id", sa.String(length=191), nullable=False),
        sa.Column("message_id", sa.String(length=191), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "platform", "group_id", "message_id", name=op.f("pk_archive_search_queue")
        ),
    )
    if pg:
        op.execute("CREATE INDEX ix_archive_search_grams ON archive_search USING gin (grams)")
        # Statement-level triggers over the transition table: one set-based insert per
        # statement (an ingest chunk), nothing at all before the index was first built.
        op.execute(
            """
            CREATE FUNCTION archive_search_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF EXISTS (SELECT 1 FROM archive_search_state WHERE key = 'queue') THEN
                INSERT INTO archive_search_queue AS q (platform, group_id, message_id, n)
                SELECT DISTINCT platform, group_id, message_id, 1 FROM changed
                ORDER BY 1, 2, 3
                ON CONFLICT (platform, group_id, message_id) DO UPDATE SET n = q.n + 1;
              END IF;
              RETURN NULL;
            END $$
            """
        )
        for table, event, row in TRIGGERS:
            op.execute(
                f"CREATE TRIGGER {_name(table, event)} AFTER {event} ON {table} "
                f"REFERENCING {row} TABLE AS changed FOR EACH STATEMENT "
                "EXECUTE FUNCTION archive_search_enqueue()"
            )
    else:
        # External content: the FTS index over archive_search.grams; its rowid is
        # archive_search.id, so ORDER BY rowid DESC reads it newest first. detail=none: only
        # which rows hold a gram (every gram is one token; phrases are checked on the text).
        op.execute(
            "CREATE VIRTUAL TABLE archive_search_fts USING fts5(grams, "
            "content='archive_search', content_rowid='id', tokenize='unicode61', "
            "detail='none')"
        )
        for table, event, row in TRIGGERS:
            op.execute(
                f"CREATE TRIGGER {_name(table, event)} AFTER {event} ON {table} "
                "WHEN EXISTS (SELECT 1 FROM archive_search_state WHERE key = 'queue') BEGIN "
                "INSERT INTO archive_search_queue (platform, group_id, message_id, n) "
                f"VALUES ({row}.platform, {row}.group_id, {row}.message_id, 1) "
                "ON CONFLICT (platform, group_id, message_id) DO UPDATE SET n = n + 1; END"
            )


def downgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    for table, event, _row in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {_name(table, event)}" + (f" ON {table}" if pg else ""))
    if pg:
        op.execute("DROP FUNCTION IF EXISTS archive_search_enqueue()")
        op.execute("DROP INDEX IF EXISTS ix_archive_search_grams")
    else:
        op.execute("DROP TABLE IF EXISTS archive_search_fts")
    op.drop_table("archive_search_queue")
    op.drop_table("archive_search")
    op.execute("DELETE FROM archive_search_state")
    # archive_0002's shape (empty: the next search under it builds it again)
    op.create_table(
        "archive_search",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("group_id", sa.String(length=191), nullable=False),
        sa.Column("message_id", sa.String(length=191), nullable=False),
        sa.Column("sent_at", groupops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("grams", postgresql.ARRAY(sa.Text()) if pg else sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archive_search")),
        sa.UniqueConstraint(
            "platform", "group_id", "message_id",
            name=op.f("uq_archive_search_platform_group_id_message_id"),
        ),
    )  # fmt: skip
    op.create_index("ix_archive_search_sent_at", "archive_search", ["sent_at"])
    if pg:
        op.execute("CREATE INDEX ix_archive_search_grams ON archive_search USING gin (grams)")
    else:
        op.execute(
            "CREATE VIRTUAL TABLE archive_search_fts USING fts5("
            "grams, content='archive_search', content_rowid='id', tokenize='unicode61')"
        )
