"""Searching stored messages in Chinese and English (``groupops archive search``).

Chinese has no spaces, and the words people look for are often two characters (预算, 周会):
a trigram index cannot find them. So every message is indexed as **bigrams** of its CJK runs
(预算已下发 → 预算 算已 已下 下发; a lone CJK character as itself) and the **words** of the rest
(NFKC, case-folded), in ``archive_search``:

* SQLite: an FTS5 table (``archive_search_fts``, external content, ``detail=none``) over the
  gram text;
* PostgreSQL: a ``text[]`` of the grams with a GIN index (no text-search parser involved,
  whatever the database's locale).

Each entry's ``id`` is its message's time (epoch seconds shifted left 21 bits) plus a hash of
its key, so the index read in ``id`` order is read newest first: a search asks the index for its
matches in ``id`` order with the limit in SQL (FTS5 walks its doclists backwards and stops; on
PostgreSQL a two-step plan chosen here: the newest entries walked along the primary key, then
the GIN index alone for the older ones, see :func:`search_messages`), and
``--since``/``--until`` are ``id`` ranges. The
group is a gram too (a private-use character and a hash of the group id: no text makes one), so
``--group`` is answered by the index.

A query is split the same way; a message matches when it holds every gram of every term (the
index answers that), and then, checked on the text itself, every term as a substring (so 预算已下
matches 预算已下发 but not 预算…已下). A one-character Chinese query matches the grams that begin
with it (an FTS5 prefix query; on PostgreSQL, where a GIN index cannot look up a prefix, every
entry also holds each CJK character alone, and the character is a gram).

**The index follows every write.** Triggers (migration ``archive_0003``) queue the key of every
message inserted, updated or deleted in ``messages``, ``purged_messages`` (a purge, a restore,
a hard deletion) and ``archive_register``, whoever writes it: ingest runs, pulls, restores,
cleanups, a person with ``sqlite3``. Before each search the queue is applied: a key whose
message is stored and not purged is indexed from ``messages``; one whose message is gone for
good but kept in the archive register is indexed from the register's copy (``source``
``register``); anything else leaves the index. Until the index is first built nothing is queued
(writes pay nothing: on SQLite the triggers themselves are created by the first build, see
:func:`sqlite_queue_triggers`); the first search builds it in bulk.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from hashlib import blake2b
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from groupops.db.models import (
    ArchiveEntry,
    Message,
    SearchEntry,
    SearchQueue,
    SearchState,
)

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f\u3040-\u30ff\uac00-\ud7af"
# Runs of letters and digits (what FTS5's unicode61 tokenizer keeps as one token: every gram is
# one token), CJK apart from the rest.
_RUN = re.compile(rf"(?:(?![\W_])[{_CJK}])+|(?:(?![\W_]|[{_CJK}]).)+", re.UNICODE)
_IS_CJK = re.compile(rf"[{_CJK}]")
FTS = "archive_search_fts"
SHIFT = 21  # id = epoch seconds << SHIFT | hash of the key (2M slots per second)
_SLOTS = (1 << SHIFT) - 1
_QUEUE, _BUILT = "queue", "built"
_BATCH = 20_000
_CHUNK = 2_000
#: A queue longer than this and than this fraction of the index is applied by building the
#: index again in bulk (about 0.25 ms a queued message against 60–90 s for 1M in bulk).
REBUILD_MIN = 50_000
REBUILD_FRACTION = 0.25
Key = tuple[str, str, str]


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
                out.extend(map(str.__add__, run[:-1], run[1:]))
        else:
            out.append(run)
    return out


@lru_cache(maxsize=65_536)
def scope(group_id: str) -> str:
    """The gram naming a group: a private-use character (never in a text's grams) and a hash."""
    return "\ue000" + blake2b(group_id.encode("utf-8", "surrogatepass"), digest_size=6).hexdigest()


def entry_grams(group_id: str, text: str | None, *, unigrams: bool = False) -> list[str]:
    """What an index entry holds: the group's gram, then the text's grams, each once; with
    ``unigrams`` (PostgreSQL, where a prefix cannot be looked up in a GIN index) also every CJK
    character alone, so that a one-character query is a gram too."""
    out = [scope(group_id), *grams(text)]
    if unigrams:
        out += [c for run in _RUN.findall(fold(text)) if _IS_CJK.match(run) for c in run]
    return list(dict.fromkeys(out))


def entry_id(key: Key, seconds: int) -> int:
    """The entry's place in time order: its message's epoch seconds, then a hash of the key."""
    digest = zlib.crc32("\x1f".join(key).encode("utf-8", "surrogatepass"))
    return (seconds << SHIFT) | (digest & _SLOTS)


def _seconds(at: datetime) -> int:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return int(at.timestamp() // 1)


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
    source: str = "messages"  # messages | register (the register's copy of a deleted message)


# -- the index ------------------------------------------------------------------------------


def _table(model: type[Any]) -> sa.Table:
    table = model.__table__
    assert isinstance(table, sa.Table)
    return table


def _is_pg(conn: sa.Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _state(conn: sa.Connection) -> set[str]:
    state = _table(SearchState)
    return set(conn.execute(sa.select(state.c.key)).scalars())


def _set_state(conn: sa.Connection, key: str) -> None:
    state = _table(SearchState)
    if key not in _state(conn):
        conn.execute(state.insert().values(key=key, value=1))


@dataclass
class _Entry:
    key: Key
    seconds: int  # epoch seconds of sent_at (the database computes them)
    sent_at: Any  # as the database handed it over (SQLite: its text), written back as it is
    source: str
    text: str


def _epoch(conn: sa.Connection, column: str) -> str:
    """SQL for the epoch seconds of a timestamp column."""
    if _is_pg(conn):
        return f"FLOOR(EXTRACT(EPOCH FROM {column}))::bigint"
    return f"CAST(strftime('%s', {column}) AS INTEGER)"


class _Ids:
    """Entry ids, each unique: a hash collision within a second takes the next free slot."""

    def __init__(self, conn: sa.Connection | None = None) -> None:
        self.used: set[int] = set()
        self.conn = conn

    def reserve(self, entries: Sequence[_Entry]) -> None:
        """Look up at once which of the entries' first-choice ids are taken in the store."""
        if self.conn is None or not entries:
            return
        wanted = [entry_id(e.key, e.seconds) for e in entries]
        if _is_pg(self.conn):
            found = self.conn.exec_driver_sql(
                "SELECT id FROM archive_search WHERE id = ANY(%s::bigint[])", (wanted,)
            )
        else:
            found = self.conn.exec_driver_sql(
                "SELECT id FROM archive_search WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps(wanted),),
            )
        self.used.update(int(i) for (i,) in found)

    def take(self, entry: _Entry) -> int:
        rid = entry_id(entry.key, entry.seconds)
        while rid in self.used:
            rid += 1
            while self._stored(rid):  # a second collision: rare enough to look up alone
                rid += 1
        self.used.add(rid)
        return rid

    def _stored(self, rid: int) -> bool:
        if self.conn is None:
            return False
        search = _table(SearchEntry)
        return (
            self.conn.execute(sa.select(search.c.id).where(search.c.id == rid)).first() is not None
        )


_COLUMNS = ("id", "platform", "group_id", "message_id", "sent_at", "source", "grams")


def _rows(entries: Iterable[_Entry], ids: _Ids, pg: bool) -> list[tuple[Any, ...]]:
    """archive_search rows (:data:`_COLUMNS`) of the entries."""
    out = []
    for e in entries:
        g = entry_grams(e.key[1], e.text, unigrams=pg)
        out.append((ids.take(e), *e.key, e.sent_at, e.source, g if pg else " ".join(g)))
    return out


def _insert(conn: sa.Connection, rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    names = ", ".join(_COLUMNS)
    if _is_pg(conn):
        _copy(conn, rows)
        return
    marks = ", ".join("?" for _ in _COLUMNS)
    conn.exec_driver_sql(f"INSERT INTO archive_search ({names}) VALUES ({marks})", rows)
    # the FTS5 table mirrors the new rows (external content)
    conn.exec_driver_sql(
        f"INSERT INTO {FTS}(rowid, grams) VALUES (?, ?)", [(r[0], r[-1]) for r in rows]
    )


def _copy(conn: sa.Connection, rows: list[tuple[Any, ...]]) -> None:
    """PostgreSQL: COPY rows (arrays included) into archive_search."""
    raw = conn.connection.driver_connection
    assert raw is not None
    with (
        raw.cursor() as cur,
        cur.copy(f"COPY archive_search ({', '.join(_COLUMNS)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _rows_by_keys(
    conn: sa.Connection, table: str, columns: Sequence[str], keys: Sequence[Key], where: str = ""
) -> list[sa.Row[Any]]:
    """Rows of ``table`` (alias ``t``; its ``platform, group_id, message_id`` among ``keys``),
    looked up through the table's key index: one parameter holding every key."""
    names = ", ".join(columns)
    if _is_pg(conn):
        sql = (
            f"SELECT {names} FROM unnest(%s::text[], %s::text[], %s::text[]) AS j(p, g, m) "
            f"JOIN {table} AS t ON t.platform = j.p AND t.group_id = j.g "
            f"AND t.message_id = j.m {where}"
        )
        params: tuple[Any, ...] = tuple(list(col) for col in zip(*keys, strict=True))
    else:
        sql = (
            f"SELECT {names} FROM json_each(?) AS j JOIN {table} AS t "
            "ON t.platform = j.value ->> 0 AND t.group_id = j.value ->> 1 "
            f"AND t.message_id = j.value ->> 2 {where}"
        )
        params = (json.dumps(list(keys), ensure_ascii=False),)
    return list(conn.exec_driver_sql(sql, params))


def _apply(conn: sa.Connection, keys: Sequence[Key]) -> int:
    """Bring the index entries of ``keys`` up to date with the store (one chunk)."""
    pg = _is_pg(conn)
    old = _rows_by_keys(conn, "archive_search", ["t.id", "t.grams"], keys)
    if old:
        if not pg:
            conn.exec_driver_sql(
                f"INSERT INTO {FTS}({FTS}, rowid, grams) VALUES ('delete', ?, ?)",
                [(rid, text) for rid, text in old],
            )
        search = _table(SearchEntry)
        conn.execute(search.delete().where(search.c.id.in_([rid for rid, _ in old])))
    columns = ["t.platform", "t.group_id", "t.message_id", _epoch(conn, "t.sent_at"),
               "t.sent_at", "t.text"]  # fmt: skip
    stored = {(p, g, m): rest for p, g, m, *rest in _rows_by_keys(conn, "messages", columns, keys)}
    purged = {
        (p, g, m)
        for p, g, m in _rows_by_keys(
            conn, "purged_messages", ["t.platform", "t.group_id", "t.message_id"], keys,
            "WHERE t.restored_at IS NULL AND t.deleted_at IS NULL",
        )
    }  # fmt: skip
    registered = {
        (p, g, m): rest for p, g, m, *rest in _rows_by_keys(conn, "archive_register", columns, keys)
    }
    entries: list[_Entry] = []
    for key in dict.fromkeys(keys):
        if key in stored:
            if key not in purged:
                secs, sent, text = stored[key]
                entries.append(_Entry(key, int(secs), sent, "messages", text or ""))
        elif key in registered:
            secs, sent, text = registered[key]
            entries.append(_Entry(key, int(secs), sent, "register", text or ""))
    ids = _Ids(conn)
    ids.reserve(entries)
    _insert(conn, _rows(entries, ids, pg))
    return len(entries)


def build_index(engine: sa.Engine, *, again: bool = False) -> int:
    """Build the whole index in bulk (the first search does; ``again``: rebuild a built one):
    every stored message not purged, and the register's copies of messages deleted for good;
    how many entries. One build at a time (PostgreSQL: an advisory lock; SQLite: a lock file
    beside the store); a search waiting for it finds the index built and does not build."""
    if engine.dialect.name == "postgresql":
        return _build_pg(engine, again)
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return _build_sqlite(engine, again)
    from groupops.db.schema import _file_lock

    with _file_lock(Path(database).with_name(Path(database).name + ".search.lock"), 3600.0):
        return _build_sqlite(engine, again)


#: (table, event, which row names the message) of every trigger that queues a message.
QUEUE_TRIGGERS: tuple[tuple[str, str, str], ...] = tuple(
    (table, event, "OLD" if event == "DELETE" else "NEW")
    for table in ("messages", "purged_messages", "archive_register")
    for event in ("INSERT", "UPDATE", "DELETE")
)


def sqlite_queue_triggers() -> list[str]:
    """SQLite: the statements creating the queue's triggers, as migration ``archive_0003``
    made them (``archive_0004`` drops them from a store whose index was never built: SQLite
    runs a row trigger for every row written, whatever its ``WHEN``, so until the first build
    the triggers would cost every ingest's write about a quarter for nothing). The first build
    creates them in the transaction that turns the queue on (:func:`_start`)."""
    return [
        f"CREATE TRIGGER IF NOT EXISTS archive_search_q_{table}_{event.lower()} AFTER {event} "
        f"ON {table} WHEN EXISTS (SELECT 1 FROM archive_search_state WHERE key = 'queue') "
        "BEGIN INSERT INTO archive_search_queue (platform, group_id, message_id, n) "
        f"VALUES ({row}.platform, {row}.group_id, {row}.message_id, 1) "
        "ON CONFLICT (platform, group_id, message_id) DO UPDATE SET n = n + 1; END"
        for table, event, row in QUEUE_TRIGGERS
    ]


def _start(conn: sa.Connection, again: bool) -> bool:
    """The build's first step, in its transaction: whether to build (not if another process
    built the index meanwhile); from here on the triggers queue every write."""
    built = _BUILT in _state(conn)
    if built and not again:
        return False
    state = _table(SearchState)
    conn.execute(state.delete().where(state.c.key == _BUILT))
    if not _is_pg(conn):  # after a write: in this transaction, with the queue's mark
        for statement in sqlite_queue_triggers():
            conn.exec_driver_sql(statement)
    _set_state(conn, _QUEUE)
    conn.execute(_table(SearchQueue).delete())
    return True


def _build_pg(engine: sa.Engine, again: bool) -> int:
    with engine.begin() as conn:  # from here on, the triggers queue every write
        _set_state(conn, _QUEUE)
    with engine.begin() as conn:  # wait for writes begun before the triggers saw the mark
        conn.exec_driver_sql("LOCK TABLE messages IN SHARE MODE")
    with engine.begin() as conn:  # one transaction: readers of the old index are not blocked
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('archive_search'))")
        if not _start(conn, again):
            return 0
        conn.exec_driver_sql("DROP INDEX IF EXISTS ix_archive_search_grams")
        conn.exec_driver_sql("TRUNCATE archive_search")
        ids, count = _Ids(), 0
        for batch in _everything(conn):
            rows = _rows(batch, ids, True)
            _copy(conn, rows)
            count += len(rows)
        # a GIN build sorts its keys in memory: give it room (this transaction only)
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
        conn.exec_driver_sql(
            "CREATE INDEX ix_archive_search_grams ON archive_search USING gin (grams)"
        )
        conn.exec_driver_sql("ANALYZE archive_search")
        _set_state(conn, _BUILT)
    return count


def _build_sqlite(engine: sa.Engine, again: bool) -> int:
    """SQLite: in short transactions, so that writers (ingests) never wait long: empty the
    index (the triggers queue every write from then on), read the messages from one snapshot
    (WAL: it blocks no writer) and insert their entries a batch per transaction, then make the
    FTS5 index in one pass (``'rebuild'``, ``'optimize'``: one segment). What was written
    meanwhile is in the queue, applied by the next sync."""
    with engine.begin() as conn:
        if not _start(conn, again):
            return 0
        conn.exec_driver_sql(f"INSERT INTO {FTS}({FTS}) VALUES ('delete-all')")
        conn.exec_driver_sql("DELETE FROM archive_search")
    names, marks = ", ".join(_COLUMNS), ", ".join("?" for _ in _COLUMNS)
    ids, count = _Ids(), 0
    with engine.connect() as reader:
        for batch in _everything(reader):
            rows = _rows(batch, ids, False)
            with engine.begin() as conn:
                conn.exec_driver_sql(f"INSERT INTO archive_search ({names}) VALUES ({marks})", rows)
            count += len(rows)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')")
        conn.exec_driver_sql(f"INSERT INTO {FTS}({FTS}) VALUES ('optimize')")
        _set_state(conn, _BUILT)
    return count


def _everything(conn: sa.Connection) -> Iterator[list[_Entry]]:
    """Every message to index, in time order, in batches, streamed (a server-side cursor on
    PostgreSQL; the same connection writes the index between batches), then the register's
    copies of messages no longer stored."""
    epoch = _epoch(conn, "t.sent_at")
    key = "x.platform = t.platform AND x.group_id = t.group_id AND x.message_id = t.message_id"
    result = conn.exec_driver_sql(
        f"SELECT t.platform, t.group_id, t.message_id, {epoch}, t.sent_at, t.text "
        f"FROM messages AS t WHERE NOT EXISTS (SELECT 1 FROM purged_messages AS x WHERE {key} "
        "AND x.restored_at IS NULL AND x.deleted_at IS NULL) ORDER BY t.sent_at",
        execution_options={"stream_results": True, "yield_per": _BATCH},
    )
    for part in result.partitions(_BATCH):
        yield [
            _Entry((p, g, m), int(secs), sent, "messages", text or "")
            for p, g, m, secs, sent, text in part
        ]
    copies = conn.exec_driver_sql(
        f"SELECT t.platform, t.group_id, t.message_id, {epoch}, t.sent_at, t.text "
        f"FROM archive_register AS t WHERE NOT EXISTS (SELECT 1 FROM messages AS x WHERE {key}) "
        "ORDER BY t.sent_at"
    ).all()
    if copies:
        yield [
            _Entry((p, g, m), int(s), sent, "register", t or "") for p, g, m, s, sent, t in copies
        ]


def sync_index(engine: sa.Engine) -> int:
    """Bring the index up to date: build it the first time, then apply the queue of written
    messages (cheap when it is empty; a queue of more than :data:`REBUILD_MIN` keys and
    :data:`REBUILD_FRACTION` of the index is applied by building it again in bulk). How many
    entries were (re)indexed."""
    queue, search = _table(SearchQueue), _table(SearchEntry)
    with engine.connect() as conn:
        built = built_before = _BUILT in _state(conn)
        waiting = conn.execute(sa.select(sa.func.count()).select_from(queue)).scalar_one()
        if built and waiting > REBUILD_MIN:  # e.g. a million-message ingest into a built index
            indexed = conn.execute(sa.select(sa.func.count()).select_from(search)).scalar_one()
            built = waiting < REBUILD_FRACTION * indexed
    if not built:
        return build_index(engine, again=built_before)
    count = 0
    while True:
        with engine.begin() as conn:
            # Taking the keys off the queue first: a write that queues one of them again waits
            # for this transaction (PostgreSQL's row lock; SQLite's write lock), so what is read
            # from the store below is never older than a queued write.
            taken = conn.execute(
                queue.delete()
                .where(
                    sa.tuple_(queue.c.platform, queue.c.group_id, queue.c.message_id).in_(
                        sa.select(queue.c.platform, queue.c.group_id, queue.c.message_id).limit(
                            _BATCH
                        )
                    )
                )
                .returning(queue.c.platform, queue.c.group_id, queue.c.message_id)
            ).all()
            keys = [(str(p), str(g), str(m)) for p, g, m in taken]
            for i in range(0, len(keys), _CHUNK):
                count += _apply(conn, keys[i : i + _CHUNK])
        if len(keys) < _BATCH:
            return count


# -- searching ------------------------------------------------------------------------------


def _match(terms: Sequence[Term], groups: Sequence[str] | None) -> str:
    """The FTS5 query: every gram of every term, the prefixes, one of the groups."""
    parts = [" AND ".join(f'"{g}"' for g in t.grams) for t in terms if t.grams]
    parts += [f'"{t.prefix}"*' for t in terms if t.prefix is not None]
    if groups:
        parts.append(" OR ".join(f'"{scope(g)}"' for g in dict.fromkeys(groups)))
    return " AND ".join(f"({p})" for p in parts)


def candidate_statement(
    dialect: str,
    terms: Sequence[Term],
    *,
    groups: Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    gin_only: bool = False,
) -> tuple[sa.Select[Any], dict[str, Any]]:
    """The indexed query for the terms' grams, newest first: (statement, bound parameters).
    Bind ``low`` and ``before`` (the page's id range) and ``n`` (its size). ``gin_only``
    (PostgreSQL): order by an expression, so that no plan can walk the primary key instead of
    asking the GIN index (see :func:`search_messages`)."""
    search, msg, reg = _table(SearchEntry), _table(Message), _table(ArchiveEntry)
    params: dict[str, Any] = {}
    where: list[sa.ColumnElement[bool] | sa.TextClause] = []
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        order: sa.ColumnElement[int] = search.c.id
        base: sa.FromClause = search
        # a one-character term is a gram here (entries hold every CJK character alone too)
        needed = sorted({g for t in terms for g in (t.grams or (t.prefix or "",)) if g})
        if needed:
            where.append(search.c.grams.op("@>")(sa.cast(needed, postgresql.ARRAY(sa.Text))))
        if groups:
            scopes = sorted({scope(g) for g in groups})
            where.append(search.c.grams.op("&&")(sa.cast(scopes, postgresql.ARRAY(sa.Text))))
    else:
        fts = sa.table(FTS, sa.column("rowid", sa.BigInteger))
        order = fts.c.rowid
        base = fts.join(search, search.c.id == fts.c.rowid)
        params["match"] = _match(terms, groups)
        where.append(sa.text(f"{FTS} MATCH :match"))
    if gin_only:  # neither the order nor the range can be read from the primary key
        order = order + 0
    low, high = id_range(since, until)
    where.append(order >= sa.bindparam("low", type_=sa.BigInteger))
    where.append(order < sa.bindparam("before", type_=sa.BigInteger))
    params.update(low=low, before=high)
    on_msg = sa.and_(
        search.c.source == "messages", msg.c.platform == search.c.platform,
        msg.c.group_id == search.c.group_id, msg.c.message_id == search.c.message_id,
    )  # fmt: skip
    on_reg = sa.and_(
        search.c.source == "register", reg.c.platform == search.c.platform,
        reg.c.group_id == search.c.group_id, reg.c.message_id == search.c.message_id,
    )  # fmt: skip
    stmt = (
        sa.select(
            order.label("id"), search.c.platform, search.c.group_id, search.c.message_id,
            search.c.sent_at, search.c.source, msg.c.sender_id, msg.c.text,
            reg.c.sender_id.label("reg_sender_id"), reg.c.text.label("reg_text"),
        )
        .select_from(base.outerjoin(msg, on_msg).outerjoin(reg, on_reg))
        .where(*where)
        .order_by(order.desc())
        .limit(sa.bindparam("n", type_=sa.Integer))
    )  # fmt: skip
    return stmt, params


_TOP = (1 << 63) - 1
_BOTTOM = -(1 << 63)
#: PostgreSQL: how many of the newest entries (in the searched range) the ordered plan may walk
#: before the GIN index is asked for the rest.
ORDERED_BUDGET = 20_000


def id_range(since: datetime | None, until: datetime | None) -> tuple[int, int]:
    """The ids of ``since <= sent_at < until`` (to the second: the exact bounds are checked on
    each hit): ``[low, high)``."""
    low = _seconds(since) << SHIFT if since is not None else _BOTTOM
    high = math.ceil(until.timestamp()) << SHIFT if until is not None else _TOP
    return low, high


def _ordered_floor(conn: sa.Connection, low: int, high: int) -> int | None:
    """PostgreSQL: the id :data:`ORDERED_BUDGET` entries below ``high`` (None: the range holds
    fewer), read from the primary key alone."""
    found = conn.exec_driver_sql(
        "SELECT id FROM archive_search WHERE id < %s AND id >= %s ORDER BY id DESC "
        "OFFSET %s LIMIT 1",
        (high, low, ORDERED_BUDGET),
    ).scalar()
    return None if found is None else int(found)


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
    """Messages holding every term of ``query`` (newest first, at most ``limit``).

    The index is read newest first in pages, the limit in SQL. On SQLite FTS5 walks its
    doclists backwards from the top of the range and stops. On PostgreSQL a plan is chosen
    here, not left to estimates (a GIN estimate for a rare gram can be a hundred times off,
    and a backward walk of the primary key for a word that is nowhere reads every row): the
    newest :data:`ORDERED_BUDGET` entries are walked in id order (a common word fills the page
    there), and if the page is not full, the GIN index answers for the older ones (its matches
    sorted: few, since the word was rare in the newest entries)."""
    terms = parse_query(query)
    if not terms or limit <= 0:
        return []
    if sync:
        sync_index(engine)
    pg = engine.dialect.name == "postgresql"
    kwargs: dict[str, Any] = {"groups": groups, "since": since, "until": until}
    stmt, params = candidate_statement(engine.dialect.name, terms, **kwargs)
    needles = [t.text for t in terms]
    hits: list[Hit] = []
    with engine.connect() as conn:
        phases: list[tuple[sa.Select[Any], int, int]] = [(stmt, params["low"], params["before"])]
        if pg:
            floor = _ordered_floor(conn, params["low"], params["before"])
            if floor is not None:
                phases = [(stmt, floor, params["before"])]
                gin, _ = candidate_statement(engine.dialect.name, terms, gin_only=True, **kwargs)
                phases.append((gin, params["low"], floor))
        for phase, (statement, low, before) in enumerate(phases):
            if phase == 1:  # only bitmap scans: the GIN index (with the id range)
                conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
                conn.exec_driver_sql("SET LOCAL enable_indexscan = off")
            page = limit + 10
            while True:
                bound = {**params, "low": low, "before": before, "n": page}
                rows = conn.execute(statement, bound).all()
                for row in rows:
                    before = row.id
                    hit = _hit(row, needles, since, until)
                    if hit is not None:
                        hits.append(hit)
                        if len(hits) >= limit:
                            return hits
                if len(rows) < page:
                    break
                page = min(page * 4, 5_000)
    return hits


def _hit(
    row: sa.Row[Any], needles: Sequence[str], since: datetime | None, until: datetime | None
) -> Hit | None:
    """The row as a hit, if its text holds every term (and its time is inside the bounds)."""
    if row.source == "messages":
        sender, text = row.sender_id, row.text
    else:
        sender, text = row.reg_sender_id, row.reg_text
    if sender is None:  # written since the index last looked: the next sync sees it
        return None
    sent = row.sent_at
    if (since is not None and sent < since) or (until is not None and sent >= until):
        return None
    folded = fold(text)
    if not all(n in folded for n in needles):
        return None
    return Hit(row.platform, row.group_id, row.message_id, sender, sent, text or "", row.source)


def explain(engine: sa.Engine, query: str, *, groups: Sequence[str] | None = None) -> list[str]:
    """The database's plan for the indexed part of a search (for tests and curious admins). On
    PostgreSQL: the plan for the older entries (the GIN index), after the ordered one's."""
    terms = parse_query(query)
    with engine.connect() as conn:
        if engine.dialect.name != "postgresql":
            stmt, params = candidate_statement(engine.dialect.name, terms, groups=groups)
            compiled = stmt.compile(conn)
            merged = {**compiled.params, **params, "n": 50}
            positional = tuple(merged[name] for name in compiled.positiontup or ())
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), positional).all()
            return [str(r[-1]) for r in rows]
        out: list[str] = []
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # small tables: the index path
        for gin_only in (False, True):
            stmt, params = candidate_statement(
                engine.dialect.name, terms, groups=groups, gin_only=gin_only
            )
            compiled = stmt.compile(conn)
            if gin_only:
                conn.exec_driver_sql("SET LOCAL enable_indexscan = off")
            merged = {**compiled.params, **params, "n": 50}
            out.append("-- older entries (GIN)" if gin_only else "-- newest entries (ordered)")
            out += [str(r[0]) for r in conn.exec_driver_sql("EXPLAIN " + str(compiled), merged)]
        return out
