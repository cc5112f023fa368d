"""``load_messages``' column hand-over gives exactly the frame it gave before: on SQLite the
previous column reader is kept below as the reference (``sent_at`` as text parsed by pandas,
the flags as ``json('true')``; now Arrow parses ``sent_at`` and the flags come as 1 / 0), and
on both stores the plain row read (DBAPI rows → ``_messages_frame`` → ``_ordered``) is the
other reference: the same columns, dtypes (time zone and unit included), values and order, on
generated stores (hypothesis), in every rowid chunk size, filter and column choice; and on
SQLite for instants stored as other ISO 8601 texts than SQLAlchemy writes (Arrow parses some,
refuses others: a refused chunk is parsed by pandas, as before)."""

from __future__ import annotations

import io
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pandas as pd
import pyarrow as pa
import pyarrow.json as pa_json
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from groupops.activity.stats import STATS_COLUMNS
from groupops.db import queries
from groupops.db.models import Base, Group, Message

T = TypeVar("T")
BASE = datetime(2026, 11, 2, 1, 2, 3, tzinfo=UTC)
GROUPS = ("g1", "g2")


def previous_sqlite_column_frames(
    conn: sa.Connection, table: sa.Table, stmt: sa.Select[tuple[object, ...]],
    columns: Sequence[str],
) -> Iterator[pd.DataFrame]:  # fmt: skip
    """The SQLite column reader as it was before ``sent_at`` was parsed by Arrow."""
    rowid: sa.ColumnClause[Any] = sa.literal_column("messages.rowid")
    low, high = conn.execute(
        sa.select(sa.func.min(rowid), sa.func.max(rowid)).select_from(table)
    ).one()
    if low is None:
        return
    parts: list[sa.ColumnElement[Any]] = []
    for name in columns:
        column = sa.type_coerce(table.c[name], sa.Text())
        if name == "mentions":
            value: sa.ColumnElement[Any] = sa.func.json(sa.func.coalesce(column, "[]"))
        elif name in queries._FLAGS:
            flag = sa.case((table.c[name] == sa.true(), "true"), else_="false")
            value = sa.func.json(flag)
        else:
            value = column
        parts += [sa.literal(name), sa.func.json_group_array(value)]
    where = stmt.whereclause
    document = sa.cast(sa.func.json_object(*parts), sa.LargeBinary())
    query = sa.select(document).select_from(table)
    if where is not None:
        query = query.where(where)
    query = query.where(rowid >= sa.bindparam("low"), rowid < sa.bindparam("high"))
    types = {"mentions": pa.list_(pa.string()), "mention_all": pa.bool_(), "pinned": pa.bool_()}
    schema = pa.schema([(name, pa.list_(types.get(name, pa.string()))) for name in columns])
    for start in range(int(low), int(high) + 1, queries.COLUMN_CHUNK):
        chunk = {"low": start, "high": start + queries.COLUMN_CHUNK}
        data = bytes(conn.execute(query, chunk).scalar_one())
        parsed = pa_json.read_json(
            io.BytesIO(data),
            read_options=pa_json.ReadOptions(block_size=len(data) + 1),
            parse_options=pa_json.ParseOptions(explicit_schema=schema),
        )
        arrays = {name: parsed.column(name).combine_chunks().flatten() for name in columns}
        if len(arrays[columns[0]]):
            yield queries._arrow_frame(arrays, columns)


def previous(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch, columns: tuple[str, ...], **window: Any
) -> pd.DataFrame:
    """What ``load_messages`` returned before (the previous column reader on SQLite)."""
    with monkeypatch.context() as patch:
        patch.setattr(queries, "_sqlite_column_frames", previous_sqlite_column_frames)
        return queries.load_messages(engine, columns=columns, **window)


def assert_as_the_row_read(got: pd.DataFrame, rows: pd.DataFrame) -> None:
    """Equal to the row read's frame, but for one difference both column readers always had:
    a text column with no value at all is Arrow text for them, Python objects for the rows."""
    for name in got.columns:
        if rows[name].dtype == object and rows[name].isna().all() and len(rows):
            assert isinstance(got[name].dtype, pd.StringDtype) and got[name].isna().all()
            rows = rows.assign(**{name: got[name]})
    pd.testing.assert_frame_equal(got, rows)


def reference(
    engine: sa.Engine,
    columns: tuple[str, ...],
    since: datetime | None = None,
    until: datetime | None = None,
    groups: list[str] | None = None,
) -> pd.DataFrame:
    """The row read: what ``load_messages`` returns from a store without a column reader."""
    table = Message.__table__
    assert isinstance(table, sa.Table)
    stmt: sa.Select[tuple[object, ...]] = sa.select(*(queries._raw(table.c[c]) for c in columns))
    if since is not None:
        stmt = stmt.where(table.c.sent_at >= since)
    if until is not None:
        stmt = stmt.where(table.c.sent_at < until)
    if groups:
        stmt = stmt.where(table.c.group_id.in_(groups))
    with engine.connect() as conn:
        frames = [
            queries._messages_frame(part, columns) for part in queries._partitions(conn, stmt)
        ]
    frame = pd.concat(frames, ignore_index=True) if frames else queries._messages_frame([], columns)
    return queries._ordered(frame)


texts = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8
)
ids = st.sampled_from(["u1", "u2", "u3", "用户", 'u"q', "u,1"])
message = st.fixed_dictionaries(
    {
        "group_id": st.sampled_from(GROUPS),
        "sender_id": ids,
        "sent_at": st.integers(0, 40).map(lambda n: BASE + timedelta(microseconds=250_000 * n)),
        "kind": st.sampled_from(["text", "system", "image"]),
        "text": texts,
        "reply_to": st.one_of(st.none(), st.sampled_from(["m0", "m1", "x"])),
        "mentions": st.lists(ids, max_size=3),
        "mention_all": st.booleans(),
        "pinned": st.booleans(),
    }
)
COLUMN_CHOICES = [queries.MESSAGE_COLUMNS, STATS_COLUMNS, ("message_id", "sent_at"),
                  ("sent_at", "mention_all", "mentions"), ("text", "pinned", "message_id")]  # fmt: skip


def _store(engine: sa.Engine, rows: list[dict[str, Any]]) -> None:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(sa.delete(Message.__table__))
        conn.execute(sa.delete(Group.__table__))
        conn.execute(
            sa.insert(Group.__table__),
            [{"platform": "wecom", "group_id": g, "name": g, "admin_ids": [], "content_hash": 1,
              "updated_at": now} for g in GROUPS],
        )  # fmt: skip
        if rows:
            conn.execute(
                sa.insert(Message.__table__),
                [{**r, "platform": "wecom", "message_id": f"m{n % 7}{n}", "content_hash": n,
                  "updated_at": now} for n, r in enumerate(rows)],
            )  # fmt: skip


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(message, max_size=25),
    columns=st.sampled_from(COLUMN_CHOICES),
    chunk=st.sampled_from([1, 3, 100_000]),
    span=st.tuples(st.integers(0, 40), st.integers(0, 40)),
    groups=st.sampled_from([None, ["g1"], ["g2", "nope"]]),
)
def test_the_column_read_gives_the_row_reads_frame(
    engine: sa.Engine,
    monkeypatch: pytest.MonkeyPatch,
    rows: list[dict[str, Any]],
    columns: tuple[str, ...],
    chunk: int,
    span: tuple[int, int],
    groups: list[str] | None,
) -> None:
    monkeypatch.setattr(queries, "COLUMN_CHUNK", chunk)
    _store(engine, rows)
    since, until = (BASE + timedelta(microseconds=250_000 * n) for n in span)
    for window in ({}, {"since": since, "until": until, "groups": groups}):
        got = queries.load_messages(engine, columns=columns, **window)
        pd.testing.assert_frame_equal(got, previous(engine, monkeypatch, columns, **window))
        assert_as_the_row_read(got, reference(engine, columns, **window))
        if "sent_at" in columns and len(got):
            assert str(got["sent_at"].dtype) == "datetime64[us, UTC]"


#: ``sent_at`` as other writers might have stored it on SQLite: Arrow parses the first ones
#: (to the instant pandas gives) and refuses the last ones.
ODD_INSTANTS = [
    "2026-11-02 01:02:03.000000", "2026-11-02 01:02:03", "2026-11-02T01:02:03.5",
    "2026-11-02 01:02:03Z", "2026-11-02 09:02:03+08:00", "2026-11-02 01:02:03.000000+0000",
    "2026-11-02", "2026-11-02 01:02", "2026-11-02 01:02:03.123",
    " 2026-11-02 01:02:03", "20261102T010203", "2026-11-02 01:02:03.123456789",
]  # fmt: skip


@pytest.mark.parametrize("chunk", [1, 4, 100_000])
@pytest.mark.parametrize("odd", range(len(ODD_INSTANTS)))
def test_instants_stored_as_other_iso_texts_read_as_the_row_read_reads_them(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, chunk: int, odd: int
) -> None:
    from groupops.db import make_engine, upgrade

    url = f"sqlite:///{tmp_path / 'odd.db'}"
    upgrade(url)
    engine = make_engine(url)
    _store(engine, [])
    with engine.begin() as conn:
        for n, text in enumerate(
            [
                "2026-11-02 00:00:00.000000",
                ODD_INSTANTS[odd],
                "2026-11-03 00:00:00.250000",
                "2026-11-01 23:59:59.999999",
            ]
        ):
            conn.execute(
                sa.text(
                    "INSERT INTO messages (platform, group_id, message_id, sender_id, sent_at, "
                    "kind, text, mentions, mention_all, pinned, content_hash, updated_at) VALUES "
                    "('wecom', 'g1', :id, 'u1', :at, 'text', '', '[]', 0, 0, 0, :at)"
                ),
                {"id": f"m{n}", "at": text},
            )  # fmt: skip
    monkeypatch.setattr(queries, "COLUMN_CHUNK", chunk)
    for columns in (queries.MESSAGE_COLUMNS, ("sent_at", "message_id")):
        got = queries.load_messages(engine, columns=columns)
        pd.testing.assert_frame_equal(got, previous(engine, monkeypatch, columns))
        assert_as_the_row_read(got, reference(engine, columns))
    engine.dispose()


def _plain_rows(n: int) -> list[dict[str, Any]]:
    return [{"group_id": GROUPS[k % 2], "sender_id": f"u{k % 3}", "kind": "text",
             "sent_at": BASE + timedelta(seconds=k), "text": f"t{k}", "reply_to": None,
             "mentions": [f"u{k % 2}"] if k % 2 else [], "mention_all": False, "pinned": False}
            for k in range(n)]  # fmt: skip


class _CountingPool(ThreadPoolExecutor):
    """The reader thread's pool, counting the queries handed to it."""

    submitted = 0

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        _CountingPool.submitted += 1
        return super().submit(fn, *args, **kwargs)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(message, min_size=1, max_size=25),
    columns=st.sampled_from(COLUMN_CHOICES),
    chunk=st.sampled_from([1, 2, 5]),
    groups=st.sampled_from([None, ["g1"]]),
)
def test_the_read_ahead_thread_gives_the_serial_reads_frame(
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
    rows: list[dict[str, Any]],
    columns: tuple[str, ...],
    chunk: int,
    groups: list[str] | None,
) -> None:
    """On a SQLite file the next rowid range is read by a thread while the previous one is
    parsed: the same frame as the serial read (and the row read), the thread really used."""
    from groupops.db import make_engine, upgrade

    url = f"sqlite:///{tmp_path / 'ahead.db'}"
    if not (tmp_path / "ahead.db").exists():
        upgrade(url)
    engine = make_engine(url)
    _store(engine, rows)
    monkeypatch.setattr(queries, "COLUMN_CHUNK", chunk)
    monkeypatch.setattr(queries, "ThreadPoolExecutor", _CountingPool)
    _CountingPool.submitted = 0
    got = queries.load_messages(engine, columns=columns, groups=groups)
    with engine.connect() as conn:
        low, high = conn.execute(sa.text("SELECT min(rowid), max(rowid) FROM messages")).one()
    ranges = len(range(low, high + 1, chunk))
    assert _CountingPool.submitted == (ranges if ranges > 1 else 0)
    with monkeypatch.context() as patch:
        patch.setattr(queries, "_threads_share", lambda conn: False)
        serial = queries.load_messages(engine, columns=columns, groups=groups)
    assert _CountingPool.submitted == (ranges if ranges > 1 else 0)
    pd.testing.assert_frame_equal(got, serial)
    assert_as_the_row_read(got, reference(engine, columns, groups=groups))
    engine.dispose()


def test_a_reader_stopped_early_leaves_the_connection_free(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A caller that stops after the first range: the query in flight ends before the
    connection is used again, and no reader thread stays behind."""
    import threading

    if engine.dialect.name != "sqlite":
        pytest.skip("the rowid ranges are SQLite's")
    _store(engine, _plain_rows(6))
    monkeypatch.setattr(queries, "COLUMN_CHUNK", 1)
    table = Message.__table__
    assert isinstance(table, sa.Table)
    stmt = sa.select(table.c.message_id)
    with engine.connect() as conn:
        assert queries._threads_share(conn)
        frames = queries._sqlite_column_frames(conn, table, stmt, ("message_id",))
        assert isinstance(frames, Generator)
        first = next(frames)
        frames.close()
        assert len(first) == 1
        assert not [t for t in threading.enumerate() if t.name.startswith("groupops-read")]
        assert conn.execute(sa.text("SELECT count(*) FROM messages")).scalar_one() == 6


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:",
                                 "sqlite:///file:mem?mode=memory&uri=true",
                                 "sqlite:///{path}?check_same_thread=true"])  # fmt: skip
def test_connections_bound_to_their_thread_are_read_without_the_thread(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    """An in-memory database (or a file opened with ``check_same_thread``) keeps sqlite3's
    one-thread check: its ranges are read serially, not refused."""
    from groupops.db import make_engine, upgrade

    url = url.format(path=tmp_path / "checked.db")
    if "checked.db" in url:
        upgrade(url.partition("?")[0])
    engine = make_engine(url)
    with engine.begin() as conn:
        if "checked.db" not in url:
            Base.metadata.create_all(conn)
        assert not queries._threads_share(conn)
    _store(engine, _plain_rows(5))
    monkeypatch.setattr(queries, "COLUMN_CHUNK", 2)
    got = queries.load_messages(engine, columns=STATS_COLUMNS)
    assert len(got) == 5
    assert_as_the_row_read(got, reference(engine, STATS_COLUMNS))
    engine.dispose()
