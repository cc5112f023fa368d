"""Stored pull watermarks, one per configured source and group (table
``connector_watermarks``). The pull flow reads one before pulling and writes the new one only
after the pulled records were ingested, so a failed ingest is simply pulled again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from groupops.connectors.base import Watermark
from groupops.db.engine import session_scope
from groupops.db.models import ConnectorWatermark


@dataclass(frozen=True, slots=True)
class StoredWatermark:
    source: str
    group_id: str
    platform: str
    watermark: Watermark
    pulled_at: datetime
    messages: int
    ingest_run_id: int | None


def load_watermark(engine: sa.Engine, source: str, group_id: str) -> Watermark | None:
    """The watermark of ``source``/``group_id``; ``None`` before its first successful pull."""
    with session_scope(engine) as session:
        row = session.get(ConnectorWatermark, (source, group_id))
        return None if row is None else Watermark(row.cursor, row.at)


def save_watermark(
    engine: sa.Engine,
    *,
    source: str,
    platform: str,
    group_id: str,
    watermark: Watermark,
    pulled_at: datetime,
    messages: int = 0,
    ingest_run_id: int | None = None,
) -> None:
    """Store (insert or replace) the watermark of ``source``/``group_id``: one
    ``INSERT … ON CONFLICT DO UPDATE``, so two runs saving the same group's watermark at once
    (a manual pull beside the schedule, without the ``group:<id>`` tag limit) both succeed and
    the later write stands (an older watermark only means the next pull re-reads a window, which
    adds nothing twice)."""
    if pulled_at.tzinfo is None:
        raise ValueError("pulled_at must be timezone-aware")
    values = {
        "source": source,
        "group_id": group_id,
        "platform": platform,
        "cursor": watermark.cursor,
        "at": watermark.at,
        "pulled_at": pulled_at,
        "messages": messages,
        "ingest_run_id": ingest_run_id,
    }
    table = ConnectorWatermark.__table__
    assert isinstance(table, sa.Table)
    with engine.begin() as conn:
        dialect = conn.dialect.name
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
        keys = {"source", "group_id"}
        conn.execute(
            insert.values(values).on_conflict_do_update(
                index_elements=sorted(keys),
                set_={k: insert.excluded[k] for k in values if k not in keys},
            )
        )


def list_watermarks(engine: sa.Engine) -> list[StoredWatermark]:
    with session_scope(engine) as session:
        rows = session.scalars(
            sa.select(ConnectorWatermark).order_by(
                ConnectorWatermark.source, ConnectorWatermark.group_id
            )
        ).all()
        return [
            StoredWatermark(
                r.source,
                r.group_id,
                r.platform,
                Watermark(r.cursor, r.at),
                r.pulled_at,
                r.messages,
                r.ingest_run_id,
            )
            for r in rows
        ]
