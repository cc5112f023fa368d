"""The row engine: :func:`groupops.deadlines.obligations.compute_obligations` for small inputs
in plain Python (no pandas, no numpy): the same rules, one message at a time.

ONE rule, TWO engines. The frame engine (``obligations.py``) is the reference; this one gives
exactly what it gives for everything ``groupops overdue`` and ``groupops tasks`` print (the
overdue items, the tasks, the pending count): same items, same order, same instants (the working
clock's one-instant methods are the vectorised ones' scalar twins), the reply rule of
:mod:`groupops.activity.answers`, the task, commitment and escalation rules of
:mod:`groupops.deadlines.obligations`. ``tests/test_obligation_rows.py`` proves it (hypothesis
over generated messages, and the demo store at several instants). Records are shaped as
:func:`groupops.deadlines.obligations.to_records` shapes the frame engine's rows.

Instants are aware ``datetime`` values (UTC in, any zone compares the same)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from groupops.activity.answer_rows import FirstReply, NextInGroup, asks_reply, earliest, mentioned
from groupops.activity.markers import marker_search
from groupops.clock.deadline_text import find_deadline
from groupops.clock.workclock import WorkClock
from groupops.policy import Policy
from groupops.roster import Directory

#: Columns of a message row (a :func:`groupops.db.queries.load_messages` frame's, by name).
ROW_FIELDS = ("platform", "group_id", "message_id", "sender_id", "sent_at", "kind", "text",
              "reply_to", "mentions", "mention_all")  # fmt: skip

_OVERDUE_FIELDS = ("kind", "platform", "group_id", "message_id", "assignee_id", "requester_id",
                   "requested_at", "due_at", "overdue_working_minutes", "escalation", "text",
                   "asked_due_at", "committed_due_at", "deadline_words")  # fmt: skip
_TASK_FIELDS = ("platform", "group_id", "message_id", "assignee_id", "requester_id",
                "assigned_at", "deadline", "deadline_source", "deadline_words", "ack_due_at",
                "ack_at", "ack_message_id", "committed_deadline", "effective_deadline", "done_at",
                "done_message_id", "state", "source")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Msg:
    """One message as the engines read it (``text`` "" when missing, ``reply_to`` None)."""

    platform: str
    group_id: str
    message_id: str
    sender_id: str
    sent_at: datetime
    kind: str | None
    text: str
    reply_to: str | None
    mentions: tuple[str, ...]
    mention_all: bool


def msg(row: Mapping[str, Any]) -> Msg:
    """A :class:`Msg` from a row with :data:`ROW_FIELDS` (missing values as ``None``)."""
    text = row.get("text")
    reply_to = row.get("reply_to")
    mentions = row.get("mentions")
    kind = row.get("kind")
    return Msg(
        str(row["platform"]),
        str(row["group_id"]),
        str(row["message_id"]),
        str(row["sender_id"]),
        row["sent_at"],
        kind if isinstance(kind, str) else None,
        text if isinstance(text, str) else "",
        reply_to if isinstance(reply_to, str) else None,
        tuple(mentions) if isinstance(mentions, list | tuple) else (),
        bool(row.get("mention_all")) if row.get("mention_all") is not None else False,
    )


@dataclass(frozen=True)
class RowObligations:
    """What the commands print: the overdue items and the tasks as records (instants ISO 8601
    in the zone given), the number of pending items, the tasks' rows."""

    as_of: datetime
    overdue: list[dict[str, object]]
    tasks: list[dict[str, object]]
    pending: int
    #: The tasks before formatting (instants aware UTC ``datetime`` or ``None``), for
    #: :func:`groupops.meetings.meetings.meeting_records_rows`.
    raw_tasks: list[dict[str, Any]]


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _found(text: str, sent_at: datetime, clock: WorkClock) -> tuple[datetime | None, str | None]:
    """:func:`groupops.deadlines.obligations._found` of one message."""
    found = find_deadline(text, sent_at, clock) if text else None
    if found is None:
        return None, None
    words = found.text
    cue = re.match(r"\s*(之前|以前|前|为止|by\b)", text[found.end :])
    if cue:
        words = text[found.start : found.end + cue.end()]
    return _utc(found.at), words


def _stated(text: str, at: datetime, clock: WorkClock, *, cue_needed: bool) -> datetime | None:
    found = find_deadline(text, at, clock) if text else None
    if found is None or (cue_needed and not found.cued):
        return None
    return _utc(found.at)


def compute_rows(
    messages: Iterable[Msg],
    policy: Policy,
    as_of: datetime,
    *,
    clock: WorkClock | None = None,
    people: Directory | None = None,
    declared_tasks: Sequence[Mapping[str, Any]] = (),
    extra_items: Sequence[Mapping[str, Any]] = (),
    tz: Any = None,
) -> RowObligations:
    """The overdue items, the tasks and the pending count at ``as_of`` from ``messages`` (any
    order; those after ``as_of`` ignored), plus a source's ``declared_tasks`` and
    ``extra_items`` (the rows :func:`groupops.meetings.meetings.sourced_rows` gives), as
    :func:`groupops.deadlines.obligations.compute_obligations` (with the directory ``people``)
    and :func:`~groupops.deadlines.obligations.to_records` (in ``tz``) give them."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    clock = clock or WorkClock.from_policy(policy)
    as_of = _utc(as_of)
    msgs = sorted(
        (m for m in messages if m.sent_at <= as_of), key=lambda m: (m.sent_at, m.message_id)
    )
    tp = policy.tasks
    any_message = policy.replies.reply_mode == "any_message"
    is_task = marker_search(tp.markers)
    is_meeting = marker_search([*policy.meetings.notice_markers, *policy.meetings.minutes_markers])
    is_done = marker_search(tp.completion_markers)
    is_ack = marker_search(tp.ack_markers)

    items: list[dict[str, Any]] = []
    # -- reply requests (groupops.activity.answers.answered_requests)
    human = [m for m in msgs if m.kind != "system"]
    replies = FirstReply(human)
    later = NextInGroup(human) if any_message else None
    reply_minutes = policy.replies.deadline_working_hours * 60
    for m in human:
        if not asks_reply(m.mentions, m.mention_all, m.text, is_task, is_meeting):
            continue
        for target in mentioned(m.sender_id, m.mentions):
            answer = replies.get(m.platform, m.group_id, m.message_id, target)
            if later is not None:
                answer = earliest(answer, later.get(m.platform, m.group_id, target, m.sent_at))
            items.append({
                "kind": "reply", "platform": m.platform, "group_id": m.group_id,
                "message_id": m.message_id, "assignee_id": target, "requester_id": m.sender_id,
                "requested_at": m.sent_at,
                "due_at": clock.add_working_minutes(m.sent_at, reply_minutes),
                "resolved_at": answer.sent_at if answer else None,
                "resolved_by": answer.message_id if answer else None,
            })  # fmt: skip

    # -- tasks (obligations._tasks)
    tasks: list[dict[str, Any]] = []
    for m in msgs:
        if not m.mentions or not is_task(m.text):
            continue
        targets = mentioned(m.sender_id, m.mentions)
        if not targets:
            continue
        deadline, words = _found(m.text, m.sent_at, clock)
        for target in targets:
            tasks.append({
                "platform": m.platform, "group_id": m.group_id, "message_id": m.message_id,
                "assignee_id": target, "requester_id": m.sender_id, "assigned_at": m.sent_at,
                "text": m.text, "deadline": deadline, "deadline_words": words,
                "deadline_source": "text" if deadline is not None else "default",
                "reply_target": m.message_id, "source": "message", "ack_required": True,
            })  # fmt: skip
    parts = 1 if tasks else 0
    if declared_tasks:
        kept = 0
        for d in declared_tasks:
            assigned = _utc(d["assigned_at"])
            if assigned > as_of:
                continue
            deadline = _utc(d["deadline"]) if d["deadline"] is not None else None
            tasks.append({
                "platform": d["platform"], "group_id": d["group_id"],
                "message_id": d["message_id"], "assignee_id": d["assignee_id"],
                "requester_id": d["requester_id"], "assigned_at": assigned, "text": d["text"],
                "deadline": deadline, "deadline_words": None,
                "deadline_source": d["deadline_source"] if deadline is not None else "default",
                "reply_target": d["reply_target"], "source": d["source"], "ack_required": False,
            })  # fmt: skip
            kept += 1
        parts += 1 if kept else 0
    if parts > 1:
        tasks.sort(key=lambda t: (t["assigned_at"], t["message_id"]))

    default_minutes = tp.default_deadline_working_days * clock.minutes_per_day
    ack_minutes = tp.ack_deadline_working_hours * 60
    any_reply = FirstReply(msgs)
    done_replies = FirstReply(m for m in msgs if m.reply_to is not None and is_done(m.text))
    done_later = ack_later = None
    if any_message:
        done_later = NextInGroup(m for m in msgs if m.reply_to is None and is_done(m.text))
        ack_later = NextInGroup(m for m in msgs if m.reply_to is None and is_ack(m.text))
    to_target: dict[tuple[str, str, str, str], list[Msg]] = {}
    for m in msgs:
        if m.reply_to is not None:
            to_target.setdefault((m.platform, m.group_id, m.reply_to, m.sender_id), []).append(m)
    for t in tasks:
        if t["deadline"] is None:
            t["deadline"] = _utc(clock.add_working_minutes(t["assigned_at"], default_minutes))
        t["ack_due_at"] = (
            _utc(clock.add_working_minutes(t["assigned_at"], ack_minutes))
            if t["ack_required"]
            else None
        )
        target = t["reply_target"] if t["reply_target"] is not None else t["message_id"]
        key = (t["platform"], t["group_id"], target, t["assignee_id"])
        done = done_replies.get(*key)
        if done_later is not None:
            done = earliest(
                done, done_later.get(t["platform"], t["group_id"], t["assignee_id"],
                                     t["assigned_at"])
            )  # fmt: skip
        ack = any_reply.get(*key)
        if ack_later is not None:
            ack = earliest(
                ack, ack_later.get(t["platform"], t["group_id"], t["assignee_id"],
                                   t["assigned_at"])
            )  # fmt: skip
        ack = earliest(ack, done)
        t["done_at"], t["done_message_id"] = (
            (done.sent_at, done.message_id) if done else (None, None)
        )
        t["ack_at"], t["ack_message_id"] = (ack.sent_at, ack.message_id) if ack else (None, None)
        t["committed_deadline"] = _committed(ack, to_target.get(key, []), done, clock)
        t["effective_deadline"] = t["committed_deadline"] or t["deadline"]
        if t["done_at"] is not None:
            state = "done"
        elif as_of > t["effective_deadline"]:
            state = "overdue"
        elif t["ack_at"] is None and t["ack_due_at"] is not None and as_of > t["ack_due_at"]:
            state = "ack_overdue"
        elif t["ack_at"] is not None:
            state = "acknowledged"
        else:
            state = "open"
        t["state"] = state

    # -- task items (obligations._task_items), then the sources' extra items
    for t in tasks:
        if t["ack_required"]:
            items.append(_task_item(t, "task_ack", t["ack_due_at"], t["ack_due_at"], None,
                                    t["ack_at"], t["ack_message_id"], None))  # fmt: skip
    for t in tasks:
        items.append(_task_item(t, "task_done", t["effective_deadline"], t["deadline"],
                                t["committed_deadline"], t["done_at"], t["done_message_id"],
                                t["deadline_words"]))  # fmt: skip
    for x in extra_items:
        requested = _utc(x["requested_at"])
        if requested > as_of:
            continue
        items.append({
            "kind": x["kind"], "platform": x["platform"], "group_id": x["group_id"],
            "message_id": x["message_id"], "assignee_id": x["assignee_id"],
            "requester_id": x["requester_id"], "requested_at": requested,
            "due_at": _utc(x["due_at"]),
            "resolved_at": _utc(x["resolved_at"]) if x["resolved_at"] is not None else None,
            "resolved_by": x["resolved_by"], "text": x["text"],
        })  # fmt: skip

    # -- escalation (obligations._escalate)
    fraction = policy.tasks.reminder_fraction
    owner_after = policy.tasks.owner_escalation_working_hours * 60
    for it in items:
        it.setdefault("text", None)
        it.setdefault("deadline_words", None)
        it.setdefault("committed_due_at", None)
        if it.get("asked_due_at") is None:
            it["asked_due_at"] = it["due_at"]
        window = clock.working_minutes_between(it["requested_at"], it["due_at"])
        reminder_at = clock.add_working_minutes(it["requested_at"], max(window, 0.0) * fraction)
        unresolved = it["resolved_at"] is None
        overdue = unresolved and it["due_at"] < as_of
        late = max(clock.working_minutes_between(it["due_at"], as_of), 0.0) if overdue else 0.0
        it["overdue"] = overdue
        it["overdue_working_minutes"] = late
        it["escalation"] = (
            (2 if late >= owner_after else 1)
            if overdue
            else (0 if unresolved and reminder_at <= as_of else -1)
        )
    items.sort(
        key=lambda it: (it["requested_at"], it["group_id"], it["message_id"], it["assignee_id"],
                        it["kind"])
    )  # fmt: skip

    def names(record: dict[str, object], row: Mapping[str, Any]) -> dict[str, object]:
        if people is not None:
            for role in ("assignee", "requester"):
                record[f"{role}_name"] = people.name(str(row["platform"]), row[f"{role}_id"])
        return record

    overdue_records = [
        names({f: _plain(it[f], tz) for f in _OVERDUE_FIELDS}, it) for it in items if it["overdue"]
    ]
    task_records = [names({f: _plain(t[f], tz) for f in _TASK_FIELDS}, t) for t in tasks]
    pending = sum(1 for it in items if it["resolved_at"] is None and not it["overdue"])
    return RowObligations(as_of, overdue_records, task_records, pending, tasks)


def _task_item(
    t: Mapping[str, Any],
    kind: str,
    due_at: datetime,
    asked: datetime,
    committed: datetime | None,
    resolved_at: datetime | None,
    resolved_by: str | None,
    words: str | None,
) -> dict[str, Any]:
    return {
        "kind": kind, "platform": t["platform"], "group_id": t["group_id"],
        "message_id": t["message_id"], "assignee_id": t["assignee_id"],
        "requester_id": t["requester_id"], "requested_at": t["assigned_at"], "due_at": due_at,
        "resolved_at": resolved_at, "resolved_by": resolved_by,
        "text": t["text"] if t["source"] != "message" else None, "asked_due_at": asked,
        "committed_due_at": committed, "deadline_words": words,
    }  # fmt: skip


def _committed(
    ack: Msg | None, later: Sequence[Msg], done: Msg | None, clock: WorkClock
) -> datetime | None:
    """:func:`groupops.deadlines.obligations._commitments` of one task: a time stated in the
    acknowledgement, else the first cued deadline in a later reply to the task; never the
    completion report's."""
    cand: list[tuple[datetime, bool, str, str]] = []
    if ack is not None:
        cand.append((ack.sent_at, False, ack.message_id, ack.text))
    cand.extend((m.sent_at, True, m.message_id, m.text) for m in later)
    cand.sort(key=lambda c: (c[0], c[1]))
    seen: set[str] = set()
    done_id = done.message_id if done is not None else None
    for at, cue_needed, mid, text in cand:
        if mid in seen:
            continue
        seen.add(mid)
        if mid == done_id:
            continue
        stated = _stated(text, at, clock, cue_needed=cue_needed)
        if stated is not None:
            return stated
    return None


def _plain(value: object, tz: Any) -> object:
    """A record's value as ``to_records`` gives it: instants as ISO 8601 in ``tz``."""
    if isinstance(value, datetime):
        return (value.astimezone(tz) if tz is not None else value).isoformat()
    return value
