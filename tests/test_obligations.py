"""The obligations engine on small inline conversations (Tuesday 2026-11-24, Shanghai).

Default policy: replies due after 4 working hours, tasks acknowledged within 4 working hours,
default task deadline 3 working days, reminder at 75 %, owner 8 working hours after overdue."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from groupops.activity.answers import marker_regex
from groupops.db.queries import MESSAGE_COLUMNS
from groupops.deadlines.obligations import compute_obligations, to_records
from groupops.policy import Policy

TZ = ZoneInfo("Asia/Shanghai")
POLICY = Policy()
REPLY_ONLY = Policy.model_validate({"replies": {"reply_mode": "reply_only"}})


def at(d: int, h: int, mi: int = 0, mo: int = 11) -> datetime:
    return datetime(2026, mo, d, h, mi, tzinfo=TZ)


def msg(mid: str, sender: str, sent: datetime, text: str = "", **kw: Any) -> dict[str, Any]:
    return {
        "platform": "wecom",
        "group_id": kw.pop("group", "g1"),
        "message_id": mid,
        "sender_id": sender,
        "sent_at": sent,
        "kind": "text",
        "text": text,
        "reply_to": kw.pop("reply_to", None),
        "mentions": kw.pop("mentions", []),
        "mention_all": kw.pop("mention_all", False),
        "pinned": False,
    }


def frame(*rows: dict[str, Any]) -> pd.DataFrame:
    """The shape ``groupops.db.queries.load_messages`` returns."""
    df = pd.DataFrame(list(rows), columns=list(MESSAGE_COLUMNS))
    df["sent_at"] = pd.to_datetime(df["sent_at"], utc=True)
    return df.sort_values("sent_at").reset_index(drop=True)


def overdue_set(ob: Any) -> set[tuple[str, str, str]]:
    return {(r.kind, r.message_id, r.assignee_id) for r in ob.overdue.itertuples()}


ASK = msg("m1", "alice", at(24, 10), "@bob 报价单发我一下", mentions=["bob"])


@pytest.mark.parametrize(
    ("later", "as_of", "policy", "expected"),
    [
        ([], at(24, 15, 29), POLICY, set()),  # due 15:30 (2 h before lunch, 2 h after)
        ([], at(24, 15, 31), POLICY, {("reply", "m1", "bob")}),
        ([msg("m2", "bob", at(24, 11), "在开会")], at(25, 10), POLICY, set()),  # next message
        (
            [msg("m2", "bob", at(24, 11), "在开会")],
            at(25, 10),
            REPLY_ONLY,
            {("reply", "m1", "bob")},
        ),
        ([msg("m2", "bob", at(24, 11), "好", reply_to="m1")], at(25, 10), REPLY_ONLY, set()),
        (
            [msg("m2", "bob", at(24, 16), "好", reply_to="m1")],
            at(24, 15, 59),
            POLICY,
            {("reply", "m1", "bob")},
        ),
        ([msg("m2", "bob", at(24, 16), "好", reply_to="m1")], at(24, 16), POLICY, set()),
        (
            [msg("m2", "bob", at(24, 11), "hi", group="g2")],
            at(25, 10),
            POLICY,
            {("reply", "m1", "bob")},
        ),
        (
            [msg("m2", "carol", at(24, 11), "我来", reply_to="m1")],
            at(25, 10),
            POLICY,
            {("reply", "m1", "bob")},
        ),
    ],
    ids=[
        "before the deadline",
        "just after the deadline",
        "any_message: the next message answers",
        "reply_only: the next message does not answer",
        "reply_only: a reply answers",
        "a message at as_of counts only after it",
        "the same reply one minute later resolves",
        "a message in another group does not answer",
        "someone else's reply does not answer",
    ],
)
def test_reply_requests(
    later: list[dict[str, Any]], as_of: datetime, policy: Policy, expected: set[Any]
) -> None:
    ob = compute_obligations(frame(ASK, *later), policy, as_of)
    assert overdue_set(ob) == expected


def test_not_requests_at_all_self_mentions_and_tasks() -> None:
    messages = frame(
        msg("m1", "alice", at(24, 10), "@所有人 下午开会", mentions=["bob"], mention_all=True),
        msg("m2", "alice", at(24, 10, 1), "@alice 备忘", mentions=["alice"]),
        msg("m3", "alice", at(24, 10, 2), "【任务】@bob 整理报表", mentions=["bob"]),
    )
    ob = compute_obligations(messages, POLICY, at(26, 10))
    assert set(ob.items["kind"]) == {"task_ack", "task_done"}
    assert list(ob.tasks["message_id"]) == ["m3"]


def test_overdue_minutes_and_the_escalation_ladder() -> None:
    messages = frame(ASK)
    reminder = compute_obligations(messages, POLICY, at(24, 14, 45))  # 75 % of 4 h: 14:30
    item = reminder.items.iloc[0]
    assert item["reminder_at"] == pd.Timestamp(at(24, 14, 30))
    assert (item["overdue"], item["escalation"]) == (False, 0)
    assert list(reminder.reminders["key"]) == ["reply:wecom:g1:m1:bob"]
    assert list(reminder.reminders["step"]) == [0]

    admins = compute_obligations(messages, POLICY, at(24, 16))
    row = admins.overdue.iloc[0]
    assert (row["overdue_working_minutes"], row["escalation"]) == (30, 1)
    assert row["due_at"] == pd.Timestamp(at(24, 15, 30))
    assert row["requester_id"] == "alice"

    # 15:30-18:00 (150) + Wed 9-12 (180) + 13:30-16:00 (150) = 480 = 8 working hours.
    owner = compute_obligations(messages, POLICY, at(25, 16))
    assert owner.overdue.iloc[0]["overdue_working_minutes"] == 480
    assert owner.overdue.iloc[0]["escalation"] == 2
    assert compute_obligations(messages, POLICY, at(25, 15, 59)).overdue.iloc[0]["escalation"] == 1


def test_the_deadline_skips_the_national_day_holiday() -> None:
    ask = msg("m1", "alice", at(30, 16, mo=9), "@bob 节前确认一下", mentions=["bob"])
    ob = compute_obligations(frame(ask), POLICY, at(8, 11, mo=10))
    # 16:00-18:00 on 9/30, then Oct 1-7 off: due 10/8 11:00.
    assert ob.items.iloc[0]["due_at"] == pd.Timestamp(at(8, 11, mo=10))
    assert ob.overdue.empty
    late = compute_obligations(frame(ask), POLICY, at(8, 11, 30, mo=10))
    assert late.overdue.iloc[0]["overdue_working_minutes"] == 30


TASK = msg(
    "t1",
    "alice",
    at(24, 10),
    "【任务】@bob @carol 整理客户报表，本周五前",
    mentions=["bob", "carol"],
)


def task_row(ob: Any, assignee: str = "bob") -> pd.Series:
    rows = ob.tasks[ob.tasks["assignee_id"] == assignee]
    assert len(rows) == 1
    return rows.iloc[0]


def test_task_deadline_from_the_text_and_one_task_per_assignee() -> None:
    ob = compute_obligations(frame(TASK), POLICY, at(24, 11))
    assert sorted(ob.tasks["assignee_id"]) == ["bob", "carol"]
    row = task_row(ob)
    assert row["deadline"] == pd.Timestamp(at(27, 18))
    assert row["deadline_source"] == "text"
    assert row["ack_due_at"] == pd.Timestamp(at(24, 15, 30))
    assert row["state"] == "open"
    assert pd.isna(row["committed_deadline"])


def test_task_default_deadline_is_three_working_days() -> None:
    task = msg("t1", "alice", at(24, 10), "#任务 @bob 更新官网文案", mentions=["bob"])
    row = task_row(compute_obligations(frame(task), POLICY, at(24, 11)))
    assert (row["deadline"], row["deadline_source"]) == (pd.Timestamp(at(27, 10)), "default")


@pytest.mark.parametrize(
    ("later", "as_of", "state", "overdue"),
    [
        ([], at(24, 15), "open", set()),
        ([], at(24, 15, 31), "ack_overdue", {("task_ack", "t1", "bob")}),
        ([msg("r1", "bob", at(24, 11), "收到", reply_to="t1")], at(25, 10), "acknowledged", set()),
        ([msg("r1", "bob", at(24, 11), "好的，周五前给")], at(25, 10), "acknowledged", set()),
        (
            [msg("r1", "bob", at(24, 11), "I will book a room")],
            at(25, 10),
            "ack_overdue",
            {("task_ack", "t1", "bob")},
        ),
        (
            [msg("r1", "bob", at(24, 11), "收到", reply_to="x9")],
            at(25, 10),
            "ack_overdue",
            {("task_ack", "t1", "bob")},
        ),
        ([], at(27, 18, 1), "overdue", {("task_ack", "t1", "bob"), ("task_done", "t1", "bob")}),
        (
            [msg("r1", "bob", at(24, 11), "收到", reply_to="t1")],
            at(27, 18, 1),
            "overdue",
            {("task_done", "t1", "bob")},
        ),
        ([msg("r1", "bob", at(26, 11), "报表已完成", reply_to="t1")], at(30, 10), "done", set()),
        ([msg("r1", "bob", at(26, 11), "已完成")], at(30, 10), "done", set()),
        (
            [msg("r1", "bob", at(28, 11, mo=12), "已完成")],
            at(30, 10),
            "overdue",
            {("task_ack", "t1", "bob"), ("task_done", "t1", "bob")},
        ),
    ],
    ids=[
        "open",
        "not acknowledged in 4 working hours",
        "acknowledged by a reply",
        "acknowledged by an ack word (any_message)",
        "ok inside book is not an ack word",
        "an ack replying to another message does not count",
        "past the deadline",
        "acknowledged but past the deadline",
        "done by a reply",
        "done by a completion word (any_message)",
        "a completion after as_of is not seen",
    ],
)
def test_task_states(
    later: list[dict[str, Any]], as_of: datetime, state: str, overdue: set[Any]
) -> None:
    ob = compute_obligations(frame(TASK, *later), POLICY, as_of)
    assert task_row(ob)["state"] == state
    assert {o for o in overdue_set(ob) if o[2] == "bob"} == overdue


def test_reply_only_mode_needs_replies_for_tasks() -> None:
    later = [msg("r1", "bob", at(24, 11), "好的"), msg("r2", "bob", at(26, 11), "已完成")]
    ob = compute_obligations(frame(TASK, *later), REPLY_ONLY, at(26, 12))
    assert task_row(ob)["state"] == "ack_overdue"


def test_a_time_stated_in_the_ack_becomes_the_committed_deadline() -> None:
    ack = msg("r1", "bob", at(24, 11), "收到，明天下午3点前给到", reply_to="t1")
    ob = compute_obligations(frame(TASK, ack), POLICY, at(25, 16))
    row = task_row(ob)
    assert row["committed_deadline"] == pd.Timestamp(at(25, 15))
    assert row["effective_deadline"] == pd.Timestamp(at(25, 15))
    assert row["ack_message_id"] == "r1"
    assert row["state"] == "overdue"
    item = ob.overdue[ob.overdue["assignee_id"] == "bob"].iloc[0]
    assert (item["kind"], item["overdue_working_minutes"]) == ("task_done", 60)
    assert item["due_at"] == pd.Timestamp(at(25, 15))


def test_a_later_reply_stating_a_time_commits_too() -> None:
    later = [
        msg("r1", "bob", at(24, 11), "收到", reply_to="t1"),
        msg("r2", "bob", at(24, 14), "周四上午10点前给", reply_to="t1"),
    ]
    row = task_row(compute_obligations(frame(TASK, *later), POLICY, at(24, 15)))
    assert row["committed_deadline"] == pd.Timestamp(at(26, 10))
    assert row["state"] == "acknowledged"


def test_an_uncued_date_in_a_later_reply_or_the_completion_report_commits_nothing() -> None:
    later = [
        msg("r1", "bob", at(24, 11), "收到", reply_to="t1"),
        msg("r2", "bob", at(24, 14), "明天要出差", reply_to="t1"),
        msg("r3", "bob", at(30, 10), "已完成，抱歉拖到今天", reply_to="t1"),
    ]
    row = task_row(compute_obligations(frame(TASK, *later), POLICY, at(30, 11)))
    assert pd.isna(row["committed_deadline"])
    assert row["effective_deadline"] == pd.Timestamp(at(27, 18))
    assert row["state"] == "done"


def test_repeated_non_response_is_a_violation() -> None:
    asks = [
        msg(f"m{i}", "alice", at(2 + i, 10), f"@bob 第{i}个问题", mentions=["bob"])
        for i in range(1, 4)
    ] + [msg("c1", "alice", at(5, 10), "@carol 在吗", mentions=["carol"])]
    answered_late = msg("b1", "bob", at(3, 17), "抱歉，刚看到", reply_to="m1")
    ob = compute_obligations(frame(*asks, answered_late), POLICY, at(10, 10))
    assert len(ob.violations) == 1
    v = ob.violations.iloc[0]
    assert (v["member_id"], v["type"], v["period"], v["count"]) == (
        "bob",
        "non-response",
        "2026-11",
        3,
    )
    assert v["evidence_message_ids"] == ["m1", "m2", "m3"]
    assert compute_obligations(frame(*asks[:2]), POLICY, at(10, 10)).violations.empty


def test_reproducible_for_an_explicit_as_of() -> None:
    later = [msg("m2", "bob", at(24, 17), "好", reply_to="m1")]
    full = frame(ASK, *later)
    a = compute_obligations(full, POLICY, at(24, 16))
    b = compute_obligations(frame(ASK), POLICY, at(24, 16))
    pd.testing.assert_frame_equal(a.items, b.items)
    assert to_records(a.overdue) == to_records(b.overdue)


def test_groups_add_owner_and_admins() -> None:
    groups = pd.DataFrame(
        [
            {
                "platform": "wecom",
                "group_id": "g1",
                "name": "项目群",
                "category": "project",
                "owner_id": "boss",
                "admin_ids": ["adm"],
            }
        ]
    )
    ob = compute_obligations(frame(ASK), POLICY, at(24, 16), groups=groups)
    assert ob.items.iloc[0]["owner_id"] == "boss"
    assert ob.items.iloc[0]["admin_ids"] == ["adm"]


def test_empty_input() -> None:
    ob = compute_obligations(frame(), POLICY, at(24, 16))
    assert ob.items.empty and ob.overdue.empty and ob.tasks.empty and ob.violations.empty


@pytest.mark.parametrize(
    ("text", "hit"),
    [
        ("ok", True),
        ("OK!", True),
        ("book", False),
        ("收到", True),
        ("will do it", True),
        ("好的呀", True),
    ],
)
def test_marker_matching(text: str, hit: bool) -> None:
    import re

    assert bool(re.search(marker_regex(POLICY.tasks.ack_markers), text)) is hit
