"""One moderation run at ``as_of``: detect → record → file detected appeals → decide → notify
→ act → escalate overdue appeal answers. Each step is a function the flow's tasks wrap one to
one; :func:`moderate` runs them all in this process (``groupops moderate --local``, tests).

Re-running at the same ``as_of`` changes nothing: detections refresh the same rows, a decided
violation is never decided again, every email has an idempotency key, every action a row.
``dry_run`` computes what would be decided and writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from groupops.clock.workclock import WorkClock
from groupops.db.queries import LoadedMessages, load_messages, preload_messages
from groupops.mail.i18n import check_language, fmt_datetime, translate
from groupops.moderation.actions import (
    ConnectorFor,
    carry_out,
    load_actions,
    notice_text,
    plan_actions,
)
from groupops.moderation.appeals import (
    AppealError,
    appeal_rows,
    decide_appeal,
    detect_answers,
    detect_appeals,
    file_appeal,
    load_appeals,
)
from groupops.moderation.decide import Decision, apply_decisions, plan_decisions
from groupops.moderation.detect import Detection, detect
from groupops.moderation.notices import (
    Notice,
    People,
    send_appeal_notice,
    send_violation_notices,
)
from groupops.moderation.store import ViolationRecord, load_violations, record_detections
from groupops.policy import Policy


@dataclass
class ModerationResult:
    """What one run found and did."""

    as_of: datetime
    dry_run: bool = False
    detected: int = 0
    recorded: int = 0  # violation rows added or refreshed
    appeals_filed: list[int] = field(default_factory=list)
    appeals_answered: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # outbox keys newly queued
    actions: list[dict[str, Any]] = field(default_factory=list)
    escalations: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "dry_run": self.dry_run,
            "detected": self.detected,
            "recorded": self.recorded,
            "appeals_filed": self.appeals_filed,
            "appeals_answered": self.appeals_answered,
            "decisions": self.decisions,
            "notices": self.notices,
            "actions": self.actions,
            "escalations": self.escalations,
        }


def catch_up_instants(
    policy: Policy, since: datetime, as_of: datetime, clock: WorkClock | None = None
) -> list[datetime]:
    """The runs that catch moderation up from ``since`` to ``as_of`` (a first run over history,
    or after downtime): the end of working hours of every working day in between, then
    ``as_of`` itself. Decisions then carry the working day they would have been made on
    (``decided_at``), so appeal windows and mutes run from there."""
    clock = clock or WorkClock.from_policy(policy)
    if since.tzinfo is None or as_of.tzinfo is None:
        raise ValueError("since and as_of must be timezone-aware")
    if since > as_of:
        raise ValueError("since must not be after as_of")
    out: list[datetime] = []
    day, last = since.astimezone(clock.tz).date(), as_of.astimezone(clock.tz).date()
    while day <= last:
        end = clock.end_of_day(day)
        if clock.is_working_day(day, warn=False) and since <= end < as_of:
            out.append(end)
        day += timedelta(days=1)
    return [*out, as_of]


def merge_results(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Several runs' ``as_dict`` (or the flow's report) as one: the last ``as_of`` and
    ``detected``, everything else added up, and ``runs`` (each run's ``as_of``)."""
    if not results:
        raise ValueError("no runs to merge")
    merged: dict[str, Any] = dict(results[-1])
    for key, value in results[-1].items():
        if isinstance(value, list):
            merged[key] = [item for r in results for item in r.get(key) or []]
        elif isinstance(value, int) and not isinstance(value, bool) and key != "detected":
            merged[key] = sum(int(r.get(key) or 0) for r in results)
    merged["runs"] = [str(r["as_of"]) for r in results]
    return merged


def lookback_start(policy: Policy, as_of: datetime) -> datetime:
    return as_of - timedelta(days=policy.moderation.ladder_window_days)


#: The message columns any step of a run reads.
RUN_COLUMNS = ("platform", "group_id", "message_id", "sender_id", "sent_at", "kind", "text",
               "reply_to", "mentions")  # fmt: skip


def catch_up_batches(policy: Policy, instants: Sequence[datetime]) -> list[list[datetime]]:
    """``instants`` (in order) cut into consecutive batches whose runs read, together, at most
    two ladder windows of messages: each batch's messages are loaded once
    (:func:`catch_up_messages`), so a catch-up over a long history holds no more than twice
    what one run reads."""
    window = timedelta(days=policy.moderation.ladder_window_days)
    batches: list[list[datetime]] = []
    for at in instants:
        if batches and at - batches[-1][0] <= window:
            batches[-1].append(at)
        else:
            batches.append([at])
    return batches


def catch_up_messages(
    engine: sa.Engine, policy: Policy, instants: Sequence[datetime]
) -> LoadedMessages:
    """The messages a catch-up's runs at ``instants`` read, loaded once: from the first run's
    ladder window to the last instant. The runs write violations, appeals and the outbox,
    never messages, so each run reads from this what it would read from the store. (Appeals
    and their answers are read from the earliest decision on: a span before the first window
    is read from the store.)"""
    return preload_messages(
        engine,
        since=lookback_start(policy, min(instants)),
        until=max(instants) + timedelta(microseconds=1),
        columns=RUN_COLUMNS,
    )


def detect_violations(
    engine: sa.Engine,
    policy: Policy,
    as_of: datetime,
    groups: Sequence[str] | None = None,
    *,
    loaded: LoadedMessages | None = None,
) -> list[Detection]:
    """Violations in the messages of the ladder window up to ``as_of``. Never evidence: the
    notices groupops posted itself (they name the category and the appeal word), and a
    sanctioned member's appeals (filed, or filing in this run) — an admin judges those."""
    messages = load_messages(
        engine,
        since=lookback_start(policy, as_of),
        until=as_of + timedelta(microseconds=1),
        groups=groups,
        columns=(
            "platform", "group_id", "message_id", "sender_id", "sent_at", "kind", "text",
            "reply_to", "mentions",
        ),
        loaded=loaded,
    )  # fmt: skip
    if not messages.empty:
        exempt = _exempt_messages(engine, policy, messages, as_of, groups)
        if exempt:
            messages = messages[~messages["message_id"].astype(str).isin(exempt)]
    return detect(messages, policy.moderation)


def _exempt_messages(
    engine: sa.Engine,
    policy: Policy,
    messages: pd.DataFrame,
    as_of: datetime,
    groups: Sequence[str] | None,
) -> set[str]:
    violations = load_violations(engine, as_of=as_of, groups=groups)
    exempt = {v.notice_message_id for v in violations if v.notice_message_id}
    exempt |= {a.message_id for a in load_appeals(engine) if a.message_id}
    decided = [v for v in violations if v.decided_at is not None]
    if decided:
        people = People.load(engine)
        staff = {key: set(people.admins(*key)) | set(people.owner(*key)) for key in people.groups}
        exempt |= {
            message_id
            for _vid, message_id, _at, _text in detect_appeals(
                messages, decided, staff, policy.moderation.appeal_markers
            )
        }
    return exempt


def file_detected_appeals(
    engine: sa.Engine,
    policy: Policy,
    as_of: datetime,
    *,
    now: datetime,
    sender: str,
    outbox_dir: Path,
    groups: Sequence[str] | None = None,
    clock: WorkClock | None = None,
    loaded: LoadedMessages | None = None,
) -> list[int]:
    """File the appeals written in the groups (see :func:`detect_appeals`) and send their
    notices; the new appeals' ids."""
    clock = clock or WorkClock.from_policy(policy)
    violations = load_violations(engine, as_of=as_of, groups=groups)
    decided = [v for v in violations if v.decided_at is not None]
    if not decided:
        return []
    since = min(v.decided_at for v in decided if v.decided_at is not None)
    messages = load_messages(
        engine,
        since=since,
        until=as_of + timedelta(microseconds=1),
        groups=groups,
        columns=(
            "platform",
            "group_id",
            "message_id",
            "sender_id",
            "sent_at",
            "text",
            "reply_to",
            "mentions",
        ),
        loaded=loaded,
    )
    people = People.load(engine)
    staff = {key: set(people.admins(*key)) | set(people.owner(*key)) for key in people.groups}
    known = {a.message_id for a in load_appeals(engine) if a.message_id}
    filed: list[int] = []
    for violation_id, message_id, sent_at, text in detect_appeals(
        messages, decided, staff, policy.moderation.appeal_markers
    ):
        if message_id in known:
            continue
        try:
            result = file_appeal(
                engine, violation_id, at=sent_at, policy=policy, now=now, reason=text,
                source="message", message_id=message_id, clock=clock,
            )  # fmt: skip
        except ValueError:
            continue  # a second appeal against the same violation: the first one stands
        known.add(message_id)
        if result.created:
            filed.append(result.appeal.id)
            what = "late" if result.appeal.state == "late" else "filed"
            send_appeal_notice(
                engine, result.appeal, what, policy, sender=sender, outbox_dir=outbox_dir,
                now=now, people=people,
            )  # fmt: skip
    return filed


def answer_detected_appeals(
    engine: sa.Engine,
    policy: Policy,
    as_of: datetime,
    *,
    now: datetime,
    sender: str,
    outbox_dir: Path,
    groups: Sequence[str] | None = None,
    loaded: LoadedMessages | None = None,
) -> list[dict[str, Any]]:
    """Decide the appeals an admin answered in the group (see :func:`detect_answers`): upheld
    revokes and recounts, rejected stands; the member is emailed either way. One entry per
    appeal decided by this run."""
    pending = [
        a
        for a in load_appeals(engine, as_of=as_of)
        if a.state == "pending" and a.message_id and (not groups or a.group_id in groups)
    ]
    if not pending:
        return []
    messages = load_messages(
        engine,
        since=min(a.filed_at for a in pending),
        until=as_of + timedelta(microseconds=1),
        groups=groups,
        columns=("platform", "group_id", "message_id", "sender_id", "sent_at", "text", "reply_to"),
        loaded=loaded,
    )
    people = People.load(engine)
    staff = {key: set(people.admins(*key)) | set(people.owner(*key)) for key in people.groups}
    mp = policy.moderation
    out: list[dict[str, Any]] = []
    for answer in detect_answers(
        messages, pending, staff, mp.appeal_uphold_markers, mp.appeal_reject_markers
    ):
        try:
            decided = decide_appeal(
                engine, answer.appeal_id, uphold=answer.uphold, at=answer.sent_at, by=answer.by,
                policy=policy, now=now, note=answer.text,
            )  # fmt: skip
        except AppealError:
            continue  # answered the other way by command meanwhile: that answer stands
        if decided.changed:
            send_appeal_notice(
                engine, decided.appeal, decided.appeal.state, policy, sender=sender,
                outbox_dir=outbox_dir, now=now, people=people, recounts=decided.recounts,
            )  # fmt: skip
            out.append(
                {
                    "appeal_id": answer.appeal_id,
                    "state": decided.appeal.state,
                    "by": answer.by,
                    "message_id": answer.message_id,
                    "recounted": [
                        {"violation_id": r.violation_id, "from": r.previous, "to": r.penalty}
                        for r in decided.recounts
                    ],
                }
            )
    return out


def decide_violations(
    engine: sa.Engine,
    policy: Policy,
    as_of: datetime,
    *,
    now: datetime,
    groups: Sequence[str] | None = None,
    dry_run: bool = False,
    pending: Sequence[Detection] = (),
) -> tuple[list[Decision], dict[int, ViolationRecord]]:
    """Decide every undecided violation on the ladder (and store recounts); with ``dry_run``,
    ``pending`` detections not yet stored take part under negative ids."""
    violations = load_violations(engine, as_of=as_of, groups=groups)
    if dry_run and pending:
        violations = violations + _unstored(violations, pending, now)
    new, recounts = plan_decisions(violations, policy.moderation, as_of)
    if not dry_run:
        apply_decisions(engine, [*new, *recounts], now)
    return new, {v.id: v for v in violations}


def _unstored(
    stored: Sequence[ViolationRecord], detections: Sequence[Detection], now: datetime
) -> list[ViolationRecord]:
    keys = {(v.platform, v.group_id, v.member_id, v.category, v.evidence_key) for v in stored}
    out = []
    for i, d in enumerate(detections, start=1):
        if (d.platform, d.group_id, d.member_id, d.category, d.evidence_key) in keys:
            continue
        out.append(
            ViolationRecord(
                id=-i, platform=d.platform, group_id=d.group_id, member_id=d.member_id,
                category=d.category, rule=d.rule, evidence_key=d.evidence_key,
                message_ids=d.message_ids, matched=d.matched, snippet=d.snippet, at=d.at,
                source="detected", recorded_by=None, note=None, penalty=None, decided_at=None,
                mute_until=None, revoked_at=None, created_at=now,
            )
        )  # fmt: skip
    return out


def carry_out_actions(
    engine: sa.Engine,
    policy: Policy,
    as_of: datetime,
    connector_for: ConnectorFor | None,
    *,
    now: datetime,
    groups: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Post notices, mute, unmute, remove where a connector can; to-dos otherwise."""
    violations = load_violations(engine, as_of=as_of, groups=groups)
    plans = plan_actions(violations, load_actions(engine, [v.id for v in violations]), as_of)
    if not plans:
        return []
    people = People.load(engine)
    clock = WorkClock.from_policy(policy)
    language = check_language(policy.language)
    by_id = {v.id: v for v in violations}
    texts: dict[int, str] = {}
    for plan in plans:
        v = by_id[plan.violation_id]
        if plan.action == "notice" and v.decided_at is not None and v.penalty:
            appeal_by = clock.within_working_days(
                v.decided_at, policy.moderation.appeal_window_working_days
            )
            texts[v.id] = notice_text(
                v,
                {
                    "member": people.name(v.platform, v.member_id),
                    "category": translate(f"mod.category.{v.category}", language),
                    "penalty": translate(f"mod.penalty.{v.penalty}", language),
                    "appeal_by": fmt_datetime(appeal_by, language),
                },
            )
    done = carry_out(engine, plans, connector_for, now=now, notice_texts=texts)
    return [
        {
            "violation_id": plan.violation_id,
            "group_id": plan.group_id,
            "member_id": plan.member_id,
            "action": plan.action,
            "status": status,
            "detail": detail,
        }
        for plan, status, detail in done
    ]


def escalate_appeals(
    engine: sa.Engine,
    policy: Policy,
    as_of: datetime,
    *,
    now: datetime,
    sender: str,
    outbox_dir: Path,
) -> list[dict[str, Any]]:
    """Overdue appeal answers: the admins are emailed once (step 1); after a further
    ``tasks.owner_escalation_working_hours`` the owner's digest carries it (step 2)."""
    from groupops.db.models import Appeal

    clock = WorkClock.from_policy(policy)
    rows = [r for r in appeal_rows(load_appeals(engine, as_of=as_of), as_of, clock)
            if r.state == "answer_overdue"]  # fmt: skip
    out: list[dict[str, Any]] = []
    people = People.load(engine) if rows else None
    owner_after = policy.tasks.owner_escalation_working_hours * 60
    for row in rows:
        a = row.appeal
        values: dict[str, Any] = {}
        if a.admins_told_at is None:
            send_appeal_notice(
                engine, a, "overdue", policy, sender=sender, outbox_dir=outbox_dir, now=now,
                people=people, overdue_minutes=row.overdue_working_minutes,
            )  # fmt: skip
            values["admins_told_at"] = as_of
            out.append({"appeal_id": a.id, "step": 1, "to": "admins"})
        if a.owner_told_at is None and row.overdue_working_minutes >= owner_after:
            values["owner_told_at"] = as_of
            out.append({"appeal_id": a.id, "step": 2, "to": "owner's digest"})
        if values:
            with engine.begin() as conn:
                conn.execute(
                    sa.update(Appeal).where(Appeal.id == a.id).values(updated_at=now, **values)
                )
    return out


def decision_rows(
    decisions: Sequence[Decision], violations: dict[int, ViolationRecord], tz: Any
) -> list[dict[str, Any]]:
    out = []
    for d in decisions:
        v = violations[d.violation_id]
        out.append(
            {
                "violation_id": v.id,
                "group_id": v.group_id,
                "member_id": v.member_id,
                "category": v.category,
                "rule": v.rule,
                "message_ids": list(v.message_ids),
                "penalty": d.penalty,
                "count": d.count,
                "severe": d.severe,
                "mute_until": d.mute_until.astimezone(tz).isoformat() if d.mute_until else None,
            }
        )
    return out


def moderate(
    engine: sa.Engine,
    policy: Policy,
    as_of: datetime,
    *,
    now: datetime,
    sender: str,
    outbox_dir: Path,
    groups: Sequence[str] | None = None,
    dry_run: bool = False,
    connector_for: ConnectorFor | None = None,
    loaded: LoadedMessages | None = None,
) -> ModerationResult:
    """Every step of a run, in this process (see the module doc). ``loaded``: the messages
    of a span, loaded once for several runs (:func:`catch_up_messages`); spans outside it
    are read from the store."""
    result = ModerationResult(as_of=as_of, dry_run=dry_run)
    detections = detect_violations(engine, policy, as_of, groups, loaded=loaded)
    result.detected = len(detections)
    if not dry_run:
        result.recorded = record_detections(engine, detections, now)
        result.appeals_filed = file_detected_appeals(
            engine, policy, as_of, now=now, sender=sender, outbox_dir=outbox_dir, groups=groups,
            loaded=loaded,
        )  # fmt: skip
        result.appeals_answered = answer_detected_appeals(
            engine, policy, as_of, now=now, sender=sender, outbox_dir=outbox_dir, groups=groups,
            loaded=loaded,
        )  # fmt: skip
    decisions, violations = decide_violations(
        engine, policy, as_of, now=now, groups=groups, dry_run=dry_run, pending=detections
    )
    result.decisions = decision_rows(decisions, violations, policy.tz)
    if dry_run:
        return result
    fresh = {v.id: v for v in load_violations(engine, ids=[d.violation_id for d in decisions])}
    notices = send_violation_notices(
        engine, fresh, decisions, policy, sender=sender, outbox_dir=outbox_dir, now=now
    )
    result.notices = [n.key for n in notices if n.created]
    result.actions = carry_out_actions(engine, policy, as_of, connector_for, now=now, groups=groups)
    result.escalations = escalate_appeals(
        engine, policy, as_of, now=now, sender=sender, outbox_dir=outbox_dir
    )
    return result


__all__ = ["ModerationResult", "Notice", "moderate"]
