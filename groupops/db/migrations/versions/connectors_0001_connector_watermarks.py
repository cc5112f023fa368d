"""connectors: per-source, per-group pull watermarks

Revision ID: connectors_0001
Revises: deadlines_0001
Create Date: 2026-11-24 12:35:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import groupops.db.types


revision: str = "connectors_0001"
down_revision: str | None = "deadlines_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "connector_watermarks",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("group_id", sa.String(length=191), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("at", groupops.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("pulled_at", groupops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("ingest_run_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("source", "group_id", name=op.f("pk_connector_watermarks")),
    )


def downgrade() -> None:
    op.drop_table("connector_watermarks")
