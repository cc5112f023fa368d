"""Telegram and Discord JSON exports streamed with ijson (issue 14): the stream rebuilds what a
whole-document parse gives, one message at a time; a message past ``max_record_bytes`` is
quarantined and the rest load; a broken document loads up to the break and says where it
stopped (docs/security.md)."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from groupops.canonical import RawRecord
from groupops.importers._jsonstream import (
    Chat,
    Item,
    Messages,
    Meta,
    NotObject,
    StreamError,
    TooLong,
    Walker,
    document_events,
)
from groupops.importers.discord import DiscordExport
from groupops.importers.telegram import TelegramExport
from groupops.ingest.limits import Limits

FIXTURES = Path(__file__).parent / "fixtures" / "exports"
SAMPLES = Path(
    os.environ.get(
        "GROUPOPS_SAMPLES", Path(__file__).resolve().parents[1].parent / "shared" / "samples"
    )
)
RECORD = 4096


def _documents() -> list[Path]:
    found = sorted((FIXTURES / "telegram").rglob("*.json")) + sorted(
        (FIXTURES / "discord").rglob("*.json")
    )
    for folder in ("telegram-export", "discord-chatexporter"):  # read in place, never copied
        if (SAMPLES / folder).is_dir():
            found += sorted(p for p in (SAMPLES / folder).rglob("*.json") if p.is_file())
    return found


def _rebuild(data: bytes) -> Any:
    """The document as the stream's events rebuild it (chats of an account export under
    ``chats.list``; the sections' other keys are not read, so they are left out)."""
    doc: dict[str, Any] = {}
    chats: dict[int, Any] = {}
    for event in document_events(Walker(io.BytesIO(data), Limits())):
        if isinstance(event, NotObject):
            return None
        target = doc if event.chat == 0 else chats.setdefault(event.chat, {})
        if isinstance(event, Chat) and event.value is not None:
            chats[event.chat] = event.value
        elif isinstance(event, Meta):
            target[event.key] = event.value
        elif isinstance(event, Messages):
            target["messages"] = [] if event.is_list else "(not a list)"
        elif isinstance(event, Item):
            target["messages"].append(event.value)
    if chats:
        doc["chats"] = {"list": [chats[k] for k in sorted(chats)]}
    return doc


def _whole(data: bytes) -> Any:
    """The same from the whole-document parse (orjson, as the importers used to read)."""
    doc = orjson.loads(data.removeprefix(b"\xef\xbb\xbf"))
    if not isinstance(doc, dict):
        return None
    lists = [
        chat
        for key in ("chats", "left_chats")
        if isinstance(doc.get(key), dict) and isinstance(doc[key].get("list"), list)
        for chat in doc[key]["list"]
    ]
    rebuilt = {k: v for k, v in doc.items() if k not in ("chats", "left_chats")}
    if "messages" in rebuilt and not isinstance(rebuilt["messages"], list):
        rebuilt["messages"] = "(not a list)"
    if lists:
        rebuilt["chats"] = {"list": lists}
    return rebuilt


@pytest.mark.parametrize("path", _documents(), ids=lambda p: p.name)
def test_the_stream_rebuilds_the_whole_document(path: Path) -> None:
    data = path.read_bytes()
    assert _rebuild(data) == _whole(data)


# -- bounded values -------------------------------------------------------------------------------


@pytest.fixture
def small_limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from groupops.settings import get_settings

    monkeypatch.setenv("GROUPOPS_MAX_RECORD_BYTES", str(RECORD))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _tg(n: int, **fields: Any) -> dict[str, Any]:
    return {"id": n, "type": "message", "date": "2026-11-02T09:00:00",
            "date_unixtime": str(1793581200 + n), "from": "李雷", "from_id": "user1",
            "text": f"第{n}条", **fields}  # fmt: skip


def _dc(n: int, **fields: Any) -> dict[str, Any]:
    return {"id": str(n), "type": "Default", "timestamp": "2026-11-02T09:00:00+08:00",
            "author": {"id": "1", "name": "li"}, "content": f"第{n}条", **fields}  # fmt: skip


def _write(tmp: Path, fmt: str, messages_json: str) -> TelegramExport | DiscordExport:
    if fmt == "telegram":
        path = tmp / "result.json"
        path.write_text('{"name": "运营群", "type": "private_supergroup", "id": 42, "messages": '
                        + messages_json + "}", encoding="utf-8")  # fmt: skip
        return TelegramExport(path)
    path = tmp / "channel.json"
    head = '{"guild": {"id": "9", "name": "g"}, "channel": {"id": "7", "name": "ops"}, "messages": '
    path.write_text(head + messages_json + "}", encoding="utf-8")
    return DiscordExport(path)


def _messages(source: TelegramExport | DiscordExport) -> list[tuple[int, str]]:
    """(position, text or the quarantine field and reason's start) of every message record."""
    out = []
    for r in source.records("messages"):
        assert isinstance(r, RawRecord)
        if r.data is not None:
            out.append((r.line, str(r.data["text"])))
        else:
            assert r.error is not None
            out.append((r.line, f"{r.error.field} {r.error.reason}"))
    return out


def _body(fmt: str, *parts: Any) -> str:
    make = _tg if fmt == "telegram" else _dc
    return "[" + ", ".join(p if isinstance(p, str) else json.dumps(make(p)) for p in parts) + "]"


def _many_pieces(fmt: str) -> str:
    """A message of 10 kB made of many short strings (every token small): not built."""
    pieces = json.dumps(["片段"] * 2000, ensure_ascii=False)
    if fmt == "telegram":
        return (
            json.dumps({**_tg(2), "text": None})[:-1].replace('"text": null', f'"text": {pieces}')
            + "}"
        )
    return json.dumps({**_dc(2), "attachments": None}).replace(
        '"attachments": null', f'"attachments": {pieces}'
    )


@pytest.mark.parametrize("fmt", ["telegram", "discord"])
@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("many-pieces", [(1, "第1条"), (2, "(record) message of about"), (3, "第3条")]),
        ("one-long-string", [(1, "第1条"), (0, "(file) a single JSON value longer than 4,")]),
        ("broken-json", [(1, "第1条"), (0, "(file) not valid JSON after byte")]),
        ("not-an-object", [(1, "第1条"), (2, "(record) not a JSON object"), (3, "第3条")]),
    ],
)  # fmt: skip
def test_bad_message_is_quarantined_and_the_rest_load(
    small_limits: None, tmp_path: Path, fmt: str, case: str, expected: list[tuple[int, str]]
) -> None:
    body = {
        "many-pieces": _body(fmt, 1, _many_pieces(fmt), 3),
        "one-long-string": _body(fmt, 1, json.dumps({"text": "x" * 300_000}), 3),
        "broken-json": _body(fmt, 1, '{"id": 2, "text": "x" ]', 3),
        "not-an-object": _body(fmt, 1, "[1, 2]", 3),
    }[case]
    got = _messages(_write(tmp_path, fmt, body))
    assert [line for line, _ in got] == [line for line, _ in expected]
    assert all(text.startswith(want) for (_, text), (_, want) in zip(got, expected, strict=True))


def test_a_value_past_the_limit_is_not_built() -> None:
    data = json.dumps({"messages": [["x"] * 5000, {"id": 1}]}).encode()
    events = list(document_events(Walker(io.BytesIO(data), Limits(max_record_bytes=RECORD))))
    assert [type(e).__name__ for e in events] == ["Messages", "Item", "Item"]
    assert isinstance(events[1], Item) and isinstance(events[1].value, TooLong)
    assert isinstance(events[2], Item) and events[2].value == {"id": 1}


def test_file_limit_stops_the_stream() -> None:
    data = json.dumps({"messages": [{"id": n} for n in range(20_000)]}).encode()
    walker = Walker(io.BytesIO(data), Limits(max_file_bytes=100_000))
    seen = []
    with pytest.raises(ValueError, match="max_file_bytes"):
        for event in document_events(walker):
            seen.append(event)
    assert 1000 < len(seen) < 20_000


def test_not_an_object() -> None:
    assert list(document_events(Walker(io.BytesIO(b"[1, 2]"), Limits()))) == [NotObject()]
    with pytest.raises(StreamError, match="not valid JSON after byte 0"):
        list(document_events(Walker(io.BytesIO(b""), Limits())))
