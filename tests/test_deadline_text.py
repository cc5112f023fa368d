"""Deadline expressions in chat text, Chinese and English, relative to the message's time.

The message is sent on Tuesday 2026-11-24 at 10:00 in Shanghai unless a case says otherwise."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from groupops.clock.deadline_text import find_deadline, find_when
from groupops.clock.workclock import WorkClock
from groupops.policy import WorkingTime

TZ = ZoneInfo("Asia/Shanghai")
CLOCK = WorkClock()
SENT = datetime(2026, 11, 24, 10, 0, tzinfo=TZ)  # a Tuesday


def at(mo: int, d: int, h: int = 18, mi: int = 0, y: int = 2026) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=TZ)


CASES = [
    # Chinese: dates (no time: the end of that working day, 18:00)
    ("【任务】@李雷 整理客户名单，截止11月30日", at(11, 30)),
    ("本周五前提交周报", at(11, 27)),
    ("下周一前把方案发出来", at(11, 30)),
    ("月底前完成对账", at(11, 30)),
    ("下月底前上线", at(12, 31)),
    ("本周内给个结论", at(11, 27)),
    ("周四前回复", at(11, 26)),
    ("星期二之前", at(11, 24)),  # today is Tuesday
    ("下下周一交", at(12, 7)),
    ("12月1号前交", at(12, 1)),
    ("30号前确认", at(11, 30)),
    ("5号前确认", at(12, 5)),  # the 5th has passed this month: next month's
    ("2026年12月15日前", at(12, 15)),
    ("12/20前", at(12, 20)),
    ("十二月五日前提交", at(12, 5)),
    ("1月5日前", at(1, 5, y=2027)),  # early next year
    ("11月20日前", at(11, 20)),  # four days ago: late, not next year
    ("3个工作日内完成", at(11, 27)),
    ("两天内", at(11, 26)),
    ("年底前", at(12, 31)),
    ("周末前交给我", at(11, 27)),
    ("下周末前", at(12, 4)),
    ("今天内回复", at(11, 24)),
    ("十一月三十日前", at(11, 30)),
    ("周五下班前", at(11, 27)),
    # Chinese: dates with times
    ("明天下午3点前给我", at(11, 25, 15)),
    ("2026-11-30 18:00 之前上线", at(11, 30, 18)),
    ("请于12月3日下午5点半前提交", at(12, 3, 17, 30)),
    ("后天上午", at(11, 26, 12)),
    ("下周三上午10点开始评审", at(12, 2, 10)),
    ("明天3点", at(11, 25, 15)),  # 1-7 o'clock without 上午 is the afternoon
    ("11月30日18:00前", at(11, 30, 18)),
    ("今天下班前", at(11, 24, 18)),
    ("今晚", at(11, 24, 23, 59)),
    ("下午3点前", at(11, 24, 15)),
    ("18:00前", at(11, 24, 18)),
    ("收到，明天中午前给到", at(11, 25, 12)),
    ("明早9点半", at(11, 25, 9, 30)),
    ("2小时内", at(11, 24, 12)),
    ("周五开会讨论，截止下周一", at(11, 30)),  # the cued expression wins
    ("【任务】@高峰 年底项目排期表更新一版，本周五前", at(11, 27)),  # 年底 is a topic here
    ("下周一的客户演示环境准备一下，下周三前", at(12, 2)),
    # English
    ("please send it by Friday", at(11, 27)),
    ("tomorrow 3pm", at(11, 25, 15)),
    ("before 30 Nov", at(11, 30)),
    ("by Dec 3rd 2pm", at(12, 3, 14)),
    ("due next Monday", at(11, 30)),
    ("by end of month", at(11, 30)),
    ("by EOD", at(11, 24)),
    ("by 5pm", at(11, 24, 17)),
    ("by the end of the week, thanks", at(11, 27)),
    ("within 2 working days", at(11, 26)),
    ("deadline: 2026-12-01", at(12, 1)),
    ("by tomorrow noon", at(11, 25, 12)),
    ("no later than December 10", at(12, 10)),
    ("[task] @bob fix the login page, by Thursday 10:30 please", at(11, 26, 10, 30)),
    ("Will do, by 4pm tomorrow.", at(11, 25, 16)),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_deadline_expressions(text: str, expected: datetime) -> None:
    found = find_deadline(text, SENT, CLOCK)
    assert found is not None, text
    assert found.at == expected
    assert found.at.tzinfo == TZ
    assert found.text in text


NO_DEADLINE = [
    "收到",
    "好的，马上处理",
    "请看一下这个文档",
    "完成了",
    "ok, will do",
    "3个人参加",
    "看下底部的按钮",
    "第5号文件有问题",
    "done by Bob",
    "we have 3 options",
    "version 2.0 is out",
    "by Feb 29",  # no 29 February in 2026 or 2027
    "截止2月30日",
    "by 2026-02-30",
    "32号前",
    "",
]


@pytest.mark.parametrize("text", NO_DEADLINE)
def test_no_deadline(text: str) -> None:
    assert find_deadline(text, SENT, CLOCK) is None


def test_relative_to_the_message_time_in_the_policy_zone() -> None:
    # 2026-11-27 17:00 UTC is Saturday 01:00 in Shanghai: "tomorrow" is Sunday there.
    sent = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
    found = find_deadline("明天下午3点", sent, CLOCK)
    assert found is not None and found.at == at(11, 29, 15)


def test_a_time_already_past_today_means_tomorrow() -> None:
    found = find_deadline("下午3点前", datetime(2026, 11, 24, 16, 0, tzinfo=TZ), CLOCK)
    assert found is not None and found.at == at(11, 25, 15)


def test_end_of_day_follows_the_policy_periods() -> None:
    clock = WorkClock(WorkingTime(periods=[("08:30", "12:00"), ("13:00", "17:30")]), TZ)
    found = find_deadline("截止11月30日", SENT, clock)
    assert found is not None and found.at == at(11, 30, 17, 30)


def test_naive_sent_at_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        find_deadline("明天", datetime(2026, 11, 24, 10), CLOCK)  # noqa: DTZ001 - naive on purpose: the test checks it is refused


_PIECES = st.sampled_from(
    ["截止", "前", "之前", "明天", "下周", "周五", "月", "日", "号", "点", "半", "下午", "上午",
     "2月29日", "13月45日", "32号", "99点", "2026-02-30", "by ", "before ", "Feb 29", "tomorrow",
     "3pm", "25:00", "next ", "friday", "within ", "days", "工作日内", "小时内", "十", "两", "/"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(st.one_of(_PIECES, st.text(max_size=4), st.integers(0, 2100).map(str))))
def test_any_text_gives_an_aware_instant_or_none(parts: list[str]) -> None:
    for found in (
        find_deadline("".join(parts), SENT, CLOCK),
        find_when("".join(parts), SENT, CLOCK),
    ):
        if found is not None:
            assert found.at.tzinfo is not None
            assert 0 <= found.start <= found.end
            assert found.until is None or found.until > found.at


# Time ranges and meeting time lines (find_when), sent Tuesday 2026-11-24 10:00.
WHEN_CASES = [
    # (text, start, until or None)
    ("11月20日 14:00-15:30", at(11, 20, 14), at(11, 20, 15, 30)),  # 4 days ago: that past day
    ("11月26日（周四）10:00-11:00", at(11, 26, 10), at(11, 26, 11)),
    ("11月27日周五下午2点至3点半", at(11, 27, 14), at(11, 27, 15, 30)),
    ("本周五下午3点", at(11, 27, 15), None),
    ("下午3点到4点半", at(11, 24, 15), at(11, 24, 16, 30)),
    ("明天 9:30~11:00", at(11, 25, 9, 30), at(11, 25, 11)),
    ("明天上午10点-11点半", at(11, 25, 10), at(11, 25, 11, 30)),
    ("后天 3点-4点", at(11, 26, 15), at(11, 26, 16)),  # 1-7 o'clock is the afternoon
    ("晚上7点-9点", at(11, 24, 19), at(11, 24, 21)),  # 9 after 7 in the evening is 21:00
    ("2026-12-01 15:00-16:00", at(12, 1, 15), at(12, 1, 16)),
    ("12/2 14:00 - 15:00", at(12, 2, 14), at(12, 2, 15)),
    ("下周一 10:00—11:00", at(11, 30, 10), at(11, 30, 11)),
    ("11月25日 14:00-13:00", at(11, 25, 14), None),  # ends before it starts: no range
    ("11月25日", at(11, 25, 18), None),  # a date alone: the end of that working day
    ("Friday 3pm", at(11, 27, 15), None),
    ("Nov 26 2pm-3:30pm", at(11, 26, 14), at(11, 26, 15, 30)),
    ("Friday, Nov 27, 2pm to 3:30pm", at(11, 27, 14), at(11, 27, 15, 30)),
    ("tomorrow 14:00-15:00", at(11, 25, 14), at(11, 25, 15)),
    ("next Monday 10:00-11:00", at(11, 30, 10), at(11, 30, 11)),
    ("Thursday at 10:30", at(11, 26, 10, 30), None),
]


@pytest.mark.parametrize(("text", "start", "until"), WHEN_CASES, ids=[c[0] for c in WHEN_CASES])
def test_meeting_times_and_ranges(text: str, start: datetime, until: datetime | None) -> None:
    found = find_when(text, SENT, CLOCK)
    assert found is not None, text
    assert (found.at, found.until) == (start, until)


def test_a_range_inside_a_deadline_sentence_is_kept() -> None:
    found = find_deadline("请于明天14:00-15:00到5楼会议室开会", SENT, CLOCK)
    assert found is not None and (found.at, found.until) == (at(11, 25, 14), at(11, 25, 15))


@pytest.mark.parametrize("text", ["", "收到", "地点待定", "Room 501"])
def test_no_meeting_time(text: str) -> None:
    assert find_when(text, SENT, CLOCK) is None
