"""report: chatbot_posts, the cards for Feishu / WeCom group bots (an outbox of their own)

Revision ID: report_0001
Revises: archive_0002
Create Date: 2026-11-30 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import groupops.db.types

revision: str = "report_0001"
down_revision: str | None = "archive_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chatbot_posts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=191), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("bot", sa.String(length=48), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("pointer", sa.Text(), nullable=False),
        sa.Column("tone", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", groupops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", groupops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", groupops.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chatbot_posts")),
        sa.UniqueConstraint("key", name=op.f("uq_chatbot_posts_key")),
    )
    op.create_index("ix_chatbot_posts_status", "chatbot_posts", ["status"])


def downgrade() -> None:
    op.drop_index("ix_chatbot_posts_status", table_name="chatbot_posts")
    op.drop_table("chatbot_posts")
