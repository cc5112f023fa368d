"""The Telegram metadata pass reads a valid document with its ``messages`` arrays' items left
out (``groupops.importers._jsonstream.keyed_array_items`` and ``Omitting``) and gives the same
events as walking the whole document (``PrefixWalker``, ``messages=False``), which it did
before. Property, over generated valid JSON (strings full of quotes, backslashes, brackets and
escapes, keys spelt with escapes, nested and repeated ``messages`` keys, any whitespace, a
BOM, any scan block size): the same events; and the vectorised bracket scan equals a
character-by-character reference."""

from __future__ import annotations

import io
import json
import random
from collections import deque
from pathlib import Path
from typing import Any

import ijson
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from groupops.importers._jsonstream import (
    Declined,
    Omitting,
    PrefixWalker,
    _top_spans,
    document_events,
    keyed_array_items,
    keyed_array_ranges,
    parse_ranges,
)
from groupops.importers.telegram import TelegramExport
from groupops.ingest.limits import Limits
from tests.test_hostile_json_exports import _documents

TRICKY = '"\\[]{}:,/ \n\tab中\u2028\U0001f600'
strings = st.text(alphabet=st.sampled_from(TRICKY), max_size=8)
keys = st.one_of(
    st.sampled_from(
        ["messages", "name", "id", "type", "chats", "list", 'x"messages', "messages\\"]
    ),
    strings,
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), strings,
                    st.floats(allow_nan=False, allow_infinity=False))  # fmt: skip
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.lists(st.tuples(keys, inner), max_size=4)
    ),
    max_leaves=25,
)
roots = st.one_of(st.lists(st.tuples(keys, values), max_size=6), values)


def _string(text: str, rng: random.Random) -> str:
    """``text`` as a JSON string, some characters escaped whatever they are."""
    out = ['"']
    for ch in text:
        choice = rng.random()
        if ch in '"\\' or ch < " ":
            out.append(json.dumps(ch)[1:-1] if choice < 0.5 else f"\\u{ord(ch):04x}")
        elif choice < 0.15 and ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04X}")
        elif choice < 0.2 and ch == "/":
            out.append("\\/")
        else:
            out.append(ch)
    return "".join(out) + '"'


def _ws(rng: random.Random) -> str:
    return "".join(rng.choice(" \t\n\r") for _ in range(rng.choice([0, 0, 1, 2, 5])))


def _dump(value: Any, rng: random.Random) -> str:
    """JSON text of ``value``: a list of pairs is an object (repeated keys kept), a list of
    other values an array."""
    if isinstance(value, list) and value and all(isinstance(v, tuple) for v in value):
        members = [f"{_ws(rng)}{_string(k, rng)}{_ws(rng)}:{_ws(rng)}{_dump(v, rng)}{_ws(rng)}"
                   for k, v in value]  # fmt: skip
        return "{" + ",".join(members) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_ws(rng) + _dump(v, rng) + _ws(rng) for v in value) + "]"
    if isinstance(value, str):
        return _string(value, rng)
    return json.dumps(value)


def _reference_spans(data: bytes) -> list[tuple[int, int]]:
    """The brackets at depth one, one character at a time."""
    spans, depth, opened = [], 0, -1
    in_string = escaped = False
    for at, byte in enumerate(data):
        ch = chr(byte)
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth == 2:
                opened = at
        elif ch in "]}":
            depth -= 1
            if depth == 1:
                spans.append((opened, at))
    return spans


def _reference_commas(data: bytes) -> list[int]:
    """The commas directly inside a depth-one array or object, one character at a time."""
    commas, depth = [], 0
    in_string = escaped = False
    for at, byte in enumerate(data):
        ch = chr(byte)
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 2:
            commas.append(at)
    return commas


def _events(reader: Any) -> list[Any]:
    return list(document_events(PrefixWalker(reader, Limits()), messages=False))


def _valid(data: bytes) -> bool:
    """What the lean read needs: the document read whole by the C parser, as ``fast_items``."""
    try:
        deque(
            ijson.basic_parse(io.BytesIO(data.removeprefix(b"\xef\xbb\xbf")), use_float=True),
            maxlen=0,
        )
    except ijson.JSONError:
        return False
    return True


def _check(data: bytes, block: int) -> None:
    assert _valid(data)
    assert _top_spans(io.BytesIO(data), block) == _reference_spans(data)
    raw = io.BytesIO(data)
    gaps = keyed_array_items(raw, "messages", block)
    assert _events(Omitting(raw, gaps)) == _events(io.BytesIO(data))
    commas: list[Any] = []
    assert _top_spans(io.BytesIO(data), block, commas) == _reference_spans(data)
    assert [int(c) for part in commas for c in part] == _reference_commas(data)
    # each keyed array's items: one byte range each, read as the C parser reads them
    ranges = keyed_array_ranges(raw, "messages", block)
    assert [(start, end) for start, end, _, _ in ranges] == gaps
    body = data.removeprefix(b"\xef\xbb\xbf")
    shift = len(data) - len(body)
    for start, end, starts, ends in ranges:
        want = next(ijson.items(io.BytesIO(b"[" + data[start:end] + b"]"), "", use_float=True))
        assert starts[0] == start and ends[-1] == end and (starts[1:] == ends[:-1] + 1).all()
        try:
            got = parse_ranges(raw, starts, ends, 0, len(starts))
        except Declined:  # what orjson would read otherwise (a long integer, a lone surrogate)
            continue
        assert got == want and json.dumps(got) == json.dumps(want)
        assert len(body) + shift == len(data)


@settings(max_examples=400, deadline=None)
@given(roots, st.integers(0, 2**32), st.integers(1, 64), st.booleans())
def test_leaving_out_the_messages_items_gives_the_same_events(
    root: Any, seed: int, block: int, bom: bool
) -> None:
    rng = random.Random(seed)
    text = _ws(rng) + _dump(root, rng) + _ws(rng)
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode()
    assume(_valid(data))  # integers past 64 bits: not valid to the C parser
    _check(data, block)


def test_an_export_is_read_without_its_messages(tmp_path: Path) -> None:
    messages = [{"id": n, "text": ['a"]}\\', {"type": "plain", "text": "[{"}]} for n in range(50)]
    doc = {"name": "运营群", "messages": messages, "id": 42, "about": {"messages": [1, 2]}}
    data = json.dumps(doc, ensure_ascii=False, indent=1).encode()
    for block in (1, 7, 1 << 20):
        _check(data, block)
    gaps = keyed_array_items(io.BytesIO(data), "messages")
    assert len(gaps) == 1  # the root's messages only, not the nested key
    assert len(Omitting(io.BytesIO(data), gaps).read(1 << 20)) < 200
    # spelt with an escape, the key is the same key: read, not left out (the walker skips it)
    escaped = data.replace(b'"messages": [', b'"messag\\u0065s": [', 1)
    assert keyed_array_items(io.BytesIO(escaped), "messages") == []
    _check(escaped, 64)


def test_the_fixture_documents_give_the_same_events() -> None:
    for path in _documents():
        data = path.read_bytes()
        if not _valid(data):
            continue  # the lean read is only for documents the C parser read whole
        for block in (3, 4096) if len(data) < 100_000 else (4096,):
            _check(data, block)


def test_the_scan_of_an_export_keeps_its_metadata(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    m = {"id": 1, "type": "message", "date": "2026-11-02T09:00:00",
         "date_unixtime": "1793581200", "from": "李雷", "from_id": "user1", "text": "好"}  # fmt: skip
    path.write_text('{"name": "运营群", "messages": [' + json.dumps(m) + '], "id": 42, '
                    '"type": "private_supergroup"}', encoding="utf-8")  # fmt: skip
    scan = TelegramExport(path)._scan_once()
    assert scan.fast and scan.chats is not None
    chat = scan.chats[0]
    assert chat.meta == {"name": "运营群", "id": 42, "type": "private_supergroup"}
    assert chat.listed and chat.names == {"李雷": "user1"}
