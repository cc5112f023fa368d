"""moderation: violations become the moderation record (category, rule, evidence, the ladder's
decision), plus moderation_actions and appeals. Existing non-response violations are kept.

Revision ID: moderation_0001
Revises: meetings_0001 (written against 0002; re-pointed when meetings landed first)
Create Date: 2026-11-25 09:00:00
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

import groupops.db.types

revision: str = "moderation_0001"
down_revision: str | None = "meetings_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DT = groupops.db.types.UTCDateTime
JSON_LIST = groupops.db.types.JSONList


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    instant: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)


def _ids(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in (json.loads(value) if isinstance(value, str) else value)]


def _create_violations() -> None:
    op.create_table(
        "violations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("group_id", sa.String(length=191), nullable=False),
        sa.Column("member_id", sa.String(length=191), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("evidence_key", sa.String(length=191), nullable=False),
        sa.Column("message_ids", JSON_LIST(), nullable=False),
        sa.Column("matched", JSON_LIST(), nullable=False),
        sa.Column("snippet", sa.Text(), nullable=False),
        sa.Column("at", UTC_DT(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("recorded_by", sa.String(length=191), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("penalty", sa.String(length=16), nullable=True),
        sa.Column("decided_at", UTC_DT(timezone=True), nullable=True),
        sa.Column("mute_until", UTC_DT(timezone=True), nullable=True),
        sa.Column("revoked_at", UTC_DT(timezone=True), nullable=True),
        sa.Column("created_at", UTC_DT(timezone=True), nullable=False),
        sa.Column("updated_at", UTC_DT(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_violations")),
        sa.UniqueConstraint(
            "platform", "group_id", "member_id", "category", "evidence_key",
            name="uq_violations_evidence",
        ),
    )
    with op.batch_alter_table("violations", schema=None) as batch_op:
        batch_op.create_index("ix_violations_at", ["at"], unique=False)
        batch_op.create_index("ix_violations_member", ["platform", "member_id"], unique=False)


def upgrade() -> None:
    conn = op.get_bind()
    old = sa.table(
        "violations",
        sa.column("id"), sa.column("platform"), sa.column("group_id"), sa.column("member_id"),
        sa.column("type"), sa.column("period"), sa.column("evidence_message_ids"),
        sa.column("created_at"), sa.column("updated_at"),
    )  # fmt: skip
    kept = [dict(r._mapping) for r in conn.execute(sa.select(old)).all()]
    messages = sa.table(
        "messages", sa.column("platform"), sa.column("group_id"), sa.column("message_id"),
        sa.column("sent_at"),
    )  # fmt: skip
    rows = []
    for r in kept:
        ids = _ids(r["evidence_message_ids"])
        times = [
            _aware(t)
            for (t,) in conn.execute(
                sa.select(messages.c.sent_at).where(
                    messages.c.platform == r["platform"],
                    messages.c.group_id == r["group_id"],
                    messages.c.message_id.in_(ids),
                )
            ).all()
        ] if ids else []  # fmt: skip
        created = _aware(r["created_at"])
        rows.append(
            {
                "id": r["id"],
                "platform": r["platform"],
                "group_id": r["group_id"],
                "member_id": r["member_id"],
                "category": str(r["type"]).replace("-", "_"),
                "rule": "non_response_threshold",
                "evidence_key": f"period:{r['period']}",
                "message_ids": ids,
                "matched": [f"{len(ids)} missed"],
                "snippet": "",
                "at": max((t for t in times if t is not None), default=created),
                "source": "detected",
                "created_at": created,
                "updated_at": _aware(r["updated_at"]),
            }
        )
    op.drop_table("violations")
    _create_violations()
    if rows:
        new = sa.table(
            "violations",
            *(sa.column(k, JSON_LIST() if k in ("message_ids", "matched") else
                        UTC_DT() if k in ("at", "created_at", "updated_at") else None)
              for k in rows[0]),
        )  # fmt: skip
        conn.execute(new.insert(), rows)
        if conn.dialect.name == "postgresql":
            conn.execute(
                sa.text(
                    "SELECT setval(pg_get_serial_sequence('violations', 'id'), "
                    "(SELECT MAX(id) FROM violations))"
                )
            )

    op.create_table(
        "moderation_actions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("violation_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("group_id", sa.String(length=191), nullable=False),
        sa.Column("member_id", sa.String(length=191), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("due_at", UTC_DT(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("via", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_DT(timezone=True), nullable=False),
        sa.Column("updated_at", UTC_DT(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_actions")),
        sa.UniqueConstraint(
            "violation_id", "action", name=op.f("uq_moderation_actions_violation_id_action")
        ),
    )
    with op.batch_alter_table("moderation_actions", schema=None) as batch_op:
        batch_op.create_index("ix_moderation_actions_status", ["status"], unique=False)

    op.create_table(
        "appeals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("violation_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("group_id", sa.String(length=191), nullable=False),
        sa.Column("member_id", sa.String(length=191), nullable=False),
        sa.Column("filed_at", UTC_DT(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.String(length=191), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("appeal_deadline", UTC_DT(timezone=True), nullable=False),
        sa.Column("answer_due_at", UTC_DT(timezone=True), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("decided_at", UTC_DT(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=191), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("admins_told_at", UTC_DT(timezone=True), nullable=True),
        sa.Column("owner_told_at", UTC_DT(timezone=True), nullable=True),
        sa.Column("created_at", UTC_DT(timezone=True), nullable=False),
        sa.Column("updated_at", UTC_DT(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeals")),
        sa.UniqueConstraint("violation_id", "filed_at", name=op.f("uq_appeals_violation_id_filed_at")),
    )
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.create_index("ix_appeals_state", ["state"], unique=False)


def downgrade() -> None:
    conn = op.get_bind()
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.drop_index("ix_appeals_state")
    op.drop_table("appeals")
    with op.batch_alter_table("moderation_actions", schema=None) as batch_op:
        batch_op.drop_index("ix_moderation_actions_status")
    op.drop_table("moderation_actions")
    new = sa.table(
        "violations", sa.column("id"), sa.column("platform"), sa.column("group_id"),
        sa.column("member_id"), sa.column("category"), sa.column("evidence_key"),
        sa.column("message_ids"), sa.column("created_at"), sa.column("updated_at"),
    )  # fmt: skip
    kept = [
        dict(r._mapping)
        for r in conn.execute(sa.select(new).where(new.c.category == "non_response")).all()
    ]
    op.drop_table("violations")
    op.create_table(
        "violations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("group_id", sa.String(length=191), nullable=False),
        sa.Column("member_id", sa.String(length=191), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("evidence_message_ids", JSON_LIST(), nullable=False),
        sa.Column("created_at", UTC_DT(timezone=True), nullable=False),
        sa.Column("updated_at", UTC_DT(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_violations")),
        sa.UniqueConstraint(
            "platform", "group_id", "member_id", "type", "period",
            name=op.f("uq_violations_platform_group_id_member_id_type_period"),
        ),
    )  # fmt: skip
    with op.batch_alter_table("violations", schema=None) as batch_op:
        batch_op.create_index("ix_violations_member", ["platform", "member_id"], unique=False)
    if kept:
        old = sa.table(
            "violations", sa.column("id"), sa.column("platform"), sa.column("group_id"),
            sa.column("member_id"), sa.column("type"), sa.column("period"), sa.column("count"),
            sa.column("evidence_message_ids", JSON_LIST()), sa.column("created_at", UTC_DT()),
            sa.column("updated_at", UTC_DT()),
        )  # fmt: skip
        conn.execute(
            old.insert(),
            [
                {
                    "id": r["id"], "platform": r["platform"], "group_id": r["group_id"],
                    "member_id": r["member_id"], "type": "non-response",
                    "period": str(r["evidence_key"]).removeprefix("period:"),
                    "count": len(_ids(r["message_ids"])),
                    "evidence_message_ids": _ids(r["message_ids"]),
                    "created_at": _aware(r["created_at"]), "updated_at": _aware(r["updated_at"]),
                }
                for r in kept
            ],
        )  # fmt: skip
