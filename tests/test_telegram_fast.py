"""The Telegram importer's fast path stores and quarantines exactly what its per-record path does.

Fast: the C parser builds whole messages (``groupops.importers._jsonstream.fast_items``), a
plain message becomes a row of canonical columns and a chunk of rows one frame
(``TelegramExport.chunks``). Per record (``TelegramExport(path, fast=False)``): every message
built event by event and turned into records one at a time, as before the fast path. Property:
for any export (good, odd and hostile messages, service messages, a document cut short or
followed by junk, record limits that make the fast pass hand over mid-document), ingesting it
either way stores the same rows and quarantines the same records (file, line, field, reason,
raw text), in chunks of any size."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from groupops.canonical import RecordError
from groupops.db import make_engine, upgrade
from groupops.importers._common import dumps, first
from groupops.importers._jsonstream import Declined, fast_items
from groupops.importers.telegram import (
    MEMBERSHIP_ACTIONS,
    TelegramExport,
    _Chat,
    _Row,
    _text_and_mentions,
    telegram_user_id,
)
from groupops.importers.telegram import _plain as _plain_fields
from groupops.ingest import run_ingest
from groupops.ingest.limits import Limits
from groupops.policy import Policy
from tests.stored import stored

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
POLICY = Policy()
SENDERS = [("张三", "user1"), ("李四", 2), ("Bob", "user3"), ("", "user4")]


def _plain(n: int, sender: int, text: Any, extra: dict[str, Any]) -> dict[str, Any]:
    name, uid = SENDERS[sender]
    m: dict[str, Any] = {"id": n, "type": "message", "date": "2026-11-02T09:00:00",
                         "date_unixtime": str(1_793_000_000 + n * 60), "from": name,
                         "from_id": uid, "text": text}  # fmt: skip
    m.update(extra)
    return m


texts = st.one_of(
    st.text(max_size=12),
    st.just("https://example.com/a"),
    st.just([{"type": "mention_name", "text": "李四", "user_id": 2}, " 请确认"]),
    st.just(["plain ", {"type": "mention", "text": "@bob"}, {"type": "bold", "text": "!"}]),
    st.just("a\u0000b"),
)
extras = st.sampled_from(
    [
        {},
        {"reply_to_message_id": 3},
        {"photo": "photos/p.jpg"},
        {"file": "files/a.mp4", "mime_type": "video/mp4"},
        {"file": "files/周报.xlsx"},
        {"media_type": "sticker", "file": "s.webp"},
        {"text_entities": [{"type": "plain", "text": "实体"}]},
        {"edited_unixtime": "1793000100"},
        {"from_id": None},  # the sender by name (the first pass's name → id)
        {"from_id": None, "from": None},  # no sender: quarantined
        {"date": None, "date_unixtime": None},  # no date: quarantined
        {"id": None},  # position id
        {"date_unixtime": "4102444800"},  # 2100: out of the plausible range
        {"date_unixtime": 1_793_000_000},
        {"text": "x" * 3000},  # over the small record limit's fast span
        {"text": "长" * 30000},  # too long for the small record limit
        # what orjson and the C parser read differently: the orjson pass must decline
        {"views": 2**63},
        {"views": -(2**63)},
        {"views": 10**20},
        {"views": 2**63 - 1},
        {"text": "a\ud800b"},  # a lone surrogate (escaped in an "ascii" document)
        {"views": 1e300},
        {"views": -0.0},
        {"views": 0.1},
        {"views": 12345678901234567890.5},
        {"text": "1234567890123456789012"},  # 19 digits in a string: declined, read the same
    ]
)
plain_messages = st.builds(_plain, st.integers(1, 12), st.integers(0, 3), texts, extras)
service_messages = st.sampled_from(
    [
        {"id": 90, "type": "service", "date_unixtime": "1793000500", "actor": "张三",
         "actor_id": "user1", "action": "invite_members", "members": ["Carol", "李四"]},
        {"id": 91, "type": "service", "date_unixtime": "1793000600", "actor": "Dave",
         "actor_id": "user9", "action": "join_group_by_link"},
        {"id": 92, "type": "service", "date_unixtime": "1793000700", "actor": "张三",
         "actor_id": "user1", "action": "remove_members", "members": ["Bob"]},
        {"id": 93, "type": "service", "date_unixtime": "1793000800", "actor": "张三",
         "actor_id": "user1", "action": "pin_message", "message_id": 2},
        {"id": 94, "type": "service", "date_unixtime": "1793000900", "action": "create_group"},
    ]
)  # fmt: skip
odd_messages = st.sampled_from([5, "text", [1, 2], None, {}, {"id": 7}])
messages = st.lists(
    st.one_of(plain_messages, plain_messages, plain_messages, service_messages, odd_messages),
    max_size=20,
)
endings = st.sampled_from(["whole", "cut", "junk", "after", "bom", "ascii", "two"])


def _document(items: list[Any], ending: str, cut: float) -> bytes:
    doc: dict[str, Any] = {"name": "运营群", "type": "private_supergroup", "id": 77}
    doc["messages"] = items
    if ending == "after":
        doc["about"] = {"note": "a key after the messages"}
    text = json.dumps(doc, ensure_ascii=ending == "ascii", indent=1)
    if ending == "two":  # a second messages key
        text = text[:-1] + ', "messages": []}'
    data = text.encode("utf-8", "backslashreplace")  # a lone surrogate as its JSON escape
    if ending == "cut":
        data = data[: max(1, int(len(data) * cut))]
    elif ending == "junk":
        data += b" }"
    elif ending == "bom":
        data = b"\xef\xbb\xbf" + data
    return data


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "empty.db"
    upgrade(f"sqlite:///{path}")
    return path


def _ingest(template: Path, db: Path, export: Path, *, fast: bool, record_bytes: int,
            chunk_size: int) -> tuple[dict[str, object], pd.DataFrame, list[tuple[Any, ...]]]:  # fmt: skip
    shutil.copy(template, db)
    url = f"sqlite:///{db}"
    source = TelegramExport(export, fast=fast)
    source.limits = Limits(max_record_bytes=record_bytes)
    engine = make_engine(url)
    try:
        summary = run_ingest(source, engine, POLICY, now=NOW, chunk_size=chunk_size)
    finally:
        engine.dispose()
    return summary.as_dict(), *stored(url, source_file=True)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    items=messages,
    ending=endings,
    cut=st.floats(0.05, 0.99),
    record_bytes=st.sampled_from([1 << 20, 1 << 16, 1024]),
    chunk_size=st.integers(1, 8),
)
def test_fast_and_per_record_paths_store_and_quarantine_the_same(
    template: Path, tmp_path_factory: pytest.TempPathFactory, items: list[Any], ending: str,
    cut: float, record_bytes: int, chunk_size: int,
) -> None:  # fmt: skip
    work = tmp_path_factory.mktemp("telegram")
    export = work / "result.json"
    export.write_bytes(_document(items, ending, cut))
    fast = _ingest(template, work / "fast.db", export, fast=True, record_bytes=record_bytes,
                   chunk_size=chunk_size)  # fmt: skip
    slow = _ingest(template, work / "slow.db", export, fast=False, record_bytes=record_bytes,
                   chunk_size=chunk_size)  # fmt: skip
    pd.testing.assert_frame_equal(fast[1], slow[1])
    assert fast[2] == slow[2]
    assert fast[0]["quarantined"] == slow[0]["quarantined"]
    assert fast[0]["status"] == slow[0]["status"]


def _ingest_pg(url: str, export: Path, *, fast: bool, record_bytes: int,
               chunk_size: int) -> tuple[dict[str, object], pd.DataFrame, list[tuple[Any, ...]]]:  # fmt: skip
    from tests.conftest import _truncate_all

    engine = make_engine(url)
    try:
        _truncate_all(engine)
        source = TelegramExport(export, fast=fast)
        source.limits = Limits(max_record_bytes=record_bytes)
        summary = run_ingest(source, engine, POLICY, now=NOW, chunk_size=chunk_size)
    finally:
        engine.dispose()
    return summary.as_dict(), *stored(url, source_file=True)


@pytest.mark.postgres
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    items=messages,
    ending=endings,
    record_bytes=st.sampled_from([1 << 20, 1024]),
    chunk_size=st.integers(1, 8),
)
def test_both_paths_store_the_same_on_postgresql(
    pg_database: str, tmp_path_factory: pytest.TempPathFactory, items: list[Any], ending: str,
    record_bytes: int, chunk_size: int,
) -> None:  # fmt: skip
    """The fast path's frames (texts and id lists in Arrow) written through PostgreSQL's
    ``COPY`` store what the per-record path stores."""
    export = tmp_path_factory.mktemp("telegram-pg") / "result.json"
    export.write_bytes(_document(items, ending, 0.5))
    fast = _ingest_pg(pg_database, export, fast=True, record_bytes=record_bytes,
                      chunk_size=chunk_size)  # fmt: skip
    slow = _ingest_pg(pg_database, export, fast=False, record_bytes=record_bytes,
                      chunk_size=chunk_size)  # fmt: skip
    pd.testing.assert_frame_equal(fast[1], slow[1])
    assert fast[2] == slow[2]
    assert fast[0]["quarantined"] == slow[0]["quarantined"]
    assert fast[0]["status"] == slow[0]["status"]


def test_a_clean_export_is_read_by_the_fast_path(tmp_path: Path) -> None:
    """The property above holds trivially if the fast path never runs: on a clean export it
    does (messages as frames, none declined)."""
    items = [_plain(n, n % 3, f"第{n}条", {}) for n in range(1, 8)]
    export = tmp_path / "result.json"
    export.write_bytes(_document(items, "whole", 1.0))
    source = TelegramExport(export)
    chunks = list(source.chunks("messages", 4) or [])
    assert [type(c).__name__ for c in chunks] == ["DataFrame", "DataFrame"]
    assert sum(len(c) for c in chunks) == 7
    scan = source._scan_once()
    assert scan.ranges is not None  # read by orjson from the scanned byte ranges
    with export.open("rb") as raw:
        assert [i for i, _ in scan.ranges.items(raw)] == list(range(1, 8))
    with export.open("rb") as raw:
        assert [i for i, _ in fast_items(raw, Limits(), "messages.item")] == list(range(1, 8))


def test_the_fast_pass_hands_over_before_a_message_it_cannot_prove_short(tmp_path: Path) -> None:
    items = [_plain(1, 0, "短", {}), _plain(2, 0, "长" * 5000, {}), _plain(3, 0, "短", {})]
    export = tmp_path / "result.json"
    export.write_bytes(_document(items, "whole", 1.0))
    taken = []
    with export.open("rb") as raw, pytest.raises(Declined):
        for index, _ in fast_items(raw, Limits(max_record_bytes=1 << 15), "messages.item"):
            taken.append(index)
    assert taken == [1]


# -- the per-message helpers equal the code they replaced (kept here as the reference) -------


def _reference_text_and_mentions(m: dict[str, Any]) -> tuple[str, list[str]]:
    parts = m.get("text_entities")
    if not isinstance(parts, list) or not parts:
        text = m.get("text")
        parts = text if isinstance(text, list) else [text if isinstance(text, str) else ""]
    pieces: list[str] = []
    mentions: list[str] = []
    for part in parts:
        if isinstance(part, str):
            pieces.append(part)
        elif isinstance(part, Mapping):
            pieces.append(str(part.get("text") or ""))
            if part.get("type") == "mention_name":
                uid = telegram_user_id(part.get("user_id"))
                if uid:
                    mentions.append(uid)
            elif part.get("type") == "mention" and part.get("text"):
                mentions.append(str(part["text"]))
    return "".join(pieces), list(dict.fromkeys(mentions))


def _reference_learn(chat: _Chat, m: dict[str, Any]) -> None:
    for name_key, id_key in (("from", "from_id"), ("actor", "actor_id")):
        name, uid = m.get(name_key), telegram_user_id(m.get(id_key))
        if isinstance(name, str) and name and uid:
            chat.names.setdefault(name, uid)
    if m.get("action") == "pin_message" and m.get("message_id"):
        chat.pinned.add(str(m.get("message_id")))
    if m.get("type") == "service" and str(m.get("action")) in MEMBERSHIP_ACTIONS:
        chat.memberships += 1


def _reference_first(mapping: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        value = mapping.get(key)
        if value not in (None, "", [], {}):
            return value
    return None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 10**12) | st.floats(allow_nan=False)
    | st.sampled_from(["", " ", "user7", " 42 ", "@bob", "张三", "https://example.com/a"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8,
)  # fmt: skip
entities = st.fixed_dictionaries(
    {},
    optional={"type": st.sampled_from(["plain", "mention", "mention_name", "bold"]) | json_values,
              "text": json_values, "user_id": json_values},
)  # fmt: skip
text_values = json_values | st.lists(st.one_of(st.text(max_size=4), entities, json_values),
                                     max_size=4)  # fmt: skip
message_dicts = st.fixed_dictionaries(
    {},
    optional={"text": text_values, "text_entities": text_values,
              "from": json_values, "from_id": json_values, "actor": json_values,
              "actor_id": json_values, "type": st.sampled_from(["message", "service"]),
              "action": st.sampled_from(["pin_message", "invite_members", "remove_members"]),
              "message_id": json_values, "date": json_values, "date_unixtime": json_values},
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(m=message_dicts)
def test_the_per_message_helpers_equal_their_reference(m: dict[str, Any]) -> None:
    """``_text_and_mentions``, ``_Chat.learn`` and ``first``, made cheaper for the 200k peer
    bench (no list/dict literal built per call, the sender's id read only beside a name,
    a plain text returned without walking parts), give what the code before them gave."""
    assert _text_and_mentions(m) == _reference_text_and_mentions(m)
    new, old = _Chat(0), _Chat(0)
    new.learn(m)
    _reference_learn(old, m)
    assert new == old
    for keys in (("date_unixtime", "date"), ("from", "actor"), ("from_id", "actor_id"), ("text",)):
        assert first(m, *keys) == _reference_first(m, *keys)
    plain = _plain_fields(m, 3, {"张三": "user1"}, {"7"}, "g", raw=True)
    if not isinstance(plain, RecordError):
        assert plain.group_id == "g"
        assert plain.raw == dumps(m)
        assert plain._replace(group_id="", raw="") == _plain_fields(m, 3, {"张三": "user1"}, {"7"})


def _reference_plain(
    m: dict[str, Any], index: int, names: dict[str, str], pinned: set[str]
) -> _Row | RecordError:
    """``_plain`` before its usual shapes were read inline."""
    from groupops.importers._common import id_str, slug
    from groupops.importers.telegram import _kind

    message_id = id_str(m.get("id")) or f"pos-{index}"
    sent_at = first(m, "date_unixtime", "date")
    if not isinstance(sent_at, str | int):
        return RecordError("date", "message without a date")
    name = first(m, "from", "actor")
    sender = telegram_user_id(first(m, "from_id", "actor_id"))
    if sender is None and isinstance(name, str):
        sender = names.get(name) or slug(name)
    if sender is None:
        return RecordError("from_id", "message without a sender")
    text, mentions = _text_and_mentions(m)
    return _Row(message_id, sender, name if isinstance(name, str) else None, sent_at,
                _kind(m, text), text, id_str(m.get("reply_to_message_id")), mentions,
                message_id in pinned, index)  # fmt: skip


plain_dicts = st.fixed_dictionaries(
    {},
    optional={"id": json_values, "date_unixtime": json_values, "date": json_values,
              "from": json_values, "from_id": json_values, "actor": json_values,
              "actor_id": json_values, "reply_to_message_id": json_values,
              "text": text_values | st.sampled_from(["https://a.b/c", " www.x.org ", "a.b", "a/b",
                                                     "ＨＴＴＰＳ://x", "httpſ://x", "WWW.x"]),
              "text_entities": text_values | st.just([{"type": "plain", "text": "https://a.b"}])
              | st.lists(st.fixed_dictionaries({"type": st.just("plain"), "text": json_values}),
                         min_size=1, max_size=1),
              "media_type": json_values | st.sampled_from(["sticker", "voice_message"]),
              "photo": json_values, "file": json_values, "mime_type": json_values,
              "file_name": json_values},
)  # fmt: skip


@settings(max_examples=600, deadline=None)
@given(m=plain_dicts, index=st.integers(1, 9))
def test_the_inline_plain_message_equals_its_reference(m: dict[str, Any], index: int) -> None:
    """``_plain``'s inline reading of the usual shapes gives the fields the general helpers
    gave (ids, instants, senders by id or by name, texts, kinds, replies, quarantine)."""
    names, pinned = {"张三": "user1", "Bob": "user3"}, {"7", "pos-3"}
    got = _plain_fields(m, index, names, pinned)
    assert got == _reference_plain(m, index, names, pinned)
    if not isinstance(got, RecordError):
        assert type(got.text) is str and type(got.mentions) is list


@settings(max_examples=600, deadline=None)
@given(
    ms=st.lists(
        st.one_of(
            message_dicts,
            st.builds(_plain, st.integers(1, 12), st.integers(0, 3), texts, extras),
        ),
        max_size=6,
    )
)
def test_taking_a_message_equals_learning_and_noting_it(ms: list[dict[str, Any]]) -> None:
    """``_Chat.take`` (the scan's inline reading of a plain message) leaves the chat as
    ``learn`` then ``note_sender`` leave it: names, pins, memberships, senders' first
    messages, or no senders once one cannot be named by id."""
    new, old = _Chat(0), _Chat(0)

    def failure(step: Any) -> str | None:
        try:
            step()
        except TypeError as exc:  # an integer past 64 bits (no parser gives one): both fail
            return str(exc)
        return None

    for index, m in enumerate(ms, 1):
        got = failure(lambda: new.take(index, m))  # noqa: B023  # called at once
        want = failure(lambda: (old.learn(m), old.note_sender(index, m)))  # noqa: B023  # called at once
        assert got == want
    assert new == old


def _reference_user_id(value: Any) -> str | None:
    """``telegram_user_id`` before its strings were cached."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return f"user{value}"
    if isinstance(value, str) and value.strip():
        text = value.strip()
        return f"user{text}" if text.isdigit() else text
    return None


def _reference_kind_from_filename(name: str, default: str = "file") -> str:
    from groupops.importers import _common

    return _common.kind_from_filename.__wrapped__(name, default)


@settings(max_examples=300, deadline=None)
@given(value=json_values | st.text(max_size=6) | st.sampled_from(["１２", "٣", " 7\n", "\t"]))
def test_the_cached_user_id_equals_its_reference(value: Any) -> None:
    """Cached per distinct string (an export names its few senders many times): the same id
    as before, asked once or again, and a boolean never taken for the number it equals."""
    for _ in range(2):
        assert telegram_user_id(value) == _reference_user_id(value)
    assert telegram_user_id(True) is None and telegram_user_id(1) == "user1"


@settings(max_examples=300, deadline=None)
@given(name=st.text(max_size=12) | st.sampled_from(["a.JPG ", "周报.xlsx", "v.mp4", "x.ogg", ".png"]),
       default=st.sampled_from(["file", "text"]))  # fmt: skip
def test_the_cached_kind_from_filename_equals_its_reference(name: str, default: str) -> None:
    from groupops.importers._common import kind_from_filename

    for _ in range(2):
        assert kind_from_filename(name, default) == _reference_kind_from_filename(name, default)


instants = st.one_of(
    st.text(alphabet="0123456789", min_size=1, max_size=16),
    st.integers(0, 2 * 10**12).map(str),
    st.sampled_from(["2026-11-02T09:00:00", "2026-11-02T09:00:00+08:00", " 1793000000", "１２",
                     "1e9", "", "x"]),
    st.integers(-(10**12), 10**13),
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(values=st.lists(instants, min_size=1, max_size=12))
def test_a_date_unixtime_as_its_number_normalises_the_same(values: list[Any]) -> None:
    """``_Batch.add_row`` hands a digit-only ``date_unixtime`` (up to 15 digits) over as the
    number it spells: ``normalise_frame`` gives the same frame and rejections as from the
    text."""
    from zoneinfo import ZoneInfo

    from groupops.importers.telegram import _Batch, _Row
    from groupops.ingest.normalise import normalise_frame

    batch = _Batch("x.json")
    for n, value in enumerate(values):
        batch.add_row(_Row(str(n), "user1", "a", value, "text", "t", None, [], False, n + 1,
                           "g", "{}"))  # fmt: skip
    (frame,) = list(batch.flush())
    assert isinstance(frame, pd.DataFrame)
    as_text = frame.copy()
    as_text["sent_at"] = pd.Series(values, dtype=object)
    tz = ZoneInfo("Asia/Shanghai")

    def outcome(f: pd.DataFrame) -> Any:
        try:
            return normalise_frame("messages", f, tz)
        except Exception as exc:  # past pandas' range: the same failure either way
            return type(exc)

    got, want = outcome(frame), outcome(as_text)
    if isinstance(got, type) or isinstance(want, type):
        assert got == want
        return
    pd.testing.assert_frame_equal(got.frame, want.frame)
    assert got.rejected == want.rejected
