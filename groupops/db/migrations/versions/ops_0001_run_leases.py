"""ops: ingest runs carry a lease (heartbeat_at, owner) so a run left `running` by a dead
process is marked `crashed` by the next run

Revision ID: ops_0001
Revises: archive_0001
Create Date: 2026-11-30 08:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import groupops.db.types

revision: str = "ops_0001"
down_revision: str | None = "archive_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ingest_runs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("heartbeat_at", groupops.db.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("owner", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ingest_runs", schema=None) as batch_op:
        batch_op.drop_column("owner")
        batch_op.drop_column("heartbeat_at")
