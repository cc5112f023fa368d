"""What the deadline rules (rulebook ch. 4) must find: every task's deadline, commitment and
state at ``as_of`` (``tasks``), and the open reply and task obligations (``overdue`` and
``pending``, assembled in :mod:`groupops.demo.expected`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from groupops.demo.builder import Builder
from groupops.demo.chapter import Chapter, Obligation
from groupops.demo.expected import iso
from groupops.demo.period import AS_OF, CLOCK, POLICY
from groupops.demo.plants import deadlines
from groupops.demo.plants.deadlines import Planted, PlantedTask


@dataclass(frozen=True, slots=True)
class TaskVerdict:
    """One task and assignee at ``as_of``: when the acknowledgement was due, the default
    deadline, the one that counts (committed, else written, else default), and what is done."""

    item: PlantedTask
    ack_due: datetime
    default: datetime
    effective: datetime
    acked: bool
    done: bool

    @property
    def state(self) -> str:
        if self.done:
            return "done"
        if self.effective < AS_OF:
            return "overdue"
        if not self.acked and self.ack_due < AS_OF:
            return "ack_overdue"
        return "acknowledged" if self.acked else "open"


def judge(t: PlantedTask) -> TaskVerdict:
    asked = t.task.at
    ack_due = CLOCK.add_working_minutes(asked, POLICY.tasks.ack_deadline_working_hours * 60)
    days = POLICY.tasks.default_deadline_working_days
    default = CLOCK.add_working_minutes(asked, days * CLOCK.minutes_per_day)
    acked = t.ack is not None and t.ack.at < AS_OF
    done = t.done is not None and t.done.at < AS_OF
    return TaskVerdict(t, ack_due, default, t.committed or t.deadline or default, acked, done)


def task_entry(v: TaskVerdict) -> dict[str, Any]:
    t = v.item
    return {
        "group_id": t.task.group_id,
        "message_id": t.task.message_id,
        "assignee_id": t.assignee,
        "requester_id": t.task.sender_id,
        "requested_at": iso(t.task.at),
        "deadline_text": t.deadline_text,
        "deadline": iso(t.deadline),
        "default_deadline": iso(v.default) if t.deadline is None else None,
        "ack_due": iso(v.ack_due),
        "ack_id": t.ack.message_id if t.ack else None,
        "acked_at": iso(t.ack.at if t.ack else None),
        "ack_late": bool(t.ack and t.ack.at > v.ack_due),
        "commitment_text": t.commitment_text,
        "committed_deadline": iso(t.committed),
        "effective_deadline": iso(v.effective),
        "done_id": t.done.message_id if t.done else None,
        "done_at": iso(t.done.at if t.done else None),
        "done_late": bool(t.done and t.done.at > v.effective),
        "state_at_as_of": v.state,
    }


def record(planted: Planted, b: Builder) -> dict[str, Any]:
    return {"tasks": [task_entry(judge(t)) for t in planted.tasks]}


def obligations(planted: Planted, b: Builder) -> list[Obligation]:
    """Unacknowledged and unfinished tasks; mentions not answered by a mentioned member."""
    out = []
    for t in planted.tasks:
        v = judge(t)
        if not v.acked:
            out.append(Obligation("task_ack", t.task, t.assignee, v.ack_due))
        if not v.done:
            out.append(Obligation("task_done", t.task, t.assignee, v.effective))
    reply_minutes = POLICY.replies.deadline_working_hours * 60
    for mention, msg in planted.mentions:
        due = CLOCK.add_working_minutes(msg.at, reply_minutes)
        out += [
            Obligation("reply", msg, member, due)
            for member in mention.assignees
            if member not in mention.answered_by
        ]
    return out


CHAPTER: Final = Chapter(
    name="deadlines",
    plant=deadlines.plant,
    record=record,
    obligations=obligations,
    markers=deadlines.MARKERS,
)
