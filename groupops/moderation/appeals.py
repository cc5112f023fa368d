"""Appeals (申诉) on the working clock.

* A member may appeal within ``appeal_window_working_days`` working days of the notice (the
  violation's ``decided_at``); the admin must answer within ``appeal_answer_working_days``
  working days of the appeal. "Within N working days of T" is
  :meth:`~groupops.clock.workclock.WorkClock.within_working_days`: until the end of working
  hours of the N-th working day after T's day (holidays off, 调休 make-up days on).
* Filed by command (:func:`file_appeal`) or detected (:func:`detect_appeals`): a message by the
  sanctioned member holding an appeal marker that replies to the posted notice or mentions an
  admin (or the owner). Filed late: stored as ``late`` (rejected, the member is told).
* Decided by :func:`decide_appeal`: upheld revokes the violation and recounts the ladder (later
  decisions may step down; the next moderation run lifts what no longer holds); rejected stands.
* :func:`appeal_rows` gives each appeal's state at an instant: ``pending``, ``answer_overdue``
  (with the overdue working minutes), ``upheld``, ``rejected``, ``late``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from groupops.clock.workclock import WorkClock
from groupops.db.models import Appeal, Violation
from groupops.moderation.decide import Decision, apply_decisions, plan_decisions
from groupops.moderation.store import ViolationRecord, get_violation, load_violations
from groupops.moderation.text import WordMatcher, normalise
from groupops.policy import Policy

if TYPE_CHECKING:
    import pandas as pd  # detection runs on frames; listing appeals imports none

STATES = ("pending", "answer_overdue", "upheld", "rejected", "late")


class AppealError(ValueError):
    """An appeal that cannot be filed or decided as asked."""


@dataclass(frozen=True)
class AppealRecord:
    id: int
    violation_id: int
    platform: str
    group_id: str
    member_id: str
    filed_at: datetime
    source: str
    message_id: str | None
    reason: str | None
    appeal_deadline: datetime
    answer_due_at: datetime | None
    state: str  # stored: pending | late | upheld | rejected
    decided_at: datetime | None
    decided_by: str | None
    note: str | None
    admins_told_at: datetime | None
    owner_told_at: datetime | None


def _record(r: Appeal) -> AppealRecord:
    return AppealRecord(
        r.id, r.violation_id, r.platform, r.group_id, r.member_id, r.filed_at, r.source,
        r.message_id, r.reason, r.appeal_deadline, r.answer_due_at, r.state, r.decided_at,
        r.decided_by, r.note, r.admins_told_at, r.owner_told_at,
    )  # fmt: skip


def load_appeals(
    engine: sa.Engine, *, as_of: datetime | None = None, ids: Sequence[int] | None = None
) -> list[AppealRecord]:
    stmt = sa.select(Appeal).order_by(Appeal.filed_at, Appeal.id)
    if as_of is not None:
        stmt = stmt.where(Appeal.filed_at <= as_of)
    if ids is not None:
        stmt = stmt.where(Appeal.id.in_(list(ids)))
    with sa.orm.Session(engine) as session:
        return [_record(r) for r in session.execute(stmt).scalars()]


def appeal_deadline(v: ViolationRecord, policy: Policy, clock: WorkClock) -> datetime:
    if v.decided_at is None:
        raise AppealError(f"violation {v.id} has not been decided (no notice went out yet)")
    return clock.within_working_days(v.decided_at, policy.moderation.appeal_window_working_days)


@dataclass(frozen=True)
class Filed:
    appeal: AppealRecord
    created: bool


def file_appeal(
    engine: sa.Engine,
    violation_id: int,
    *,
    at: datetime,
    policy: Policy,
    now: datetime,
    reason: str | None = None,
    source: str = "command",
    message_id: str | None = None,
    clock: WorkClock | None = None,
) -> Filed:
    """File an appeal; ``late`` when ``at`` is after the appeal deadline. Filing the same
    appeal again (same violation and instant) changes nothing; a second appeal against a
    violation that already has a timely one is refused."""
    clock = clock or WorkClock.from_policy(policy)
    v = get_violation(engine, violation_id)
    if v is None:
        raise AppealError(f"no violation {violation_id}")
    if at.tzinfo is None:
        raise AppealError("the appeal's time must carry a time zone")
    deadline = appeal_deadline(v, policy, clock)
    assert v.decided_at is not None  # appeal_deadline refused an undecided violation
    if at < v.decided_at:
        raise AppealError(
            f"violation {v.id} was notified at {v.decided_at}: nothing to appeal before"
        )
    existing = [a for a in load_appeals(engine) if a.violation_id == violation_id]
    for a in existing:
        if a.filed_at == at:
            return Filed(a, False)
    timely = [a for a in existing if a.state != "late"]
    late = at > deadline
    if timely and not late:
        raise AppealError(f"violation {v.id} already has appeal {timely[0].id} ({timely[0].state})")
    answer_due = (
        None
        if late
        else clock.within_working_days(at, policy.moderation.appeal_answer_working_days)
    )
    table = Appeal.__table__
    assert isinstance(table, sa.Table)
    try:
        with engine.begin() as conn:
            result = conn.execute(
                table.insert().values(
                    violation_id=v.id, platform=v.platform, group_id=v.group_id,
                    member_id=v.member_id, filed_at=at, source=source, message_id=message_id,
                    reason=reason, appeal_deadline=deadline, answer_due_at=answer_due,
                    state="late" if late else "pending",
                    decided_at=at if late else None, decided_by=None,
                    note="filed after the appeal deadline" if late else None,
                    created_at=now, updated_at=now,
                )
            )  # fmt: skip
            pk = result.inserted_primary_key
            assert pk is not None
            appeal_id = int(pk[0])
    except IntegrityError:
        again = [a for a in load_appeals(engine) if a.violation_id == v.id and a.filed_at == at]
        return Filed(again[0], False)
    (appeal,) = load_appeals(engine, ids=[appeal_id])
    return Filed(appeal, True)


@dataclass(frozen=True)
class Decided:
    appeal: AppealRecord
    changed: bool
    recounts: list[Decision]


def decide_appeal(
    engine: sa.Engine,
    appeal_id: int,
    *,
    uphold: bool,
    at: datetime,
    by: str,
    policy: Policy,
    now: datetime,
    note: str | None = None,
) -> Decided:
    """Uphold (revoke the violation, recount the ladder) or reject a pending appeal. Deciding
    it again the same way changes nothing; a different answer to a decided appeal is refused."""
    found = load_appeals(engine, ids=[appeal_id])
    if not found:
        raise AppealError(f"no appeal {appeal_id}")
    appeal = found[0]
    state = "upheld" if uphold else "rejected"
    if appeal.state == state:
        return Decided(appeal, False, [])
    if appeal.state != "pending":
        raise AppealError(f"appeal {appeal_id} is {appeal.state}: it cannot be {state}")
    if at < appeal.filed_at:
        raise AppealError(
            f"appeal {appeal_id} was filed at {appeal.filed_at}: decide it after that"
        )
    recounts: list[Decision] = []
    with engine.begin() as conn:
        conn.execute(
            sa.update(Appeal)
            .where(Appeal.id == appeal_id, Appeal.state == "pending")
            .values(state=state, decided_at=at, decided_by=by, note=note, updated_at=now)
        )
        if uphold:
            conn.execute(
                sa.update(Violation)
                .where(Violation.id == appeal.violation_id, Violation.revoked_at.is_(None))
                .values(revoked_at=at, updated_at=now)
            )
    if uphold:
        same = [
            v
            for v in load_violations(engine)
            if (v.platform, v.group_id, v.member_id)
            == (appeal.platform, appeal.group_id, appeal.member_id)
        ]
        _new, recounts = plan_decisions(same, policy.moderation, at)
        apply_decisions(engine, recounts, now)
    (decided,) = load_appeals(engine, ids=[appeal_id])
    return Decided(decided, True, recounts)


@dataclass(frozen=True)
class AppealRow:
    appeal: AppealRecord
    state: str
    overdue_working_minutes: float

    def as_dict(self, tz: Any) -> dict[str, object]:
        a = self.appeal

        def iso(value: datetime | None) -> str | None:
            return value.astimezone(tz).isoformat() if value else None

        return {
            "appeal_id": a.id,
            "violation_id": a.violation_id,
            "platform": a.platform,
            "group_id": a.group_id,
            "member_id": a.member_id,
            "filed_at": iso(a.filed_at),
            "appeal_deadline": iso(a.appeal_deadline),
            "answer_due_at": iso(a.answer_due_at),
            "state": self.state,
            "overdue_working_minutes": round(self.overdue_working_minutes, 1),
            "source": a.source,
            "message_id": a.message_id,
            "reason": a.reason,
            "decided_at": iso(a.decided_at),
            "decided_by": a.decided_by,
            "note": a.note,
        }


def appeal_rows(
    appeals: Sequence[AppealRecord], as_of: datetime, clock: WorkClock
) -> list[AppealRow]:
    """Each appeal filed by ``as_of`` with its state at ``as_of`` (a decision after ``as_of``
    is not known yet then)."""
    out = []
    for a in appeals:
        if a.filed_at > as_of:
            continue
        state = a.state
        if state in ("upheld", "rejected") and a.decided_at is not None and a.decided_at > as_of:
            state = "pending"
        overdue = 0.0
        if state == "pending" and a.answer_due_at is not None and as_of > a.answer_due_at:
            state = "answer_overdue"
            overdue = max(clock.working_minutes_between(a.answer_due_at, as_of), 0.0)
        out.append(AppealRow(a, state, overdue))
    return out


def detect_appeals(
    messages: pd.DataFrame,
    violations: Sequence[ViolationRecord],
    staff: dict[tuple[str, str], set[str]],
    markers: Sequence[str],
) -> list[tuple[int, str, datetime, str]]:
    """``(violation_id, message_id, sent_at, text)`` of messages that file an appeal: by a
    member with a decided, unrevoked violation in that group, holding an appeal marker, and
    replying to that violation's notice or mentioning one of the group's ``staff`` (admins
    and owner). A reply names its violation; otherwise the latest one notified before it."""
    return _detect_appeals(messages, violations, staff, markers, senders_first=True)


def _detect_appeals(
    messages: pd.DataFrame,
    violations: Sequence[ViolationRecord],
    staff: dict[tuple[str, str], set[str]],
    markers: Sequence[str],
    *,
    senders_first: bool,
) -> list[tuple[int, str, datetime, str]]:
    """:func:`detect_appeals`; ``senders_first=False`` builds a record of every message (the
    plain loop ``tests/test_moderation_fast.py`` proves the faster one equal to)."""
    import pandas as pd

    if messages.empty:
        return []
    matcher = WordMatcher({"appeal": markers})
    by_member: dict[tuple[str, str, str], list[ViolationRecord]] = {}
    by_notice: dict[str, ViolationRecord] = {}
    for v in violations:
        if v.decided_at is not None and not v.revoked:
            by_member.setdefault((v.platform, v.group_id, v.member_id), []).append(v)
            if v.notice_message_id:
                by_notice[v.notice_message_id] = v
    if not by_member:
        return []
    # Only a sanctioned member's messages can file: the others' rows (nearly all) are never
    # built as records. Same rows, same order as iterating every row.
    if senders_first:
        appellants = {member_id for _p, _g, member_id in by_member}
        messages = messages[[str(s) in appellants for s in messages["sender_id"].tolist()]]
    out = []
    for row in messages.to_dict("records"):
        key = (str(row["platform"]), str(row["group_id"]), str(row["sender_id"]))
        mine = by_member.get(key)
        text = str(row.get("text") or "")
        if not mine or not text or not matcher.find(normalise(text)):
            continue
        sent_at = pd.Timestamp(row["sent_at"]).to_pydatetime()
        reply_to = row.get("reply_to")
        target = by_notice.get(str(reply_to)) if isinstance(reply_to, str) else None
        if target is not None and target.member_id != key[2]:
            target = None
        mentions = {str(m) for m in (row.get("mentions") or [])}
        if target is None and mentions & staff.get((key[0], key[1]), set()):
            earlier = [v for v in mine if v.decided_at is not None and v.decided_at <= sent_at]
            target = max(earlier, key=lambda v: (v.decided_at, v.id)) if earlier else None
        if target is not None:
            out.append((target.id, str(row["message_id"]), sent_at, text))
    return out


@dataclass(frozen=True)
class Answer:
    """An admin's answer to an appeal written in the group."""

    appeal_id: int
    uphold: bool
    message_id: str
    sent_at: datetime
    by: str
    text: str


def detect_answers(
    messages: pd.DataFrame,
    appeals: Sequence[AppealRecord],
    staff: dict[tuple[str, str], set[str]],
    uphold_markers: Sequence[str],
    reject_markers: Sequence[str],
) -> list[Answer]:
    """Answers to pending appeals filed by a message: a reply to the appeal's message by one of
    the group's ``staff`` (admins and owner, never the appellant) holding an uphold or a reject
    marker — not both. The first answer to an appeal counts."""
    import pandas as pd

    if messages.empty:
        return []
    by_message = {
        a.message_id: a for a in appeals if a.message_id is not None and a.state == "pending"
    }
    if not by_message:
        return []
    matcher = WordMatcher({"uphold": uphold_markers, "reject": reject_markers})
    replies = messages[messages["reply_to"].isin(list(by_message))].sort_values("sent_at")
    out: list[Answer] = []
    answered: set[int] = set()
    for row in replies.to_dict("records"):
        appeal = by_message[str(row["reply_to"])]
        sender = str(row["sender_id"])
        key = (str(row["platform"]), str(row["group_id"]))
        if (
            appeal.id in answered
            or key != (appeal.platform, appeal.group_id)
            or sender == appeal.member_id
            or sender not in staff.get(key, set())
        ):
            continue
        text = str(row.get("text") or "")
        found = {hit.list_name for hit in matcher.find(normalise(text))}
        if len(found) != 1:
            continue
        answered.add(appeal.id)
        sent_at = pd.Timestamp(row["sent_at"]).to_pydatetime()
        out.append(Answer(appeal.id, "uphold" in found, str(row["message_id"]), sent_at,
                          sender, text))  # fmt: skip
    return out
