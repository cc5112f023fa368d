"""moderation_actions: an admin's to-do marked done by hand (done_at, done_by, note)

Revision ID: moderation_0003
Revises: ops_0001
Create Date: 2026-11-30 08:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import groupops.db.types

revision: str = "moderation_0003"
down_revision: str | None = "ops_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("moderation_actions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("done_at", groupops.db.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("done_by", sa.String(length=191), nullable=True))
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("moderation_actions", schema=None) as batch_op:
        batch_op.drop_column("note")
        batch_op.drop_column("done_by")
        batch_op.drop_column("done_at")
