"""meetings: the meetings the meetings flow has seen

Revision ID: meetings_0001
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import groupops.db.types

revision: str = "meetings_0001"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "meetings",
        sa.Column("meeting_id", sa.String(length=191), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("group_id", sa.String(length=191), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("start_at", groupops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end_at", groupops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("place", sa.Text(), nullable=True),
        sa.Column("organizer_id", sa.String(length=191), nullable=True),
        sa.Column("attendees", groupops.db.types.JSONList(), nullable=False),
        sa.Column("on_leave", groupops.db.types.JSONList(), nullable=False),
        sa.Column("late_leave", groupops.db.types.JSONList(), nullable=False),
        sa.Column("notice_message_id", sa.String(length=191), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("minutes_message_id", sa.String(length=191), nullable=True),
        sa.Column("minutes_state", sa.String(length=16), nullable=False),
        sa.Column(
            "minutes_due_at", groupops.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("action_items", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=40), nullable=False),
        sa.Column("as_of", groupops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", groupops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", groupops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("meeting_id", name=op.f("pk_meetings")),
    )
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_meetings_group_start", ["platform", "group_id", "start_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_index("ix_meetings_group_start")
    op.drop_table("meetings")
