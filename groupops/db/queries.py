"""Read the store into pandas frames: the one way analyses (statistics, deadlines, digests)
load activity. Instants come back as tz-aware UTC ``datetime64`` columns; convert with
``.dt.tz_convert(policy.tz)`` for local views."""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import sqlalchemy as sa

from groupops.db.bulk import gc_paused
from groupops.db.models import Base, Group, Member, MembershipEvent, Message
from groupops.db.types import JSONList, UTCDateTime
from groupops.progress import report

MESSAGE_COLUMNS = (
    "platform",
    "group_id",
    "message_id",
    "sender_id",
    "sent_at",
    "kind",
    "text",
    "reply_to",
    "mentions",
    "mention_all",
    "pinned",
)


FETCH_CHUNK = 100_000


def _group_filter(
    stmt: sa.Select[tuple[object, ...]], table: sa.Table, groups: Sequence[str] | None
) -> sa.Select[tuple[object, ...]]:
    if groups:
        stmt = stmt.where(table.c.group_id.in_(list(groups)))
    return stmt


@dataclass(frozen=True)
class LoadedMessages:
    """Every group's messages with ``since <= sent_at < until`` in ``columns``, loaded once
    (:func:`preload_messages`) for several reads of spans inside it (a moderation catch-up's
    runs read the same ladder window once per working day). Valid while no message of the
    span is written: the caller's promise. Reads that name ``sent_at`` and ``message_id``
    (oldest first, as :func:`load_messages` orders them) are answered from it."""

    since: datetime
    until: datetime
    columns: tuple[str, ...]
    frame: pd.DataFrame

    def covers(
        self, since: datetime | None, until: datetime | None, columns: Sequence[str]
    ) -> bool:
        return (
            since is not None
            and until is not None
            and self.since <= since
            and until <= self.until
            and set(columns) <= set(self.columns)
            and {"sent_at", "message_id"} <= set(columns)  # a read keeps the loaded order
        )

    def read(
        self,
        since: datetime,
        until: datetime,
        groups: Sequence[str] | None,
        columns: Sequence[str],
    ) -> pd.DataFrame:
        """What :func:`load_messages` returns for this span (inside the loaded one)."""
        frame = self.frame
        keep = (frame["sent_at"] >= since) & (frame["sent_at"] < until)
        if groups:
            keep &= frame["group_id"].isin(list(groups))
        if not keep.any():
            return _ordered(_messages_frame([], columns))
        return frame.loc[keep, list(columns)].reset_index(drop=True)


def preload_messages(
    engine: sa.Engine, *, since: datetime, until: datetime, columns: Sequence[str]
) -> LoadedMessages:
    """Every group's messages of ``[since, until)`` for later reads inside that span
    (``load_messages(…, loaded=…)``)."""
    frame = load_messages(engine, since=since, until=until, columns=columns)
    return LoadedMessages(since, until, tuple(columns), frame)


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` oldest first (``sent_at``, then ``message_id``; stable, missing values last),
    with a fresh index: pandas' stable sort of those columns, computed by Arrow's sort of
    their values when both convert to Arrow instants and strings (1M messages: ~0.3 s of CPU
    against pandas' 1–1.5 s, which factorizes every message id; the same order:
    ``tests/test_message_order.py``)."""
    order = [c for c in ("sent_at", "message_id") if c in frame]
    if not order:
        return frame
    keys = _arrow_sort_keys(frame, order)
    if keys is None:
        return frame.sort_values(order, kind="stable", ignore_index=True)
    at = pc.sort_indices(keys, sort_keys=[(c, "ascending") for c in order])  # nulls at the end
    return frame.take(at.to_numpy()).reset_index(drop=True)


def _arrow_sort_keys(frame: pd.DataFrame, order: Sequence[str]) -> pa.Table | None:
    """The columns ``order`` names as Arrow arrays (missing values as nulls) when each is
    either an aware instant (Arrow compares its UTC value, as pandas does) or text (Arrow
    compares UTF-8 bytes: the order of code points, as Python and pandas compare text);
    ``None`` for any other column."""
    arrays: dict[str, pa.Array] = {}
    for name in order:
        column = frame[name]
        aware = isinstance(column.dtype, pd.DatetimeTZDtype)
        if not aware and not (column.dtype == object or isinstance(column.dtype, pd.StringDtype)):
            return None
        try:
            array = pa.Array.from_pandas(column)
        except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeEncodeError):  # not all (UTF-8) text
            return None
        if aware:
            comparable = pa.types.is_timestamp(array.type)
        else:
            comparable = pa.types.is_string(array.type) or pa.types.is_large_string(array.type)
        if not comparable:
            return None
        arrays[name] = array
    return pa.table(arrays)


def load_messages(
    engine: sa.Engine,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    groups: Sequence[str] | None = None,
    columns: Sequence[str] = MESSAGE_COLUMNS,
    loaded: LoadedMessages | None = None,
) -> pd.DataFrame:
    """Messages with ``since <= sent_at < until`` (both optional, aware), oldest first.

    ``mentions`` is a list per row; ``groups`` filters by group_id. ``loaded``: messages
    loaded before; read from them when they cover the span and columns, from the store
    otherwise."""
    if loaded is not None and loaded.covers(since, until, columns):
        assert since is not None and until is not None  # covers() says so
        return loaded.read(since, until, groups, columns)
    table = Message.__table__
    assert isinstance(table, sa.Table)
    stmt: sa.Select[tuple[object, ...]] = sa.select(*(_raw(table.c[c]) for c in columns))
    if since is not None:
        stmt = stmt.where(table.c.sent_at >= since)
    if until is not None:
        stmt = stmt.where(table.c.sent_at < until)
    stmt = _group_filter(stmt, table, groups)
    frames: list[pd.DataFrame] = []
    with engine.connect() as conn:
        fast = {"sqlite": _sqlite_column_frames, "postgresql": _postgres_copy_frames}
        if conn.dialect.name in fast and columns and set(columns) <= set(MESSAGE_COLUMNS):
            reader = fast[conn.dialect.name]
            for frame in reader(conn, table, stmt, columns):
                frames.append(frame)
                report("messages read", sum(len(f) for f in frames))
        else:
            # Streamed in chunks: only one chunk of rows is ever held as Python objects. The
            # rows come straight from the DBAPI cursor as tuples (every column is read raw, see
            # _raw; booleans are converted per column in _messages_frame).
            for part in _partitions(conn, stmt):
                frames.append(_messages_frame(part, columns))
                report("messages read", sum(len(f) for f in frames))
    frame = (
        _messages_frame([], columns)
        if not frames
        else pd.concat(frames, ignore_index=True)
        if len(frames) > 1
        else frames[0]
    )
    return _ordered(frame)


#: Rows of ``messages`` per rowid range that SQLite hands over as one JSON document.
COLUMN_CHUNK = 100_000
_FLAGS = ("mention_all", "pinned")


def _sqlite_column_frames(
    conn: sa.Connection, table: sa.Table, stmt: sa.Select[tuple[object, ...]],
    columns: Sequence[str],
) -> Iterator[pd.DataFrame]:  # fmt: skip
    """The rows ``stmt`` selects, a rowid range at a time, each range handed over by SQLite as
    one JSON object of column arrays (``json_group_array`` per column, built in C) that pyarrow
    parses into Arrow arrays: no Python object per row or value, except the non-empty
    ``mentions`` lists. The same frame as :func:`_messages_frame` makes from rows."""
    rowid: sa.ColumnClause[Any] = sa.literal_column("messages.rowid")
    low, high = conn.execute(
        sa.select(sa.func.min(rowid), sa.func.max(rowid)).select_from(table)
    ).one()
    if low is None:
        return
    parts: list[sa.ColumnElement[Any]] = []
    for name in columns:
        column = sa.type_coerce(table.c[name], sa.Text())
        if name == "mentions":  # the stored JSON text, parsed here where not empty
            value: sa.ColumnElement[Any] = column
        elif name in _FLAGS:  # 1 / 0: a JSON number needs no json() call per row
            value = sa.case((table.c[name] == sa.true(), 1), else_=0)
        else:
            value = column
        parts += [sa.literal(name), sa.func.json_group_array(value)]
    where = stmt.whereclause
    # As a BLOB: the UTF-8 bytes as SQLite built them, not decoded into a str and encoded back.
    document = sa.cast(sa.func.json_object(*parts), sa.LargeBinary())
    query = sa.select(document).select_from(table)
    if where is not None:
        query = query.where(where)
    query = query.where(rowid >= sa.bindparam("low"), rowid < sa.bindparam("high"))
    schema = pa.schema([(name, pa.list_(_arrow_type(name))) for name in columns])
    as_text = pa.schema([(name, pa.list_(_arrow_type(name, instants=False))) for name in columns])
    for data in _documents(conn, query, range(int(low), int(high) + 1, COLUMN_CHUNK)):
        try:
            parsed = _read_json(data, schema)
        except pa.ArrowInvalid:  # an instant Arrow does not parse: the text, parsed by pandas
            parsed = _read_json(data, as_text)
        arrays = {name: parsed.column(name).combine_chunks().flatten() for name in columns}
        if len(arrays[columns[0]]):
            yield _arrow_frame(arrays, columns)


def _documents(conn: sa.Connection, query: sa.Select[Any], starts: range) -> Iterator[bytes]:
    """The JSON document of each rowid range from ``starts`` on, in order. With two ranges or
    more on a file database, a reader thread runs the next range's query while the caller
    parses the one before: Python's sqlite3 releases the GIL while SQLite builds the document
    (one step per range), pyarrow's parse releases it too, so the read's wall time on two CPUs
    approaches the larger half instead of their sum (docs/performance.md's notes, *ratio*).
    The thread uses the connection only while the caller does not: one query at a time, the
    same statements in the same order, each range's bytes as the serial read gets them. At
    most one document waits beside the one parsed; a caller that stops early waits for the
    query in flight before the connection is used again."""

    def fetch(start: int) -> bytes:
        return bytes(conn.execute(query, {"low": start, "high": start + COLUMN_CHUNK}).scalar_one())

    if len(starts) < 2 or not _threads_share(conn):
        for start in starts:
            yield fetch(start)
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="groupops-read") as reader:
        pending = reader.submit(fetch, starts[0])
        for start in starts[1:]:
            data = pending.result()
            pending = reader.submit(fetch, start)
            yield data
        yield pending.result()


def _threads_share(conn: sa.Connection) -> bool:
    """Whether another thread may use ``conn``'s SQLite connection: SQLAlchemy opens a file
    database's connections with ``check_same_thread=False`` (its pool hands them to any
    thread) unless the URL asks otherwise; an in-memory one keeps the check."""
    url = conn.engine.url
    memory = not url.database or url.database == ":memory:" or url.query.get("mode") == "memory"
    checked = str(url.query.get("check_same_thread", "false")).lower() not in ("false", "0")
    return not memory and not checked


class _CopyStream(io.RawIOBase):
    """The bytes of a psycopg ``COPY … TO STDOUT`` as a readable binary file (for pyarrow)."""

    def __init__(self, blocks: Iterator[bytes]) -> None:
        self._blocks = blocks
        self._left = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while not self._left:
            block = next(self._blocks, None)
            if block is None:
                return 0
            self._left = bytes(block)
        size = min(len(view), len(self._left))
        view[:size] = self._left[:size]
        self._left = self._left[size:]
        return size


def _postgres_copy_frames(
    conn: sa.Connection, table: sa.Table, stmt: sa.Select[tuple[object, ...]],
    columns: Sequence[str],
) -> Iterator[pd.DataFrame]:  # fmt: skip
    """The rows ``stmt`` selects as ``COPY (SELECT …) TO STDOUT`` CSV that pyarrow reads in
    blocks (no Python object per row or value, except the non-empty ``mentions`` lists);
    ``sent_at`` as integer microseconds since the epoch. The same frame as
    :func:`_messages_frame` makes from rows."""
    select: list[sa.ColumnElement[Any]] = []
    for name in columns:
        column = table.c[name]
        if name == "sent_at":
            micros = sa.func.extract("epoch", column) * 1_000_000
            select.append(sa.cast(sa.func.round(micros), sa.BigInteger()))
        else:
            select.append(sa.type_coerce(column, sa.Text()) if name == "mentions" else column)
    query = sa.select(*select).select_from(table)
    if stmt.whereclause is not None:
        query = query.where(stmt.whereclause)
    # Aware datetimes and the group ids go to psycopg as they are (it binds COPY's parameters
    # on the client); the IN list is rendered as one placeholder per id.
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    types = {
        name: pa.int64() if name == "sent_at" else pa.bool_() if name in _FLAGS else pa.string()
        for name in columns
    }
    dbapi = conn.connection.driver_connection
    assert dbapi is not None
    with (
        dbapi.cursor() as cursor,
        cursor.copy(f"COPY ({compiled.string}) TO STDOUT WITH (FORMAT csv)", params) as copy,
    ):
        blocks = iter(copy)
        first = next(blocks, None)
        if first is None:  # no row at all (pyarrow refuses an empty CSV)
            return
        reader = pa_csv.open_csv(
            io.BufferedReader(_CopyStream(itertools.chain([first], blocks)), buffer_size=1 << 20),
            read_options=pa_csv.ReadOptions(column_names=list(columns), block_size=16 << 20),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                column_types=types, null_values=[""], strings_can_be_null=True,
                quoted_strings_can_be_null=False, true_values=["t"], false_values=["f"],
            ),
        )  # fmt: skip
        for batch in reader:
            if batch.num_rows:
                arrays = {name: batch.column(name) for name in columns}
                yield _arrow_frame(arrays, columns)


def _read_json(data: bytes, schema: pa.Schema) -> pa.Table:
    return pa_json.read_json(
        io.BytesIO(data),
        read_options=pa_json.ReadOptions(block_size=len(data) + 1),
        parse_options=pa_json.ParseOptions(explicit_schema=schema),
    )


def _arrow_type(name: str, *, instants: bool = True) -> pa.DataType:
    """How SQLite's JSON of column ``name`` is read. ``sent_at`` (SQLite's naive UTC text):
    parsed by Arrow's ISO 8601 reader, which gives pandas' instant wherever it accepts the text
    and refuses the rest (then ``instants=False``: the text, parsed by pandas)."""
    if name in _FLAGS:
        return pa.int8()
    if name == "sent_at" and instants:
        return pa.timestamp("us")
    return pa.string()


def _arrow_frame(arrays: dict[str, pa.Array], columns: Sequence[str]) -> pd.DataFrame:
    data: dict[str, object] = {}
    for name in columns:
        array = arrays[name]
        if name == "mentions" and pa.types.is_string(array.type):  # JSON text (both stores)
            data[name] = _json_lists(array)
        elif name == "mentions":  # Python lists only for the non-empty ones
            lengths = pc.fill_null(pc.list_value_length(array), 0).to_numpy()
            filled = np.flatnonzero(lengths)
            with gc_paused():
                lists: list[list[str]] = [[] for _ in range(len(array))]
                for at, ids in zip(filled.tolist(), array.take(filled).to_pylist(), strict=True):
                    lists[at] = ids
            data[name] = lists
        elif name in _FLAGS:
            data[name] = array.to_numpy(zero_copy_only=False).astype(bool)
        elif name == "sent_at" and (
            pa.types.is_integer(array.type) or pa.types.is_timestamp(array.type)
        ):  # microseconds, or naive UTC instants Arrow parsed
            micros = array.to_numpy(zero_copy_only=False).astype("datetime64[us]")
            data[name] = pd.Series(micros).dt.tz_localize("UTC")
        elif name == "sent_at":
            text = pd.Series(array.to_pandas())
            data[name] = pd.to_datetime(text, utc=True, format="ISO8601")
        else:
            data[name] = array.to_pandas()
    return pd.DataFrame(data, columns=list(columns))


def _json_lists(array: pa.Array) -> list[list[str]]:
    """JSON list texts as lists, parsed only where not empty (missing, ``""`` and ``"[]"`` are
    empty lists): the others found by Arrow, so only they become Python strings (the bench's
    1M messages: 8% name someone)."""
    empty = pc.or_kleene(pc.equal(array, ""), pc.equal(array, "[]"))
    filled = np.flatnonzero(pc.fill_null(pc.invert(empty), False).to_numpy(zero_copy_only=False))
    with gc_paused():
        lists: list[list[str]] = [[] for _ in range(len(array))]
        for at, text in zip(filled.tolist(), array.take(filled).to_pylist(), strict=True):
            lists[at] = orjson.loads(text)
    return lists


def _partitions(
    conn: sa.Connection, stmt: sa.Select[tuple[object, ...]]
) -> Iterator[Sequence[tuple[Any, ...]]]:
    """The statement's rows as plain tuples, ``FETCH_CHUNK`` at a time. On SQLite straight from
    the DBAPI cursor (it fetches lazily, and SQLAlchemy's plain fetch strategy reads nothing
    ahead); elsewhere through a server-side cursor."""
    if conn.dialect.name == "sqlite":
        result = conn.execute(stmt)
        try:
            while part := result.cursor.fetchmany(FETCH_CHUNK):
                yield part
        finally:
            result.close()
        return
    streamed = conn.execution_options(yield_per=FETCH_CHUNK).execute(stmt)
    for rows in streamed.partitions():
        yield [tuple(row) for row in rows]


def load_message_texts(engine: sa.Engine, keys: pd.DataFrame) -> dict[tuple[str, str, str], str]:
    """The text of each message named by ``keys`` (columns ``platform``, ``group_id``,
    ``message_id``), by (platform, group_id, message_id)."""
    if keys.empty:
        return {}
    table = Message.__table__
    assert isinstance(table, sa.Table)
    unique = keys[["platform", "group_id", "message_id"]].drop_duplicates()
    out: dict[tuple[str, str, str], str] = {}
    with engine.connect() as conn:
        for (platform, group_id), part in unique.groupby(["platform", "group_id"]):
            ids = [str(m) for m in part["message_id"]]
            for start in range(0, len(ids), 500):
                rows = conn.execute(
                    sa.select(table.c.message_id, table.c.text).where(
                        table.c.platform == platform,
                        table.c.group_id == group_id,
                        table.c.message_id.in_(ids[start : start + 500]),
                    )
                ).all()
                out.update({(str(platform), str(group_id), str(r[0])): r[1] or "" for r in rows})
    return out


def load_last_messages(
    engine: sa.Engine,
    *,
    until: datetime,
    groups: Sequence[str] | None = None,
    senders: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Each sender's newest message per group before ``until`` (``platform``, ``group_id``,
    ``member_id``, ``last_at``), however long ago: a member who ever spoke is never "never".
    ``senders``: only these senders' (the store still scanned, but only their messages
    grouped: the grouping's sort is most of the read)."""
    table = Message.__table__
    assert isinstance(table, sa.Table)
    stmt: sa.Select[tuple[object, ...]] = (
        sa.select(
            table.c.platform,
            table.c.group_id,
            table.c.sender_id,
            sa.func.max(table.c.sent_at, type_=UTCDateTime()),
        )
        .where(table.c.sent_at < until, table.c.kind != "system")
        .group_by(table.c.platform, table.c.group_id, table.c.sender_id)
    )
    stmt = _group_filter(stmt, table, groups)
    if senders is not None:
        stmt = stmt.where(table.c.sender_id.in_(list(senders)))
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(stmt).all()]
    frame = pd.DataFrame(rows, columns=["platform", "group_id", "member_id", "last_at"])
    frame["last_at"] = pd.to_datetime(frame["last_at"], utc=True)
    return frame


def _messages_frame(rows: Sequence[tuple[Any, ...]], columns: Sequence[str]) -> pd.DataFrame:
    # From plain tuples: pandas converts them in C; Row objects would be probed one by one.
    frame = pd.DataFrame.from_records(rows, columns=list(columns))
    if "sent_at" in frame:
        frame["sent_at"] = pd.to_datetime(frame["sent_at"], utc=True, format="ISO8601")
    for flag in ("mention_all", "pinned"):  # SQLite returns 0/1
        if flag in frame:
            frame[flag] = frame[flag].astype(bool)
    if "mentions" in frame:
        frame["mentions"] = [
            orjson.loads(v) if v and v != "[]" else [] for v in frame["mentions"].tolist()
        ]
    return frame


def _raw(column: sa.Column[Any]) -> sa.ColumnElement[Any]:
    """The instant and JSON-list columns as the driver returns them (no per-row Python
    conversion; the frame is converted in bulk): SQLite's naive UTC text or PostgreSQL's aware
    datetimes for ``sent_at``, JSON text for ``mentions``."""
    if isinstance(column.type, JSONList | UTCDateTime):
        return sa.type_coerce(column, sa.Text()).label(column.name)
    return column


def _load_table(
    engine: sa.Engine, model: type[Base], instant_cols: Sequence[str] = ()
) -> pd.DataFrame:
    table = model.__table__
    cols = [c for c in table.c if c.name not in {"content_hash", "updated_at"}]
    with engine.connect() as conn:
        rows = conn.execute(sa.select(*cols)).all()
    frame = pd.DataFrame(rows, columns=[c.name for c in cols])
    for col in instant_cols:
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


def load_groups(engine: sa.Engine) -> pd.DataFrame:
    """Groups with ``owner_id`` and ``admin_ids`` (a list per row)."""
    return _load_table(engine, Group)


def load_members(engine: sa.Engine) -> pd.DataFrame:
    """The member directory: display and real names, department, email."""
    return _load_table(engine, Member)


def load_memberships(engine: sa.Engine) -> pd.DataFrame:
    """Join / leave / removed events with ``at`` as aware UTC."""
    return _load_table(engine, MembershipEvent, instant_cols=("at",))
