"""store: a TRUNCATE of an ingested table on PostgreSQL drops that entity's file fingerprints
too (TRUNCATE fires no DELETE trigger; SQLite has no TRUNCATE)

Revision ID: store_0002
Revises: store_0001
Create Date: 2026-11-30 16:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "store_0002"
down_revision: str | None = "store_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES: tuple[tuple[str, str], ...] = (
    ("groups", "groups"),
    ("members", "members"),
    ("membership_events", "memberships"),
    ("messages", "messages"),
    ("roster", "roster"),
)


def _name(table: str) -> str:
    return f"ingested_files_forget_truncated_{table}"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, entity in TABLES:
        op.execute(
            f"CREATE TRIGGER {_name(table)} AFTER TRUNCATE ON {table} FOR EACH STATEMENT "
            f"EXECUTE FUNCTION ingested_files_forget('{entity}')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, _entity in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {_name(table)} ON {table}")
