"""The archive's pure rules as tables: notice titles, stated ends, normalised text, candidates
with one reason each, exemptions, the guard and the importance rules (groupops.archive.rules)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from groupops.archive.rules import (
    Flag,
    Hold,
    important_messages,
    normalise,
    notice_title,
    plan_cleanup,
    stated_end,
)
from groupops.clock.workclock import WorkClock
from groupops.policy import Policy

TZ = ZoneInfo("Asia/Shanghai")
POLICY = Policy()
CLOCK = WorkClock.from_policy(POLICY)
MARKERS = POLICY.notices.markers
AS_OF = datetime(2026, 11, 20, 18, 0, tzinfo=TZ)


def at(day: str) -> datetime:
    """``"11-12 10:00"`` in 2026, Shanghai time."""
    return datetime.strptime(f"2026-{day}", "%Y-%m-%d %H:%M").replace(tzinfo=TZ)


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("【通知】会议室调整：三楼改四楼", "会议室调整"),
        ("【通知】会议室调整（更新）：四楼", "会议室调整"),
        ("【通知】会议室调整（修订）\n四楼", "会议室调整"),
        ("【公告】会议室调整（更正）（更新）", "会议室调整"),
        ("【通知】Office move (updated): floor 4", "Office move"),
        ("通知：报销流程：改为线上", "报销流程"),
        ("大家好，【通知】年会安排:12月", "年会安排"),
        ("【通知】只有一行没有冒号", "只有一行没有冒号"),
        ("【通知】本周五 15:00 消防演练", "本周五 15"),  # the rule: up to the first colon
        ("没有标记的置顶消息：内容", "没有标记的置顶消息"),
    ],
)
def test_notice_title(text: str, title: str) -> None:
    assert notice_title(text, MARKERS) == title


@pytest.mark.parametrize(
    ("text", "sent", "kind", "end"),
    [
        ("【通知】优惠有效期至11月25日", "11-10 09:00", "validity", "11-25 18:00"),
        ("【通知】报名截止11月15日12:00，过期不候", "11-10 09:00", "validity", "11-15 12:00"),
        ("【通知】有效期：11月1日至11月12日", "10-30 09:00", "validity", "11-12 18:00"),
        ("【通知】年会于12月20日晚上7点举行", "11-10 09:00", "event", "12-20 19:00"),
        ("【通知】季度沟通会于11月18日14:00-16:00召开", "11-10 09:00", "event", "11-18 16:00"),
        ("【通知】11月18日下午召开渠道沟通会，议程另发", "11-10 09:00", "event", "11-18 18:00"),
        ("【通知】11月16日起报销走线上审批", "11-10 09:00", None, None),
        ("【通知】新模板已上传共享盘", "11-10 09:00", None, None),
    ],
)
def test_stated_end(text: str, sent: str, kind: str | None, end: str | None) -> None:
    found = stated_end(text, at(sent), CLOCK)
    if kind is None:
        assert found is None
        return
    assert found is not None
    assert (found.kind, found.at) == (kind, at(end or ""))


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("【公告】需求统一在需求池登记。", "【公告】需求统一在需求池登记！", True),
        ("Ｈｅｌｌｏ  World", "hello world", True),
        ("预算已下发", "预算未下发", False),
    ],
)
def test_normalise(a: str, b: str, same: bool) -> None:
    assert (normalise(a) == normalise(b)) is same


def msg(mid: str, sent: str, text: str, **extra: Any) -> dict[str, Any]:
    row = {
        "platform": "wecom", "group_id": extra.pop("group", "g"), "message_id": mid,
        "sender_id": extra.pop("sender", "u3"), "sent_at": at(sent), "kind": "text",
        "text": text, "reply_to": None, "mentions": [], "mention_all": False, "pinned": False,
    }  # fmt: skip
    row.update(extra)
    return row


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    out = pd.DataFrame(rows)
    out["sent_at"] = pd.to_datetime(out["sent_at"], utc=True)
    return out


# (case, messages, expected {message_id: reason}, expected exempt {message_id: why fragment})
CASES: list[tuple[str, list[dict[str, Any]], dict[str, str], dict[str, str]]] = [
    (
        "old notice without an end expires; a fresh one stays",
        [
            msg("a", "11-01 10:00", "【通知】周会改到周二"),
            msg("b", "11-15 10:00", "【通知】周报改模板"),
        ],
        {"a": "expired"},
        {},
    ),
    (
        "a stated end decides, not the age",
        [
            msg("a", "11-01 10:00", "【通知】优惠有效期至11月25日"),
            msg("b", "11-15 10:00", "【通知】报名截止11月18日"),
        ],
        {"b": "expired"},
        {},
    ),
    (
        "a later notice with the same title supersedes; an identical repost is a duplicate",
        [
            msg("a", "11-12 10:00", "【通知】会议室调整：三楼"),
            msg("b", "11-14 10:00", "【通知】会议室调整（更新）：四楼"),
            msg("c", "11-15 10:00", "【通知】会议室调整（更新）：四楼"),
        ],
        {"a": "superseded", "c": "duplicate"},
        {},
    ),
    (
        "long messages repeat within the window; short acknowledgements never do",
        [
            msg("a", "11-10 10:00", "周报模板已经放到共享盘了，请查收"),
            msg("b", "11-12 10:00", "周报模板已经放到共享盘了 请查收"),
            msg("c", "11-12 11:00", "收到"),
            msg("d", "11-12 11:01", "收到"),
            msg("e", "11-19 10:00", "周报模板已经放到共享盘了，请查收"),
        ],
        {"b": "duplicate", "e": "duplicate"},
        {},
    ),
    (
        "outside the window a repost is no duplicate",
        [
            msg("a", "11-01 10:00", "周报模板已经放到共享盘了，请查收"),
            msg("b", "11-10 10:00", "周报模板已经放到共享盘了，请查收"),
        ],
        {},
        {},
    ),
    (
        "duplicates are per group",
        [
            msg("a", "11-10 10:00", "周报模板已经放到共享盘了，请查收"),
            msg("b", "11-11 10:00", "周报模板已经放到共享盘了，请查收", group="h"),
        ],
        {},
        {},
    ),
    (
        "pinned, held and new candidates are exempt with why",
        [
            msg("a", "11-01 10:00", "【公告】群规", pinned=True),
            msg("b", "11-01 10:00", "【通知】旧的安排"),
            msg("c", "11-19 10:00", "周报模板已经放到共享盘了，请查收"),
            msg("d", "11-20 10:00", "周报模板已经放到共享盘了，请查收"),
        ],
        {},
        {"a": "pinned", "b": "legal hold", "d": "newer than"},
    ),
    (
        "off_topic wins over every other reason",
        [
            msg("a", "11-10 10:00", "加微信领优惠券，名额有限速来"),
            msg("b", "11-11 10:00", "加微信领优惠券，名额有限速来"),
        ],
        {"a": "off_topic", "b": "off_topic"},
        {},
    ),
    (
        "messages after as_of are not known yet",
        [
            msg("a", "11-12 10:00", "【通知】会议室调整：三楼"),
            msg("b", "11-21 10:00", "【通知】会议室调整：四楼"),
        ],
        {},
        {},
    ),
]


@pytest.mark.parametrize(("case", "rows", "reasons", "exempt"), CASES, ids=[c[0] for c in CASES])
def test_candidates(
    case: str, rows: list[dict[str, Any]], reasons: dict[str, str], exempt: dict[str, str]
) -> None:
    flagged = (
        {("wecom", "g", m): Flag("ad", "ad_words", 1) for m in ("a", "b")}
        if "off_topic" in case
        else {}
    )
    holds = {("wecom", "g", "b"): Hold("诉讼保全", "legal")} if "held" in case else {}
    plan = plan_cleanup(frame(rows), POLICY, AS_OF, clock=CLOCK, flagged=flagged, holds=holds)
    assert {c.message_id: c.reason for c in plan.candidates} == reasons
    assert {e.message_id for e in plan.exempt} == set(exempt)
    for e in plan.exempt:
        assert exempt[e.message_id] in e.why


def test_already_purged_messages_are_no_candidates_but_still_first_copies() -> None:
    rows = [
        msg("a", "11-12 10:00", "周报模板已经放到共享盘了，请查收"),
        msg("b", "11-13 10:00", "周报模板已经放到共享盘了，请查收"),
    ]
    plan = plan_cleanup(frame(rows), POLICY, AS_OF, clock=CLOCK, purged={("wecom", "g", "a")})
    assert [(c.message_id, c.reason) for c in plan.candidates] == [("b", "duplicate")]


@pytest.mark.parametrize(("stale", "total", "over"), [(2, 10, False), (3, 10, True), (1, 3, True)])
def test_guard_fraction(stale: int, total: int, over: bool) -> None:
    rows = [msg(f"s{i}", "11-01 10:00", f"【通知】旧安排{i}") for i in range(stale)]
    rows += [msg(f"k{i}", "11-19 10:00", f"第{i}条") for i in range(total - stale)]
    plan = plan_cleanup(frame(rows), POLICY, AS_OF, clock=CLOCK)
    (check,) = plan.guard
    assert (check.purge, check.messages, check.over) == (stale, total, over)
    assert bool(plan.refused) is over


def test_importance_rules() -> None:
    groups = pd.DataFrame(
        [{"platform": "wecom", "group_id": "g", "owner_id": "boss", "admin_ids": ["adm"]}]
    )
    rows = [
        msg("pin", "11-10 10:00", "群规", pinned=True),
        msg("all-admin", "11-10 10:01", "@所有人 明天放假", mention_all=True, sender="adm"),
        msg("all-member", "11-10 10:02", "@所有人 拼单吗", mention_all=True, sender="u3"),
        msg("marker", "11-10 10:03", "【重要】预算冻结"),
        msg("minutes", "11-10 10:04", "【会议纪要】周会：结论如下"),
        msg("task", "11-10 10:05", "【任务】@u3 周五前交方案", mentions=["u3"]),
        msg("done", "11-10 10:06", "方案已完成，见共享盘", reply_to="task"),
        msg("done-elsewhere", "11-10 10:07", "已完成"),
        msg("evidence", "11-10 10:08", "随便说说"),
        msg("plain", "11-10 10:09", "午饭吃什么"),
    ]
    found = important_messages(
        frame(rows), groups, POLICY, minutes_ids=[], evidence_ids=[("wecom", "g", "evidence")]
    )
    assert {k[2]: v for k, v in found.items()} == {
        "pin": ["pinned"],
        "all-admin": ["mention_all_by_admin"],
        "marker": ["importance_marker"],
        "minutes": ["meeting_minutes"],
        "task": ["task"],
        "done": ["task_completion"],
        "evidence": ["violation_evidence"],
    }


def test_min_age_is_policy_driven() -> None:
    rows = [
        msg("a", "11-19 10:00", "【通知】会议室调整：三楼"),
        msg("b", "11-19 12:00", "【通知】会议室调整：四楼"),
    ]
    policy = POLICY.model_copy(
        update={"notices": POLICY.notices.model_copy(update={"min_age_hours": 48})}
    )
    plan = plan_cleanup(frame(rows), policy, AS_OF, clock=CLOCK)
    assert [e.message_id for e in plan.exempt] == ["a"]
    plan = plan_cleanup(frame(rows), POLICY, AS_OF + timedelta(hours=0), clock=CLOCK)
    assert [c.message_id for c in plan.candidates] == ["a"]
