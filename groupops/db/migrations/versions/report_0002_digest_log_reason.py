"""digest_log.reason: why a digest was held (no data for the period), kept with the decision

Revision ID: report_0002
Revises: report_0001
Create Date: 2026-11-30 12:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "report_0002"
down_revision: str | None = "report_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("digest_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("digest_log", schema=None) as batch_op:
        batch_op.drop_column("reason")
