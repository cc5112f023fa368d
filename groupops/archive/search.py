"""Searching stored messages in Chinese and English (``groupops archive search``).

Chinese has no spaces, and the words people look for are often two characters (预算, 周会):
a trigram index cannot find them. So every message is indexed as **bigrams** of its CJK runs
(预算已下发 → 预算 算已 已下 下发; a lone CJK character as itself) and the **words** of the rest
(NFKC, case-folded), in ``archive_search``:

* SQLite: an FTS5 table (``archive_search_fts``, external content) over the gram text;
* PostgreSQL: a ``text[]`` of the grams with a GIN index (no text-search parser involved,
  whatever the database's locale).

A query is split the same way; a message matches when it holds every gram of every term (the
index answers that), and then, checked on the text itself, every term as a substring (so 预算已下
matches 预算已下发 but not 预算…已下). A one-character Chinese query matches the grams that begin
with it (FTS5 prefix; PostgreSQL: the gram itself or a bigram starting with it).

The index follows the store: before a search, messages written by ingest runs finished since the
last sync are (re)indexed (``ingest_run_id``), so a search after an ingest finds what it stored.
Purged messages (during the restore window) are not found; hard-deleted ones leave the index.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from groupops.db.models import IngestRun, Message, PurgedMessage, SearchEntry, SearchState

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f\u3040-\u30ff\uac00-\ud7af"
_RUN = re.compile(rf"[{_CJK}]+|[^\W{_CJK}]+", re.UNICODE)
_IS_CJK = re.compile(rf"[{_CJK}]")
FTS = "archive_search_fts"
_STATE_KEY = "indexed_ingest_run"
_BATCH = 20_000


def fold(text: str | None) -> str:
    return unicodedata.normalize("NFKC", text or "").casefold()


def grams(text: str | None) -> list[str]:
    """The index grams of a text: bigrams of CJK runs, words of the rest (in order)."""
    out: list[str] = []
    for run in _RUN.findall(fold(text)):
        if _IS_CJK.match(run):
            if len(run) == 1:
                out.append(run)
            else:
                out.extend(run[i : i + 2] for i in range(len(run) - 1))
        else:
            out.append(run)
    return out


@dataclass(frozen=True)
class Term:
    """One query term (a CJK run or a word): the grams it needs, or a one-character prefix."""

    text: str
    grams: tuple[str, ...]
    prefix: str | None = None


def parse_query(query: str) -> list[Term]:
    terms: list[Term] = []
    for run in _RUN.findall(fold(query)):
        if _IS_CJK.match(run) and len(run) == 1:
            terms.append(Term(run, (), prefix=run))
        else:
            terms.append(Term(run, tuple(dict.fromkeys(grams(run)))))
    return terms


@dataclass(frozen=True)
class Hit:
    platform: str
    group_id: str
    message_id: str
    sender_id: str
    sent_at: datetime
    text: str


# -- the index ------------------------------------------------------------------------------


def _table(model: type[Any]) -> sa.Table:
    table = model.__table__
    assert isinstance(table, sa.Table)
    return table


def _is_pg(conn: sa.Connection) -> bool:
    return conn.dialect.name == "postgresql"


def index_messages(conn: sa.Connection, rows: Iterable[Sequence[Any]]) -> int:
    """(Re)index messages given as (platform, group_id, message_id, sent_at, text)."""
    search = _table(SearchEntry)
    pg = _is_pg(conn)
    n = 0
    batch: list[Sequence[Any]] = []

    def flush() -> None:
        if not batch:
            return
        keys = [(r[0], r[1], r[2]) for r in batch]
        remove_from_index(conn, keys)
        before = conn.execute(sa.select(sa.func.coalesce(sa.func.max(search.c.id), 0))).scalar()
        values = [
            {
                "platform": r[0], "group_id": r[1], "message_id": r[2], "sent_at": r[3],
                "grams": grams(r[4]) if pg else " ".join(grams(r[4])),
            }
            for r in batch
        ]  # fmt: skip
        conn.execute(search.insert(), values)
        if not pg:  # the FTS5 table mirrors the new rows (external content)
            conn.exec_driver_sql(
                f"INSERT INTO {FTS}(rowid, grams) SELECT id, grams FROM archive_search "
                "WHERE id > ?",
                (int(before or 0),),
            )
        batch.clear()

    for row in rows:
        batch.append(row)
        n += 1
        if len(batch) >= _BATCH:
            flush()
    flush()
    return n


def remove_from_index(conn: sa.Connection, keys: Iterable[tuple[str, str, str]]) -> int:
    """Take these messages out of the index (a hard deletion, or before re-indexing)."""
    search = _table(SearchEntry)
    wanted = list(keys)
    removed = 0
    for i in range(0, len(wanted), 2000):
        chunk = wanted[i : i + 2000]
        found = conn.execute(
            sa.select(search.c.id, search.c.grams).where(
                sa.tuple_(search.c.platform, search.c.group_id, search.c.message_id).in_(chunk)
            )
        ).all()
        if not found:
            continue
        if not _is_pg(conn):
            conn.exec_driver_sql(
                f"INSERT INTO {FTS}({FTS}, rowid, grams) VALUES ('delete', ?, ?)",
                [(rid, text) for rid, text in found],
            )
        conn.execute(search.delete().where(search.c.id.in_([rid for rid, _ in found])))
        removed += len(found)
    return removed


def sync_index(engine: sa.Engine) -> int:
    """Index what ingest runs finished since the last sync stored; how many messages. Cheap
    when nothing new was ingested (one look at ``ingest_runs``)."""
    runs, msg, state = _table(IngestRun), _table(Message), _table(SearchState)
    with engine.begin() as conn:
        done = conn.execute(
            sa.select(sa.func.max(runs.c.id)).where(runs.c.finished_at.is_not(None))
        ).scalar()
        upto = int(done or 0)
        known = conn.execute(sa.select(state.c.value).where(state.c.key == _STATE_KEY)).scalar()
        if known is not None and int(known) >= upto and upto > 0:
            return 0
        stmt = sa.select(
            msg.c.platform, msg.c.group_id, msg.c.message_id, msg.c.sent_at, msg.c.text
        )
        if known is not None:
            stmt = stmt.where(msg.c.ingest_run_id > int(known), msg.c.ingest_run_id <= upto)
        else:  # first sync: everything stored
            stmt = stmt.where(sa.or_(msg.c.ingest_run_id.is_(None), msg.c.ingest_run_id <= upto))
        stmt = stmt.order_by(msg.c.sent_at, msg.c.message_id)
        count = index_messages(conn, conn.execute(stmt.execution_options(yield_per=_BATCH)))
        if known is None:
            conn.execute(state.insert().values(key=_STATE_KEY, value=upto))
        else:
            conn.execute(state.update().where(state.c.key == _STATE_KEY).values(value=upto))
    return count


def reindex(conn: sa.Connection, keys: Iterable[tuple[str, str, str]]) -> int:
    """Index these messages again from the store (after a restore)."""
    msg = _table(Message)
    rows = []
    for platform, group_id, message_id in keys:
        found = conn.execute(
            sa.select(msg.c.platform, msg.c.group_id, msg.c.message_id, msg.c.sent_at, msg.c.text)
            .where(msg.c.platform == platform, msg.c.group_id == group_id,
                   msg.c.message_id == message_id)
        ).first()  # fmt: skip
        if found is not None:
            rows.append(tuple(found))
    return index_messages(conn, rows)


# -- searching ------------------------------------------------------------------------------


def candidate_statement(
    dialect: str,
    terms: Sequence[Term],
    *,
    groups: Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[sa.Select[Any], dict[str, Any]]:
    """The indexed query for the terms' grams: (statement, bound parameters), newest first."""
    search, msg, pm = _table(SearchEntry), _table(Message), _table(PurgedMessage)
    params: dict[str, Any] = {}
    stmt = sa.select(
        msg.c.platform, msg.c.group_id, msg.c.message_id, msg.c.sender_id, msg.c.sent_at,
        msg.c.text,
    ).select_from(
        search.join(
            msg,
            sa.and_(msg.c.platform == search.c.platform, msg.c.group_id == search.c.group_id,
                    msg.c.message_id == search.c.message_id),
        )
    )  # fmt: skip
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        needed = sorted({g for t in terms for g in t.grams})
        if needed:
            stmt = stmt.where(search.c.grams.op("@>")(sa.cast(needed, postgresql.ARRAY(sa.Text))))
        for i, t in enumerate(terms):
            if t.prefix is not None:
                params[f"p{i}"] = t.prefix + "%"
                stmt = stmt.where(
                    sa.text(
                        f"EXISTS (SELECT 1 FROM unnest(archive_search.grams) AS g "
                        f"WHERE g LIKE :p{i})"
                    )
                )
    else:
        parts = [" AND ".join(f'"{g}"' for g in t.grams) for t in terms if t.grams]
        parts += [f'"{t.prefix}"*' for t in terms if t.prefix is not None]
        params["match"] = " AND ".join(f"({p})" for p in parts)
        matching: sa.Select[Any] = (
            sa.select(sa.literal_column("rowid"))
            .select_from(sa.table(FTS))
            .where(sa.text(f"{FTS} MATCH :match"))
        )
        stmt = stmt.where(search.c.id.in_(matching.scalar_subquery()))
    if groups:
        stmt = stmt.where(search.c.group_id.in_(list(groups)))
    if since is not None:
        stmt = stmt.where(search.c.sent_at >= since)
    if until is not None:
        stmt = stmt.where(search.c.sent_at < until)
    active_purge = sa.exists().where(
        pm.c.platform == msg.c.platform, pm.c.group_id == msg.c.group_id,
        pm.c.message_id == msg.c.message_id, pm.c.restored_at.is_(None),
        pm.c.deleted_at.is_(None),
    )  # fmt: skip
    stmt = stmt.where(~active_purge).order_by(search.c.sent_at.desc(), search.c.message_id.desc())
    return stmt, params


def search_messages(
    engine: sa.Engine,
    query: str,
    *,
    groups: Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    sync: bool = True,
) -> list[Hit]:
    """Messages holding every term of ``query`` (newest first, at most ``limit``)."""
    terms = parse_query(query)
    if not terms:
        return []
    if sync:
        sync_index(engine)
    stmt, params = candidate_statement(
        engine.dialect.name, terms, groups=groups, since=since, until=until
    )
    needles = [t.text for t in terms]
    hits: list[Hit] = []
    with engine.connect() as conn:
        result = conn.execute(stmt.execution_options(yield_per=500), params)
        for row in result:
            text = fold(row.text)
            if all(n in text for n in needles):
                hits.append(Hit(row.platform, row.group_id, row.message_id, row.sender_id,
                                row.sent_at, row.text))  # fmt: skip
                if len(hits) >= limit:
                    break
        result.close()
    return hits


def explain(engine: sa.Engine, query: str) -> list[str]:
    """The database's plan for the indexed part of a search (for tests and curious admins)."""
    stmt, params = candidate_statement(engine.dialect.name, parse_query(query))
    with engine.connect() as conn:
        compiled = stmt.compile(conn)
        merged = {**compiled.params, **params}
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET enable_seqscan = off")  # small tables: show the index path
            rows = conn.exec_driver_sql("EXPLAIN " + str(compiled), merged).all()
            conn.exec_driver_sql("RESET enable_seqscan")
            return [str(r[0]) for r in rows]
        positional = tuple(merged[name] for name in compiled.positiontup or ())
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), positional).all()
        return [str(r[-1]) for r in rows]
