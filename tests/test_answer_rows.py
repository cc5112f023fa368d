"""The reply rule in row form (groupops/activity/answer_rows.py), the one both row engines use:
who a request asks, what counts as a request, and which answer is first. Both engines are
proven equal to the frame engine in tests/test_row_stats.py and tests/test_obligation_rows.py;
these tables pin the pieces."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from groupops.activity.answer_rows import FirstReply, NextInGroup, asks_reply, earliest, mentioned
from groupops.activity.markers import marker_search

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class M:
    message_id: str
    sender_id: str
    minute: int
    reply_to: str | None = None
    platform: str = "feishu"
    group_id: str = "g1"

    @property
    def sent_at(self) -> datetime:
        return T0 + timedelta(minutes=self.minute)


@pytest.mark.parametrize(
    ("sender", "mentions", "expected"),
    [
        ("a", ["b", "c"], ["b", "c"]),
        ("a", ["a", "b"], ["b"]),  # never the sender
        ("a", ["b", "b", "c", "b"], ["b", "c"]),  # once each, first order
        ("a", [None, "b"], ["b"]),
        ("1", [2, "2", 1], ["2", "1"]),  # as text; the sender compared as stored
        ("a", [], []),
    ],
)
def test_mentioned(sender: str, mentions: list[object], expected: list[str]) -> None:
    assert mentioned(sender, mentions) == expected


TASK = marker_search(["任务", "todo"])
MEETING = marker_search(["会议通知", "纪要"])


@pytest.mark.parametrize(
    ("mentions", "to_all", "text", "expected"),
    [
        (["b"], False, "请看一下", True),
        ((), False, "请看一下", False),  # nobody mentioned
        (None, False, "请看一下", False),
        (["b"], True, "请看一下", False),  # to everyone
        (["b"], None, "请看一下", True),
        (["b"], False, "任务：周五前交", False),  # a task is not a reply request
        (["b"], False, "TODO: slides", False),  # markers ignore case
        (["b"], False, "todos are fine", True),  # ASCII markers only as whole words
        (["b"], False, "周会会议通知", False),  # a meeting message
    ],
)
def test_asks_reply(mentions: object, to_all: object, text: str, expected: bool) -> None:
    assert asks_reply(mentions, to_all, text, TASK, MEETING) is expected


MSGS = [
    M("1", "a", 0),
    M("2", "b", 5, reply_to="1"),
    M("3", "b", 5),  # same minute, later id
    M("4", "b", 9, reply_to="1"),  # a second reply: not the first
    M("5", "c", 20),
    M("6", "b", 30, group_id="g2"),  # another group
]


@pytest.mark.parametrize(
    ("message_id", "member", "expected"),
    [("1", "b", "2"), ("1", "c", None), ("2", "a", None)],
)
def test_first_reply(message_id: str, member: str, expected: str | None) -> None:
    found = FirstReply(MSGS).get("feishu", "g1", message_id, member)
    assert (found.message_id if found else None) == expected


@pytest.mark.parametrize(
    ("member", "after", "expected"),
    [
        ("b", 0, "2"),  # strictly after; ties in the given (id) order
        ("b", 5, "4"),  # not at the same instant
        ("b", 9, None),  # g2's message does not count
        ("c", 0, "5"),
        ("z", 0, None),
    ],
)
def test_next_in_group(member: str, after: int, expected: str | None) -> None:
    found = NextInGroup(MSGS).get("feishu", "g1", member, T0 + timedelta(minutes=after))
    assert (found.message_id if found else None) == expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (MSGS[1], MSGS[3], "2"),
        (MSGS[3], MSGS[1], "2"),
        (MSGS[1], MSGS[2], "2"),  # a tie keeps the first
        (None, MSGS[2], "3"),
        (MSGS[2], None, "3"),
        (None, None, None),
    ],
)
def test_earliest(a: M | None, b: M | None, expected: str | None) -> None:
    found = earliest(a, b)
    assert (found.message_id if found else None) == expected
