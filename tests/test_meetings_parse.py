"""Meeting notices and minutes, Chinese and English, read as expected.

Every message is sent on Tuesday 2026-11-24 at 10:00 in Shanghai; people come from a small
directory (real names, display names, ids)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from groupops.clock.workclock import WorkClock
from groupops.meetings.parse import Names, normalise_topic, parse_minutes, parse_notice
from groupops.policy import Policy

TZ = ZoneInfo("Asia/Shanghai")
CLOCK = WorkClock()
SENT = datetime(2026, 11, 24, 10, 0, tzinfo=TZ)
MP = Policy().meetings
PEOPLE = pd.DataFrame(
    [
        ("wecom", "lilei", "李雷", "李雷"),
        ("wecom", "hanmeimei", "Mei", "韩梅梅"),
        ("wecom", "zhangsan", "张三", "张三"),
        ("wecom", "lisi", "李四", "李四"),
        ("wecom", "zhaolei", "赵磊（前端）", "赵磊"),
        ("wecom", "bob", "Bob", "Bob Smith"),
        ("wecom", "alice", "Alice", "Alice Wong"),
    ],
    columns=["platform", "member_id", "display_name", "real_name"],
)
NAMES = Names(PEOPLE)


def at(mo: int, d: int, h: int = 18, mi: int = 0) -> datetime:
    return datetime(2026, mo, d, h, mi, tzinfo=TZ)


# (text, topic, start, end, place, attendee ids, @all, agenda, cancelled)
NOTICES = [
    (
        "【会议通知】\n主题：产品周会\n时间：11月25日（周三）14:00-15:00\n地点：5楼小会议室\n"
        "参会人员：李雷、韩梅梅、张三\n议程：1. 需求评审；2. 排期",
        "产品周会", at(11, 25, 14), at(11, 25, 15), "5楼小会议室",
        ["lilei", "hanmeimei", "zhangsan"], False, ["需求评审", "排期"], False,
    ),
    (
        "@所有人 【会议通知】\n会议主题：月度复盘\n会议时间：本周五下午3点\n会议室：2楼多功能厅\n"
        "参会人：@所有人",
        "月度复盘", at(11, 27, 15), None, "2楼多功能厅", [], True, [], False,
    ),
    (
        "会议通知：项目启动会\n时间：明天上午10点-11点半\n链接：腾讯会议 482-731-906\n"
        "参会人员：Mei, 赵磊, lisi\n议程：\n1. 背景\n2. 分工\n3. 风险\n请准时参加。",
        "项目启动会", at(11, 25, 10), at(11, 25, 11, 30), "腾讯会议 482-731-906",
        ["hanmeimei", "zhaolei", "lisi"], False, ["背景", "分工", "风险"], False,
    ),
    (
        "【会议通知】主题：需求评审\n时间：11月26日 9:30~10:30\n地点：3楼大会议室",
        "需求评审", at(11, 26, 9, 30), at(11, 26, 10, 30), "3楼大会议室", [], False, [], False,
    ),
    (
        "【会议通知】\n主题：周例会\n时间：下周一 10:00\n地点：3楼",
        "周例会", at(11, 30, 10), None, "3楼", [], False, [], False,
    ),
    (
        "【会议通知】\n主题：预算沟通\n时间：2026-12-01 15:00-16:00\n地点：财务部会议室\n参会人员：张三、李四、王五",
        "预算沟通", at(12, 1, 15), at(12, 1, 16), "财务部会议室", ["zhangsan", "lisi"], False,
        [], False,
    ),
    (
        "【会议通知】\n主题：版本发布复盘\n时间：后天下午2点到3点\n地点：线上\n参会人员：全体成员",
        "版本发布复盘", at(11, 26, 14), at(11, 26, 15), "线上", [], True, [], False,
    ),
    (
        "【会议通知】明天下午3点在5楼开渠道对接会，请准时参加",
        "明天下午3点在5楼开渠道对接会，请准时参加", at(11, 25, 15), None, None, [], False, [],
        False,
    ),
    (
        "【会议通知】\n主题：产品周会（取消）\n原定11月25日的周会取消，下周照常。",
        "产品周会", None, None, None, [], False, [], True,  # a date in free text is no time
    ),
    (
        "【会议通知】\n主题：产品周会\n本次会议取消，改期另行通知。",
        "产品周会", None, None, None, [], False, [], True,
    ),
    (
        "【会议通知】取消：需求评审",
        "需求评审", None, None, None, [], False, [], True,
    ),
    (
        "【会议通知】\n主题：取消订单流程评审\n时间：11月27日 10:00-11:00\n地点：2楼",
        "取消订单流程评审", at(11, 27, 10), at(11, 27, 11), "2楼", [], False, [], False,
    ),
    (
        "【会议通知】\n主题：产品周会\n时间：11月25日 16:00-17:00（改期）\n地点：5楼小会议室",
        "产品周会", at(11, 25, 16), at(11, 25, 17), "5楼小会议室", [], False, [], False,
    ),
    (
        "[meeting]\nTopic: Launch review\nTime: Friday 3pm-4pm\nPlace: Room 501\n"
        "Attendees: Bob Smith, Alice\nAgenda: demo; risks",
        "Launch review", at(11, 27, 15), at(11, 27, 16), "Room 501", ["bob", "alice"], False,
        ["demo", "risks"], False,
    ),
    (
        "Meeting notice\nSubject: Weekly sync\nWhen: Nov 26 2pm-3:30pm\nLocation: https://meet.example.com/abc\n"
        "Participants: @all",
        "Weekly sync", at(11, 26, 14), at(11, 26, 15, 30), "https://meet.example.com/abc", [],
        True, [], False,
    ),
    (
        "[meeting] Topic: Weekly sync (cancelled)",
        "Weekly sync", None, None, None, [], False, [], True,
    ),
    (
        "[meeting]\nTopic: Budget\nTime: tomorrow 14:00-15:00\nThe meeting is called off.",
        "Budget", at(11, 25, 14), at(11, 25, 15), None, [], False, [], True,
    ),
    (
        "[meeting]\nTopic: Design crit\nTime: next Monday 10:00-11:00\nRoom: 3F\nAttendees: Mei, bob",
        "Design crit", at(11, 30, 10), at(11, 30, 11), "3F", ["hanmeimei", "bob"], False, [],
        False,
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "topic", "start", "end", "place", "ids", "everyone", "agenda", "cancelled"),
    NOTICES,
    ids=[n[0].splitlines()[0][:30] + f"-{i}" for i, n in enumerate(NOTICES)],
)
def test_notices(
    text: str,
    topic: str,
    start: datetime | None,
    end: datetime | None,
    place: str | None,
    ids: list[str],
    everyone: bool,
    agenda: list[str],
    cancelled: bool,
) -> None:
    got = parse_notice(
        text, SENT, CLOCK, notice_markers=MP.notice_markers, cancel_markers=MP.cancel_markers
    )
    resolved = [NAMES.resolve("wecom", n) for n in got.attendee_names]
    assert (got.topic, got.start, got.end, got.place) == (topic, start, end, place)
    assert [r for r in resolved if r] == ids
    assert got.attendees_all is everyone
    assert list(got.agenda) == agenda
    assert got.cancelled is cancelled


# (text, topic, [(assignee ids, what, due)], decisions)
MINUTES = [
    (
        "【会议纪要】产品周会（11月24日）\n结论与待办：\n"
        "1. 会员中心需求文档——负责人：李雷，截止11月26日\n2. 竞品调研——负责人：Mei，截止11月27日",
        "产品周会（11月24日）",
        [(["lilei"], "会员中心需求文档", at(11, 26)), (["hanmeimei"], "竞品调研", at(11, 27))],
        [],
    ),
    (
        "【会议纪要】\n主题：项目启动会\n决议：\n- 采用方案B\n- 每周一同步进度\n待办：\n"
        "@张三 输出排期表 本周五前\n@李四 申请测试资源 明天下午3点前",
        "项目启动会",
        [(["zhangsan"], "输出排期表", at(11, 27)), (["lisi"], "申请测试资源", at(11, 25, 15))],
        ["采用方案B", "每周一同步进度"],
    ),
    (
        "会议纪要：需求评审\n- 补充埋点方案 负责人：赵磊 截止：11月30日\n- 更新原型 负责人：张三、李四 截止：下周三",
        "需求评审",
        [(["zhaolei"], "补充埋点方案", at(11, 30)), (["zhangsan", "lisi"], "更新原型", at(12, 2))],
        [],
    ),
    (
        "【会议纪要】周例会\n1. 本周重点是大促保障\n2. @李雷 整理值班表，截止今天下班前\n3. 风险同步——负责人：张三",
        "周例会",
        [(["lilei"], "整理值班表", at(11, 24)), (["zhangsan"], "风险同步", None)],
        ["本周重点是大促保障"],
    ),
    (
        "[minutes] Launch review\nDecisions:\n- ship on Monday\nAction items:\n"
        "@bob update the deck by Friday\n@alice check the budget by Nov 30",
        "Launch review",
        [(["bob"], "update the deck", at(11, 27)), (["alice"], "check the budget", at(11, 30))],
        ["ship on Monday"],
    ),
    (
        "Meeting minutes\nTopic: Weekly sync\n- Fix login bug owner: Bob Smith due: Thursday 10:30\n"
        "- Write release notes, Owner: Alice, deadline: 2026-12-01",
        "Weekly sync",
        [
            (["bob"], "Fix login bug", at(11, 26, 10, 30)),
            (["alice"], "Write release notes", at(12, 1)),
        ],
        [],
    ),
    (
        "【会议纪要】预算沟通\n@王五 核对报销 周五前\n@所有人 请按时提交",
        "预算沟通",
        [([], "核对报销", at(11, 27))],
        [],
    ),
    (
        "【会议纪要】渠道沟通会\n- 下周二前出合作方案——负责人：韩梅梅\n- 无其他事项",
        "渠道沟通会",
        [(["hanmeimei"], "下周二前出合作方案", at(12, 1))],
        ["无其他事项"],
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "topic", "items", "decisions"),
    MINUTES,
    ids=[m[0].splitlines()[0][:30] + f"-{i}" for i, m in enumerate(MINUTES)],
)
def test_minutes(
    text: str,
    topic: str,
    items: list[tuple[list[str], str, datetime | None]],
    decisions: list[str],
) -> None:
    got = parse_minutes(text, SENT, CLOCK, NAMES, "wecom", minutes_markers=MP.minutes_markers)
    assert got.topic == topic
    assert [(list(a.assignee_ids), a.text, a.due_at) for a in got.action_items] == items
    assert list(got.decisions) == decisions


def test_unknown_people_are_reported_not_invented() -> None:
    got = parse_minutes(
        "【会议纪要】X\n@王五 核对报销 周五前\n- 整理 负责人：赵六", SENT, CLOCK, NAMES, "wecom",
        minutes_markers=MP.minutes_markers,
    )  # fmt: skip
    assert [a.unresolved for a in got.action_items] == [("王五",), ("赵六",)]
    assert all(a.assignee_ids == () for a in got.action_items)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("产品周会（11月18日）", "产品周会(11月18日)"),
        ("Weekly Sync", "weekly sync"),
        ("周会 A", "周会A"),
    ],
)
def test_topics_compare_loosely(a: str, b: str) -> None:
    assert normalise_topic(a) == normalise_topic(b)


def test_names_prefer_the_groups_members() -> None:
    people = pd.concat(
        [PEOPLE, pd.DataFrame([("wecom", "lilei2", "李雷", "李雷")], columns=PEOPLE.columns)]
    )
    names = Names(people)
    assert names.resolve("wecom", "李雷") == "lilei"
    assert names.resolve("wecom", "李雷", prefer=["lilei2"]) == "lilei2"
    assert names.resolve("wecom", "nobody") is None


_PIECES = [
    "【会议通知】", "【会议纪要】", "主题：", "时间：", "地点：", "参会人员：", "议程：", "\n", "取消",
    "负责人：", "截止：", "@", "李雷", "Mei", "明天", "下午3点", "-", "14:00", "11月30日", "；",
    "Topic:", "Time:", "Attendees:", "owner:", "due:", "by Friday", "2pm", "(cancelled)", "1. ",
]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(st.one_of(st.sampled_from(_PIECES), st.text(max_size=5)), max_size=30))
def test_any_text_reads_without_error(parts: list[str]) -> None:
    text = "".join(parts)
    notice = parse_notice(
        text, SENT, CLOCK, notice_markers=MP.notice_markers, cancel_markers=MP.cancel_markers
    )
    assert notice.end is None or (notice.start is not None and notice.end > notice.start)
    minutes = parse_minutes(text, SENT, CLOCK, NAMES, "wecom", minutes_markers=MP.minutes_markers)
    assert all(a.text for a in minutes.action_items)
