"""Obligations in group chat on the working clock: reply requests, tasks, their deadlines,
the escalation ladder and repeated non-response — all computed for one explicit ``as_of``.

Rules (numbers and words from the policy):

* **Reply request**: a message that @mentions another member (not @all, not a task, not a
  meeting notice or minutes: :mod:`groupops.activity.answers`) asks that member for a reply, due ``replies.deadline_working_hours`` of working time later. It is
  answered by the member's reply to it or, with ``replies.reply_mode = "any_message"``, by
  their next message in that group.
* **Task**: a message holding a ``tasks.markers`` word assigns a task to each member it
  mentions. Its deadline is read from the text (:mod:`groupops.clock.deadline_text`), else
  ``tasks.default_deadline_working_days`` working days later. The assignee acknowledges it
  within ``tasks.ack_deadline_working_hours`` by replying to it or (any_message mode) by a
  later message in the group with a ``tasks.ack_markers`` word that replies to nothing else; a
  time stated in an acknowledgement (or a later reply to the task) becomes the **committed
  deadline**, which then replaces the task's. It is done by the assignee's message with a
  ``tasks.completion_markers`` word that replies to the task (or, any_message mode, replies to
  nothing). States: ``open``, ``acknowledged``, ``done``, ``ack_overdue``, ``overdue``.
* **Items** (what can be late): ``reply``, ``task_ack``, ``task_done``; a task never
  acknowledged and past its deadline is late on both counts.
* **Escalation ladder** of an unresolved item: step 0 (remind the assignee) once
  ``tasks.reminder_fraction`` of the working time to the deadline has passed; step 1 (the
  group's admins) once overdue; step 2 (the owner) after a further
  ``tasks.owner_escalation_working_hours``.
* **Other sources** (:data:`ObligationSource`, e.g. a meeting's minutes): a source adds
  *declared tasks* (an action item in meeting minutes: assignee, text, deadline; no
  acknowledgement is due, since it was agreed in the meeting, but a reply to its message still
  acknowledges it and may commit to a time; done as any task) and *extra items* (e.g. minutes
  due after a meeting, kind ``minutes``) that go up the same escalation ladder.
* **Non-response**: a member who missed (answered late or not at all) at least
  ``tasks.non_response_violation_threshold`` items in one calendar month (policy zone) of one
  group has a ``non-response`` violation, with the missed messages as evidence.

Messages sent after ``as_of`` are ignored, so the result for a given ``as_of`` never changes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd
from pandas._libs.tslibs.nattype import NaTType

from groupops.activity.answers import (
    answered_requests,
    contains_marker,
    earliest,
    first_reply,
    is_task,
    mentioned,
    next_in_group,
)
from groupops.clock.deadline_text import find_deadline
from groupops.clock.workclock import WorkClock
from groupops.policy import Policy
from groupops.roster import Directory

ITEM_KINDS = ("reply", "task_ack", "task_done", "minutes")
TASK_STATES = ("open", "acknowledged", "done", "ack_overdue", "overdue")
ESCALATION_NONE, ESCALATION_ASSIGNEE, ESCALATION_ADMINS, ESCALATION_OWNER = -1, 0, 1, 2

ITEM_COLUMNS = [
    "kind",
    "platform",
    "group_id",
    "message_id",
    "assignee_id",
    "requester_id",
    "requested_at",
    "due_at",
    "resolved_at",
    "resolved_by",
    "reminder_at",
    "overdue",
    "overdue_working_minutes",
    "escalation",
    "text",
    "asked_due_at",
    "committed_due_at",
    "deadline_words",
]
#: An overdue item: the item without what only an open or resolved one has.
OVERDUE_COLUMNS = [
    c for c in ITEM_COLUMNS if c not in {"resolved_at", "resolved_by", "reminder_at", "overdue"}
]
TASK_COLUMNS = [
    "platform",
    "group_id",
    "message_id",
    "assignee_id",
    "requester_id",
    "assigned_at",
    "text",
    "deadline",
    "deadline_source",
    "deadline_words",
    "ack_due_at",
    "ack_at",
    "ack_message_id",
    "committed_deadline",
    "effective_deadline",
    "done_at",
    "done_message_id",
    "state",
    "source",
]
VIOLATION_COLUMNS = [
    "platform",
    "group_id",
    "member_id",
    "type",
    "period",
    "count",
    "evidence_message_ids",
]
_KEY = ["platform", "group_id", "message_id", "assignee_id"]
#: Columns of a source's declared tasks (``deadline`` may be NaT: the default applies;
#: ``reply_target`` is the message whose replies acknowledge or complete the task).
DECLARED_TASK_COLUMNS = [
    *_KEY,
    "requester_id",
    "assigned_at",
    "text",
    "deadline",
    "deadline_source",
    "reply_target",
    "source",
]
#: Columns of a source's extra items (``kind`` e.g. ``minutes``; ``text`` shown in reminders).
EXTRA_ITEM_COLUMNS = [
    "kind",
    *_KEY,
    "requester_id",
    "requested_at",
    "due_at",
    "resolved_at",
    "resolved_by",
    "text",
]


@dataclass(frozen=True)
class Sourced:
    """What one :data:`ObligationSource` adds: declared tasks and extra items (aware UTC)."""

    tasks: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=DECLARED_TASK_COLUMNS))
    items: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=EXTRA_ITEM_COLUMNS))


#: A second source of obligations besides task messages: called with the prepared messages
#: (up to ``as_of``, sorted), the policy, the clock and ``as_of`` (UTC).
ObligationSource = Callable[[pd.DataFrame, Policy, WorkClock, pd.Timestamp], Sourced]


@dataclass(frozen=True)
class Obligations:
    """Everything known at ``as_of``. Instants are aware UTC columns.

    ``items``: one row per obligation (kind, key, requested/due/resolved instants,
    ``reminder_at``, ``overdue``, ``overdue_working_minutes``, ``escalation`` -1..2;
    ``asked_due_at``: the deadline the requester asked for, ``committed_due_at``: the one the
    assignee committed to, which ``due_at`` follows when there is one; ``deadline_words``: the
    requester's words about the deadline, e.g. 下周一前);
    ``overdue``: the overdue items (:data:`OVERDUE_COLUMNS`); ``tasks``: one row per task and
    assignee (:data:`TASK_COLUMNS`); ``violations``: non-response violations."""

    as_of: datetime
    items: pd.DataFrame
    overdue: pd.DataFrame
    tasks: pd.DataFrame
    violations: pd.DataFrame

    @property
    def pending(self) -> pd.DataFrame:
        """Unresolved items not yet overdue."""
        items = self.items
        return items[items["resolved_at"].isna() & ~items["overdue"]].reset_index(drop=True)

    @property
    def reminders(self) -> pd.DataFrame:
        """The escalation steps due for unresolved items, one row per step with ``key`` and
        ``step``: 0 (the reminder) while not overdue; once overdue 1 (admins) and, when due, 2
        (owner) — both, so admins hear of an item even if a first run finds it already at the
        owner's step. Callers record each (key, step) so it goes out once."""
        items = self.items
        due = items[items["resolved_at"].isna() & (items["escalation"] >= 0)].copy()
        due["step"] = [
            list(range(1, esc + 1)) if late else [0]
            for esc, late in zip(due["escalation"], due["overdue"], strict=True)
        ]
        due = due.explode("step")
        due["step"] = due["step"].astype(int)
        due["key"] = obligation_keys(due)
        return due.reset_index(drop=True)


def obligation_keys(items: pd.DataFrame) -> pd.Series:
    """``kind:platform:group_id:message_id:assignee_id`` — an item's stable identity."""
    if items.empty:
        return pd.Series([], index=items.index, dtype="object")
    parts = [items[c].astype(str) for c in ["kind", *_KEY]]
    key = parts[0]
    for part in parts[1:]:
        key = key + ":" + part
    return key


def compute_obligations(
    messages: pd.DataFrame,
    policy: Policy,
    as_of: datetime,
    *,
    groups: pd.DataFrame | None = None,
    clock: WorkClock | None = None,
    people: Directory | None = None,
    sources: Sequence[ObligationSource] = (),
) -> Obligations:
    """Obligations at ``as_of`` from a ``load_messages`` frame (and ``load_groups`` for the
    owner and admins of each item's group, added as ``owner_id`` / ``admin_ids``), plus what
    each of ``sources`` declares (meeting action items and minutes). With the member directory
    ``people``, ``overdue`` and ``tasks`` also carry ``assignee_name`` and ``requester_name``
    (:meth:`Directory.name`)."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    clock = clock or WorkClock.from_policy(policy)
    as_of_ts = pd.Timestamp(as_of).tz_convert("UTC")
    msgs = _prepare(messages, as_of_ts)
    replies = _reply_items(msgs, policy, clock)
    sourced = [source(msgs, policy, clock, as_of_ts) for source in sources]
    declared = [s.tasks for s in sourced if not s.tasks.empty]
    tasks = _tasks(msgs, is_task(msgs, policy), policy, clock, as_of_ts, declared)
    extra = [
        s.items.loc[pd.to_datetime(s.items["requested_at"], utc=True) <= as_of_ts]
        for s in sourced
        if not s.items.empty
    ]
    frames = [f for f in [replies, _task_items(tasks, as_of_ts), *extra] if not f.empty]
    items = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["kind", *_KEY, "requester_id", "requested_at", "due_at"])
    )
    items = _escalate(items, policy, clock, as_of_ts)
    if groups is not None and not items.empty:
        cols = groups[["platform", "group_id", "owner_id", "admin_ids"]]
        items = items.merge(cols, on=["platform", "group_id"], how="left")
    overdue = items.loc[items["overdue"], OVERDUE_COLUMNS].reset_index(drop=True)
    violations = _violations(items, policy, clock, as_of_ts)
    tasks = tasks[TASK_COLUMNS]
    if people is not None:
        overdue, tasks = _with_names(overdue, people), _with_names(tasks, people)
    return Obligations(as_of, items, overdue, tasks, violations)


def _with_names(frame: pd.DataFrame, people: Directory) -> pd.DataFrame:
    """``frame`` with the name to show beside each ``assignee_id`` and ``requester_id``."""
    out = frame.copy()
    for role in ("assignee", "requester"):
        out[f"{role}_name"] = people.names(out["platform"], out[f"{role}_id"])
    return out


# -- preparation ----------------------------------------------------------------------------


def _prepare(messages: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    msgs = messages.loc[messages["sent_at"] <= as_of].copy()
    msgs["sent_at"] = pd.to_datetime(msgs["sent_at"], utc=True)
    msgs["text"] = msgs["text"].fillna("").astype(str)
    msgs["mention_all"] = msgs["mention_all"].fillna(False).astype(bool)
    msgs["reply_to"] = msgs["reply_to"].where(msgs["reply_to"].notna(), None)
    msgs = msgs.sort_values(["sent_at", "message_id"], kind="stable").reset_index(drop=True)
    return msgs


# -- reply requests -------------------------------------------------------------------------


def _reply_items(msgs: pd.DataFrame, policy: Policy, clock: WorkClock) -> pd.DataFrame:
    """Reply requests and their answers: the one rule of :mod:`groupops.activity.answers`."""
    req = answered_requests(msgs, policy).rename(
        columns={"target_id": "assignee_id", "answered_at": "resolved_at",
                 "answer_id": "resolved_by"}
    )  # fmt: skip
    if req.empty:
        return pd.DataFrame(columns=["kind", *_KEY, "requester_id", "requested_at", "due_at"])
    req["due_at"] = clock.add_working_minutes_series(
        req["requested_at"], policy.replies.deadline_working_hours * 60
    )
    req["kind"] = "reply"
    return req[
        ["kind", *_KEY, "requester_id", "requested_at", "due_at", "resolved_at", "resolved_by"]
    ]


# -- tasks ----------------------------------------------------------------------------------


def _found(
    text: str, sent_at: pd.Timestamp, clock: WorkClock
) -> tuple[pd.Timestamp | NaTType, str | None]:
    """The deadline a task message states and the words that state it (NaT, None: none)."""
    found = find_deadline(text, sent_at.floor("us").to_pydatetime(), clock) if text else None
    if found is None:
        return pd.NaT, None
    words = found.text
    cue = re.match(r"\s*(之前|以前|前|为止|by\b)", text[found.end :])
    if cue:
        words = text[found.start : found.end + cue.end()]
    return pd.Timestamp(found.at).tz_convert("UTC"), words


def _deadline_or_nat(
    text: str, sent_at: pd.Timestamp, clock: WorkClock, *, cue_needed: bool = False
) -> pd.Timestamp | NaTType:
    found = find_deadline(text, sent_at.floor("us").to_pydatetime(), clock) if text else None
    if found is None or (cue_needed and not found.cued):
        return pd.NaT
    return pd.Timestamp(found.at).tz_convert("UTC")


def _tasks(
    msgs: pd.DataFrame,
    task_mask: pd.Series,
    policy: Policy,
    clock: WorkClock,
    as_of: pd.Timestamp,
    declared: Sequence[pd.DataFrame] = (),
) -> pd.DataFrame:
    tp = policy.tasks
    task_msgs = msgs[task_mask & (msgs["mentions"].map(len) > 0)]
    tasks = mentioned(task_msgs).rename(columns={"target_id": "assignee_id"})
    tasks = tasks.reset_index(drop=True)
    tasks = tasks.rename(columns={"sender_id": "requester_id", "sent_at": "assigned_at"})
    if not tasks.empty:
        # Deadline from the text (parsed once per task message), else the default.
        per_message = task_msgs.drop_duplicates(["platform", "group_id", "message_id"])
        found = [
            _found(t, s, clock)
            for t, s in zip(per_message["text"], per_message["sent_at"], strict=True)
        ]
        index = pd.MultiIndex.from_frame(per_message[["platform", "group_id", "message_id"]])
        stated = pd.Series([f[0] for f in found], index=index, dtype="datetime64[ns, UTC]")
        words = pd.Series([f[1] for f in found], index=index, dtype="object")
        key3 = pd.MultiIndex.from_frame(tasks[["platform", "group_id", "message_id"]])
        tasks["deadline"] = pd.to_datetime(stated.reindex(key3).to_numpy(), utc=True)
        tasks["deadline_words"] = words.reindex(key3).to_numpy()
        tasks["deadline_source"] = np.where(tasks["deadline"].notna(), "text", "default")
        tasks["reply_target"] = tasks["message_id"]
        tasks["source"] = "message"
        tasks["ack_required"] = True
    tasks = _with_declared(tasks, declared, as_of)
    if tasks.empty:
        return pd.DataFrame(columns=TASK_COLUMNS)
    default = clock.add_working_minutes_series(
        tasks["assigned_at"], tp.default_deadline_working_days * clock.minutes_per_day
    )
    tasks["deadline"] = tasks["deadline"].fillna(default)
    if "deadline_words" not in tasks:
        tasks["deadline_words"] = None
    tasks["deadline_words"] = (
        tasks["deadline_words"].astype(object).where(tasks["deadline_words"].notna(), None)
    )
    ack_due = clock.add_working_minutes_series(
        tasks["assigned_at"], tp.ack_deadline_working_hours * 60
    )
    tasks["ack_due_at"] = ack_due.where(tasks["ack_required"].to_numpy(dtype=bool))
    # Replies answer a task through its reply target (an action item: its minutes).
    as_req = tasks.rename(columns={"assigned_at": "requested_at"}).assign(
        message_id=_reply_target(tasks)
    )
    any_message = policy.replies.reply_mode == "any_message"
    unattached = msgs["reply_to"].isna()

    # Completion: a completion word in a reply to the task (or, any_message, replying to nothing).
    is_done = contains_marker(msgs["text"], tp.completion_markers)
    done = first_reply(as_req, msgs, is_done, member="assignee_id")
    if any_message:
        later = next_in_group(as_req, msgs[is_done & unattached], member="assignee_id")
        done = earliest(done, later)
    tasks["done_at"] = done["at"].to_numpy()
    tasks["done_message_id"] = done["id"].to_numpy()

    # Acknowledgement: any reply to the task, or (any_message) an ack word replying to nothing.
    ack = first_reply(as_req, msgs, member="assignee_id")
    if any_message:
        is_ack = contains_marker(msgs["text"], tp.ack_markers)
        later = next_in_group(as_req, msgs[is_ack & unattached], member="assignee_id")
        ack = earliest(ack, later)
    ack = earliest(ack, done)  # reporting completion acknowledges too
    tasks["ack_at"] = pd.to_datetime(ack["at"].to_numpy(), utc=True)
    tasks["ack_message_id"] = ack["id"].to_numpy()

    tasks["committed_deadline"] = _commitments(tasks, ack, msgs, clock)
    tasks["effective_deadline"] = tasks["committed_deadline"].fillna(tasks["deadline"])
    tasks["done_at"] = pd.to_datetime(tasks["done_at"], utc=True)
    tasks["state"] = np.select(
        [
            tasks["done_at"].notna(),
            as_of > tasks["effective_deadline"],
            tasks["ack_at"].isna() & (as_of > tasks["ack_due_at"]),
            tasks["ack_at"].notna(),
        ],
        ["done", "overdue", "ack_overdue", "acknowledged"],
        default="open",
    )
    return tasks


def _reply_target(tasks: pd.DataFrame) -> np.ndarray:
    """The message whose replies answer each task: its own message, unless a source declared
    another (an action item's minutes)."""
    own = tasks["message_id"].to_numpy(dtype=object)
    if "reply_target" not in tasks:
        return own
    target = tasks["reply_target"].to_numpy(dtype=object)
    return np.where(pd.isna(target), own, target)


def _with_declared(
    tasks: pd.DataFrame, declared: Sequence[pd.DataFrame], as_of: pd.Timestamp
) -> pd.DataFrame:
    """The message tasks and the sources' declared tasks (assigned by ``as_of``) in one frame,
    ordered by assignment."""
    parts = [tasks] if not tasks.empty else []
    for frame in declared:
        extra = frame[DECLARED_TASK_COLUMNS].copy()
        extra["assigned_at"] = pd.to_datetime(extra["assigned_at"], utc=True)
        extra["deadline"] = pd.to_datetime(extra["deadline"], utc=True)
        extra["deadline_source"] = np.where(
            extra["deadline"].notna(), extra["deadline_source"], "default"
        )
        extra["ack_required"] = False
        parts.append(extra[extra["assigned_at"] <= as_of])
    parts = [p for p in parts if not p.empty]
    if not parts:
        return tasks
    if len(parts) == 1:
        return parts[0].reset_index(drop=True)
    out = pd.concat(parts, ignore_index=True)
    out["assigned_at"] = pd.to_datetime(out["assigned_at"], utc=True)
    out["deadline"] = pd.to_datetime(out["deadline"], utc=True)
    return out.sort_values(["assigned_at", "message_id"], kind="stable").reset_index(drop=True)


def _commitments(
    tasks: pd.DataFrame, ack: pd.DataFrame, msgs: pd.DataFrame, clock: WorkClock
) -> pd.Series:
    """The time the assignee committed to: any time stated in the acknowledgement, else the
    first deadline *with a cue* (前, 之前, by…) in a later reply to the task, up to ``as_of``.
    The completion report itself commits nothing ("抱歉拖到今天" is not a promise)."""
    first = pd.DataFrame(
        {
            "row": np.arange(len(tasks)),
            "at": pd.to_datetime(ack["at"].to_numpy(), utc=True),
            "id": ack["id"].to_numpy(),
            "text": ack["text"].to_numpy(),
            "cue_needed": False,
        }
    ).dropna(subset=["at"])
    replies = msgs[msgs["reply_to"].notna()][
        ["platform", "group_id", "reply_to", "sender_id", "sent_at", "message_id", "text"]
    ].rename(columns={"message_id": "id"})
    later = (
        tasks[_KEY]
        .assign(row=np.arange(len(tasks)), message_id=_reply_target(tasks))
        .merge(
            replies.rename(
                columns={"reply_to": "message_id", "sender_id": "assignee_id", "sent_at": "at"}
            ),
            on=_KEY,
        )[["row", "at", "id", "text"]]
        .assign(cue_needed=True)
    )
    cand = pd.concat([first, later], ignore_index=True).sort_values(
        ["row", "at", "cue_needed"], kind="stable"
    )
    cand = cand.drop_duplicates(["row", "id"], keep="first")
    done_ids = tasks["done_message_id"].to_numpy()
    cand = cand[cand["id"].to_numpy() != done_ids[cand["row"].to_numpy()]]
    cand["stated"] = [
        _deadline_or_nat(str(t), pd.Timestamp(a), clock, cue_needed=bool(c))
        for t, a, c in zip(cand["text"], cand["at"], cand["cue_needed"], strict=True)
    ]
    stated = cand.dropna(subset=["stated"]).drop_duplicates("row", keep="first")
    out = pd.Series(pd.NaT, index=range(len(tasks)), dtype="datetime64[ns, UTC]")
    out.loc[stated["row"].to_numpy()] = pd.to_datetime(stated["stated"], utc=True).to_numpy()
    return pd.Series(out.to_numpy(), index=tasks.index, dtype="datetime64[ns, UTC]")


def _task_items(tasks: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    if tasks.empty:
        return pd.DataFrame(columns=["kind", *_KEY, "requester_id", "requested_at", "due_at"])
    base = tasks[[*_KEY, "requester_id", "deadline_words"]].assign(
        requested_at=tasks["assigned_at"],
        text=tasks["text"].where(tasks["source"] != "message", None),
    )
    ack = base.assign(
        kind="task_ack",
        due_at=tasks["ack_due_at"],
        asked_due_at=tasks["ack_due_at"],
        resolved_at=tasks["ack_at"],
        resolved_by=tasks["ack_message_id"],
        deadline_words=None,
    )[tasks["ack_required"].to_numpy(dtype=bool)]
    done = base.assign(
        kind="task_done",
        due_at=tasks["effective_deadline"],
        asked_due_at=tasks["deadline"],
        committed_due_at=tasks["committed_deadline"],
        resolved_at=tasks["done_at"],
        resolved_by=tasks["done_message_id"],
    )
    return pd.concat([ack, done], ignore_index=True)


# -- escalation and violations --------------------------------------------------------------


def _escalate(
    items: pd.DataFrame, policy: Policy, clock: WorkClock, as_of: pd.Timestamp
) -> pd.DataFrame:
    if items.empty:
        empty = pd.DataFrame(columns=ITEM_COLUMNS)
        empty["overdue"] = empty["overdue"].astype(bool)
        return empty
    items = items.copy()
    if "asked_due_at" not in items:
        items["asked_due_at"] = pd.NaT
    items["asked_due_at"] = pd.to_datetime(items["asked_due_at"], utc=True).fillna(
        pd.to_datetime(items["due_at"], utc=True)
    )
    if "committed_due_at" not in items:
        items["committed_due_at"] = pd.Series(
            pd.NaT, index=items.index, dtype="datetime64[ns, UTC]"
        )
    for col in ("requested_at", "due_at", "resolved_at", "committed_due_at"):
        items[col] = pd.to_datetime(items[col], utc=True)
    for col in ("text", "deadline_words"):
        if col not in items:
            items[col] = None
        items[col] = items[col].astype(object).where(items[col].notna(), None)
    window = clock.working_minutes_between_series(items["requested_at"], items["due_at"])
    items["reminder_at"] = clock.add_working_minutes_series(
        items["requested_at"], window.clip(lower=0) * policy.tasks.reminder_fraction
    )
    open_ = items["resolved_at"].isna()
    as_of_col = pd.Series(as_of, index=items.index)
    late = clock.working_minutes_between_series(items["due_at"], as_of_col)
    items["overdue"] = open_ & (items["due_at"] < as_of)
    items["overdue_working_minutes"] = np.where(items["overdue"], late.clip(lower=0), 0.0)
    owner_after = policy.tasks.owner_escalation_working_hours * 60
    items["escalation"] = np.select(
        [
            items["overdue"] & (items["overdue_working_minutes"] >= owner_after),
            items["overdue"],
            open_ & (items["reminder_at"] <= as_of),
        ],
        [ESCALATION_OWNER, ESCALATION_ADMINS, ESCALATION_ASSIGNEE],
        default=ESCALATION_NONE,
    ).astype(int)
    items = items.sort_values(["requested_at", "group_id", "message_id", "assignee_id", "kind"])
    return items[ITEM_COLUMNS].reset_index(drop=True)


def _violations(
    items: pd.DataFrame, policy: Policy, clock: WorkClock, as_of: pd.Timestamp
) -> pd.DataFrame:
    if items.empty:
        return pd.DataFrame(columns=VIOLATION_COLUMNS)
    missed = items[
        (items["due_at"] < as_of)
        & (items["resolved_at"].isna() | (items["resolved_at"] > items["due_at"]))
    ]
    if missed.empty:
        return pd.DataFrame(columns=VIOLATION_COLUMNS)
    missed = missed.assign(
        period=missed["due_at"].dt.tz_convert(clock.tz).dt.strftime("%Y-%m"),
        member_id=missed["assignee_id"],
    )
    keys = ["platform", "group_id", "member_id", "period"]
    missed = missed.drop_duplicates([*keys, "message_id"]).sort_values([*keys, "message_id"])
    counts = missed.groupby(keys, sort=False)["message_id"].transform("size")
    missed = missed[counts >= policy.tasks.non_response_violation_threshold]
    per = (
        missed.groupby(keys, sort=True)["message_id"]
        .agg(list)
        .rename("evidence_message_ids")
        .reset_index()
    )
    per["count"] = per["evidence_message_ids"].map(len)
    per["type"] = "non-response"
    return per[VIOLATION_COLUMNS].reset_index(drop=True)


def to_records(frame: pd.DataFrame, tz: object = None) -> list[dict[str, object]]:
    """Rows as plain dicts; instants as ISO 8601 strings (in ``tz`` when given)."""
    out = frame.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            conv = out[col].dt.tz_convert(tz) if tz is not None else out[col]
            out[col] = [None if pd.isna(v) else v.isoformat() for v in conv]
    out = out.astype(object).where(out.notna(), None)
    return [
        {str(k): (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
        for row in out.to_dict(orient="records")
    ]
