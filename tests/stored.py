"""What an ingest left in a store, for tests that compare two reader paths: every ingested
table (without the per-run columns) and the quarantine, in a stable order."""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa

from groupops.db import make_engine
from groupops.db.models import QuarantineRecord

TABLES = ("groups", "members", "membership_events", "messages")


def stored(url: str, *, source_file: bool = False) -> tuple[pd.DataFrame, list[tuple[Any, ...]]]:
    """(the ingested tables as one frame, the quarantine's rows); ``source_file``: include the
    quarantined record's file (when both paths read the same file)."""
    q = QuarantineRecord
    columns = [q.line, q.entity, q.field, q.reason, q.raw]
    if source_file:
        columns.insert(0, q.source_file)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            tables = {}
            for name in TABLES:
                frame = pd.read_sql_table(name, conn)
                frame = frame.drop(columns=[c for c in ("updated_at", "ingest_run_id")
                                            if c in frame.columns])  # fmt: skip
                tables[name] = frame.sort_values(list(frame.columns[:3])).reset_index(drop=True)
            quarantine = conn.execute(
                sa.select(*columns).order_by(q.entity, q.line, q.field, q.reason)
            ).all()
    finally:
        engine.dispose()
    return pd.concat(tables, names=["table"]), [tuple(row) for row in quarantine]
