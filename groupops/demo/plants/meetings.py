"""Rulebook ch. 5 (meetings: a notice with topic, time, place and attendees; leave before the
start; minutes with who does what by when): meeting notices, leave replies and minutes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from groupops.demo.builder import Msg, Planter, Role, marked
from groupops.demo.chapter import policy_words
from groupops.demo.period import YEAR, local
from groupops.demo.scenario.meetings import (
    CHANGES,
    DECLARED,
    MEETINGS,
    NEW_MEETINGS,
    SAID,
    Change,
    Declared,
    Held,
    Meeting,
)
from groupops.demo.texts import WEEKDAYS, display, month_day

MARKERS: Final = policy_words(
    meeting="meetings.notice_markers",
    minutes="meetings.minutes_markers",
    leave="meetings.leave_markers",
)
MEETING, MINUTES, LEAVE = marked("meeting"), marked("minutes"), marked("leave")
DONE = marked("done")  # an action item reported done (the deadline watcher's completion words)
ANSWER = Role("answer")  # the organizer's answer to a leave request that @mentions them

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
    changes: list[tuple[Change, Msg]] = field(default_factory=list)
    late_leaves: list[Msg] = field(default_factory=list)
    done: list[Msg] = field(default_factory=list)  # completion replies to the minutes


@dataclass(slots=True)
class PlantedHeld:
    """The messages about one occurrence of a declared meeting."""

    spec: Held
    leaves: list[Msg] = field(default_factory=list)
    minutes: Msg | None = None
    done: list[Msg] = field(default_factory=list)


@dataclass(slots=True)
class PlantedDeclared:
    spec: Declared
    held: list[PlantedHeld]


@dataclass(frozen=True, slots=True)
class Planted:
    meetings: list[PlantedMeeting]
    declared: list[PlantedDeclared] = field(default_factory=list)


def plant(p: Planter) -> Planted:
    planted = [plant_meeting(p.founding, m) for m in MEETINGS]
    planted += [plant_meeting(p, m) for m in NEW_MEETINGS]
    by_topic = {m.spec.topic: m for m in planted}
    for change in CHANGES:
        m = by_topic[change.topic]
        text = cancel_text(m.spec) if change.cancel else change_text(m.spec, change)
        msg = p.add(m.spec.group_id, m.spec.sender, local(change.at), text, MEETING,
                    mention_all=True)  # fmt: skip
        m.changes.append((change, msg))
    for said in SAID:
        m = by_topic[said.topic]
        group, at = m.spec.group_id, local(said.at)
        if said.kind == "late_leave":
            m.late_leaves.append(p.add(group, said.member, at, said.text, LEAVE, reply_to=m.notice))
        elif said.kind == "leave_mention":
            leave = p.add(group, said.member, at, f"@{display(m.spec.sender)} {said.text}", LEAVE,
                          mentions=[m.spec.sender])  # fmt: skip
            m.leaves.append(leave)
            assert said.answer_at is not None and said.answer is not None
            p.add(group, m.spec.sender, local(said.answer_at), said.answer, ANSWER,
                  reply_to=leave)  # fmt: skip
        else:
            assert m.minutes is not None
            m.done.append(p.add(group, said.member, at, said.text, DONE, reply_to=m.minutes))
    return Planted(planted, [plant_declared(p, d) for d in DECLARED])


def plant_declared(p: Planter, d: Declared) -> PlantedDeclared:
    """What is said about a declared meeting's occurrences: leave requests that @mention the
    organizer, minutes that name the topic, items reported done in replies to the minutes."""
    out = []
    for held in d.held:
        h = PlantedHeld(held)
        for member, stamp, text in held.leaves:
            h.leaves.append(
                p.add(
                    d.group_id,
                    member,
                    local(stamp),
                    f"@{display(d.organizer)} {text}",
                    LEAVE,
                    mentions=[d.organizer],
                )
            )
        if held.minutes_at is not None:
            h.minutes = p.add(d.group_id, held.minutes_by, local(held.minutes_at),
                              declared_minutes_text(d, held), MINUTES)  # fmt: skip
            for member, stamp, text in held.done:
                h.done.append(p.add(d.group_id, member, local(stamp), text, DONE,
                                    reply_to=h.minutes))  # fmt: skip
        out.append(h)
    return PlantedDeclared(d, out)


def occurrence_start(d: Declared, day: str) -> str:
    """The local ``"MM-DD HH:MM"`` start of the occurrence on ``day``."""
    if d.weekly is not None:
        return f"{day} {d.weekly[1]}"
    assert d.start is not None and d.start.startswith(day)
    return d.start


def declared_minutes_text(d: Declared, held: Held) -> str:
    starts = local(occurrence_start(d, held.day))
    absent = {member for member, *_ in held.leaves}
    lines = [
        f"【会议纪要】{d.topic}（{month_day(starts)}）",
        f"参会：{'、'.join(display(a) for a in d.attendees if a not in absent)}",
        "结论与待办：",
        *(
            f"{i}. {item}——负责人：{display(owner)}，截止{deadline}"
            for i, (item, owner, deadline) in enumerate(held.decisions, 1)
        ),
    ]
    return "\n".join(lines)


def declared_file(d: Declared) -> str:
    """The ``data/demo/meetings/<stem>.md`` declaring ``d`` (docs/meetings.md)."""
    front = [
        "---",
        f"topic: {d.topic}",
        f"group: {d.group_id}",
        f"organizer: {d.organizer}",
    ]
    if d.weekly is not None:
        weekday, hm = d.weekly
        hour, minute = (int(x) for x in hm.split(":"))
        front.append(f'cron: "{minute} {hour} * * {(weekday + 1) % 7}"')
    else:
        front.append(f"start: {YEAR}-{d.start}")
    front += [
        f"duration: {d.duration}",
        f"place: {d.place}",
        f"attendees: [{', '.join(d.attendees)}]",
    ]
    if d.since is not None:
        front.append(f"since: {YEAR}-{d.since}")
    if d.until is not None:
        front.append(f"until: {YEAR}-{d.until}")
    front.append("---")
    return "\n".join([*front, *(f"- {item}" for item in d.agenda)]) + "\n"


def declared_files() -> dict[str, str]:
    """File name → text of every declared meeting (``meetings/`` in the bundle)."""
    return {f"{d.stem}.md": declared_file(d) for d in DECLARED}


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
        mentions = [owner for _, owner, _ in m.decisions] if m.minutes_style == "mention" else []
        minutes = p.add(m.group_id, m.minutes_by, local(m.minutes_at), minutes_text(m), MINUTES,
                        mentions=mentions)  # fmt: skip
    return PlantedMeeting(m, notice, minutes, leaves)


def change_text(m: Meeting, change: Change) -> str:
    """A second notice with the same topic: the new time and place."""
    assert change.starts is not None and change.ends is not None
    starts = local(change.starts)
    return "\n".join(
        (
            "【会议通知】（时间地点调整）",
            f"主题：{m.topic}",
            f"时间：{month_day(starts)}（周{WEEKDAYS[starts.weekday()]}）{starts:%H:%M}-{change.ends}",
            f"地点：{change.place or m.place}",
            "其他安排不变。",
        )
    )


def cancel_text(m: Meeting) -> str:
    return f"【会议通知】原定{month_day(local(m.starts))}的{m.topic}取消，改期另行通知。"


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
    if m.minutes_style == "mention":
        lines += [f"@{display(owner)} {item} {deadline}前" for item, owner, deadline in m.decisions]
    else:
        lines += [
            f"{i}. {item}——负责人：{display(owner)}，截止{deadline}"
            for i, (item, owner, deadline) in enumerate(m.decisions, 1)
        ]
    lines.append("如有遗漏请在群里补充。")
    return "\n".join(lines)
