"""Reading meeting messages (rulebook ch. 5): notices, minutes with their action items, leave.

Pure text in, plain values out; times are read with the one deadline parser
(:mod:`groupops.clock.deadline_text`), names through :class:`Names` (the member directory).

**A notice** (a message with a ``meetings.notice_markers`` word) gives its facts on labelled
lines, Chinese or English, ``：`` or ``:``:

=========  ===========================================================================
topic      主题, 会议主题, 会议名称, Topic, Subject, Title
time       时间, 会议时间, Time, When — a start or a range (11月20日 14:00-15:30, 本周五下午3点)
place      地点, 会议地点, 会议室, 链接, 会议链接, Place, Location, Room, Link, Where
attendees  参会人员, 参会人, 参加人员, 与会人员, 出席人员, Attendees, Participants —
           @mentions, names from the directory, or @all (@所有人, 全体成员)
agenda     议程, 会议议程, Agenda — items on the line (split at ；/;) and the list lines after it
=========  ===========================================================================

Without a topic line the topic is the first line of text (markers and @mentions removed);
without a time line the time is read from the whole text. A ``meetings.cancel_markers`` word
outside the topic and agenda values (or in brackets at the topic's end, 产品周会（取消）) makes
the notice a cancellation.

**Minutes** (a ``meetings.minutes_markers`` word): the topic is the first line (after the
marker) or a topic line; each line of either form is an **action item**:

* ``@某人 事项 截止时间`` (English: ``@bob update the deck by Friday``);
* ``- 事项 负责人：某人 截止：…`` (also ``事项——负责人：某人，截止11月20日``; 责任人, 跟进人,
  Owner, Assignee; 截止, 截止时间, Deadline, Due) — several people (张三、李四) share the item.

A deadline is read relative to the minutes' time; an item without one gets the default task
deadline. Other list lines are the **decisions**.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from groupops.clock.deadline_text import find_deadline, find_when
from groupops.clock.workclock import WorkClock

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ActionLine",
    "MinutesText",
    "Names",
    "NoticeText",
    "contains_any",
    "normalise_topic",
    "parse_minutes",
    "parse_notice",
]

_LABELS: dict[str, tuple[str, ...]] = {
    "topic": ("会议主题", "会议名称", "主题", "topic", "subject", "title"),
    "time": ("会议时间", "时间", "time", "when"),
    "place": ("会议地点", "地点", "会议室", "会议链接", "链接", "place", "location", "room", "link", "where"),
    "attendees": ("参会人员", "参加人员", "与会人员", "出席人员", "参会人", "参会", "attendees", "participants"),
    "agenda": ("会议议程", "议程", "agenda"),
}  # fmt: skip
_LABEL_RE = re.compile(
    r"^\s*(?:[-*•·]\s*)?(?P<label>"
    + "|".join(re.escape(w) for ws in _LABELS.values() for w in sorted(ws, key=len, reverse=True))
    + r")\s*[:：]\s*(?P<value>.*)$",
    re.IGNORECASE,
)
_LABEL_OF = {w.lower(): k for k, ws in _LABELS.items() for w in ws}
_ALL_WORDS = ("所有人", "全体成员", "全体", "全员", "all", "everyone", "所有成员")
_SPLIT_NAMES = re.compile(r"[、,，;；/\s\u2005]+")
_LIST_ITEM = re.compile(r"^\s*(?:[-*•·]|\d{1,2}\s*[.、)）]|[（(]\d{1,2}[)）])\s*")
_OWNER_RE = re.compile(
    r"(?:负责人|责任人|跟进人|执行人|owner|assignee)\s*[:：]\s*(?P<names>[^，,；;。\n]+?)"
    r"(?=\s*(?:[，,；;。]|截止|deadline|due\b|$))",
    re.IGNORECASE,
)
_DUE_RE = re.compile(
    r"(?:截止时间|截止日期|截止|deadline|due)\s*[:：]?\s*(?P<when>[^，,；;。\n]+)", re.IGNORECASE
)
_CUE_BEFORE_TAIL = re.compile(
    r"(?:截止到|截止|截至|最迟|最晚|请于|请在|需在|要在|by|before|due|until|no later than)\s*[:：]?\s*$",
    re.IGNORECASE,
)
_CUE_AFTER_HEAD = re.compile(r"^\s*(?:之前|以前|前|为止|内|之内)")
_MENTION_HEAD = re.compile(r"^\s*(?:[-*•·]|\d{1,2}\s*[.、)）])?\s*@")
_TRIM = " \t-—–:：,，;；。.、"


def contains_any(text: str, words: Iterable[str]) -> bool:
    """Whether ``text`` holds one of ``words`` (case-insensitive; ASCII words as whole words,
    as the deadline watcher matches its markers)."""
    low = text.lower()
    for word in words:
        w = word.lower()
        if re.match(r"\w", w, re.ASCII):
            if re.search(r"(?<![a-z0-9])" + re.escape(w) + r"(?![a-z0-9])", low):
                return True
        elif w in low:
            return True
    return False


def normalise_topic(topic: str) -> str:
    """A topic as compared: lower case, without spaces, brackets' styles and trailing
    punctuation (产品周会（11月18日） == 产品周会(11月18日))."""
    text = topic.lower().translate(str.maketrans("（）【】［］：", "()[][]:"))
    return re.sub(r"[\s\u2005]+", "", text).strip(".。!！")


class Names:
    """Names and ids of a platform's members → member ids (directory names: real name,
    display name, the id itself; a bracketed suffix may be left out: 赵磊 for 赵磊（前端）)."""

    def __init__(self, members: pd.DataFrame | list[dict[str, Any]]) -> None:
        """From a ``load_members`` frame or its rows (``groupops.db.rows.load_member_rows``)."""
        self._by: dict[tuple[str, str], list[str]] = {}
        rows: Sequence[Any] = (
            members if isinstance(members, list) else
            members.to_dict("records") if len(members) else []
        )  # fmt: skip
        for row in rows:
            platform, member_id = str(row["platform"]), str(row["member_id"])
            for col in ("member_id", "real_name", "display_name"):
                value = row.get(col)
                if not isinstance(value, str) or not value.strip():
                    continue
                for key in {value.strip(), re.sub(r"\s*[（(【\[].*$", "", value.strip())}:
                    if key:
                        ids = self._by.setdefault((platform, key.lower()), [])
                        if member_id not in ids:
                            ids.append(member_id)
        self._longest = sorted({k for _, k in self._by}, key=len, reverse=True)

    def resolve(self, platform: str, name: str, prefer: Sequence[str] = ()) -> str | None:
        """The member id of ``name`` (an id or a name); with several candidates the one in
        ``prefer`` (the group's members), else the first; ``None`` when unknown."""
        token = name.strip().lstrip("@").strip()
        for key in (token, re.sub(r"\s*[（(【\[].*$", "", token)):
            ids = self._by.get((platform, key.lower()))
            if ids:
                preferred = [i for i in ids if i in prefer]
                return (preferred or ids)[0]
        return None

    def prefix(
        self, platform: str, text: str, prefer: Sequence[str] = ()
    ) -> tuple[str, int] | None:
        """The member whose name starts ``text`` (longest name first): ``(id, length)``."""
        token = re.split(r"[\s\u2005]", text, maxsplit=1)[0]
        if token and (found := self.resolve(platform, token, prefer)):
            return found, len(token)
        low = text.lower()
        for key in self._longest:
            if low.startswith(key) and (found := self.resolve(platform, key, prefer)):
                return found, len(key)
        return None


@dataclass(frozen=True)
class NoticeText:
    """What a notice says. ``start``/``end`` are aware (``end`` only from a range)."""

    topic: str | None
    start: datetime | None
    end: datetime | None
    place: str | None
    attendee_names: tuple[str, ...]
    attendees_all: bool
    agenda: tuple[str, ...]
    cancelled: bool
    has_attendee_line: bool


def _strip_markers(line: str, markers: Iterable[str]) -> str:
    out = line
    for word in sorted(markers, key=len, reverse=True):
        out = re.sub(re.escape(word), " ", out, flags=re.IGNORECASE)
    out = re.sub(r"@\S+", " ", out)
    return out.strip(_TRIM + "【】[]")


def _lines(text: str, markers: Sequence[str]) -> list[str]:
    """The text's lines, each without the markers and @mentions it starts with
    (``@所有人 【会议通知】主题：…`` → ``主题：…``)."""
    lead = re.compile(
        r"^\s*(?:(?:@\S+|" + "|".join(re.escape(w) for w in markers) + r")\s*[:：]?\s*)+",
        re.IGNORECASE,
    )
    out = []
    for line in text.splitlines():
        stripped = lead.sub("", line)
        out.append(stripped if _LABEL_RE.match(stripped) else line)
    return out


def _split_items(value: str) -> list[str]:
    parts = [_LIST_ITEM.sub("", p).strip(_TRIM) for p in re.split(r"[；;]", value)]
    return [p for p in parts if p]


def parse_notice(
    text: str,
    sent_at: datetime,
    clock: WorkClock,
    *,
    notice_markers: Sequence[str],
    cancel_markers: Sequence[str],
) -> NoticeText:
    """The facts of a meeting notice (see the module doc)."""
    lines = _lines(text, notice_markers)
    found: dict[str, str] = {}
    agenda: list[str] = []
    consumed: set[int] = set()
    i = 0
    while i < len(lines):
        m = _LABEL_RE.match(lines[i])
        if m is None:
            i += 1
            continue
        kind = _LABEL_OF[m["label"].lower()]
        consumed.add(i)
        found.setdefault(kind, m["value"].strip())
        if kind == "agenda":
            agenda.extend(_split_items(m["value"]))
            j = i + 1
            while j < len(lines) and _LIST_ITEM.match(lines[j]) and not _LABEL_RE.match(lines[j]):
                agenda.extend(_split_items(lines[j]))
                consumed.add(j)
                j += 1
            i = j
            continue
        i += 1

    topic = found.get("topic")
    if not topic:
        for line in lines:
            candidate = _strip_markers(line, [*notice_markers])
            if candidate and not _LABEL_RE.match(line):
                topic = candidate[:120]
                break
    cancelled = False
    if topic:
        bracketed = re.compile(
            r"\s*[（(【\[]\s*(?:"
            + "|".join(re.escape(w) for w in cancel_markers)
            + r")\s*[)）】\]]\s*$",
            re.IGNORECASE,
        )
        if bracketed.search(topic):
            cancelled = True
            topic = bracketed.sub("", topic).strip()
        elif m2 := re.match(
            r"^\s*(?:" + "|".join(re.escape(w) for w in cancel_markers) + r")\s*[:：]\s*(?P<t>.+)$",
            topic,
            re.IGNORECASE,
        ):
            cancelled, topic = True, m2["t"].strip()
    # Cancellation words count outside the topic, attendee and agenda values.
    rest = "\n".join(
        line
        for n, line in enumerate(lines)
        if n not in consumed or _kind(line) in ("time", "place")
    )
    cancelled = cancelled or contains_any(rest, cancel_markers)

    when = find_when(found["time"], sent_at, clock) if found.get("time") else None
    if when is None:
        when = find_deadline(_strip_markers(text, notice_markers), sent_at, clock)
        if when is not None and not when.has_time and found.get("time") is None:
            when = None  # a date somewhere in a free text is not a meeting time
    names, everyone = _attendee_tokens(found.get("attendees", ""))
    return NoticeText(
        topic=topic or None,
        start=when.at if when else None,
        end=when.until if when else None,
        place=found.get("place") or None,
        attendee_names=tuple(names),
        attendees_all=everyone,
        agenda=tuple(agenda),
        cancelled=cancelled,
        has_attendee_line="attendees" in found,
    )


def _kind(line: str) -> str | None:
    m = _LABEL_RE.match(line)
    return _LABEL_OF[m["label"].lower()] if m else None


def _attendee_tokens(value: str) -> tuple[list[str], bool]:
    names, everyone = [], False
    for token in _SPLIT_NAMES.split(value):
        token = token.strip(_TRIM).lstrip("@")
        if not token:
            continue
        if token.lower() in _ALL_WORDS:
            everyone = True
        else:
            names.append(token)
    return names, everyone


@dataclass(frozen=True)
class ActionLine:
    """One action item: the people (ids; names not in the directory in ``unresolved``), what,
    and when (``None``: no deadline stated)."""

    number: int
    assignee_ids: tuple[str, ...]
    text: str
    due_at: datetime | None
    due_text: str | None
    unresolved: tuple[str, ...] = ()


@dataclass(frozen=True)
class MinutesText:
    topic: str | None
    action_items: tuple[ActionLine, ...]
    decisions: tuple[str, ...]
    unresolved: tuple[str, ...] = field(default=())


def parse_minutes(
    text: str,
    sent_at: datetime,
    clock: WorkClock,
    names: Names,
    platform: str,
    *,
    minutes_markers: Sequence[str],
    prefer: Sequence[str] = (),
) -> MinutesText:
    """Topic, action items and decisions of a minutes message (see the module doc)."""
    lines = _lines(text, minutes_markers)
    topic: str | None = None
    for line in lines:
        m = _LABEL_RE.match(line)
        if m and _LABEL_OF[m["label"].lower()] == "topic":
            topic = m["value"].strip() or None
            break
    if topic is None:
        for line in lines:
            if contains_any(line, minutes_markers):
                topic = _strip_markers(line, minutes_markers) or None
                break
    items: list[ActionLine] = []
    decisions: list[str] = []
    unresolved: list[str] = []
    for line in lines:
        if contains_any(line, minutes_markers) or _LABEL_RE.match(line):
            continue
        item = _action_line(line, len(items) + 1, sent_at, clock, names, platform, prefer)
        if item is not None:
            items.append(item)
            unresolved.extend(item.unresolved)
        elif _LIST_ITEM.match(line) and (body := _LIST_ITEM.sub("", line).strip(_TRIM)):
            decisions.append(body)
    return MinutesText(topic, tuple(items), tuple(decisions), tuple(unresolved))


def _owners(
    value: str, names: Names, platform: str, prefer: Sequence[str]
) -> tuple[list[str], list[str]]:
    """Member ids named in an owner field (张三、李四; Bob Smith), and the names not found."""
    whole = names.resolve(platform, value.strip(_TRIM), prefer)
    if whole is not None:
        return [whole], []
    ids: list[str] = []
    missing: list[str] = []
    for token in _SPLIT_NAMES.split(value):
        token = token.strip(_TRIM).lstrip("@")
        if not token:
            continue
        found = names.resolve(platform, token, prefer)
        if found is None:
            missing.append(token)
        elif found not in ids:
            ids.append(found)
    return ids, missing


def _action_line(
    line: str,
    number: int,
    sent_at: datetime,
    clock: WorkClock,
    names: Names,
    platform: str,
    prefer: Sequence[str],
) -> ActionLine | None:
    owner = _OWNER_RE.search(line)
    if owner is not None:
        ids, not_found = _owners(owner["names"], names, platform, prefer)
        before, after = line[: owner.start()], line[owner.end() :]
        due_m = _DUE_RE.search(after)
        if due_m is None and (due_b := _DUE_RE.search(before)):
            before, due_m = before[: due_b.start()], due_b
        if due_m is not None:
            due = find_when(due_m["when"].strip(_TRIM), sent_at, clock)
        else:
            due = find_deadline(after, sent_at, clock) if after.strip(_TRIM) else None
            if due is None and (cued := find_deadline(before, sent_at, clock)) and cued.cued:
                due = cued  # 下周二前出合作方案——负责人：韩梅梅
        what = _LIST_ITEM.sub("", before).strip(_TRIM)
        if not what:
            return None
        return ActionLine(
            number, tuple(ids), what, due.at if due else None, due.text if due else None,
            tuple(not_found),
        )  # fmt: skip
    head = _MENTION_HEAD.match(line)
    if head is None:
        return None
    rest = line[head.end() :]
    found_p = names.prefix(platform, rest, prefer)
    token = re.split(r"[\s\u2005]", rest, maxsplit=1)[0]
    if token.lower() in _ALL_WORDS:
        return None
    if found_p is None:
        assignees: tuple[str, ...] = ()
        missing: tuple[str, ...] = (token,)
        body = rest[len(token) :].strip(_TRIM)
    else:
        assignees, missing = (found_p[0],), ()
        body = rest[found_p[1] :].strip(_TRIM)
    due = find_deadline(body, sent_at, clock)
    what = body
    if due is not None:
        before = _CUE_BEFORE_TAIL.sub("", body[: due.start])
        after = _CUE_AFTER_HEAD.sub("", body[due.end :])
        what = (before.strip(_TRIM) + " " + after.strip(_TRIM)).strip(_TRIM) or body
    if not what:
        return None
    return ActionLine(
        number, assignees, what, due.at if due else None, due.text if due else None, missing
    )
