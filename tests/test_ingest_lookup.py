"""The upsert's key lookup on SQLite (``groupops.ingest.store._differing``) tells new, changed
and unchanged rows exactly as the per-row query it replaced did.

The lookup now sends the chunk's keys as runs (the rows sharing every key column but the last,
``[k0, …, [last, …]]``) and compares the stored hashes in Python; the reference below is the
previous form: one ``[k0, k1, …, hash]`` array per row, taken apart with ``->>`` per row, the
hashes compared in SQL. Property: for any stored rows and any chunk (new, changed and
unchanged rows of several groups, in any order, with ids that sort oddly), both give the same
answer, for the messages (three key columns) and the membership events (five, one an
instant)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import orjson
import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from groupops.canonical import KEYS, Entity, RawRecord
from groupops.db import make_engine, upgrade
from groupops.ingest.normalise import normalise
from groupops.ingest.store import _column_values, _differing, _table, content_hash, upsert
from tests.bundles import GROUPS, message

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 24, tzinfo=UTC)
GROUP_IDS = [g["group_id"] for g in GROUPS]
# Ids that compare differently as text and as numbers, non-ASCII, a quote, a backslash.
IDS = ["1", "10", "2", "a", "B", "中", 'q"', "b\\s", " x", "m9"]


def _reference_differing(
    conn: sa.Connection, entity: Entity, frame: pd.DataFrame, hashes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The SQLite lookup before 2026-12-01: one JSON array per row, the hash compared in SQL."""
    target = _table(entity)
    keys = KEYS[entity]
    key_values = [_column_values(entity, k, frame[k], "sqlite") for k in keys]
    join = " AND ".join(f"t.{k} = j.value ->> {i}" for i, k in enumerate(keys))
    sql = (
        f"SELECT json_group_array(CASE WHEN t.content_hash IS NULL THEN -1 - j.key"
        f" ELSE j.key END) FROM json_each(?) AS j LEFT JOIN {target.name} AS t ON {join}"
        f" WHERE t.content_hash IS NOT (j.value ->> {len(keys)})"
    )
    document = orjson.dumps(list(zip(*key_values, hashes.tolist(), strict=True))).decode()
    coded = np.asarray(orjson.loads(conn.exec_driver_sql(sql, (document,)).scalar_one()),
                       dtype=np.int64)  # fmt: skip
    found = coded >= 0
    index = np.where(found, coded, -1 - coded)
    new = np.zeros(len(frame), dtype=bool)
    changed = np.zeros(len(frame), dtype=bool)
    new[index[~found]] = True
    changed[index[found]] = True
    return new, changed


def _frame(entity: Entity, rows: list[dict[str, object]]) -> pd.DataFrame:
    records = [
        RawRecord(entity, f"{entity}.jsonl", n + 1, json.dumps(row), data=row)
        for n, row in enumerate(rows)
    ]
    normalised = normalise(entity, records, TZ)
    assert not normalised.rejected
    return normalised.frame


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lookup") / "template.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        upsert(conn, "groups", _frame("groups", GROUPS), now=NOW, run_id=None)
    engine.dispose()
    return path


@pytest.fixture
def store(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[sa.Engine]:
    path = tmp_path_factory.mktemp("lookup") / "store.db"
    path.write_bytes(template.read_bytes())
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


def _message(key: tuple[str, str], version: int) -> dict[str, object]:
    group, message_id = key
    row = message(0, group=group, text=f"版本 {version}")
    row["message_id"] = message_id
    return row


def _membership(key: tuple[str, str, str, int], version: int) -> dict[str, object]:
    group, member, event, minute = key
    at = datetime(2026, 10, 1, 10, tzinfo=TZ) + timedelta(minutes=minute)
    return {"platform": "wecom", "group_id": group, "member_id": member, "event": event,
            "at": at.isoformat(), "approved_by": None, "reason": f"v{version}"}  # fmt: skip


message_keys = st.tuples(st.sampled_from(GROUP_IDS), st.sampled_from(IDS))
membership_keys = st.tuples(
    st.sampled_from(GROUP_IDS), st.sampled_from(IDS), st.sampled_from(["join", "leave"]),
    st.integers(0, 3),
)  # fmt: skip


def _check(
    engine: sa.Engine, entity: Entity, stored: dict[object, int], chunk: dict[object, int],
    order: list[int],
) -> None:  # fmt: skip
    make = _message if entity == "messages" else _membership
    with engine.begin() as conn:
        if stored:
            rows = [make(k, v) for k, v in stored.items()]
            upsert(conn, entity, _frame(entity, rows), now=NOW, run_id=None)
    if not chunk:
        return
    rows = [make(k, v) for k, v in chunk.items()]
    frame = _frame(entity, [rows[i] for i in order if i < len(rows)])
    hashes = content_hash(entity, frame).to_numpy()
    with engine.connect() as conn:
        new, changed = _differing(conn, entity, frame, hashes, "sqlite")
        old_new, old_changed = _reference_differing(conn, entity, frame, hashes)
    assert new.tolist() == old_new.tolist()
    assert changed.tolist() == old_changed.tolist()


_settings = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_settings
@given(
    stored=st.dictionaries(message_keys, st.integers(0, 1), max_size=12),
    chunk=st.dictionaries(message_keys, st.integers(0, 1), max_size=12),
    order=st.permutations(list(range(12))),
)
def test_message_lookup_answers_as_the_per_row_query(
    store: sa.Engine, stored: dict[object, int], chunk: dict[object, int], order: list[int]
) -> None:
    with store.begin() as conn:
        conn.exec_driver_sql("DELETE FROM messages")
    _check(store, "messages", stored, chunk, order)


@_settings
@given(
    stored=st.dictionaries(membership_keys, st.integers(0, 1), max_size=12),
    chunk=st.dictionaries(membership_keys, st.integers(0, 1), max_size=12),
    order=st.permutations(list(range(12))),
)
def test_membership_lookup_answers_as_the_per_row_query(
    store: sa.Engine, stored: dict[object, int], chunk: dict[object, int], order: list[int]
) -> None:
    with store.begin() as conn:
        conn.exec_driver_sql("DELETE FROM membership_events")
    _check(store, "memberships", stored, chunk, order)


def test_lookup_of_a_large_sorted_chunk_tells_new_changed_and_unchanged(store: sa.Engine) -> None:
    keys = [(g, f"m{n:05d}") for g in GROUP_IDS for n in range(3000)]
    stored = dict.fromkeys(keys[::2], 0)
    chunk = {k: (1 if i % 6 == 0 else 0) for i, k in enumerate(keys)}
    _check(store, "messages", stored, chunk, list(range(len(chunk))))


# --- instants as DBAPI text (2026-12-01): Arrow's cast against numpy's text -------------------


def _reference_instant_values(column: pd.Series, dialect: str) -> list[object]:
    """``_column_values`` of an instant column before Arrow wrote its text."""
    utc = column.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    text = np.char.replace(np.datetime_as_string(utc, unit="us"), "T", " ")
    if dialect != "sqlite":
        text = np.char.add(text, "+00:00")
    values: list[object] = text.tolist()
    if column.isna().any():
        values = [None if missing else v for v, missing in zip(values, column.isna(), strict=True)]
    return values


@settings(max_examples=200, deadline=None)
@given(
    instants=st.lists(  # microseconds since the epoch, 1678-2261 (pandas' ns range)
        st.one_of(st.none(), st.integers(-9_200_000_000_000_000, 9_200_000_000_000_000)),
        min_size=1,  # (numpy's replace refuses an empty array; a chunk is never empty)
        max_size=8,
    ),
    zone=st.sampled_from(["UTC", "Asia/Shanghai", "America/St_Johns"]),
    unit=st.sampled_from(["ns", "us", "ms"]),
    dialect=st.sampled_from(["sqlite", "postgresql"]),
)
def test_instant_values_are_the_text_numpy_wrote(
    instants: list[int | None], zone: str, unit: str, dialect: str
) -> None:
    column = pd.Series(pd.to_datetime(instants, unit="us", utc=True)).dt.tz_convert(zone)
    column = column.astype(f"datetime64[{unit}, {zone}]")
    for entity, name in (
        ("messages", "sent_at"),
        ("roster", "departed_at"),
        ("messages", "updated_at"),
    ):
        got = _column_values(entity, name, column, dialect)
        assert got == _reference_instant_values(column, dialect)


def test_instant_values_outside_four_digit_years_keep_numpy_text() -> None:
    utc = np.array(["-0001-06-01T00:00:00", "10000-01-01T00:00:00", "NaT"], dtype="datetime64[us]")
    column = pd.Series(utc).dt.tz_localize("UTC")
    expected = [
        *np.char.replace(np.datetime_as_string(utc[:2], unit="us"), "T", " ").tolist(),
        None,
    ]
    assert _column_values("messages", "sent_at", column, "sqlite") == expected
