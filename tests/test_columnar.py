"""The columnar fast path for canonical JSONL gives exactly what the per-line reader gives.

A chunk of clean canonical lines is read by pyarrow in one go (``groupops.ingest.columnar``);
a chunk holding anything the per-line reader must judge is read line by line. Property: for
any mix of good and bad lines, ingesting a bundle with the fast path and without it stores the
same rows and quarantines the same records (file, line, field, reason, raw text), in chunks of
any size. The store is SQLite here (the fast path ends before the store; the store's own
behaviour on both backends is tests/test_ingest.py's)."""

from __future__ import annotations

import io
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.json as pj
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from groupops.canonical import FIELDS, Entity
from groupops.db import make_engine, upgrade
from groupops.ingest import columnar as reader
from groupops.ingest import open_bundle, run_ingest
from groupops.ingest.columnar import read_columnar
from groupops.ingest.limits import Limits, Line, bounded_lines
from groupops.policy import Policy
from tests.bundles import GROUPS, MEMBERS, MEMBERSHIPS, jsonl, message
from tests.stored import stored

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
POLICY = Policy()


def _dump(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False)


# One good message line, varied the ways a clean export varies.
good_messages = st.builds(
    lambda n, group, sender, at, kind, text, mentions, flags, style: _dump(
        message(
            n,
            group=group,
            sender=sender,
            kind=kind,
            text=text,
            mentions=mentions,
            mention_all=flags[0],
            pinned=flags[1],
            sent_at=at
            if style == "iso"
            else int(datetime.fromisoformat(at).timestamp() * (1000 if style == "ms" else 1)),
        )
    ),
    st.integers(0, 30),
    st.sampled_from(["proj", "mkt"]),
    st.sampled_from(["u1", "u2", "u3", " u4 "]),
    st.sampled_from(["2026-11-02T09:00:00+08:00", "2026-11-03T18:30:05+08:00"]),
    st.sampled_from(["text", "image", "TEXT", " file "]),
    st.one_of(st.none(), st.text(max_size=8)),
    st.lists(st.sampled_from(["u1", "u2", "", " u3"]), max_size=3),
    st.tuples(st.booleans(), st.booleans()),
    st.sampled_from(["iso", "s", "ms"]),
)

# Lines the per-line reader must judge (each is a quarantine, a coercion or a skip there).
odd_lines = st.sampled_from(
    [
        "{not json",
        "[1, 2]",
        '"a string"',
        "",
        "   ",
        _dump(message(40, sent_at="2026-11-02 09:00:00")),  # naive: read in the policy zone
        _dump(message(41, sent_at="yesterday")),
        _dump(message(42, sent_at=None)),
        _dump(message(43, kind="sticker")),
        _dump(message(44, group="nope")),
        _dump(message(45, sent_at="2099-01-01T00:00:00+08:00")),
        _dump({**message(46), "message_id": 46}),  # a number for an id
        _dump({**message(47), "message_id": 47.0}),
        _dump(message(48, mention_all="yes")),
        _dump(message(49, mentions="u1;u2")),
        _dump(message(50, mentions=[1, 2])),
        _dump(message(51, text="a\u0000b")),
        _dump(message(52, text="tab\tand\x1b")),
        _dump(message(53, pinned=1)),
        _dump({k: v for k, v in message(54).items() if k != "sender_id"}),
        _dump({**message(55), "extra": {"nested": True}}),
        '{"platform": "wecom", "platform": "wecom", "group_id": "proj"}',
        _dump(message(56)) + _dump(message(57)),  # two objects on one line
        _dump(message(58)) + "\r",
        "\ufeff" + _dump(message(59)),
    ]
)

lines = st.lists(st.one_of(good_messages, good_messages, good_messages, odd_lines), max_size=25)


def _bundle(folder: Path, message_lines: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "groups.jsonl").write_text(jsonl(GROUPS), encoding="utf-8")
    (folder / "members.jsonl").write_text(jsonl(MEMBERS), encoding="utf-8")
    (folder / "memberships.jsonl").write_text(jsonl(MEMBERSHIPS), encoding="utf-8")
    text = "".join(line + "\n" for line in message_lines)
    (folder / "messages.jsonl").write_bytes(text.encode("utf-8"))
    return folder


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "empty.db"
    upgrade(f"sqlite:///{path}")
    return path


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(message_lines=lines, chunk_size=st.integers(1, 8))
def test_fast_path_and_per_line_path_store_and_quarantine_the_same(
    template: Path, tmp_path_factory: pytest.TempPathFactory, message_lines: list[str],
    chunk_size: int,
) -> None:  # fmt: skip
    work = tmp_path_factory.mktemp("columnar")
    bundle = _bundle(work / "bundle", message_lines)
    results = []
    for columnar in (True, False):
        db = work / f"{columnar}.db"
        shutil.copy(template, db)
        url = f"sqlite:///{db}"
        engine = make_engine(url)
        summary = run_ingest(
            open_bundle(bundle, columnar=columnar), engine, POLICY, now=NOW, chunk_size=chunk_size
        )
        engine.dispose()
        results.append((summary.as_dict(), *stored(url)))
    (fast_summary, fast_rows, fast_quarantine), (slow_summary, slow_rows, slow_quarantine) = results
    pd.testing.assert_frame_equal(fast_rows, slow_rows)
    assert fast_quarantine == slow_quarantine
    for key in ("loaded", "updated", "unchanged", "quarantined", "entities"):
        assert fast_summary[key] == slow_summary[key]


def _numbered(text: str) -> list[Line]:
    return list(bounded_lines(io.BytesIO(text.encode("utf-8")), Limits()))


def test_clean_chunks_go_columnar_and_a_bad_line_sends_only_its_chunk_line_by_line(
    tmp_path: Path,
) -> None:
    good = [_dump(message(n)) for n in range(6)]
    bundle = _bundle(tmp_path / "b", [*good[:3], "{broken", *good[3:]])
    chunks = list(open_bundle(bundle).chunks("messages", 3))
    kinds = [type(chunk).__name__ for chunk in chunks]
    assert kinds == ["DataFrame", "list", "DataFrame"]  # lines 1-3, 4-6 (the broken one), 7
    assert [len(c) for c in chunks] == [3, 3, 1]


def test_columnar_frame_keeps_lines_and_raw_text() -> None:
    text = "".join(_dump(message(n, text=f"第{n}条")) + "\n" for n in range(3))
    frame = read_columnar("messages", "messages.jsonl", _numbered(text))
    assert frame is not None
    assert frame["_line"].tolist() == [1, 2, 3]
    assert frame["_raw"].tolist() == text.splitlines()
    assert frame["message_id"].tolist() == ["m0", "m1", "m2"]
    assert frame["mentions"].tolist() == [[], [], []]


@pytest.mark.parametrize(
    "line",
    [
        _dump(message(1, text="nul \u0000")),
        _dump(message(1, text="esc \x1b")),
        _dump({**message(1), "message_id": 1}),
        _dump(message(1, mention_all="true")),
        _dump(message(1)) + _dump(message(2)),
        "{}  ",
        "\ufeff" + _dump(message(1)),
        _dump(message(1, text="x" * 70_000)),
    ],
)
def test_what_the_per_line_reader_must_judge_is_never_read_columnar(line: str) -> None:
    text = _dump(message(0)) + "\n" + line + "\n"
    assert read_columnar("messages", "messages.jsonl", _numbered(text)) is None


# --- the reader's cheaper checks (2026-12-01) against the code they replaced ------------------


def _reference_may_hold_controls(block: bytes) -> bool:
    """The pre-check before it looked at the bytes after each backslash at once."""
    return (
        len(block.translate(None, reader._RAW_CONTROL_BYTES)) != len(block)
        or b"\\u00" in block
        or b"\\b" in block
        or b"\\f" in block
        or b"\\r" in block
    )


def _reference_read_columnar(entity: Entity, source: str, lines: list[Line]) -> pd.DataFrame | None:
    """``read_columnar`` before it built the raw text column in Arrow: the chunk decoded
    and split into one Python string per line, the line shape counted in two scans."""
    if not lines:
        return None
    raws = [line.data for line in lines]
    sizes = list(map(len, raws))
    if sum(sizes) != sum(line.length for line in lines):
        return None
    if max(sizes) > reader.MAX_FAST_LINE_BYTES or min(sizes) < 2:
        return None
    block = b"\n".join(raws) + b"\n"
    count = len(raws)
    if block[:1] != b"{" or block.count(b"}\n") != count or block.count(b"\n{") != count - 1:
        return None
    if b"\r" in block:
        return None
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        return None
    schema = reader._schema(entity, raws[0])
    if schema is None:
        return None
    options = pj.ParseOptions(
        explicit_schema=schema, unexpected_field_behavior="ignore", newlines_in_values=False
    )
    try:
        table = pj.read_json(io.BytesIO(block), parse_options=options)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != len(raws):
        return None
    columns = {name: table.column(name) for name in schema.names}
    if _reference_may_hold_controls(block) and any(
        reader._has_controls(c) for c in columns.values()
    ):
        return None
    frame = pd.DataFrame(
        {spec.name: reader._series(spec, columns[spec.name]) for spec in FIELDS[entity]},
        index=pd.RangeIndex(len(raws)),
    )
    frame["_source"] = pd.Series([source] * len(raws), dtype=object)
    frame["_line"] = pd.Series([line.number for line in lines], dtype="int64")
    frame["_raw"] = pd.Series(text.split("\n")[:-1], dtype=object)
    return frame


# Byte pieces that sit on the reader's edges: escapes of control characters (and near misses),
# raw controls, broken or surrogate UTF-8, braces, a CR.
_PIECES = [
    b"\\u0000", b"\\u001b", b"\\u00e9", b"\\u0", b"\\u", b"\\", b"\\\\", b"\\\\b", b"\\b", b"\\f",
    b"\\r", b"\\n", b"\\t", b"\\x", b"\x1b", b"\x7f", b"\x00", b"\t", b"\r", b"\xff", b"\xe4",
    b"\xb8\xad", b"\xed\xa0\x80", b"\xc0\x80", "中".encode(), b"}", b"{", b"u00", b"b", b'"',
]  # fmt: skip
_pieces = st.lists(st.sampled_from(_PIECES), max_size=6).map(b"".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_pieces, st.binary(max_size=8)), max_size=8).map(b"".join))
def test_control_precheck_answers_as_the_four_scans_did(block: bytes) -> None:
    assert reader._may_hold_controls(block) == _reference_may_hold_controls(block)


@st.composite
def _byte_lines(draw: st.DrawFn) -> list[Line]:
    out = []
    for number in range(1, draw(st.integers(1, 6)) + 1):
        data = draw(good_messages).encode("utf-8")
        if draw(st.booleans()):  # a piece put somewhere in the line (maybe inside a string)
            at = draw(st.integers(0, len(data)))
            data = data[:at] + draw(_pieces) + data[at:]
        data = data.replace(b"\n", b"")  # a line holds no line end
        out.append(Line(number, data, len(data) + draw(st.sampled_from([0, 0, 0, 1]))))
    return out


@settings(max_examples=300, deadline=None)
@given(_byte_lines())
def test_columnar_reader_takes_and_builds_what_the_previous_reader_did(lines: list[Line]) -> None:
    new = read_columnar("messages", "messages.jsonl", lines)
    old = _reference_read_columnar("messages", "messages.jsonl", lines)
    assert (new is None) == (old is None)
    if new is not None and old is not None:
        assert new["_raw"].tolist() == old["_raw"].tolist()
        pd.testing.assert_frame_equal(new.drop(columns="_raw"), old.drop(columns="_raw"))
