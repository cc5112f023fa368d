"""Pure mapping functions of the connectors, as tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from groupops.connectors import feishu, matrix, slack
from groupops.connectors._http import retry_after_seconds
from groupops.connectors.base import decode_cursor, encode_cursor, pin_changes

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({"Retry-After": "7"}, None, 7.0),
        ({"retry-after": "0.5"}, None, 0.5),
        ({"Retry-After": "Tue, 24 Nov 2026 12:00:30 GMT"}, None, 30.0),
        ({"x-ogw-ratelimit-reset": "3"}, None, 3.0),
        ({}, {"errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": 2500}, 2.5),
        ({"Retry-After": "-4"}, None, 0.0),
        ({}, None, 1.0),
        ({"Retry-After": "soon"}, None, 1.0),
    ],
)
def test_retry_after(headers: dict[str, str], body: Any, expected: float) -> None:
    assert retry_after_seconds(headers, body, now=NOW) == expected


def _event(content: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "type": "m.room.message",
        "event_id": "$e1",
        "sender": "@a:hs",
        "origin_server_ts": 1_767_225_600_000,
        "content": content,
        **extra,
    }


@pytest.mark.parametrize(
    ("content", "extra", "expected"),
    [
        ({"msgtype": "m.text", "body": "hi"}, {}, {"kind": "text", "text": "hi", "mentions": []}),
        ({"msgtype": "m.audio", "body": "v.ogg"}, {}, {"kind": "voice"}),
        ({"msgtype": "m.video", "body": "v.mp4"}, {}, {"kind": "video"}),
        ({"msgtype": "m.file", "body": "a.pdf"}, {}, {"kind": "file"}),
        ({"msgtype": "m.notice", "body": "bot"}, {}, {"kind": "text"}),
        ({"msgtype": "m.text", "body": "@room 开会"}, {}, {"mention_all": True}),
        (
            {"msgtype": "m.text", "body": "@room 开会", "m.mentions": {}},
            {},
            {"mention_all": False},  # m.mentions present: legacy @room detection is off
        ),
        (
            {"msgtype": "m.text", "body": "x", "m.mentions": {"user_ids": ["@b:hs", "@a:hs"]}},
            {},
            {"mentions": ["@b:hs"]},  # self-mentions dropped
        ),
        (
            {
                "msgtype": "m.text",
                "body": "t",
                "m.relates_to": {"rel_type": "m.thread", "event_id": "$root"},
            },
            {},
            {"reply_to": "$root"},
        ),
        (
            {
                "msgtype": "m.text",
                "body": "> <@b:hs> q\n> more\n\nanswer",
                "m.relates_to": {"m.in_reply_to": {"event_id": "$q"}},
            },
            {},
            {"reply_to": "$q", "text": "answer"},
        ),
        (
            {"msgtype": "m.text", "body": "* fixed", "m.relates_to": {"rel_type": "m.replace"}},
            {},
            None,
        ),
        ({}, {"unsigned": {"redacted_because": {"type": "m.room.redaction"}}}, None),
    ],
)
def test_matrix_message_record(
    content: dict[str, Any], extra: dict[str, Any], expected: dict[str, Any] | None
) -> None:
    got = matrix.message_record("!r:hs", _event(content, **extra))
    if expected is None:
        assert got is None
        return
    assert got is not None and got["sent_at"] == "2026-01-01T00:00:00.000+00:00"
    assert {k: got[k] for k in expected} == expected


@pytest.mark.parametrize(
    ("membership", "prev", "sender", "expected"),
    [
        ("join", None, "@m:hs", "join"),
        ("join", "invite", "@m:hs", "join"),
        ("join", "join", "@m:hs", None),  # a display-name change
        ("leave", "join", "@m:hs", "leave"),
        ("leave", "join", "@admin:hs", "removed"),  # kicked
        ("ban", "join", "@admin:hs", "removed"),
        ("invite", None, "@admin:hs", None),
        ("leave", "invite", "@m:hs", "leave"),  # declined an invite
    ],
)
def test_matrix_membership_record(
    membership: str, prev: str | None, sender: str, expected: str | None
) -> None:
    event = {
        "type": "m.room.member",
        "state_key": "@m:hs",
        "sender": sender,
        "origin_server_ts": 1_767_225_600_000,
        "content": {"membership": membership},
        "unsigned": {"prev_content": {"membership": prev}} if prev else {},
    }
    got = matrix.membership_record("!r:hs", event)
    assert (got["event"] if got else None) == expected


@pytest.mark.parametrize(
    ("msg_type", "content", "text"),
    [
        ("text", {"text": "你好"}, "你好"),
        ("post", {"title": "标题", "content": [[{"tag": "text", "text": "a"}, {"tag": "a", "text": "链接", "href": "u"}], [{"tag": "img", "image_key": "k"}]]}, "标题\na链接\n"),
        ("file", {"file_key": "f", "file_name": "方案.pdf"}, "方案.pdf"),
        ("image", {"image_key": "img_1"}, ""),
        ("interactive", {"elements": []}, ""),
    ],
)  # fmt: skip
def test_feishu_message_text(msg_type: str, content: dict[str, Any], text: str) -> None:
    assert feishu.message_text(msg_type, content) == text


@pytest.mark.parametrize(
    ("msg_type", "kind"),
    [("text", "text"), ("post", "text"), ("image", "image"), ("sticker", "image"),
     ("audio", "voice"), ("media", "video"), ("file", "file"), ("share_chat", "link"),
     ("system", "system"), ("interactive", "text")],
)  # fmt: skip
def test_feishu_kinds(msg_type: str, kind: str) -> None:
    item = {"message_id": "om_1", "msg_type": msg_type, "create_time": "1767225600001",
            "sender": {"id": "ou_1"}, "body": {"content": "{}"}}  # fmt: skip
    got = feishu.message_record("oc_1", item)
    assert got is not None and got["kind"] == kind
    assert got["sent_at"] == "2026-01-01T00:00:00.001+00:00"


@pytest.mark.parametrize(
    ("ts", "iso"),
    [
        ("1767225600.000100", "2026-01-01T00:00:00.000100+00:00"),
        ("1767225600.123456", "2026-01-01T00:00:00.123456+00:00"),
        ("1767225600", "2026-01-01T00:00:00+00:00"),
    ],
)
def test_slack_ts(ts: str, iso: str) -> None:
    at = slack.ts_to_datetime(ts)
    assert at.isoformat() == iso
    assert slack.ts_to_datetime(slack.datetime_to_ts(at)) == at


@pytest.mark.parametrize(
    ("text", "mentions", "mention_all"),
    [
        ("<@U1> <@W2|wang> hi", ["U1", "W2"], False),
        ("<!here> 开会", [], True),
        ("<!channel|@channel> 开会", [], True),
        ("<!everyone>", [], True),
        ("<!subteam^S1|@ops> 开会", [], False),
        ("<@U0SELF> 提醒自己", [], False),
    ],
)
def test_slack_mentions(text: str, mentions: list[str], mention_all: bool) -> None:
    got = slack.message_record("C1", {"ts": "1.0", "user": "U0SELF", "text": text})
    assert got is not None and (got["mentions"], got["mention_all"]) == (mentions, mention_all)


@pytest.mark.parametrize(
    ("cursor", "position", "pins"),
    [
        (None, None, None),
        ("s72_1234_5", "s72_1234_5", None),  # a bare platform cursor
        ("1767225600.000100", "1767225600.000100", None),  # a Slack ts is JSON too: still bare
        ('{"position":"om_9","pins":["om_1","om_2"]}', "om_9", frozenset({"om_1", "om_2"})),
        ('{"position":null,"pins":[]}', None, frozenset()),
    ],
)
def test_cursor_decoding(
    cursor: str | None, position: str | None, pins: frozenset[str] | None
) -> None:
    assert decode_cursor(cursor) == (position, pins)
    if pins is not None:
        assert decode_cursor(encode_cursor(position, pins)) == (position, pins)


@pytest.mark.parametrize(
    ("previous", "current", "changed"),
    [
        (None, {"a", "b"}, {"a", "b"}),  # first pull: every current pin
        (frozenset({"a"}), {"a"}, set()),
        (frozenset({"a"}), {"a", "b"}, {"b"}),  # pinned since
        (frozenset({"a", "b"}), {"b"}, {"a"}),  # unpinned since
        (frozenset(), set(), set()),
    ],
)
def test_pin_changes(previous: frozenset[str] | None, current: set[str], changed: set[str]) -> None:
    assert pin_changes(previous, current) == changed
