"""store: ingested_files, the fingerprint of each source file a run read completely and
cleanly, so a re-ingest of an unchanged file skips it; a delete from an ingested table drops
that entity's fingerprints (triggers)

Revision ID: store_0001
Revises: archive_0003
Create Date: 2026-11-30 15:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import groupops.db.types

revision: str = "store_0001"
down_revision: str | None = "archive_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (table, entity) of every table an ingest writes: a row deleted there (a purge, a group's
#: cascade, by hand) must be read again from its file, so the entity's fingerprints go.
TABLES: tuple[tuple[str, str], ...] = (
    ("groups", "groups"),
    ("members", "members"),
    ("membership_events", "memberships"),
    ("messages", "messages"),
    ("roster", "roster"),
)


def _name(table: str) -> str:
    return f"ingested_files_forget_{table}"


def upgrade() -> None:
    op.create_table(
        "ingested_files",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("source_file", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mtime_ns", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("rules", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("watermark", groupops.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ingested_at", groupops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingested_files")),
    )
    op.create_index(
        "ix_ingested_files_entity_source", "ingested_files", ["entity", "source_file"]
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION ingested_files_forget() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              DELETE FROM ingested_files WHERE entity = TG_ARGV[0];
              RETURN NULL;
            END $$
            """
        )
        for table, entity in TABLES:
            op.execute(
                f"CREATE TRIGGER {_name(table)} AFTER DELETE ON {table} FOR EACH STATEMENT "
                f"EXECUTE FUNCTION ingested_files_forget('{entity}')"
            )
    else:
        for table, entity in TABLES:
            op.execute(
                f"CREATE TRIGGER {_name(table)} AFTER DELETE ON {table} "
                f"BEGIN DELETE FROM ingested_files WHERE entity = '{entity}'; END"
            )


def downgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    for table, _entity in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {_name(table)}" + (f" ON {table}" if pg else ""))
    if pg:
        op.execute("DROP FUNCTION IF EXISTS ingested_files_forget()")
    op.drop_index("ix_ingested_files_entity_source", table_name="ingested_files")
    op.drop_table("ingested_files")
