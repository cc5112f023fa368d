"""Idempotent upserts of normalised frames, and the quarantine.

Each chunk goes to a temporary staging table in one executemany; then, inside the database,
rows whose natural key is new are inserted and rows whose content hash differs are updated
(``UPDATE … FROM``, on SQLite and PostgreSQL). Re-ingesting the same input therefore touches
nothing, and an edited message is updated in place.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

import numpy as np
import orjson
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from groupops.canonical import FIELDS, KEYS, Entity
from groupops.db.models import Base, Group, QuarantineRecord
from groupops.ingest.normalise import Rejection, group_key

TABLES: dict[Entity, str] = {
    "groups": "groups",
    "members": "members",
    "memberships": "membership_events",
    "messages": "messages",
    "roster": "roster",
}
# A fixed key keeps content hashes stable between runs and processes.
_HASH_KEY = "groupops-content"


@dataclass
class UpsertCounts:
    loaded: int = 0
    updated: int = 0
    unchanged: int = 0

    def __iadd__(self, other: UpsertCounts) -> UpsertCounts:
        self.loaded += other.loaded
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self


def content_hash(entity: Entity, frame: pd.DataFrame) -> pd.Series:
    """A signed 64-bit hash of each row's canonical fields (vectorised)."""
    cols: dict[str, pd.Series] = {}
    for spec in FIELDS[entity]:
        col = frame[spec.name]
        if spec.type == "ids":
            col = col.map(lambda v: orjson.dumps(v).decode())
        elif spec.type == "instant":
            col = col.astype("datetime64[ms, UTC]").astype("int64")
        cols[spec.name] = col.astype("string").fillna("\x00")
    hashed = pd.util.hash_pandas_object(pd.DataFrame(cols), index=False, hash_key=_HASH_KEY)
    return pd.Series(hashed.to_numpy().view(np.int64), index=frame.index)


def _table(entity: Entity) -> sa.Table:
    return Base.metadata.tables[TABLES[entity]]


def _staging(conn: sa.Connection, entity: Entity) -> sa.Table:
    target = _table(entity)
    meta = sa.MetaData()
    stage = sa.Table(
        f"_stage_{target.name}",
        meta,
        *(sa.Column(c.name, c.type) for c in target.columns),
        prefixes=["TEMPORARY"],
    )
    stage.create(conn, checkfirst=True)
    conn.execute(stage.delete())
    return stage


def _column_values(entity: Entity, name: str, column: pd.Series, dialect: str) -> list[object]:
    """One column as DBAPI values, converted vectorised (no per-row SQLAlchemy processing)."""
    specs = {spec.name: spec for spec in FIELDS[entity]}
    spec = specs.get(name)
    if name == "updated_at" or (spec is not None and spec.type == "instant"):
        utc = column.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
        text = np.char.replace(np.datetime_as_string(utc, unit="us"), "T", " ")
        if dialect != "sqlite":  # SQLite stores naive UTC text; PostgreSQL a timestamptz
            text = np.char.add(text, "+00:00")
        values = cast(list[object], text.tolist())
        if column.isna().any():  # an optional instant (the roster's departed_at)
            values = [
                None if missing else v for v, missing in zip(values, column.isna(), strict=True)
            ]
        return values
    if spec is not None and spec.type == "ids":
        return [orjson.dumps(v).decode() for v in column]
    if spec is not None and spec.type == "bool":
        return cast(list[object], column.astype(bool).tolist())
    if name in ("content_hash", "ingest_run_id"):
        return [None if pd.isna(v) else int(v) for v in column]
    return cast(list[object], column.astype(object).where(column.notna(), None).tolist())


def _load_stage(
    conn: sa.Connection, stage: sa.Table, rows: list[tuple[object, ...]], columns: Sequence[str]
) -> None:
    """Bulk-load the staging table: COPY on PostgreSQL, executemany on SQLite."""
    names = ", ".join(columns)
    if conn.dialect.name == "postgresql":
        dbapi = conn.connection.driver_connection
        assert dbapi is not None
        with (
            dbapi.cursor() as cursor,
            cursor.copy(f"COPY {stage.name} ({names}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" for _ in columns)
    conn.exec_driver_sql(f"INSERT INTO {stage.name} ({names}) VALUES ({marks})", rows)


def upsert(
    conn: sa.Connection, entity: Entity, frame: pd.DataFrame, *, now: datetime, run_id: int | None
) -> UpsertCounts:
    """Update changed rows, insert new ones, count the unchanged (from the statements' row
    counts); all in ``conn``'s transaction."""
    if frame.empty:
        return UpsertCounts()
    target = _table(entity)
    frame = frame.assign(content_hash=content_hash(entity, frame), updated_at=pd.Timestamp(now))
    if "ingest_run_id" in target.c:
        frame = frame.assign(ingest_run_id=run_id)
    columns = [c.name for c in target.columns]
    stage = _staging(conn, entity)
    dialect = conn.dialect.name
    values = [_column_values(entity, c, frame[c], dialect) for c in columns]
    _load_stage(conn, stage, list(zip(*values, strict=True)), columns)

    keys = KEYS[entity]
    same_key = sa.and_(*(target.c[k] == stage.c[k] for k in keys))
    updated = conn.execute(
        sa.update(target)
        .where(same_key, target.c.content_hash != stage.c.content_hash)
        .values({c: stage.c[c] for c in columns if c not in keys})
    ).rowcount
    new, raced = _insert_new(conn, target, stage, columns, keys, same_key)
    conn.execute(stage.delete())
    updated += raced
    return UpsertCounts(loaded=new, updated=updated, unchanged=len(frame) - new - updated)


def _insert_new(
    conn: sa.Connection,
    target: sa.Table,
    stage: sa.Table,
    columns: Sequence[str],
    keys: Sequence[str],
    same_key: sa.ColumnElement[bool],
) -> tuple[int, int]:
    """Insert the staged rows whose key is new; ``(inserted, updated)``.

    ``ON CONFLICT (key) DO UPDATE … WHERE the content differs`` tolerates a run committing the
    same key between this run's check and its insert (overlapping ingests into one store):
    identical content is left alone (unchanged), different content is updated (counted as
    updated, so across overlapping runs every row is counted once as loaded). Rows go in key
    order, so two runs inserting overlapping keys lock them in the same order (no deadlock).
    On SQLite the statement runs under the database's single write lock, so no run can
    commit in between and the row count is the inserted count; on PostgreSQL ``xmax = 0``
    tells an inserted row from an updated one.
    """
    dialect = conn.dialect.name
    insert_fn = postgresql.insert if dialect == "postgresql" else sqlite.insert
    source = (
        sa.select(*(stage.c[c] for c in columns))
        .where(~sa.exists().where(same_key))
        .order_by(*(stage.c[k] for k in keys))
    )
    insert = insert_fn(target).from_select(list(columns), source)
    stmt = insert.on_conflict_do_update(
        index_elements=list(keys),
        set_={c: insert.excluded[c] for c in columns if c not in keys},
        where=target.c.content_hash != insert.excluded.content_hash,
    )
    if dialect == "postgresql":
        flags: list[bool] = list(
            conn.execute(stmt.returning(sa.literal_column("xmax = 0"))).scalars()
        )
        inserted = sum(1 for flag in flags if flag)
        return inserted, len(flags) - inserted
    # Plain SQL: the DBAPI's rowcount (SQLAlchemy's is -1 for INSERT … SELECT). SQLite needs a
    # WHERE on the SELECT of an upsert (parsing ambiguity); the NOT EXISTS is that WHERE.
    return conn.exec_driver_sql(str(stmt.compile(dialect=conn.dialect))).rowcount, 0


def known_groups(conn: sa.Connection) -> set[str]:
    """Every stored group as its ``_group_key``."""
    rows = conn.execute(sa.select(Group.platform, Group.group_id)).all()
    if not rows:
        return set()
    frame = pd.DataFrame(rows, columns=["platform", "group_id"])
    return set(group_key(frame["platform"], frame["group_id"]))


_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def storable(text: str) -> str:
    """``text`` as every store holds it: a C0 control character (other than tab, newline and
    carriage return) becomes its visible Control Picture (U+0000 → ␀), a lone surrogate U+FFFD.
    Quarantine keeps hostile raw text this way, so a NUL cannot fail a PostgreSQL transaction."""
    if text.isprintable() or not _UNSTORABLE.search(text):
        return text
    return _UNSTORABLE.sub(
        lambda m: chr(0x2400 + ord(m.group())) if m.group() < " " else "\ufffd", text
    )


def _fingerprint(raw: str) -> str:
    return hashlib.sha1(raw.encode("utf-8", "surrogatepass"), usedforsecurity=False).hexdigest()


def quarantine(
    conn: sa.Connection, rejections: Iterable[Rejection], *, now: datetime, run_id: int | None
) -> int:
    """Store rejections; the same record rejected again only refreshes ``last_seen_at``."""
    rows = [
        {
            "run_id": run_id,
            "source_file": storable(r.source),
            "line": r.line,
            "entity": r.entity,
            "field": storable(r.field),
            "reason": storable(r.reason),
            "raw": storable(r.raw),
            "fingerprint": _fingerprint(r.raw),
            "first_seen_at": now,
            "last_seen_at": now,
        }
        for r in rejections
    ]
    if not rows:
        return 0
    table = QuarantineRecord.__table__
    assert isinstance(table, sa.Table)
    dialect = conn.dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    stmt = insert.on_conflict_do_update(
        index_elements=["source_file", "line", "entity", "field", "fingerprint"],
        set_={
            "last_seen_at": insert.excluded.last_seen_at,
            "run_id": insert.excluded.run_id,
            "reason": insert.excluded.reason,
        },
    )
    conn.execute(stmt, rows)
    return len(rows)
