"""outbox (rendered emails, stored before sending) and digest log (idempotent digests)

Revision ID: stats_0001
Revises: 0001
Create Date: 2026-11-24 12:21:47.025113
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import groupops.db.types


revision: str = 'stats_0001'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('digest_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=191), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('period_label', sa.String(length=16), nullable=False),
    sa.Column('period_start', groupops.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('period_end', groupops.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('audience', sa.String(length=16), nullable=False),
    sa.Column('platform', sa.String(length=32), nullable=False),
    sa.Column('subject_id', sa.String(length=191), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.Column('created_at', groupops.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', groupops.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_log')),
    sa.UniqueConstraint('key', name=op.f('uq_digest_log_key'))
    )
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=191), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('template', sa.String(length=128), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('sender', sa.String(length=320), nullable=False),
    sa.Column('recipients', groupops.db.types.JSONList(), nullable=False),
    sa.Column('eml_path', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', groupops.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', groupops.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', groupops.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('key', name=op.f('uq_outbox_key'))
    )
    op.create_index('ix_outbox_status', 'outbox', ['status'], unique=False)



def downgrade() -> None:
    op.drop_index('ix_outbox_status', table_name='outbox')
    op.drop_table('outbox')
    op.drop_table('digest_log')
