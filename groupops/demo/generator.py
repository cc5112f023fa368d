"""Seeded generator of the demo company's activity bundle (``data/demo/``).

``python -m groupops.demo.generator --out data/demo --seed 20261120`` writes ``groups.jsonl``,
``members.jsonl``, ``memberships.jsonl``, ``messages.jsonl`` (canonical format) and
``planted.json`` (what was planted: overdue and pending obligations at ``as_of``, tasks,
notices, meetings, violations …). The output depends only on the seed: same seed, same bytes.

The planted scenario lives in :mod:`groupops.demo.scenario`, the company in
:mod:`groupops.demo.company` and the chatter templates in :mod:`groupops.demo.phrases`. Chatter
is random but constrained so that the planted obligations are exactly the open ones: it never
holds a marker word, never replies to a task, and every chatter @mention is answered.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from random import Random
from typing import Any, Final
from zoneinfo import ZoneInfo

import chinese_calendar

from groupops.canonical import FIELDS
from groupops.demo import company, phrases, scenario
from groupops.demo.scenario import When
from groupops.policy import Policy

DEFAULT_SEED: Final = 20261120
TZ: Final = ZoneInfo(company.TIMEZONE)
YEAR: Final = 2026
SINCE: Final = datetime(2026, 10, 24, tzinfo=TZ)
UNTIL: Final = datetime(2026, 11, 21, tzinfo=TZ)
AS_OF: Final = datetime(2026, 11, 20, 18, 0, tzinfo=TZ)
POLICY: Final = Policy()  # the defaults, which data/policy.toml repeats
END_OF_DAY: Final = POLICY.working_time.periods[-1][1]  # "本周五前" = that Friday at 18:00
SYSTEM_SENDER: Final = "system"
WEEKDAYS: Final = "一二三四五六日"

# Conversation shape: how many follow-ups a conversation has (weights for 0, 1, 2 …).
FOLLOWUP_WEIGHTS: Final = (14, 24, 24, 16, 10, 6, 4, 2)
P_MENTION: Final = 0.14  # a conversation opens with an @question
P_REPLY: Final = 0.35  # a follow-up is sent as a reply to the opener
P_MEDIA: Final = 0.07  # a chatter message is an image/file/link/voice/video
ANSWER_DELAYS: Final = ((1, 20), (20, 150), (240, 1200))  # minutes
ANSWER_DELAY_WEIGHTS: Final = (62, 30, 8)
P_EVENING: Final = 0.08  # a working-day conversation happens in the evening
WEEKEND_SHARE: Final = 0.15  # conversations on a day off, relative to a working day
MIN_MESSAGES: Final = 4  # every active member writes at least this many in each group …
MIN_RECENT: Final = 2  # … and this many in the last 14 days before as_of

# Role of a message in the scenario -> marker families it may contain …
ALLOWED_MARKERS: Final[dict[str, frozenset[str]]] = {
    "chatter": frozenset(),
    "system": frozenset(),
    "flood": frozenset(),
    "task": frozenset({"task"}),
    "ack": frozenset({"ack"}),
    "done": frozenset({"done", "ack"}),
    "notice": frozenset({"notice"}),
    "meeting": frozenset({"meeting"}),
    "minutes": frozenset({"minutes"}),
    "leave": frozenset({"leave"}),
    "important": frozenset({"important"}),
    "ad": frozenset({"ad"}),
    "confidential": frozenset({"confidential"}),
}
# … and the one it must contain.
REQUIRED_MARKER: Final[dict[str, str]] = {
    role: role for role in ALLOWED_MARKERS if role not in {"chatter", "system", "flood"}
}


def marker_families(policy: Policy = POLICY) -> dict[str, tuple[str, ...]]:
    """Every marker word of the policy, by family (matched case-insensitively)."""
    return {
        "task": tuple(policy.tasks.markers),
        "ack": tuple(policy.tasks.ack_markers),
        "done": tuple(policy.tasks.completion_markers),
        "notice": tuple(policy.notices.markers),
        "meeting": tuple(policy.meetings.notice_markers),
        "minutes": tuple(policy.meetings.minutes_markers),
        "leave": tuple(policy.meetings.leave_markers),
        "important": tuple(policy.importance.markers),
        "confidential": tuple(policy.moderation.confidential_markers),
        "ad": tuple(policy.moderation.ad_words),
        "rumour": tuple(policy.moderation.rumour_words),
    }


def markers_in(text: str, families: dict[str, tuple[str, ...]]) -> set[str]:
    low = text.lower()
    return {fam for fam, words in families.items() if any(w.lower() in low for w in words)}


# ---------------------------------------------------------------- working time


def is_workday(day: date) -> bool:
    return bool(chinese_calendar.is_workday(day))


def add_working_minutes(start: datetime, minutes: float) -> datetime:
    """``start`` plus ``minutes`` of working time (policy working hours, Chinese calendar)."""
    remaining = timedelta(minutes=minutes)
    day = start.astimezone(TZ).date()
    while True:
        if is_workday(day):
            for begin_t, end_t in POLICY.working_time.periods:
                begin = max(datetime.combine(day, begin_t, TZ), start)
                end = datetime.combine(day, end_t, TZ)
                if begin >= end:
                    continue
                if remaining <= end - begin:
                    return begin + remaining
                remaining -= end - begin
        day += timedelta(days=1)


# ---------------------------------------------------------------- deadline expressions

DAY_PARTS: Final[dict[str, Callable[[date, Any], tuple[str, date]]]] = {
    "today": lambda d, _: ("今天", d),
    "tomorrow": lambda d, _: ("明天", d + timedelta(days=1)),
    "this_week": lambda d, n: (f"本周{WEEKDAYS[n - 1]}", _monday(d) + timedelta(days=n - 1)),
    "week": lambda d, n: (f"周{WEEKDAYS[n - 1]}", _monday(d) + timedelta(days=n - 1)),
    "next_week": lambda d, n: (f"下周{WEEKDAYS[n - 1]}", _monday(d) + timedelta(days=n + 6)),
    "md": lambda d, md: (f"{md[0]}月{md[1]}日", date(d.year, md[0], md[1])),
    "iso": lambda d, md: (f"{d.year}-{md[0]:02d}-{md[1]:02d} ", date(d.year, md[0], md[1])),
}
TIME_PARTS: Final[dict[str, Callable[[Any], tuple[str, time]]]] = {
    "end": lambda _: ("", END_OF_DAY),
    "eod": lambda _: ("下班", END_OF_DAY),
    "am": lambda h: (f"上午{h}点", time(h, 0)),
    "pm": lambda h: (f"下午{h}点", time(h + 12, 0)),
    "noon": lambda _: ("中午12点", time(12, 0)),
    "hm": lambda hm: (f"{hm[0]:02d}:{hm[1]:02d}", time(hm[0], hm[1])),
}


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def render_when(when: When, said_at: datetime) -> tuple[str, datetime]:
    """The Chinese text of a deadline and the instant it means, relative to ``said_at``."""
    day_text, day = DAY_PARTS[when.day](said_at.date(), when.day_arg)
    time_text, at = TIME_PARTS[when.time](when.time_arg)
    text = f"截止{day_text}{time_text}" if when.cutoff else f"{day_text}{time_text}前"
    instant = datetime.combine(day, at, TZ)
    if instant <= said_at:
        raise ValueError(f"deadline {text!r} said at {said_at} is not in the future")
    return text, instant


# ---------------------------------------------------------------- the message list


def local(stamp: str) -> datetime:
    """``"MM-DD HH:MM[:SS]"`` in 2026, Asia/Shanghai."""
    fmt = "%Y-%m-%d %H:%M:%S" if stamp.count(":") == 2 else "%Y-%m-%d %H:%M"
    return datetime.strptime(f"{YEAR}-{stamp}", fmt).replace(tzinfo=TZ)


@dataclass(slots=True)
class Msg:
    seq: int
    group_id: str
    sender_id: str
    at: datetime
    text: str
    role: str = "chatter"
    kind: str = "text"
    reply_to: int | None = None  # seq of the message replied to
    mentions: tuple[str, ...] = ()
    mention_all: bool = False
    pinned: bool = False
    message_id: str = ""


@dataclass(slots=True)
class Builder:
    """Collects messages and the facts planted.json reports; knows who may post when."""

    rng: Random
    messages: list[Msg] = field(default_factory=list)
    joined: dict[tuple[str, str], datetime] = field(default_factory=dict)
    gone: dict[tuple[str, str], datetime] = field(default_factory=dict)
    silent: dict[tuple[str, str], datetime] = field(default_factory=dict)

    def add(self, group_id: str, sender: str, at: datetime, text: str, **kw: Any) -> Msg:
        if kw.get("mention_all") and not text.startswith("@所有人"):
            text = f"@所有人 {text}"
        msg = Msg(len(self.messages), group_id, sender, at, text, **kw)
        self.messages.append(msg)
        return msg

    def can_post(self, member: str, group_id: str, at: datetime) -> bool:
        """Whether ``member`` may write in the group at ``at`` without spoiling the plan."""
        key = (member, group_id)
        person = company.PEOPLE_BY_ID[member]
        return (
            SINCE <= at < UNTIL
            and key in self.joined
            and self.joined[key] <= at < self.gone.get(key, UNTIL)
            and at < self.silent.get(key, UNTIL)
            and (person.active_until is None or at < local(person.active_until))
        )


def display(member: str) -> str:
    return company.PEOPLE_BY_ID[member].display_name


def at_names(members: Iterable[str]) -> str:
    return " ".join(f"@{display(m)}" for m in members)


def fill(template: str, rng: Random) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: phrases.SLOTS[m.group(1)](rng), template)


# ---------------------------------------------------------------- directory records


def group_records() -> list[dict[str, Any]]:
    return [
        {
            "platform": company.PLATFORM,
            "group_id": g.group_id,
            "name": g.name,
            "category": g.category,
            "owner_id": g.owner_id,
            "admin_ids": list(g.admin_ids),
        }
        for g in company.GROUPS
    ]


def member_records() -> list[dict[str, Any]]:
    return [
        {
            "platform": company.PLATFORM,
            "member_id": p.member_id,
            "display_name": p.display_name,
            "real_name": p.real_name,
            "department": p.department,
            "email": p.email,
        }
        for p in company.PEOPLE
    ]


def membership_records(b: Builder) -> list[dict[str, Any]]:
    """Founding joins before the period (approved by the owner) and the planted events."""
    in_period = {(g, m) for g, m, ev, *_ in scenario.MEMBERSHIP_EVENTS if ev == "join"}
    rows: list[tuple[str, str, str, datetime, str | None, str | None]] = []
    for g in company.GROUPS:
        founded = datetime.fromisoformat(company.FOUNDED[g.group_id])
        for i, member in enumerate(g.members):
            if (g.group_id, member) in in_period:
                continue
            at = founded + timedelta(days=3 * i, minutes=7 * i) if i else founded
            rows.append((g.group_id, member, "join", at, g.owner_id, None))
    for group_id, member, event, stamp, by, reason in scenario.MEMBERSHIP_EVENTS:
        rows.append((group_id, member, event, local(stamp), by, reason))
    for group_id, member, event, at, _, _ in rows:
        if event == "join":
            b.joined[(member, group_id)] = at
        else:
            b.gone[(member, group_id)] = at
    rows.sort(key=lambda r: (r[0], r[3], r[1]))
    return [
        {
            "platform": company.PLATFORM,
            "group_id": group_id,
            "member_id": member,
            "event": event,
            "at": at.isoformat(),
            "approved_by": by,
            "reason": reason,
        }
        for group_id, member, event, at, by, reason in rows
    ]


SYSTEM_TEXTS: Final[dict[tuple[str, bool], str]] = {
    ("join", True): "{member} 加入了群聊，已由 {by} 审核通过",
    ("join", False): "{member} 通过扫描二维码加入了群聊",
    ("leave", False): "{member} 退出了群聊",
    ("removed", True): "{by} 将 {member} 移出了群聊",
}


def plant_system_messages(b: Builder) -> None:
    for group_id, member, event, stamp, by, _ in scenario.MEMBERSHIP_EVENTS:
        template = SYSTEM_TEXTS[(event, by is not None)]
        text = template.format(member=display(member), by=display(by) if by else "")
        b.add(group_id, SYSTEM_SENDER, local(stamp), text, role="system", kind="system")


# ---------------------------------------------------------------- planted scenario


@dataclass(slots=True)
class PlantedTask:
    plan: scenario.TaskPlan
    assignee: str
    task: Msg
    deadline_text: str | None
    deadline: datetime | None
    commitment_text: str | None = None
    committed: datetime | None = None
    ack: Msg | None = None
    done: Msg | None = None


def plant_tasks(b: Builder) -> list[PlantedTask]:
    planted: list[PlantedTask] = []
    for plan in scenario.TASKS:
        at = local(plan.at)
        deadline_text, deadline = render_when(plan.deadline, at) if plan.deadline else (None, None)
        body = plan.text.format(d=deadline_text or "")
        assignees = tuple(plan.flows)
        task = b.add(
            plan.group_id,
            plan.requester,
            at,
            f"【任务】{at_names(assignees)} {body}",
            role="task",
            mentions=assignees,
        )
        for assignee, flow in plan.flows.items():
            item = PlantedTask(plan, assignee, task, deadline_text, deadline)
            if flow.ack is not None:
                ack_at = local(flow.ack)
                if flow.commit is not None:
                    item.commitment_text, item.committed = render_when(flow.commit, ack_at)
                text = flow.ack_text.format(c=item.commitment_text or "")
                reply = task.seq if flow.ack_reply else None
                item.ack = b.add(plan.group_id, assignee, ack_at, text, role="ack", reply_to=reply)
            if flow.done is not None:
                reply = task.seq if flow.done_reply else None
                item.done = b.add(
                    plan.group_id,
                    assignee,
                    local(flow.done),
                    flow.done_text,
                    role="done",
                    reply_to=reply,
                )
            planted.append(item)
    return planted


def plant_mentions(b: Builder) -> list[tuple[scenario.Mention, Msg]]:
    planted = []
    for mention in scenario.UNANSWERED:
        at = local(mention.at)
        msg = b.add(
            mention.group_id,
            mention.requester,
            at,
            f"{at_names(mention.assignees)} {mention.text}",
            mentions=mention.assignees,
        )
        for i, member in enumerate(mention.answered_by):
            b.add(
                mention.group_id,
                member,
                at + timedelta(minutes=17 + 9 * i),
                phrases.PLANTED_ANSWERS[i % len(phrases.PLANTED_ANSWERS)],
                reply_to=msg.seq,
            )
        for member in set(mention.assignees) - set(mention.answered_by):
            key = (member, mention.group_id)
            b.silent[key] = min(b.silent.get(key, UNTIL), at)
        planted.append((mention, msg))
    return planted


def plant_notices(b: Builder) -> list[tuple[Msg, Msg | None]]:
    out = []
    for n in scenario.NOTICES:
        original = b.add(
            n.group_id, n.sender, local(n.at), n.text, role="notice", mention_all=n.mention_all
        )
        repost = None
        if n.repost_at is not None:
            repost = b.add(
                n.group_id,
                n.sender,
                local(n.repost_at),
                n.repost_text or original.text,
                role="notice",
                mention_all=n.mention_all,
            )
        out.append((original, repost))
    return out


def _md(at: datetime) -> str:
    return f"{at.month}月{at.day}日"


LEAVE_TEXTS: Final = (
    "这次会我请假，{reason}，会后我找同事同步一下",
    "抱歉，{reason}，这次会议我请假，需要我配合的会后找我",
)


def meeting_notice_text(m: scenario.Meeting) -> str:
    starts = local(m.starts)
    return "\n".join(
        (
            "【会议通知】",
            f"主题：{m.topic}",
            f"时间：{_md(starts)}（周{WEEKDAYS[starts.weekday()]}）{starts:%H:%M}-{m.ends}",
            f"地点：{m.place}",
            f"参会人：{'、'.join(display(a) for a in m.attendees)}",
            "议程：" + "；".join(f"{i}. {item}" for i, item in enumerate(m.agenda, 1)),
            "请准时参加，不能参加的同事请提前在群里说明。",
        )
    )


def minutes_text(m: scenario.Meeting) -> str:
    starts = local(m.starts)
    absent = {member for member, *_ in m.leaves}
    lines = [
        f"【会议纪要】{m.topic}",
        f"时间：{_md(starts)} {starts:%H:%M}-{m.ends}，{m.place}",
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


@dataclass(slots=True)
class PlantedMeeting:
    spec: scenario.Meeting
    notice: Msg
    minutes: Msg | None
    leaves: list[Msg]


def plant_meetings(b: Builder) -> list[PlantedMeeting]:
    out = []
    for m in scenario.MEETINGS:
        notice = b.add(
            m.group_id,
            m.sender,
            local(m.notice_at),
            meeting_notice_text(m),
            role="meeting",
            mention_all=True,
        )
        leaves = [
            b.add(
                m.group_id,
                member,
                local(stamp),
                LEAVE_TEXTS[i % len(LEAVE_TEXTS)].format(reason=reason),
                role="leave",
                reply_to=notice.seq,
            )
            for i, (member, stamp, reason) in enumerate(m.leaves)
        ]
        minutes = None
        if m.minutes_at is not None:
            minutes = b.add(
                m.group_id, m.minutes_by, local(m.minutes_at), minutes_text(m), role="minutes"
            )
        out.append(PlantedMeeting(m, notice, minutes, leaves))
    return out


def plant_plain(b: Builder, item: scenario.Plain, role: str) -> Msg:
    return b.add(
        item.group_id,
        item.sender,
        local(item.at),
        item.text,
        role=role,
        kind=item.kind,
        pinned=item.pinned,
        mention_all=item.mention_all,
    )


def plant_flood(b: Builder) -> list[Msg]:
    start = local(scenario.FLOOD_AT)
    return [
        b.add(
            scenario.FLOOD_GROUP,
            scenario.FLOOD_MEMBER,
            start + timedelta(seconds=4 * i),
            text,
            role="flood",
        )
        for i, text in enumerate(scenario.FLOOD_TEXTS)
    ]


# ---------------------------------------------------------------- chatter


def _weighted(rng: Random, items: Sequence[str], weights: Sequence[float]) -> str | None:
    if not items or sum(weights) <= 0:
        return None
    return rng.choices(items, weights=weights)[0]


def pick_member(
    b: Builder, group: company.GroupSpec, at: datetime, exclude: Iterable[str] = ()
) -> str | None:
    excluded = set(exclude)
    pool = [m for m in group.members if m not in excluded and b.can_post(m, group.group_id, at)]
    return _weighted(b.rng, pool, [company.PEOPLE_BY_ID[m].activity for m in pool])


def conversation_start(rng: Random, day: date) -> datetime:
    """A plausible time for a conversation to begin on ``day``."""
    if not is_workday(day):
        minute = rng.randint(10 * 60, 22 * 60)
    elif rng.random() < P_EVENING:
        minute = rng.randint(18 * 60 + 5, 22 * 60 + 30)
    else:
        spans = [
            (s.hour * 60 + s.minute, e.hour * 60 + e.minute - 5)
            for s, e in POLICY.working_time.periods
        ]
        lo, hi = rng.choices(spans, weights=[hi - lo for lo, hi in spans])[0]
        minute = rng.randint(lo, hi)
    return datetime.combine(day, time(minute // 60, minute % 60, rng.randint(0, 59)), TZ)


def chatter_text(rng: Random, templates: Sequence[str]) -> tuple[str, str]:
    """(kind, text): mostly text from ``templates``, sometimes an image/file/link/voice."""
    if rng.random() < P_MEDIA:
        kind, template = rng.choice(phrases.MEDIA)
        return kind, fill(template, rng)
    return "text", fill(rng.choice(templates), rng)


def answer_delay(rng: Random) -> timedelta:
    """How long a mentioned member takes to answer: mostly minutes, sometimes hours, now and
    then the next day (answered, but late)."""
    low, high = rng.choices(ANSWER_DELAYS, weights=ANSWER_DELAY_WEIGHTS)[0]
    return timedelta(minutes=rng.uniform(low, high))


def chat_conversation(b: Builder, group: company.GroupSpec, start: datetime) -> None:
    rng = b.rng
    names, weights = zip(*group.topics, strict=True)
    topic = phrases.TOPICS[rng.choices(names, weights=weights)[0]]
    opener_by = pick_member(b, group, start)
    if opener_by is None:
        return
    last_at, last_by = start, opener_by
    target = pick_member(b, group, start, exclude=[opener_by]) if rng.random() < P_MENTION else None
    answer_at = start + answer_delay(rng)
    if target is not None and answer_at < AS_OF and b.can_post(target, group.group_id, answer_at):
        question, answers = rng.choice(topic.asks)
        opener = b.add(
            group.group_id,
            opener_by,
            start,
            f"@{display(target)} {fill(question, rng)}",
            mentions=(target,),
        )
        b.add(
            group.group_id,
            target,
            answer_at,
            fill(rng.choice(answers), rng),
            reply_to=opener.seq if rng.random() < 0.75 else None,
        )
    else:
        kind, text = chatter_text(rng, topic.starters)
        opener = b.add(group.group_id, opener_by, start, text, kind=kind)
    count = rng.choices(range(len(FOLLOWUP_WEIGHTS)), weights=FOLLOWUP_WEIGHTS)[0]
    # distinct follow-ups within one conversation
    followups = rng.sample(topic.followups + phrases.GENERIC_FOLLOWUPS, count)
    for template in followups:
        at = last_at + timedelta(seconds=rng.randint(20, 360))
        sender = pick_member(b, group, at, exclude=[last_by])
        if sender is None:
            break
        kind, text = chatter_text(rng, (template,))
        reply = opener.seq if rng.random() < P_REPLY else None
        b.add(group.group_id, sender, at, text, kind=kind, reply_to=reply)
        last_at, last_by = at, sender


def chat(b: Builder) -> None:
    days = [SINCE.date() + timedelta(days=i) for i in range((UNTIL - SINCE).days)]
    for group in company.GROUPS:
        for day in days:
            mean = group.daily_conversations * (1 if is_workday(day) else WEEKEND_SHARE)
            count = max(0, round(b.rng.gauss(mean, mean / 4)))
            for start in sorted(conversation_start(b.rng, day) for _ in range(count)):
                chat_conversation(b, group, start)


def top_up_quiet_members(b: Builder, inactive: set[str]) -> None:
    """Give every active member a few messages in each group, some in the last 14 days."""
    recent_from = AS_OF - timedelta(days=POLICY.activity.inactive_days)
    counts: Counter[tuple[str, str]] = Counter()
    recent: Counter[tuple[str, str]] = Counter()
    for msg in b.messages:
        counts[(msg.sender_id, msg.group_id)] += 1
        recent[(msg.sender_id, msg.group_id)] += recent_from <= msg.at < AS_OF
    workdays = [d for d in (SINCE.date() + timedelta(days=i) for i in range(28)) if is_workday(d)]
    for group in company.GROUPS:
        topic = phrases.TOPICS[group.topics[0][0]]
        for member in group.members:
            key = (member, group.group_id)
            if member in inactive or key not in b.joined or b.gone.get(key, UNTIL) < AS_OF:
                continue
            for window_from, need in (
                (recent_from, MIN_RECENT - recent[key]),
                (SINCE, MIN_MESSAGES - counts[key]),
            ):
                days = [d for d in workdays if datetime.combine(d, time(9), TZ) >= window_from]
                tries = 0
                while need > 0 and tries < 200:
                    tries += 1
                    at = conversation_start(b.rng, b.rng.choice(days))
                    if at < AS_OF and b.can_post(member, group.group_id, at):
                        b.add(group.group_id, member, at, fill(b.rng.choice(topic.starters), b.rng))
                        counts[key] += 1
                        need -= 1


# ---------------------------------------------------------------- ids, checks, output


def assign_ids(b: Builder) -> None:
    b.messages.sort(key=lambda m: (m.at, m.seq))
    per_group: Counter[str] = Counter()
    for msg in b.messages:
        per_group[msg.group_id] += 1
        msg.message_id = f"{msg.group_id}-{per_group[msg.group_id]:05d}"


def check(b: Builder) -> None:
    """Refuse to write a bundle that breaks the plan's invariants."""
    families = marker_families()
    by_seq = {m.seq: m for m in b.messages}
    problems = []
    for msg in b.messages:
        found = markers_in(msg.text, families)
        required = REQUIRED_MARKER.get(msg.role)
        if found - ALLOWED_MARKERS[msg.role] or (required and required not in found):
            problems.append(f"{msg.role} {msg.at} {msg.text!r}: markers {sorted(found)}")
        if msg.sender_id != SYSTEM_SENDER and not b.can_post(msg.sender_id, msg.group_id, msg.at):
            problems.append(f"{msg.sender_id} may not post in {msg.group_id} at {msg.at}")
        if msg.reply_to is not None:
            parent = by_seq[msg.reply_to]
            if parent.at >= msg.at or parent.group_id != msg.group_id:
                problems.append(f"reply {msg.text!r} before its parent")
            if parent.role == "task" and msg.role not in {"ack", "done"}:
                problems.append(f"{msg.text!r} replies to a task")
        problems += [
            f"{m} not @-named in {msg.text!r}"
            for m in msg.mentions
            if f"@{display(m)}" not in msg.text or m == msg.sender_id
        ]
    window = timedelta(seconds=POLICY.moderation.flood_window_seconds)
    per_sender: defaultdict[tuple[str, str], list[datetime]] = defaultdict(list)
    for msg in b.messages:
        per_sender[(msg.sender_id, msg.group_id)].append(msg.at)
    for (sender, group_id), times in per_sender.items():
        times.sort()
        n = POLICY.moderation.flood_messages
        burst = any(times[i + n - 1] - times[i] <= window for i in range(len(times) - n + 1))
        if burst and (sender, group_id) != (scenario.FLOOD_MEMBER, scenario.FLOOD_GROUP):
            problems.append(f"unplanned flood by {sender} in {group_id}")
    if problems:
        raise AssertionError("demo data breaks its plan:\n" + "\n".join(problems[:20]))


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def obligation(kind: str, msg: Msg, assignee: str, due: datetime) -> tuple[bool, dict[str, Any]]:
    """(overdue?, the planted.json entry) for one open obligation."""
    entry = {
        "kind": kind,
        "platform": company.PLATFORM,
        "group_id": msg.group_id,
        "message_id": msg.message_id,
        "assignee_id": assignee,
        "requester_id": msg.sender_id,
        "requested_at": _iso(msg.at),
        "due_at": _iso(due),
    }
    margin = add_working_minutes(due, 7.5 * 60)  # a full working day
    if not (margin <= AS_OF or due > AS_OF):
        raise AssertionError(f"{kind} {msg.text!r} due {due}: too close to as_of")
    return due < AS_OF, entry


def task_entry(t: PlantedTask) -> tuple[dict[str, Any], list[tuple[bool, dict[str, Any]]]]:
    ack_due = add_working_minutes(t.task.at, POLICY.tasks.ack_deadline_working_hours * 60)
    default = add_working_minutes(
        t.task.at, POLICY.tasks.default_deadline_working_days * _working_day_minutes()
    )
    effective = t.committed or t.deadline or default
    acked = t.ack is not None and t.ack.at < AS_OF
    done = t.done is not None and t.done.at < AS_OF
    items = []
    if not acked:
        items.append(obligation("task_ack", t.task, t.assignee, ack_due))
    if not done:
        items.append(obligation("task_done", t.task, t.assignee, effective))
    state = (
        "done"
        if done
        else "overdue"
        if effective < AS_OF
        else "ack_overdue"
        if not acked and ack_due < AS_OF
        else "acknowledged"
        if acked
        else "open"
    )
    entry = {
        "group_id": t.task.group_id,
        "message_id": t.task.message_id,
        "assignee_id": t.assignee,
        "requester_id": t.task.sender_id,
        "requested_at": _iso(t.task.at),
        "deadline_text": t.deadline_text,
        "deadline": _iso(t.deadline),
        "default_deadline": _iso(default) if t.deadline is None else None,
        "ack_due": _iso(ack_due),
        "ack_id": t.ack.message_id if t.ack else None,
        "acked_at": _iso(t.ack.at if t.ack else None),
        "ack_late": bool(t.ack and t.ack.at > ack_due),
        "commitment_text": t.commitment_text,
        "committed_deadline": _iso(t.committed),
        "effective_deadline": _iso(effective),
        "done_id": t.done.message_id if t.done else None,
        "done_at": _iso(t.done.at if t.done else None),
        "done_late": bool(t.done and t.done.at > effective),
        "state_at_as_of": state,
    }
    return entry, items


def _working_day_minutes() -> float:
    return sum(
        (datetime.combine(date.min, e) - datetime.combine(date.min, s)).total_seconds() / 60
        for s, e in POLICY.working_time.periods
    )


def inactive_members(b: Builder) -> list[str]:
    """Members with no message anywhere in the 14 days before as_of, still in some group."""
    cutoff = AS_OF - timedelta(days=POLICY.activity.inactive_days)
    last: dict[str, datetime] = {}
    for msg in b.messages:
        last[msg.sender_id] = max(last.get(msg.sender_id, msg.at), msg.at)
    current = {m for (m, g), at in b.joined.items() if b.gone.get((m, g), UNTIL) > AS_OF}
    return sorted(m for m in current if last.get(m, SINCE) < cutoff)


@dataclass(slots=True)
class Plan:
    tasks: list[PlantedTask]
    mentions: list[tuple[scenario.Mention, Msg]]
    notices: list[tuple[Msg, Msg | None]]
    meetings: list[PlantedMeeting]
    important: list[Msg]
    ad: Msg
    confidential: list[Msg]
    flood: list[Msg]


def planted_record(b: Builder, plan: Plan, seed: int) -> dict[str, Any]:
    overdue: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    tasks = []
    for t in plan.tasks:
        entry, items = task_entry(t)
        tasks.append(entry)
        for is_overdue, item in items:
            (overdue if is_overdue else pending).append(item)
    for mention, msg in plan.mentions:
        for member in mention.assignees:
            if member in mention.answered_by:
                continue
            due = add_working_minutes(msg.at, POLICY.replies.deadline_working_hours * 60)
            is_overdue, item = obligation("reply", msg, member, due)
            (overdue if is_overdue else pending).append(item)
    order = ("group_id", "message_id", "assignee_id", "kind")
    expiry = AS_OF - timedelta(days=POLICY.notices.retention_days)
    notices = [n for pair in plan.notices for n in pair if n is not None]
    people = company.PEOPLE_BY_ID
    return {
        "seed": seed,
        "as_of": AS_OF.isoformat(),
        "period": {"since": SINCE.isoformat(), "until": UNTIL.isoformat()},
        "overdue": sorted(overdue, key=lambda e: tuple(e[k] for k in order)),
        "pending": sorted(pending, key=lambda e: tuple(e[k] for k in order)),
        "tasks": tasks,
        "notices": {
            "all": [n.message_id for n in sorted(notices, key=lambda n: n.at)],
            "expired": [n.message_id for n in sorted(notices, key=lambda n: n.at) if n.at < expiry],
            "duplicates": [
                {"original": o.message_id, "duplicate": r.message_id, "exact": o.text == r.text}
                for o, r in plan.notices
                if r is not None
            ],
        },
        "meetings": [
            {
                "group_id": m.notice.group_id,
                "notice_id": m.notice.message_id,
                "minutes_id": m.minutes.message_id if m.minutes else None,
                "topic": m.spec.topic,
                "kind": m.spec.kind,
                "starts_at": local(m.spec.starts).isoformat(),
                "leaves": [
                    {"message_id": x.message_id, "member_id": x.sender_id} for x in m.leaves
                ],
            }
            for m in plan.meetings
        ],
        "violations": {
            "ad": [plan.ad.message_id],
            "flood": {
                "group_id": scenario.FLOOD_GROUP,
                "member_id": scenario.FLOOD_MEMBER,
                "message_ids": [m.message_id for m in plan.flood],
            },
            "confidential": [m.message_id for m in plan.confidential],
        },
        "membership": {
            "unapproved_joins": [
                {"group_id": g, "member_id": m, "at": local(at).isoformat()}
                for g, m, ev, at, by, _ in scenario.MEMBERSHIP_EVENTS
                if ev == "join" and not by
            ],
            "removed": [
                {
                    "group_id": g,
                    "member_id": m,
                    "at": local(at).isoformat(),
                    "by": by,
                    "reason": reason,
                }
                for g, m, ev, at, by, reason in scenario.MEMBERSHIP_EVENTS
                if ev == "removed"
            ],
            "left": [
                {"group_id": g, "member_id": m, "at": local(at).isoformat()}
                for g, m, ev, at, *_ in scenario.MEMBERSHIP_EVENTS
                if ev == "leave"
            ],
            "departed_still_in_group": [
                {"group_id": g, "member_id": m}
                for (m, g) in sorted(b.joined, key=lambda k: (k[1], k[0]))
                if people[m].department == "已离职" and (m, g) not in b.gone
            ],
            "no_real_name": [p.member_id for p in company.PEOPLE if not p.real_name],
            "display_name_differs": [
                p.member_id for p in company.PEOPLE if p.real_name and p.real_name != p.display_name
            ],
        },
        "inactive_members": inactive_members(b),
        "important": sorted(m.message_id for m in plan.important),
        "mention_all": sorted(m.message_id for m in b.messages if m.mention_all),
    }


def message_record(msg: Msg, by_seq: dict[int, Msg]) -> dict[str, Any]:
    values = {
        "platform": company.PLATFORM,
        "group_id": msg.group_id,
        "message_id": msg.message_id,
        "sender_id": msg.sender_id,
        "sent_at": msg.at.isoformat(),
        "kind": msg.kind,
        "text": msg.text,
        "reply_to": by_seq[msg.reply_to].message_id if msg.reply_to is not None else None,
        "mentions": list(msg.mentions),
        "mention_all": msg.mention_all,
        "pinned": msg.pinned,
    }
    return {f.name: values[f.name] for f in FIELDS["messages"]}


def generate(seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """The whole bundle, as records per file stem plus ``planted``."""
    b = Builder(Random(seed))
    memberships = membership_records(b)
    plant_system_messages(b)
    plan = Plan(
        tasks=plant_tasks(b),
        mentions=plant_mentions(b),
        notices=plant_notices(b),
        meetings=plant_meetings(b),
        important=[plant_plain(b, p, "important") for p in scenario.IMPORTANT],
        ad=plant_plain(b, scenario.AD, "ad"),
        confidential=[plant_plain(b, p, "confidential") for p in scenario.CONFIDENTIAL],
        flood=plant_flood(b),
    )
    chat(b)
    top_up_quiet_members(b, {p.member_id for p in company.PEOPLE if p.active_until})
    assign_ids(b)
    check(b)
    by_seq = {m.seq: m for m in b.messages}
    return {
        "groups": group_records(),
        "members": member_records(),
        "memberships": memberships,
        "messages": [message_record(m, by_seq) for m in b.messages],
        "planted": planted_record(b, plan, seed),
    }


def write_bundle(out: Path, seed: int = DEFAULT_SEED) -> dict[str, int]:
    """Write the bundle into ``out``; returns the number of records per file."""
    out.mkdir(parents=True, exist_ok=True)
    data = generate(seed)
    counts = {}
    for stem, records in data.items():
        if stem == "planted":
            text = json.dumps(records, ensure_ascii=False, indent=2) + "\n"
            (out / "planted.json").write_text(text, encoding="utf-8")
            continue
        assert isinstance(records, list)
        lines = (json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        (out / f"{stem}.jsonl").write_text("".join(lines), encoding="utf-8")
        counts[stem] = len(records)
    return counts


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=Path("data/demo"))
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    counts = write_bundle(args.out, args.seed)
    print(", ".join(f"{stem}: {n}" for stem, n in counts.items()), f"-> {args.out}")


if __name__ == "__main__":
    main()
