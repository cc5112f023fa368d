"""Meetings from the group and from files, at one ``as_of`` (rulebook ch. 5).

* **Meetings**: each declared occurrence (``data/meetings/*.md``) and each notice that is not a
  change of a known meeting. A later notice is a **change** of meeting M (``sequence`` + 1)
  when it replies to one of M's notices, or has M's topic (same group, M not yet ended), or
  (no topic line) names M's topic in its text, or starts exactly when a declared occurrence of
  the group starts; a change with a cancellation word **cancels** M.
* **Attendees**: the notice's attendee line (names, @mentions; @all = the group's members at the
  start), else its @mentions (@all likewise); the organizer (the notice's sender, or the file's
  organizer) always attends.
* **Leave**: an attendee's message with a leave word that replies to a notice of M, or mentions
  M's organizer (then the attendee's next meeting of that organizer not yet ended): before the
  start ``on_leave``, after it ``late_leave``. Attendance itself is not known (a meeting link's
  participants are out of scope): ``attendance`` says ``unknown``.
* **Minutes**: the first message with a minutes word, sent after M's start, that replies to a
  notice of M or names M's topic (the latest such meeting of the group). Due
  ``meetings.minutes_due_working_hours`` of working time after the end: ``minutes_state``
  ``not_due`` (not yet due, or cancelled), ``published``, ``late`` (after the due time) or
  ``missing`` (none and overdue).
* **State**: ``cancelled``; ``held`` once the start has passed; else ``scheduled``.

Action items become tasks of the deadline watcher through :func:`meeting_source`, and missing
minutes an item of its escalation ladder (kind ``minutes``: the organizer, then admins, owner).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from groupops.activity.markers import marker_regex
from groupops.clock.workclock import WorkClock
from groupops.meetings.declared import DeclaredMeeting, occurrences
from groupops.meetings.parse import (
    Names,
    NoticeText,
    contains_any,
    normalise_topic,
    parse_minutes,
    parse_notice,
)
from groupops.policy import Policy

if TYPE_CHECKING:  # pandas and the frame engine only where frames are read (not the row path)
    import pandas as pd

    from groupops.deadlines.obligations import Obligations, ObligationSource, Sourced
    from groupops.deadlines.rows import Msg

__all__ = [
    "ActionItem",
    "Meeting",
    "MeetingWorld",
    "Meetings",
    "find_meetings",
    "meeting_records",
    "meeting_source",
]

MEETING_STATES = ("scheduled", "held", "cancelled")
MINUTES_STATES = ("not_due", "published", "late", "missing")


@dataclass
class ActionItem:
    """One action item of one assignee (``task_id`` is its task's ``message_id`` in the
    deadline watcher: ``<minutes message id>#<n>``)."""

    task_id: str
    number: int
    assignee_id: str | None
    assignee_name: str | None
    text: str
    stated_due_at: datetime | None
    due_text: str | None


@dataclass
class Meeting:
    meeting_id: str
    platform: str
    group_id: str
    topic: str
    start: datetime
    end: datetime
    place: str | None
    organizer_id: str | None
    attendees: list[str]
    agenda: list[str]
    source: str  # notice | file
    created_at: datetime  # the first notice, or the declared start for files
    notice_message_id: str | None = None
    notice_message_ids: list[str] = field(default_factory=list)
    declared_file: str | None = None
    sequence: int = 0
    changed_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_message_id: str | None = None
    on_leave: list[str] = field(default_factory=list)
    late_leave: list[str] = field(default_factory=list)
    leave_message_ids: list[str] = field(default_factory=list)
    minutes_message_id: str | None = None
    minutes_at: datetime | None = None
    minutes_by: str | None = None
    decisions: list[str] = field(default_factory=list)
    action_items: list[ActionItem] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    # Derived at as_of by find_meetings:
    state: str = "scheduled"
    minutes_due_at: datetime | None = None
    minutes_state: str = "not_due"

    @property
    def cancelled(self) -> bool:
        return self.cancelled_at is not None

    @property
    def uid(self) -> str:
        """The iCalendar UID: stable for the meeting whatever changes."""
        return f"{self.meeting_id}@groupops"


@dataclass(frozen=True)
class MeetingWorld:
    """What reading meetings needs besides the messages: the directory, the groups, the
    memberships (``load_members`` / ``load_groups`` / ``load_memberships`` frames, or their rows
    from :mod:`groupops.db.rows`) and the declared meetings."""

    members: pd.DataFrame | list[dict[str, Any]]
    groups: pd.DataFrame | list[dict[str, Any]]
    memberships: pd.DataFrame | list[dict[str, Any]]
    declared: Sequence[DeclaredMeeting] = ()

    def names(self) -> Names:
        return Names(self.members)


@dataclass(frozen=True)
class Meetings:
    as_of: datetime
    meetings: list[Meeting]
    problems: list[str]


# -- finding meetings -----------------------------------------------------------------------


def _first_marker(text: str, families: Mapping[str, Sequence[str]]) -> str | None:
    """The family whose word appears first in ``text``."""
    low = text.lower()
    best: tuple[int, str] | None = None
    for family, words in families.items():
        for word in words:
            pos = low.find(word.lower())
            if pos >= 0 and contains_any(text, [word]) and (best is None or pos < best[0]):
                best = (pos, family)
    return best[1] if best else None


def _prepare(messages: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    import pandas as pd

    msgs = messages.loc[pd.to_datetime(messages["sent_at"], utc=True) <= as_of].copy()
    msgs["sent_at"] = pd.to_datetime(msgs["sent_at"], utc=True)
    msgs["text"] = msgs["text"].fillna("").astype(str)
    msgs["mention_all"] = msgs["mention_all"].fillna(False).astype(bool)
    msgs["reply_to"] = msgs["reply_to"].where(msgs["reply_to"].notna(), None)
    return msgs.sort_values(["sent_at", "message_id"], kind="stable").reset_index(drop=True)


def _rows(table: pd.DataFrame | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A world's table as rows (a frame's in its order)."""
    if isinstance(table, list):
        return table
    return [{str(k): v for k, v in r.items()} for r in table.to_dict("records")]


class _Members:
    """Who is in a group at an instant, from membership events (else the group's senders)."""

    def __init__(
        self, memberships: list[dict[str, Any]], senders: dict[tuple[str, str], list[str]]
    ) -> None:
        """``memberships``: event rows (``at`` aware); ``senders``: each group's senders of
        messages that are not ``system`` ones, in order of their first message."""
        self._events: dict[tuple[str, str], list[tuple[datetime, str, str]]] = {}
        for row in sorted(memberships, key=lambda r: r["at"]):
            key = (str(row["platform"]), str(row["group_id"]))
            self._events.setdefault(key, []).append(
                (_pydatetime(row["at"]), str(row["member_id"]), str(row["event"]))
            )
        self._senders = senders

    def at(self, platform: str, group_id: str, instant: datetime) -> list[str]:
        events = self._events.get((platform, group_id))
        if not events:
            return list(self._senders.get((platform, group_id), []))
        members: dict[str, None] = {}
        for at, member, event in events:
            if at > instant:
                break
            if event == "join":
                members[member] = None
            else:
                members.pop(member, None)
        return list(members)


def _pydatetime(value: Any) -> datetime:
    """An aware instant as a plain ``datetime`` (a pandas ``Timestamp`` converted)."""
    convert = getattr(value, "to_pydatetime", None)
    out: datetime = convert() if convert is not None else value
    return out


def find_meetings(
    messages: pd.DataFrame,
    policy: Policy,
    as_of: datetime,
    world: MeetingWorld,
    *,
    clock: WorkClock | None = None,
    since: datetime | None = None,
) -> Meetings:
    """Every meeting known at ``as_of`` (see the module doc). Declared occurrences from
    ``since`` (default: the first message) to ``meetings.declared_days_ahead`` days after
    ``as_of``; messages after ``as_of`` are ignored."""
    import pandas as pd

    from groupops.activity.answers import text_matches

    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    clock = clock or WorkClock.from_policy(policy)
    as_of_ts = pd.Timestamp(as_of).tz_convert("UTC")
    msgs = _prepare(messages, as_of_ts)
    senders: dict[tuple[str, str], list[str]] = {}
    human = msgs[msgs["kind"] != "system"] if "kind" in msgs else msgs
    for (platform, group), part in human.groupby(["platform", "group_id"], sort=False):
        senders[(str(platform), str(group))] = first_seen(part["sender_id"])
    first = msgs["sent_at"].min().to_pydatetime() if len(msgs) else None
    human = msgs[msgs["kind"] != "system"]
    # Only messages holding some marker are read (a vectorised test first).
    human = human[text_matches(human["text"], _every_marker(policy))]
    rows: list[dict[str, Any]] = [
        {str(k): v for k, v in r.items()} for r in human.to_dict("records")
    ]
    for row in rows:
        row["sent_at"] = row["sent_at"].to_pydatetime()
    return _find(rows, senders, first, world, policy, clock, as_of, since)


def first_seen(column: pd.Series) -> list[Any]:
    """``list(dict.fromkeys(column))`` (each value once, in order of first appearance) by
    pandas' hash table instead of a Python object per row (150k messages: ~0.1 s of CPU;
    ``tests/test_text_matches.py``)."""
    return list(dict.fromkeys(column.unique()))


def find_meetings_rows(
    messages: Sequence[Msg],
    policy: Policy,
    as_of: datetime,
    world: MeetingWorld,
    *,
    clock: WorkClock | None = None,
    since: datetime | None = None,
) -> Meetings:
    """:func:`find_meetings` over the row engine's messages (:class:`groupops.deadlines.rows.Msg`,
    any order) and a world of rows: the same meetings, without pandas."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    clock = clock or WorkClock.from_policy(policy)
    msgs = sorted(
        (m for m in messages if m.sent_at <= as_of), key=lambda m: (m.sent_at, m.message_id)
    )
    senders: dict[tuple[str, str], list[str]] = {}
    for m in msgs:
        if m.kind != "system":
            group = senders.setdefault((m.platform, m.group_id), [])
            if m.sender_id not in group:
                group.append(m.sender_id)
    first = min(m.sent_at for m in msgs) if msgs else None
    marked = re.compile(_every_marker(policy)).search
    rows = [
        {"platform": m.platform, "group_id": m.group_id, "message_id": m.message_id,
         "sender_id": m.sender_id, "sent_at": m.sent_at, "kind": m.kind, "text": m.text,
         "reply_to": m.reply_to, "mentions": list(m.mentions), "mention_all": m.mention_all}
        for m in msgs
        if m.kind != "system" and marked(m.text)
    ]  # fmt: skip
    return _find(rows, senders, first, world, policy, clock, as_of, since)


def _families(policy: Policy) -> dict[str, list[str]]:
    mp = policy.meetings
    return {"notice": mp.notice_markers, "minutes": mp.minutes_markers, "leave": mp.leave_markers}


def _every_marker(policy: Policy) -> str:
    return marker_regex([w for words in _families(policy).values() for w in words])


def _find(
    rows: list[dict[str, Any]],
    senders: dict[tuple[str, str], list[str]],
    first: datetime | None,
    world: MeetingWorld,
    policy: Policy,
    clock: WorkClock,
    as_of: datetime,
    since: datetime | None,
) -> Meetings:
    """The meetings from the marked messages' ``rows`` (oldest first, ``sent_at`` a plain
    aware ``datetime``), each group's ``senders`` and the ``first`` message's instant."""
    # Days ahead and back are calendar days of the policy's zone, whatever zone the caller's
    # instants are in (a UTC ``as_of`` and a local one find the same meetings across DST).
    as_of = as_of.astimezone(clock.tz)
    since = since.astimezone(clock.tz) if since is not None else None
    mp = policy.meetings
    names = world.names()
    members = _Members(_rows(world.memberships), senders)
    problems: list[str] = []
    meetings: list[Meeting] = []
    if since is None:
        since = first if first is not None else as_of
    _declare(meetings, world, names, members, policy, clock, since, as_of, problems)

    families = _families(policy)
    kinds = [_first_marker(str(r["text"]), families) for r in rows]
    for family, row in zip(kinds, rows, strict=True):
        if family == "notice":
            applied = _notice(row, meetings, names, members, policy, clock, problems)
            # Says nothing new about a meeting ("会议通知收到了，我请假"): maybe a leave.
            if not applied and contains_any(str(row["text"]), mp.leave_markers):
                _leave(row, meetings)
        elif family == "minutes":
            _minutes(row, meetings, names, members, policy, clock, problems)
        elif family == "leave":
            _leave(row, meetings)

    for m in meetings:
        _derive(m, policy, clock, as_of)
    meetings.sort(key=lambda m: (m.start, m.platform, m.group_id, m.meeting_id))
    return Meetings(as_of, meetings, problems)


def _group_platform(world: MeetingWorld, group_id: str) -> list[str]:
    return sorted({str(g["platform"]) for g in _rows(world.groups) if g["group_id"] == group_id})


def _declare(
    meetings: list[Meeting],
    world: MeetingWorld,
    names: Names,
    members: _Members,
    policy: Policy,
    clock: WorkClock,
    since: datetime,
    as_of: datetime,
    problems: list[str],
) -> None:
    until = as_of + timedelta(days=policy.meetings.declared_days_ahead)
    for decl in world.declared:
        platforms = [decl.platform] if decl.platform else _group_platform(world, decl.group_id)
        if len(platforms) != 1:
            why = "is not in the store" if not platforms else f"is on {', '.join(platforms)}"
            problems.append(f"{decl.file}: group: {decl.group_id!r} {why} (set platform:)")
            continue
        platform = platforms[0]
        for start in occurrences(decl, since, until, clock):
            in_group = members.at(platform, decl.group_id, start)
            organizer = names.resolve(platform, decl.organizer, in_group) or decl.organizer
            attendees = list(in_group) if decl.attendees_all else []
            unresolved = []
            for name in decl.attendees:
                found = names.resolve(platform, name, in_group)
                if found is None:
                    unresolved.append(name)
                elif found not in attendees:
                    attendees.append(found)
            if organizer not in attendees:
                attendees.insert(0, organizer)
            minutes = decl.duration_minutes or policy.meetings.default_minutes
            local = start.astimezone(clock.tz)
            meetings.append(
                Meeting(
                    meeting_id=f"{platform}/{decl.group_id}/{decl.stem}/{local:%Y%m%dT%H%M}",
                    platform=platform,
                    group_id=decl.group_id,
                    topic=decl.topic,
                    start=local,
                    end=local + timedelta(minutes=minutes),
                    place=decl.place,
                    organizer_id=organizer,
                    attendees=attendees,
                    agenda=list(decl.agenda),
                    source="file",
                    created_at=local,
                    declared_file=decl.file,
                    unresolved=unresolved,
                )
            )


def _local(value: Any, clock: WorkClock) -> datetime:
    return _pydatetime(value).astimezone(clock.tz)


def _notice(
    row: dict[str, Any],
    meetings: list[Meeting],
    names: Names,
    members: _Members,
    policy: Policy,
    clock: WorkClock,
    problems: list[str],
) -> bool:
    """Apply a notice; ``False`` when it neither makes nor changes a meeting."""
    mp = policy.meetings
    sent = _local(row["sent_at"], clock)
    platform, group_id = str(row["platform"]), str(row["group_id"])
    parsed = parse_notice(
        str(row["text"]),
        sent,
        clock,
        notice_markers=mp.notice_markers,
        cancel_markers=mp.cancel_markers,
    )
    target = _target_of_notice(row, parsed, meetings, sent)
    in_group = members.at(platform, group_id, parsed.start or sent)
    attendees, unresolved = _attendees(row, parsed, names, in_group)
    sender = str(row["sender_id"])
    if target is None:
        if parsed.cancelled or parsed.start is None:
            if contains_any(str(row["text"]), mp.leave_markers):
                return False  # a leave that names the notice
            what = (
                "a cancellation that matches no known meeting"
                if parsed.cancelled
                else ("a meeting notice without a time")
            )
            problems.append(f"{group_id} {row['message_id']}: {what}")
            return True
        if sender not in attendees:
            attendees.insert(0, sender)
        end = parsed.end or parsed.start + timedelta(minutes=mp.default_minutes)
        meetings.append(
            Meeting(
                meeting_id=f"{platform}/{group_id}/{row['message_id']}",
                platform=platform,
                group_id=group_id,
                topic=parsed.topic or str(row["message_id"]),
                start=parsed.start.astimezone(clock.tz),
                end=end.astimezone(clock.tz),
                place=parsed.place,
                organizer_id=sender,
                attendees=attendees,
                agenda=list(parsed.agenda),
                source="notice",
                created_at=sent,
                notice_message_id=str(row["message_id"]),
                notice_message_ids=[str(row["message_id"])],
                changed_at=sent,
                unresolved=unresolved,
            )
        )
        return True
    # A change (or a cancellation) of a known meeting — unless it changes nothing.
    says_something = (
        parsed.cancelled
        or parsed.start is not None
        or parsed.place
        or parsed.has_attendee_line
        or parsed.agenda
        or (parsed.topic and _has_topic_line(row))
    )
    if not says_something:
        return False
    target.sequence += 1
    target.changed_at = sent
    target.notice_message_ids.append(str(row["message_id"]))
    if target.notice_message_id is None:
        target.notice_message_id = str(row["message_id"])
    if parsed.cancelled:
        target.cancelled_at = sent
        target.cancel_message_id = str(row["message_id"])
        return True
    target.cancelled_at = None
    target.cancel_message_id = None
    if parsed.topic and (parsed.topic != target.topic):
        target.topic = parsed.topic
    if parsed.start is not None:
        duration = target.end - target.start
        target.start = parsed.start.astimezone(clock.tz)
        target.end = (parsed.end or parsed.start + duration).astimezone(clock.tz)
    if parsed.place:
        target.place = parsed.place
    # A change names its attendees on an attendee line or by @mentioning them; its @所有人
    # alone only tells the group (the attendees stay).
    if parsed.has_attendee_line or row["mentions"]:
        organizer = target.organizer_id
        if organizer and organizer not in attendees:
            attendees.insert(0, organizer)
        target.attendees = attendees
        target.unresolved = unresolved
    if parsed.agenda:
        target.agenda = list(parsed.agenda)
    return True


def _target_of_notice(
    row: dict[str, Any], parsed: NoticeText, meetings: list[Meeting], sent: datetime
) -> Meeting | None:
    platform, group_id = str(row["platform"]), str(row["group_id"])
    same = [m for m in meetings if m.platform == platform and m.group_id == group_id]
    reply_to = row.get("reply_to")
    if reply_to:
        for m in same:
            if reply_to in m.notice_message_ids:
                return m
    open_ = [m for m in same if m.end > sent]
    if parsed.topic:
        wanted = normalise_topic(parsed.topic)
        hits = [m for m in open_ if normalise_topic(m.topic) == wanted]
        if hits:
            return max(hits, key=lambda m: (m.created_at, m.start))
    if parsed.start is not None and not parsed.cancelled:
        for m in open_:
            if m.source == "file" and m.start == parsed.start and m.notice_message_id is None:
                return m
    text = normalise_topic(str(row["text"]))
    named = [m for m in open_ if normalise_topic(m.topic) in text]
    if named and (parsed.cancelled or parsed.topic is None or not _has_topic_line(row)):
        return max(named, key=lambda m: (len(m.topic), -m.start.timestamp()))
    return None


def _has_topic_line(row: dict[str, Any]) -> bool:
    return bool(
        re.search(
            r"(?im)^\s*(?:会议主题|会议名称|主题|topic|subject|title)\s*[:：]", str(row["text"])
        )
    )


def _attendees(
    row: dict[str, Any], parsed: NoticeText, names: Names, in_group: list[str]
) -> tuple[list[str], list[str]]:
    platform = str(row["platform"])
    out: list[str] = []
    unresolved: list[str] = []
    if parsed.has_attendee_line:
        if parsed.attendees_all:
            out.extend(in_group)
        for name in parsed.attendee_names:
            found = names.resolve(platform, name, in_group)
            if found is None:
                unresolved.append(name)
            elif found not in out:
                out.append(found)
    elif row["mention_all"]:
        out.extend(in_group)
    for mid in row["mentions"] or []:  # @mentioned people attend, with or without a line
        if str(mid) not in out:
            out.append(str(mid))
    return out, unresolved


def _leave(row: dict[str, Any], meetings: list[Meeting]) -> None:
    platform, group_id = str(row["platform"]), str(row["group_id"])
    sender = str(row["sender_id"])
    sent = _pydatetime(row["sent_at"])
    same = [
        m for m in meetings if m.platform == platform and m.group_id == group_id and not m.cancelled
    ]
    target: Meeting | None = None
    reply_to = row.get("reply_to")
    if reply_to:
        target = next((m for m in same if reply_to in m.notice_message_ids), None)
    if target is None:
        mentions = {str(x) for x in (row["mentions"] or [])}
        later = [
            m for m in same if m.organizer_id in mentions and sender in m.attendees and m.end > sent
        ]
        target = min(later, key=lambda m: m.start) if later else None
    if target is None or sender not in target.attendees or sender == target.organizer_id:
        return
    if sender in target.on_leave or sender in target.late_leave:
        return
    (target.on_leave if sent < target.start else target.late_leave).append(sender)
    target.leave_message_ids.append(str(row["message_id"]))


def _minutes(
    row: dict[str, Any],
    meetings: list[Meeting],
    names: Names,
    members: _Members,
    policy: Policy,
    clock: WorkClock,
    problems: list[str],
) -> None:
    platform, group_id = str(row["platform"]), str(row["group_id"])
    sent = _local(row["sent_at"], clock)
    held = [
        m
        for m in meetings
        if m.platform == platform and m.group_id == group_id and not m.cancelled and m.start <= sent
    ]
    target: Meeting | None = None
    reply_to = row.get("reply_to")
    if reply_to:
        target = next((m for m in held if reply_to in m.notice_message_ids), None)
    if target is None:
        text = normalise_topic(str(row["text"]))
        named = [m for m in held if normalise_topic(m.topic) in text]
        if not named:
            # "【会议纪要】产品周会" for the meeting "产品周会（11月18日）": the minutes' title
            # inside the meeting's topic.
            title = _minutes_title(str(row["text"]), policy)
            named = [m for m in held if title and title in normalise_topic(m.topic)]
        waiting = [m for m in named if m.minutes_message_id is None]
        pool = waiting or named
        target = max(pool, key=lambda m: (m.start, len(m.topic))) if pool else None
    if target is None:
        problems.append(f"{group_id} {row['message_id']}: minutes that match no held meeting")
        return
    if target.minutes_message_id is not None:
        return  # later minutes of the same meeting add to it; the first one counts
    prefer = [*target.attendees, *members.at(platform, group_id, sent)]
    parsed = parse_minutes(
        str(row["text"]),
        sent,
        clock,
        names,
        platform,
        minutes_markers=policy.meetings.minutes_markers,
        prefer=prefer,
    )
    mid = str(row["message_id"])
    target.minutes_message_id = mid
    target.minutes_at = sent
    target.minutes_by = str(row["sender_id"])
    target.decisions = list(parsed.decisions)
    for line in parsed.action_items:
        for assignee in line.assignee_ids or (None,):
            target.action_items.append(
                ActionItem(
                    task_id=f"{mid}#{line.number}",
                    number=line.number,
                    assignee_id=assignee,
                    assignee_name=None if assignee else ", ".join(line.unresolved) or None,
                    text=line.text,
                    stated_due_at=line.due_at.astimezone(clock.tz) if line.due_at else None,
                    due_text=line.due_text,
                )
            )
    target.unresolved.extend(parsed.unresolved)


def _minutes_title(text: str, policy: Policy) -> str:
    """The normalised topic a minutes message names (at least two characters), or ``""``."""
    for line in text.splitlines():
        if contains_any(line, policy.meetings.minutes_markers):
            title = line
            for word in sorted(policy.meetings.minutes_markers, key=len, reverse=True):
                title = re.sub(re.escape(word), " ", title, flags=re.IGNORECASE)
            title = re.sub(r"@\S+|[\[\]【】:：]", " ", title)
            norm = normalise_topic(title)
            if not norm:
                m = re.search(r"(?im)^\s*(?:会议主题|主题|topic|subject)\s*[:：]\s*(.+)$", text)
                norm = normalise_topic(m.group(1)) if m else ""
            return norm if len(norm) >= 2 else ""
    return ""


def _derive(m: Meeting, policy: Policy, clock: WorkClock, as_of: datetime) -> None:
    if m.cancelled:
        m.state, m.minutes_state, m.minutes_due_at = "cancelled", "not_due", None
        return
    m.state = "held" if m.start <= as_of else "scheduled"
    m.minutes_due_at = clock.add_working_minutes(
        m.end, policy.meetings.minutes_due_working_hours * 60
    ).astimezone(clock.tz)
    if m.minutes_at is not None:
        m.minutes_state = "late" if m.minutes_at > m.minutes_due_at else "published"
    else:
        m.minutes_state = "missing" if as_of > m.minutes_due_at else "not_due"


# -- the deadline watcher's second source ----------------------------------------------------


def sourced(meetings: Sequence[Meeting], clock: WorkClock) -> Sourced:
    """Action items as declared tasks and minutes due as extra items (kind ``minutes``)."""
    import pandas as pd

    from groupops.deadlines.obligations import DECLARED_TASK_COLUMNS, EXTRA_ITEM_COLUMNS, Sourced

    tasks, items = sourced_rows(meetings)
    task_frame = pd.DataFrame(tasks, columns=DECLARED_TASK_COLUMNS)
    item_frame = pd.DataFrame(items, columns=EXTRA_ITEM_COLUMNS)
    for col in ("assigned_at", "deadline"):
        task_frame[col] = pd.to_datetime(task_frame[col], utc=True)
    for col in ("requested_at", "due_at", "resolved_at"):
        item_frame[col] = pd.to_datetime(item_frame[col], utc=True)
    return Sourced(task_frame, item_frame)


def sourced_rows(
    meetings: Sequence[Meeting],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """:func:`sourced` as rows (aware instants): the declared tasks and the extra items."""
    tasks: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    for m in meetings:
        for a in m.action_items:
            if a.assignee_id is None or m.minutes_at is None:
                continue
            tasks.append(
                {
                    "platform": m.platform,
                    "group_id": m.group_id,
                    "message_id": a.task_id,
                    "assignee_id": a.assignee_id,
                    "requester_id": m.organizer_id,
                    "assigned_at": m.minutes_at,
                    "text": a.text,
                    "deadline": a.stated_due_at,
                    "deadline_source": "minutes",
                    "reply_target": m.minutes_message_id,
                    "source": "minutes",
                }
            )
        if m.cancelled or m.organizer_id is None or m.minutes_due_at is None:
            continue
        items.append(
            {
                "kind": "minutes",
                "platform": m.platform,
                "group_id": m.group_id,
                "message_id": m.meeting_id,
                "assignee_id": m.organizer_id,
                "requester_id": None,
                "requested_at": m.end,
                "due_at": m.minutes_due_at,
                "resolved_at": m.minutes_at,
                "resolved_by": m.minutes_message_id,
                "text": m.topic,
            }
        )
    return tasks, items


def meeting_source(world: MeetingWorld, *, since: datetime | None = None) -> ObligationSource:
    """The deadline watcher's source of meeting obligations (see
    :func:`groupops.deadlines.obligations.compute_obligations`)."""

    def source(
        msgs: pd.DataFrame, policy: Policy, clock: WorkClock, as_of: pd.Timestamp
    ) -> Sourced:
        found = find_meetings(msgs, policy, as_of.to_pydatetime(), world, clock=clock, since=since)
        return sourced(found.meetings, clock)

    return source


def found_source(found: Meetings) -> ObligationSource:
    """:func:`meeting_source` for meetings already found (by :func:`find_meetings` at the same
    ``as_of`` over the same messages): their action items and minutes, not found again."""

    def source(
        _msgs: pd.DataFrame, _policy: Policy, clock: WorkClock, _as_of: pd.Timestamp
    ) -> Sourced:
        return sourced(found.meetings, clock)

    return source


# -- the report ------------------------------------------------------------------------------


def _iso(value: datetime | None, tz: Any) -> str | None:
    return value.astimezone(tz).isoformat() if value is not None else None


def meeting_records(
    found: Meetings, obligations: Obligations | None, tz: Any
) -> list[dict[str, Any]]:
    """The meetings as plain dicts (the ``groupops meetings --json`` objects): times as ISO
    8601 in ``tz``; each action item with its task's ``due_at`` (the deadline in force,
    committed or stated) and ``state`` from the deadline watcher."""
    rows: list[dict[str, Any]] = []
    if obligations is not None and not obligations.tasks.empty:
        t = obligations.tasks
        t = t[t["source"] == "minutes"]
        for raw in t.to_dict("records"):
            row = {str(k): v for k, v in raw.items()}
            row["effective_deadline"] = _ts(row["effective_deadline"])
            row["done_at"] = _ts(row["done_at"])
            row["done_message_id"] = _str(row["done_message_id"])
            rows.append(row)
    return meeting_records_rows(found, rows, tz)


def meeting_records_rows(
    found: Meetings, tasks: Sequence[dict[str, Any]], tz: Any
) -> list[dict[str, Any]]:
    """:func:`meeting_records` with the deadline watcher's tasks as rows (those of the row
    engine, :attr:`groupops.deadlines.rows.RowObligations.raw_tasks`: instants as aware
    ``datetime`` or ``None``, ``done_message_id`` a string or ``None``)."""
    states: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for row in tasks:
        if row["source"] != "minutes":
            continue
        key = (str(row["platform"]), str(row["group_id"]), str(row["message_id"]),
               str(row["assignee_id"]))  # fmt: skip
        states[key] = row
    out = []
    for m in found.meetings:
        items = []
        for a in m.action_items:
            task = states.get((m.platform, m.group_id, a.task_id, str(a.assignee_id)))
            due = task["effective_deadline"] if task else a.stated_due_at
            items.append(
                {
                    "task_id": a.task_id,
                    "assignee_id": a.assignee_id,
                    "assignee_name": a.assignee_name,
                    "text": a.text,
                    "due_at": _iso(due, tz),
                    "deadline_source": str(task["deadline_source"]) if task else None,
                    "state": str(task["state"]) if task else None,
                    "done_at": _iso(task["done_at"], tz) if task else None,
                    "done_message_id": task["done_message_id"] if task else None,
                }
            )
        out.append(
            {
                "meeting_id": m.meeting_id,
                "platform": m.platform,
                "group_id": m.group_id,
                "source": m.source,
                "declared_file": m.declared_file,
                "notice_message_id": m.notice_message_id,
                "notice_message_ids": list(m.notice_message_ids),
                "topic": m.topic,
                "start": _iso(m.start, tz),
                "end": _iso(m.end, tz),
                "place": m.place,
                "organizer_id": m.organizer_id,
                "attendees": list(m.attendees),
                "on_leave": list(m.on_leave),
                "late_leave": list(m.late_leave),
                "leave_message_ids": list(m.leave_message_ids),
                "attendance": "unknown",
                "unresolved_names": list(m.unresolved),
                "agenda": list(m.agenda),
                "state": m.state,
                "sequence": m.sequence,
                "cancelled_at": _iso(m.cancelled_at, tz),
                "minutes_message_id": m.minutes_message_id,
                "minutes_at": _iso(m.minutes_at, tz),
                "minutes_due_at": _iso(m.minutes_due_at, tz),
                "minutes_state": m.minutes_state,
                "decisions": list(m.decisions),
                "action_items": items,
            }
        )
    return out


def _ts(value: Any) -> datetime | None:
    import numpy as np
    import pandas as pd

    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return None
    return pd.Timestamp(value).to_pydatetime()


def _str(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)
