"""archive search on SQLite: the queue's triggers exist only once the index was first built

SQLite runs a row trigger's program for every row written, whatever its ``WHEN`` says: the
nine triggers ``archive_0003`` made (each ``WHEN`` the queue is on) cost a fresh ingest about a
quarter of its write before any search had built the index. They are dropped here from a store
whose index was never built, and the first build creates them (``groupops.archive.search``), in
the transaction that turns the queue on: a write sees the triggers exactly when it would have
seen the queue on. PostgreSQL is unchanged (statement-level triggers, one call per statement).

Revision ID: archive_0004
Revises: store_0002
Create Date: 2026-11-30 20:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "archive_0004"
down_revision: str | None = "store_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: archive_0003's triggers: (table, event, which row names the message).
TRIGGERS: tuple[tuple[str, str, str], ...] = (
    ("messages", "INSERT", "NEW"),
    ("messages", "UPDATE", "NEW"),
    ("messages", "DELETE", "OLD"),
    ("purged_messages", "INSERT", "NEW"),
    ("purged_messages", "UPDATE", "NEW"),
    ("purged_messages", "DELETE", "OLD"),
    ("archive_register", "INSERT", "NEW"),
    ("archive_register", "UPDATE", "NEW"),
    ("archive_register", "DELETE", "OLD"),
)


def _name(table: str, event: str) -> str:
    return f"archive_search_q_{table}_{event.lower()}"


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    if not _sqlite():
        return
    queue_on = (
        op.get_bind()
        .exec_driver_sql("SELECT 1 FROM archive_search_state WHERE key = 'queue'")
        .first()
    )
    if queue_on is None:
        for table, event, _row in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {_name(table, event)}")


def downgrade() -> None:
    if not _sqlite():
        return
    for table, event, row in TRIGGERS:  # archive_0003's text, word for word
        op.execute(
            f"CREATE TRIGGER IF NOT EXISTS {_name(table, event)} AFTER {event} ON {table} "
            "WHEN EXISTS (SELECT 1 FROM archive_search_state WHERE key = 'queue') BEGIN "
            "INSERT INTO archive_search_queue (platform, group_id, message_id, n) "
            f"VALUES ({row}.platform, {row}.group_id, {row}.message_id, 1) "
            "ON CONFLICT (platform, group_id, message_id) DO UPDATE SET n = n + 1; END"
        )
