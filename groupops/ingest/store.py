"""Idempotent upserts of normalised frames, and the quarantine.

Each chunk's content hashes are compared with the stored rows' first; only new or changed rows
are written, with one ``INSERT … ON CONFLICT … DO UPDATE`` (see :func:`upsert`). Re-ingesting
the same input therefore writes nothing, and an edited message is updated in place.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from groupops.canonical import FIELDS, KEYS, Entity
from groupops.db.models import Base, Group, QuarantineRecord
from groupops.ingest.keyed import Keyed as Keyed
from groupops.ingest.keyed import content_hash as content_hash
from groupops.ingest.keyed import keyed as keyed
from groupops.ingest.normalise import UNSTATED, Rejection, group_key, id_list_json

TABLES: dict[Entity, str] = {
    "groups": "groups",
    "members": "members",
    "memberships": "membership_events",
    "messages": "messages",
    "roster": "roster",
}


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


_FOUR_DIGIT_YEARS = (np.datetime64("0001-01-01", "us"), np.datetime64("9999-12-31T23:59:59.999999"))


def _instant_texts(utc: np.ndarray) -> list[object]:
    """Naive UTC instants (``datetime64[us]``) as ``YYYY-MM-DD HH:MM:SS.ffffff`` (NaT: ``None``
    or any text; the caller puts ``None`` there). Arrow's cast writes that text in C (100k
    instants: 0.009 s against numpy's 0.036) for four-digit years; numpy's text otherwise
    (``tests/test_ingest_lookup.py``: the same text as numpy's for any instant)."""
    present = utc[~np.isnat(utc)]
    if len(present) == 0 or (
        present.min() >= _FOUR_DIGIT_YEARS[0] and present.max() <= _FOUR_DIGIT_YEARS[1]
    ):
        return cast(list[object], pa.array(utc, from_pandas=True).cast(pa.string()).to_pylist())
    return cast(
        list[object], np.char.replace(np.datetime_as_string(utc, unit="us"), "T", " ").tolist()
    )


def _column_values(entity: Entity, name: str, column: pd.Series, dialect: str) -> list[object]:
    """One column as DBAPI values, converted vectorised (no per-row SQLAlchemy processing)."""
    specs = {spec.name: spec for spec in FIELDS[entity]}
    spec = specs.get(name)
    if name == "updated_at" or (spec is not None and spec.type == "instant"):
        utc = column.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
        values = _instant_texts(utc)
        if dialect != "sqlite":  # SQLite stores naive UTC text; PostgreSQL a timestamptz
            values = [None if v is None else f"{v}+00:00" for v in values]
        if column.isna().any():  # an optional instant (the roster's departed_at)
            values = [
                None if missing else v for v, missing in zip(values, column.isna(), strict=True)
            ]
        return values
    if spec is not None and spec.type == "ids":
        return cast(list[object], id_list_json(column))
    if spec is not None and spec.type == "bool":
        return cast(list[object], column.astype(bool).tolist())
    if name in ("content_hash", "ingest_run_id"):
        if pd.api.types.is_integer_dtype(column.dtype):  # no missing value
            return cast(list[object], column.tolist())
        return [None if pd.isna(v) else int(v) for v in column]
    if isinstance(column.dtype, pd.StringDtype) and column.dtype.storage == "pyarrow":
        return cast(list[object], pa.array(column.array).to_pylist())  # NA → None
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
    conn: sa.Connection,
    entity: Entity,
    frame: pd.DataFrame | Keyed,
    *,
    now: datetime,
    run_id: int | None,
) -> UpsertCounts:
    """Insert new rows, update changed ones, leave the rest untouched; all in ``conn``'s
    transaction.

    The chunk's content hashes are compared with the stored ones first (one indexed lookup of
    the chunk's keys), so only new or changed rows are written: re-ingesting unchanged input
    writes nothing. The write is one ``INSERT … ON CONFLICT (key) DO UPDATE … WHERE the hash
    differs``, so a row another run inserted in the meantime is updated, never a duplicate-key
    error (executemany on SQLite; ``COPY`` into a staging table on PostgreSQL)."""
    if (frame.frame if isinstance(frame, Keyed) else frame).empty:
        return UpsertCounts()
    target = _table(entity)
    dialect = conn.dialect.name
    # ``frame`` made :func:`keyed` here, unless that was done before (apart from the write).
    chunk = frame if isinstance(frame, Keyed) else keyed(entity, frame)
    frame, ids_json, hashes = chunk.frame, chunk.ids_json, chunk.hashes
    if dialect == "sqlite":
        # Take the database's write lock before the lookup (a no-op write does): no other run
        # can commit between what the lookup sees and what is written.
        conn.exec_driver_sql(f"UPDATE {target.name} SET content_hash = content_hash WHERE 0")
    new, changed = _differing(conn, entity, frame, hashes, dialect)
    loaded, updated = int(new.sum()), int(changed.sum())
    if loaded or updated:
        at = np.flatnonzero(new | changed)
        constant: dict[str, pd.Timestamp | int | None] = {"updated_at": pd.Timestamp(now)}
        if "ingest_run_id" in target.c:
            constant["ingest_run_id"] = run_id
        rows = frame.iloc[at].assign(content_hash=hashes[at], **constant)
        columns = [c.name for c in target.columns]
        values = [
            np.asarray(ids_json[c], dtype=object)[at].tolist()
            if c in ids_json
            # One value for the whole chunk: converted once (200k timestamps as text: 0.14 s).
            else _column_values(entity, c, rows[c].iloc[:1], dialect) * len(rows)
            if c in constant
            else _column_values(entity, c, rows[c], dialect)
            for c in columns
        ]
        written = _write_stated(conn, entity, list(zip(*values, strict=True)), columns, rows)
        if written is not None:  # PostgreSQL: what the statement did, overlapping runs included
            loaded, updated = written
    return UpsertCounts(loaded=loaded, updated=updated, unchanged=len(frame) - loaded - updated)


#: PostgreSQL: a chunk that adds more than this share of the rows the planner last counted
#: refreshes the table's statistics (:func:`refresh_planner_stats`).
STALE_SHARE = 0.2


def refresh_planner_stats(engine: sa.Engine, entity: Entity, added: int) -> bool:
    """PostgreSQL: ``ANALYZE`` the entity's table when the rows just committed (``added``) are
    more than :data:`STALE_SHARE` of what its statistics counted, or it never had any; whether
    it did. Why: without statistics the planner takes ``(platform, group_id)`` for selective
    and probes the lookup's keys (:func:`_differing`) through ``ix_messages_group_sent_at``,
    filtering on ``message_id``: every key of a chunk then reads the whole group, so a fresh
    store's second chunk of a one-group export ran minutes (100k keys × 70k rows). Autovacuum
    analyzes too, but a minute or more later than the next chunk. Run after the chunk's commit,
    in its own short transaction (``ANALYZE`` samples ~30k rows; its lock conflicts only with
    another ``ANALYZE``, VACUUM and DDL, never with the writes). SQLite needs nothing: its
    planner takes the unique primary key for an equality on every key column."""
    if engine.dialect.name != "postgresql" or added <= 0:
        return False
    name = _table(entity).name
    with engine.connect() as conn:
        counted = conn.execute(
            sa.text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:name)"),
            {"name": name},
        ).scalar()
        if counted is None or (counted >= 0 and added <= STALE_SHARE * counted):
            return False
        conn.exec_driver_sql(f"ANALYZE {name}")
        conn.commit()
    return True


def _differing(
    conn: sa.Connection, entity: Entity, frame: pd.DataFrame, hashes: np.ndarray, dialect: str
) -> tuple[np.ndarray, np.ndarray]:
    """(rows of ``frame`` whose key is not stored, rows stored with another content hash): one
    query joining the chunk's keys, passed as one parameter, to the table's primary key.
    PostgreSQL compares the hashes in the query and returns only the rows that differ;
    SQLite returns the stored rows' hashes (:func:`_stored_hashes`), compared here."""
    target = _table(entity)
    keys = KEYS[entity]
    key_values = [_column_values(entity, k, frame[k], dialect) for k in keys]
    new = np.zeros(len(frame), dtype=bool)
    changed = np.zeros(len(frame), dtype=bool)
    if dialect != "postgresql":
        at, stored = _stored_hashes(conn, target, keys, key_values)
        new[:] = True
        new[at] = False
        changed[at[stored != hashes[at]]] = True
        return new, changed
    arrays = ", ".join(f"%s::{target.c[k].type.compile(conn.dialect)}[]" for k in keys)
    names = ", ".join(f"k{i}" for i in range(len(keys)))
    join = " AND ".join(f"t.{k} = j.k{i}" for i, k in enumerate(keys))
    sql = (
        f"SELECT j.ord - 1, t.content_hash IS NOT NULL"
        f" FROM unnest({arrays}, %s::bigint[]) WITH ORDINALITY AS j({names}, h, ord)"
        f" LEFT JOIN {target.name} AS t ON {join}"
        f" WHERE t.content_hash IS DISTINCT FROM j.h"
    )
    rows = conn.exec_driver_sql(sql, (*key_values, hashes.tolist())).all()
    index = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    found = np.fromiter((r[1] for r in rows), dtype=bool, count=len(rows))
    new[index[~found]] = True
    changed[index[found]] = True
    return new, changed


def _stored_hashes(
    conn: sa.Connection, target: sa.Table, keys: Sequence[str], key_values: list[list[object]]
) -> tuple[np.ndarray, np.ndarray]:
    """SQLite: (positions of the chunk's keys that are stored, their stored content hashes), in
    one query. The keys go as one JSON document of runs: the rows sharing every key column
    but the last (a chunk in key order: one run per group) as ``[k0, …, [last, …]]``, so each
    row's key is one plain JSON value, never a small array to take apart per row (what cost
    the lookup most: 0.16 against 0.07 s per 100k new messages); a run's leading values are
    read once. ``tests/test_ingest_lookup.py``: the same answer as the per-row form."""
    *leading, last = keys
    count = len(key_values[0])
    if count == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if leading:
        columns = [np.asarray(values, dtype=object) for values in key_values[:-1]]
        step = np.zeros(count - 1, dtype=bool)
        for column in columns:
            step |= column[1:] != column[:-1]
        starts = np.concatenate(([0], np.flatnonzero(step) + 1)).astype(np.int64)
    else:
        starts = np.zeros(1, dtype=np.int64)
    bounds = [*starts.tolist(), count]
    document = orjson.dumps(
        [[*(values[start] for values in key_values[:-1]), key_values[-1][start:end]]
         for start, end in itertools.pairwise(bounds)]
    ).decode()  # fmt: skip
    picked = ", ".join(f"value ->> {i} AS k{i}" for i in range(len(leading)))
    join = " AND ".join(
        [*(f"t.{k} = r.k{i}" for i, k in enumerate(leading)), f"t.{last} = m.value"]
    )
    # CROSS JOIN keeps the runs outermost and probes the primary key per row.
    sql = (
        f"WITH r AS MATERIALIZED (SELECT key AS n, {picked + ', ' if picked else ''}"
        f"value -> {len(leading)} AS last FROM json_each(?))"
        f" SELECT json_group_array(json_array(r.n, m.key, t.content_hash))"
        f" FROM r CROSS JOIN json_each(r.last) AS m CROSS JOIN {target.name} AS t ON {join}"
    )
    found = np.asarray(orjson.loads(conn.exec_driver_sql(sql, (document,)).scalar_one()),
                       dtype=np.int64).reshape(-1, 3)  # fmt: skip
    return starts[found[:, 0]] + found[:, 1], found[:, 2]


def _write_stated(
    conn: sa.Connection,
    entity: Entity,
    rows: list[tuple[object, ...]],
    columns: Sequence[str],
    frame: pd.DataFrame,
) -> tuple[int, int] | None:
    """:func:`_write` the rows, each group of rows that leaves the same fields unstated (a
    partial source's, :data:`~groupops.ingest.normalise.UNSTATED`) with those fields kept as
    stored: an export without emails never erases the roster's."""
    if UNSTATED not in frame or not frame[UNSTATED].map(bool).any():
        return _write(conn, entity, rows, columns)
    groups: dict[tuple[str, ...], list[tuple[object, ...]]] = {}
    for keep, row in zip(frame[UNSTATED].tolist(), rows, strict=True):
        groups.setdefault(keep, []).append(row)
    total: tuple[int, int] | None = None
    for keep, batch in groups.items():
        written = _write(conn, entity, batch, columns, keep=keep)
        if written is not None:
            total = written if total is None else (total[0] + written[0], total[1] + written[1])
    return total


def _write(
    conn: sa.Connection,
    entity: Entity,
    rows: list[tuple[object, ...]],
    columns: Sequence[str],
    *,
    keep: Sequence[str] = (),
) -> tuple[int, int] | None:
    """Upsert ``rows``: insert, or update a stored row with the same key whose hash differs
    (the columns in ``keep`` left as stored).

    On PostgreSQL, ``(inserted, updated)`` as the statement did them (``xmax = 0`` tells an
    inserted row from an updated one; a row an overlapping run stored with the same content is
    neither), and the rows go in key order so two runs writing overlapping keys lock them in
    the same order (no deadlock). On SQLite ``None``: the write lock was taken before the
    lookup, so the lookup's counts are exact."""
    target = _table(entity)
    keys = KEYS[entity]
    names = ", ".join(columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys and c not in keep)
    differs = "IS DISTINCT FROM" if conn.dialect.name == "postgresql" else "IS NOT"
    conflict = (
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
        f" WHERE {target.name}.content_hash {differs} excluded.content_hash"
    )
    if conn.dialect.name == "postgresql":
        stage = _staging(conn, entity)
        _load_stage(conn, stage, rows, columns)
        order = ", ".join(keys)
        flags = (
            conn.exec_driver_sql(
                f"INSERT INTO {target.name} ({names}) SELECT {names} FROM {stage.name}"
                f" ORDER BY {order} {conflict} RETURNING (xmax = 0)"
            )
            .scalars()
            .all()
        )
        conn.execute(stage.delete())
        inserted = sum(1 for flag in flags if flag)
        return inserted, len(flags) - inserted
    marks = ", ".join("?" for _ in columns)
    conn.exec_driver_sql(f"INSERT INTO {target.name} ({names}) VALUES ({marks}) {conflict}", rows)
    return None


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
