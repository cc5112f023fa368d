"""deadlines: reminders sent, violations

Revision ID: deadlines_0001
Revises: stats_0001 (written against 0001; chained after stats_0001 once the stats branch was
merged, so that this branch has one head)
Create Date: 2026-11-24 12:31:28.469988
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import groupops.db.types


revision: str = 'deadlines_0001'
down_revision: str | None = 'stats_0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('deadline_reminders',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('platform', sa.String(length=32), nullable=False),
    sa.Column('group_id', sa.String(length=191), nullable=False),
    sa.Column('message_id', sa.String(length=191), nullable=False),
    sa.Column('assignee_id', sa.String(length=191), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('requester_id', sa.String(length=191), nullable=True),
    sa.Column('requested_at', groupops.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_at', groupops.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('overdue_working_minutes', sa.Float(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('recipients', groupops.db.types.JSONList(), nullable=False),
    sa.Column('outbox_key', sa.String(length=191), nullable=True),
    sa.Column('as_of', groupops.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', groupops.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deadline_reminders')),
    sa.UniqueConstraint('kind', 'platform', 'group_id', 'message_id', 'assignee_id', 'step', name='uq_deadline_reminders_obligation_step')
    )
    with op.batch_alter_table('deadline_reminders', schema=None) as batch_op:
        batch_op.create_index('ix_deadline_reminders_group', ['platform', 'group_id'], unique=False)

    op.create_table('violations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('platform', sa.String(length=32), nullable=False),
    sa.Column('group_id', sa.String(length=191), nullable=False),
    sa.Column('member_id', sa.String(length=191), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('evidence_message_ids', groupops.db.types.JSONList(), nullable=False),
    sa.Column('created_at', groupops.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', groupops.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_violations')),
    sa.UniqueConstraint('platform', 'group_id', 'member_id', 'type', 'period', name=op.f('uq_violations_platform_group_id_member_id_type_period'))
    )
    with op.batch_alter_table('violations', schema=None) as batch_op:
        batch_op.create_index('ix_violations_member', ['platform', 'member_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('violations', schema=None) as batch_op:
        batch_op.drop_index('ix_violations_member')

    op.drop_table('violations')
    with op.batch_alter_table('deadline_reminders', schema=None) as batch_op:
        batch_op.drop_index('ix_deadline_reminders_group')

    op.drop_table('deadline_reminders')
