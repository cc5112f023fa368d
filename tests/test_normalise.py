"""Normalisation of raw records, field by field (pure; no store)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from groupops.canonical import RawRecord, RecordError
from groupops.clock.timeparse import parse_instant
from groupops.ingest.normalise import normalise

SHANGHAI = ZoneInfo("Asia/Shanghai")
BASE = {
    "platform": "wecom",
    "group_id": "g1",
    "message_id": "m1",
    "sender_id": "u1",
    "sent_at": "2026-11-02T09:00:00+08:00",
    "kind": "text",
}


def _one(**fields: Any) -> tuple[pd.DataFrame, list[str]]:
    data = {**BASE, **fields}
    result = normalise(
        "messages", [RawRecord("messages", "m.jsonl", 7, "{raw}", data=data)], SHANGHAI
    )
    return result.frame, [f"{r.field}: {r.reason}" for r in result.rejected]


NINE_AM_SHANGHAI = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("sent_at", "expected"),
    [
        ("2026-11-02T09:00:00+08:00", NINE_AM_SHANGHAI),
        ("2026-11-02T01:00:00Z", NINE_AM_SHANGHAI),
        ("2026-11-02T01:00:00+00:00", NINE_AM_SHANGHAI),
        ("2026-11-02 09:00:00", NINE_AM_SHANGHAI),  # naive: the policy's zone
        ("2026-11-02T09:00", NINE_AM_SHANGHAI),
        (1793581200, NINE_AM_SHANGHAI),  # epoch seconds
        (1793581200000, NINE_AM_SHANGHAI),  # epoch milliseconds
        ("1793581200", NINE_AM_SHANGHAI),  # as text (CSV)
        ("1793581200000", NINE_AM_SHANGHAI),
        (1793581200.5, datetime(2026, 11, 2, 1, 0, 0, 500000, tzinfo=UTC)),
        ("2026-11-02T10:00:00+09:00", NINE_AM_SHANGHAI),
    ],
)
def test_instants_become_aware_utc(sent_at: object, expected: datetime) -> None:
    frame, errors = _one(sent_at=sent_at)
    assert errors == []
    assert frame.at[0, "sent_at"] == pd.Timestamp(expected)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        (
            {"sent_at": "yesterday"},
            "sent_at: not an ISO 8601 time or epoch seconds/milliseconds: 'yesterday'",
        ),
        (
            {"sent_at": "2026-13-45"},
            "sent_at: not an ISO 8601 time or epoch seconds/milliseconds: '2026-13-45'",
        ),
        ({"sent_at": True}, "sent_at: not an ISO 8601 time or epoch seconds/milliseconds: True"),
        ({"pinned": "maybe"}, "pinned: not a boolean (true/false): 'maybe'"),
        ({"mentions": "[not json"}, "mentions: not a JSON list of ids: '[not json'"),
        ({"mentions": [{"id": 1}]}, "mentions: not a list of ids: [{'id': 1}]"),
        ({"mention_all": 3}, "mention_all: not a boolean (true/false): 3"),
    ],
)
def test_unreadable_values_are_rejected_naming_the_field(
    fields: dict[str, Any], error: str | None
) -> None:
    frame, errors = _one(**fields)
    if error is None:
        assert errors == [] and frame["sent_at"].isna().all()
    else:
        assert errors == [error]
        assert frame.empty


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("message_id", 12345, "12345"),
        ("message_id", 12345.0, "12345"),
        ("message_id", "  m1 ", "m1"),
        ("kind", " TEXT ", "text"),
        ("text", None, ""),
        ("reply_to", "", None),
        ("mentions", None, []),
        ("mentions", "u2;u3", ["u2", "u3"]),
        ("mentions", "u2, u3", ["u2", "u3"]),
        ("mentions", '["u2","u3"]', ["u2", "u3"]),
        ("mentions", ["u2", 7], ["u2", "7"]),
        ("pinned", "yes", True),
        ("pinned", "0", False),
        ("pinned", None, False),
        ("mention_all", 1, True),
    ],
)
def test_values_are_coerced(field: str, value: object, expected: object) -> None:
    frame, errors = _one(**{field: value})
    assert errors == []
    assert frame.at[0, field] == expected


def test_reader_errors_pass_through_with_location() -> None:
    rec = RawRecord(
        "messages", "m.jsonl", 3, "{broken", error=RecordError("(line)", "not valid JSON")
    )
    result = normalise("messages", [rec], SHANGHAI)
    assert result.frame.empty
    [rej] = result.rejected
    assert (rej.source, rej.line, rej.field, rej.reason, rej.raw) == (
        "m.jsonl",
        3,
        "(line)",
        "not valid JSON",
        "{broken",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-20T18:00:00+08:00", datetime(2026, 11, 20, 10, tzinfo=UTC)),
        ("2026-11-20 18:00", datetime(2026, 11, 20, 10, tzinfo=UTC)),
        ("2026-11-20", datetime(2026, 11, 19, 16, tzinfo=UTC)),
        ("2026-11-20T10:00:00Z", datetime(2026, 11, 20, 10, tzinfo=UTC)),
        ("1795168800", datetime(2026, 11, 20, 10, tzinfo=UTC)),
    ],
)
def test_parse_instant(text: str, expected: datetime) -> None:
    assert parse_instant(text, SHANGHAI) == expected


@pytest.mark.parametrize("text", ["", "soon", "2026-02-30"])
def test_parse_instant_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_instant(text, SHANGHAI)
