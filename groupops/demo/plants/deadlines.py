"""Rulebook ch. 4 (work messages and tasks are answered promptly; when and how; completion is
reported): tasks with their acknowledgements and completions, and @mentions that are never
answered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from groupops.demo.builder import Msg, Planter, Role, marked
from groupops.demo.chapter import policy_words
from groupops.demo.period import local
from groupops.demo.scenario.deadlines import PLANTED_ANSWERS, TASKS, UNANSWERED, Mention, TaskPlan
from groupops.demo.texts import at_names, render_when

MARKERS: Final = policy_words(
    task="tasks.markers", ack="tasks.ack_markers", done="tasks.completion_markers"
)
TASK: Final = marked("task", replies=frozenset({"ack", "done"}))
ACK: Final = marked("ack")
DONE: Final = marked("done", "ack")
ASK: Final = Role("ask")  # a planted @question
ANSWER: Final = Role("answer")


@dataclass(slots=True)
class PlantedTask:
    """One task and one of its assignees."""

    plan: TaskPlan
    assignee: str
    task: Msg
    deadline_text: str | None
    deadline: datetime | None
    commitment_text: str | None = None
    committed: datetime | None = None
    ack: Msg | None = None
    done: Msg | None = None


@dataclass(frozen=True, slots=True)
class Planted:
    tasks: list[PlantedTask]
    mentions: list[tuple[Mention, Msg]]


def plant(p: Planter) -> Planted:
    founding = p.founding
    tasks = [item for plan in TASKS for item in plant_task(founding, plan)]
    return Planted(tasks, [plant_mention(founding, m) for m in UNANSWERED])


def plant_task(p: Planter, plan: TaskPlan) -> list[PlantedTask]:
    """The task message and, per assignee, the acknowledgement and completion planned."""
    at = local(plan.at)
    deadline_text, deadline = render_when(plan.deadline, at) if plan.deadline else (None, None)
    body = plan.text.format(d=deadline_text or "")
    assignees = tuple(plan.flows)
    text = f"【任务】{at_names(assignees)} {body}"
    task = p.add(plan.group_id, plan.requester, at, text, TASK, mentions=assignees)
    planted = []
    for assignee, flow in plan.flows.items():
        item = PlantedTask(plan, assignee, task, deadline_text, deadline)
        if flow.ack is not None:
            ack_at = local(flow.ack)
            if flow.commit is not None:
                item.commitment_text, item.committed = render_when(flow.commit, ack_at)
            text = flow.ack_text.format(c=item.commitment_text or "")
            reply = task if flow.ack_reply else None
            item.ack = p.add(plan.group_id, assignee, ack_at, text, ACK, reply_to=reply)
        if flow.done is not None:
            reply = task if flow.done_reply else None
            item.done = p.add(
                plan.group_id, assignee, local(flow.done), flow.done_text, DONE, reply_to=reply
            )
        planted.append(item)
    return planted


def plant_mention(p: Planter, mention: Mention) -> tuple[Mention, Msg]:
    """The @question; the members who answer it do, the others write nothing more there."""
    at = local(mention.at)
    text = f"{at_names(mention.assignees)} {mention.text}"
    msg = p.add(mention.group_id, mention.requester, at, text, ASK, mentions=mention.assignees)
    for i, member in enumerate(mention.answered_by):
        answer = PLANTED_ANSWERS[i % len(PLANTED_ANSWERS)]
        p.add(
            mention.group_id,
            member,
            at + timedelta(minutes=17 + 9 * i),
            answer,
            ANSWER,
            reply_to=msg,
        )
    for member in set(mention.assignees) - set(mention.answered_by):
        p.silence(member, mention.group_id, at)
    return mention, msg
