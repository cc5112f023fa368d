"""archive register, legal holds, cleanup runs, purged messages, cleanup actions

Revision ID: archive_0001
Revises: moderation_0002
Create Date: 2026-11-30 08:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import groupops.db.types


revision: str = "archive_0001"
down_revision: str | None = "moderation_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "archive_register",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("group_id", sa.String(length=191), nullable=False),
        sa.Column("message_id", sa.String(length=191), nullable=False),
        sa.Column("sender_id", sa.String(length=191), nullable=False),
        sa.Column("sent_at", groupops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("rules", groupops.db.types.JSONList(), nullable=False),
        sa.Column("archived_by", sa.String(length=191), nullable=False),
        sa.Column("archived_at", groupops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("updated_at", groupops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archive_register")),
        sa.UniqueConstraint(
            "platform",
            "group_id",
            "message_id",
            name=op.f("uq_archive_register_platform_group_id_message_id"),
        ),
    )
    with op.batch_alter_table("archive_register", schema=None) as batch_op:
        batch_op.create_index(
            "ix_archive_register_group_sent_at", ["platform", "group_id", "sent_at"], unique=False
        )

    op.create_table(
        "cleanup_actions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("group_id", sa.String(length=191), nullable=False),
        sa.Column("message_id", sa.String(length=191), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("via", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created_at", groupops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", groupops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cleanup_actions")),
        sa.UniqueConstraint(
            "run_id",
            "platform",
            "group_id",
            "message_id",
            "action",
            name=op.f("uq_cleanup_actions_run_id_platform_group_id_message_id_action"),
        ),
    )
    with op.batch_alter_table("cleanup_actions", schema=None) as batch_op:
        batch_op.create_index("ix_cleanup_actions_status", ["status"], unique=False)

    op.create_table(
        "cleanup_runs",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("as_of", groupops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("groups", groupops.db.types.JSONList(), nullable=False),
        sa.Column("apply", sa.Boolean(), nullable=False),
        sa.Column("force", sa.Boolean(), nullable=False),
        sa.Column("ran_by", sa.String(length=191), nullable=False),
        sa.Column("started_at", groupops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", groupops.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("candidates", sa.Integer(), nullable=False),
        sa.Column("exempt", sa.Integer(), nullable=False),
        sa.Column("archived", sa.Integer(), nullable=False),
        sa.Column("purged", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("restored_at", groupops.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("restored_by", sa.String(length=191), nullable=True),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_cleanup_runs")),
    )
    with op.batch_alter_table("cleanup_runs", schema=None) as batch_op:
        batch_op.create_index("ix_cleanup_runs_started_at", ["started_at"], unique=False)

    op.create_table(
        "legal_holds",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("group_id", sa.String(length=191), nullable=False),
        sa.Column("message_id", sa.String(length=191), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("held_by", sa.String(length=191), nullable=False),
        sa.Column("held_at", groupops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("released_at", groupops.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("released_by", sa.String(length=191), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_holds")),
    )
    with op.batch_alter_table("legal_holds", schema=None) as batch_op:
        batch_op.create_index(
            "ix_legal_holds_message", ["platform", "group_id", "message_id"], unique=False
        )

    op.create_table(
        "purged_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("purged_at", groupops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("restore_until", groupops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("restored_at", groupops.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", groupops.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("group_id", sa.String(length=191), nullable=False),
        sa.Column("message_id", sa.String(length=191), nullable=False),
        sa.Column("sender_id", sa.String(length=191), nullable=False),
        sa.Column("sent_at", groupops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reply_to", sa.String(length=191), nullable=True),
        sa.Column("mentions", groupops.db.types.JSONList(), nullable=False),
        sa.Column("mention_all", sa.Boolean(), nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("content_hash", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", groupops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ingest_run_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purged_messages")),
        sa.UniqueConstraint(
            "run_id",
            "platform",
            "group_id",
            "message_id",
            name=op.f("uq_purged_messages_run_id_platform_group_id_message_id"),
        ),
    )
    with op.batch_alter_table("purged_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_purged_messages_message", ["platform", "group_id", "message_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("purged_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_purged_messages_message")

    op.drop_table("purged_messages")
    with op.batch_alter_table("legal_holds", schema=None) as batch_op:
        batch_op.drop_index("ix_legal_holds_message")

    op.drop_table("legal_holds")
    with op.batch_alter_table("cleanup_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_cleanup_runs_started_at")

    op.drop_table("cleanup_runs")
    with op.batch_alter_table("cleanup_actions", schema=None) as batch_op:
        batch_op.drop_index("ix_cleanup_actions_status")

    op.drop_table("cleanup_actions")
    with op.batch_alter_table("archive_register", schema=None) as batch_op:
        batch_op.drop_index("ix_archive_register_group_sent_at")

    op.drop_table("archive_register")
