"""Rulebook ch. 5 (meetings: a notice with topic, time, place and attendees; leave before the
start; minutes with who does what by when): meeting notices, leave replies and minutes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from groupops.demo.builder import Msg, Planter, marked
from groupops.demo.chapter import policy_words
from groupops.demo.period import local
from groupops.demo.scenario.meetings import MEETINGS, Meeting
from groupops.demo.texts import WEEKDAYS, display, month_day

MARKERS: Final = policy_words(
    meeting="meetings.notice_markers",
    minutes="meetings.minutes_markers",
    leave="meetings.leave_markers",
)
MEETING, MINUTES, LEAVE = marked("meeting"), marked("minutes"), marked("leave")

LEAVE_TEXTS: Final = (
    "这次会我请假，{reason}，会后我找同事同步一下",
    "抱歉，{reason}，这次会议我请假，需要我配合的会后找我",
)


@dataclass(slots=True)
class PlantedMeeting:
    spec: Meeting
    notice: Msg
    minutes: Msg | None
    leaves: list[Msg]


@dataclass(frozen=True, slots=True)
class Planted:
    meetings: list[PlantedMeeting]


def plant(p: Planter) -> Planted:
    return Planted([plant_meeting(p.founding, m) for m in MEETINGS])


def plant_meeting(p: Planter, m: Meeting) -> PlantedMeeting:
    """The notice (to @所有人), leave replies to it, and the minutes when they are written."""
    notice = p.add(
        m.group_id, m.sender, local(m.notice_at), notice_text(m), MEETING, mention_all=True
    )
    leaves = [
        p.add(
            m.group_id,
            member,
            local(stamp),
            LEAVE_TEXTS[i % len(LEAVE_TEXTS)].format(reason=reason),
            LEAVE,
            reply_to=notice,
        )
        for i, (member, stamp, reason) in enumerate(m.leaves)
    ]
    minutes = None
    if m.minutes_at is not None:
        minutes = p.add(m.group_id, m.minutes_by, local(m.minutes_at), minutes_text(m), MINUTES)
    return PlantedMeeting(m, notice, minutes, leaves)


def notice_text(m: Meeting) -> str:
    starts = local(m.starts)
    return "\n".join(
        (
            "【会议通知】",
            f"主题：{m.topic}",
            f"时间：{month_day(starts)}（周{WEEKDAYS[starts.weekday()]}）{starts:%H:%M}-{m.ends}",
            f"地点：{m.place}",
            f"参会人：{'、'.join(display(a) for a in m.attendees)}",
            "议程：" + "；".join(f"{i}. {item}" for i, item in enumerate(m.agenda, 1)),
            "请准时参加，不能参加的同事请提前在群里说明。",
        )
    )


def minutes_text(m: Meeting) -> str:
    starts = local(m.starts)
    absent = {member for member, *_ in m.leaves}
    lines = [
        f"【会议纪要】{m.topic}",
        f"时间：{month_day(starts)} {starts:%H:%M}-{m.ends}，{m.place}",
        f"参会：{'、'.join(display(a) for a in m.attendees if a not in absent)}",
        f"缺席：{'、'.join(display(a) for a in sorted(absent)) or '无'}",
        "结论与待办：",
    ]
    lines += [
        f"{i}. {item}——负责人：{display(owner)}，截止{deadline}"
        for i, (item, owner, deadline) in enumerate(m.decisions, 1)
    ]
    lines.append("如有遗漏请在群里补充。")
    return "\n".join(lines)
