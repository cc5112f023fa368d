"""archive search: the gram index of every stored message (FTS5 on SQLite, GIN on PostgreSQL)

Revision ID: archive_0002
Revises: moderation_0003
Create Date: 2026-11-30 08:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import groupops.db.types

revision: str = "archive_0002"
down_revision: str | None = "moderation_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
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
    op.create_table(
        "archive_search_state",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_archive_search_state")),
    )
    if pg:
        op.execute("CREATE INDEX ix_archive_search_grams ON archive_search USING gin (grams)")
    else:
        # External content: the FTS index over archive_search.grams (bigrams and words).
        op.execute(
            "CREATE VIRTUAL TABLE archive_search_fts USING fts5("
            "grams, content='archive_search', content_rowid='id', tokenize='unicode61')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_archive_search_grams")
    else:
        op.execute("DROP TABLE IF EXISTS archive_search_fts")
    op.drop_table("archive_search_state")
    op.drop_index("ix_archive_search_sent_at", table_name="archive_search")
    op.drop_table("archive_search")
