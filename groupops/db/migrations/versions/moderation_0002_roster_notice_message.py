"""roster: the HR roster (实名制, departures); violations remember the notice posted in the group

Revision ID: moderation_0002
Revises: moderation_0001
Create Date: 2026-11-25 11:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import groupops.db.types

revision: str = "moderation_0002"
down_revision: str | None = "moderation_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "roster",
        sa.Column("employee_id", sa.String(length=191), nullable=False),
        sa.Column("real_name", sa.String(length=255), nullable=False),
        sa.Column("department", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("department_head_email", sa.String(length=320), nullable=True),
        sa.Column("member_ids", groupops.db.types.JSONList(), nullable=False),
        sa.Column("departed_at", groupops.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("content_hash", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", groupops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("employee_id", name=op.f("pk_roster")),
    )
    with op.batch_alter_table("violations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notice_message_id", sa.String(length=191), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("violations", schema=None) as batch_op:
        batch_op.drop_column("notice_message_id")
    op.drop_table("roster")
