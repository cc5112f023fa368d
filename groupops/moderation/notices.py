"""Moderation emails through the outbox (idempotent by key), zh-CN and en.

* ``violation_member`` — to the member: what, why, the evidence (masked), the penalty, how to
  appeal and until when (``appeal_window_working_days`` on the working clock);
* ``violation_admins`` — to the group's admins (its owner when it has none), and for a severe
  category to the owner as well: the decision and what was carried out or is left to do;
* ``violation_department`` — on removal, to the member's department head (from the roster);
* ``appeal_member`` — the appeal's outcome (late, upheld, rejected) to the member;
* ``appeal_admins`` — an appeal to answer (filed), and an answer that is overdue.

Keys: ``moderation:violation:<id>:<audience>``, ``moderation:appeal:<id>:<what>``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from groupops.clock.lateness import working_day_minutes
from groupops.clock.workclock import WorkClock
from groupops.db.models import Message
from groupops.db.queries import load_groups
from groupops.mail import Recipient, enqueue, render_email
from groupops.mail.i18n import Language, check_language, translate
from groupops.moderation.decide import Decision
from groupops.moderation.store import ViolationRecord
from groupops.moderation.text import snippet
from groupops.policy import Policy
from groupops.roster import Directory
from groupops.roster.hr import Roster

MAX_EVIDENCE = 5
#: The outbox ``kind`` of every moderation email (the flow delivers all unsent ones).
MODERATION_KIND = "moderation"


@dataclass(frozen=True)
class Notice:
    key: str
    audience: str
    recipients: list[str]
    created: bool


@dataclass
class People:
    """Everything a notice needs to know about people and groups, loaded once."""

    directory: Directory
    roster: Roster
    groups: dict[tuple[str, str], dict[str, Any]]

    @classmethod
    def load(cls, engine: sa.Engine) -> People:
        frame = load_groups(engine)
        groups = {
            (str(g["platform"]), str(g["group_id"])): {str(k): v for k, v in g.items()}
            for g in frame.to_dict("records")
        }
        return cls(Directory.load(engine), Roster.load(engine), groups)

    def group_name(self, platform: str, group_id: str) -> str:
        return str((self.groups.get((platform, group_id)) or {}).get("name") or group_id)

    def admins(self, platform: str, group_id: str) -> list[str]:
        group = self.groups.get((platform, group_id)) or {}
        admins = [str(a) for a in (group.get("admin_ids") or [])]
        owner = group.get("owner_id")
        return admins or ([str(owner)] if isinstance(owner, str) and owner else [])

    def owner(self, platform: str, group_id: str) -> list[str]:
        owner = (self.groups.get((platform, group_id)) or {}).get("owner_id")
        return [str(owner)] if isinstance(owner, str) and owner else []

    def member_recipient(self, platform: str, member_id: str) -> Recipient | None:
        found = self.directory.recipient(platform, member_id)
        if found is not None:
            return Recipient(found.address, self.name(platform, member_id))
        employee = self.roster.employee(platform, member_id)
        if employee is not None and employee.email:
            return Recipient(employee.email, employee.real_name)
        return None

    def name(self, platform: str, member_id: str) -> str:
        employee = self.roster.employee(platform, member_id)
        person = self.directory.get(platform, member_id)
        if person is not None and person.real_name:
            return person.name
        return employee.real_name if employee else self.directory.name(platform, member_id)

    def department(self, platform: str, member_id: str) -> str | None:
        employee = self.roster.employee(platform, member_id)
        return (employee.department if employee else None) or self.directory.department(
            platform, member_id
        )


def evidence(engine: sa.Engine, v: ViolationRecord, tz: Any) -> list[dict[str, Any]]:
    """The first evidence messages: id, local time, masked snippet."""
    ids = list(v.message_ids[:MAX_EVIDENCE])
    if not ids:
        return []
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(Message.message_id, Message.sent_at, Message.text).where(
                Message.platform == v.platform,
                Message.group_id == v.group_id,
                Message.message_id.in_(ids),
            )
        ).all()
    found = {r[0]: r for r in rows}
    out = []
    for message_id in ids:
        row = found.get(message_id)
        out.append(
            {
                "message_id": message_id,
                "at": row[1].astimezone(tz) if row is not None else None,
                "text": snippet(row[2] or "", 80) if row is not None else "",
            }
        )
    return out


def _category(category: str, language: Language) -> str:
    return translate(f"mod.category.{category}", language)


def violation_context(
    engine: sa.Engine,
    v: ViolationRecord,
    decision: Decision,
    people: People,
    policy: Policy,
    clock: WorkClock,
    *,
    audience: str,
    recipients: Sequence[Recipient],
    actions: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    tz = policy.tz
    language = check_language(policy.language)
    appeal_by = clock.within_working_days(
        decision.decided_at, policy.moderation.appeal_window_working_days
    )
    sep = "、" if language == "zh-CN" else ", "
    return {
        "company": policy.company,
        "audience": audience,
        "recipient_names": sep.join(r.name or r.address for r in recipients),
        "v": {
            "id": v.id,
            "group_name": people.group_name(v.platform, v.group_id),
            "member_name": people.name(v.platform, v.member_id),
            "department": people.department(v.platform, v.member_id) or "–",
            "category": v.category,
            "category_label": _category(v.category, language),
            "rule": v.rule,
            "rule_label": translate("mod.rule.admin", language)
            if v.source == "admin"
            else translate("mod.rule.detected", language, rule=v.rule),
            "matched": list(v.matched),
            "snippet": v.snippet,
            "note": v.note,
            "at": v.at.astimezone(tz),
            "message_count": len(v.message_ids),
            "evidence": evidence(engine, v, tz),
            "penalty": decision.penalty,
            "penalty_label": translate(f"mod.penalty.{decision.penalty}", language),
            "count": decision.count,
            "window_days": policy.moderation.ladder_window_days,
            "severe": decision.severe,
            "mute_until": decision.mute_until.astimezone(tz) if decision.mute_until else None,
            "decided_at": decision.decided_at.astimezone(tz),
            "appeal_by": appeal_by,
        },
        "actions": list(actions),
    }


def send_violation_notices(
    engine: sa.Engine,
    violations: Mapping[int, ViolationRecord],
    decisions: Sequence[Decision],
    policy: Policy,
    *,
    sender: str,
    outbox_dir: Path,
    now: datetime,
    people: People | None = None,
    clock: WorkClock | None = None,
    actions: Mapping[int, Sequence[Mapping[str, Any]]] | None = None,
) -> list[Notice]:
    """Enqueue the notices of new decisions (see the module doc); never twice per key."""
    people = people or People.load(engine)
    clock = clock or WorkClock.from_policy(policy)
    out: list[Notice] = []
    for d in decisions:
        v = violations[d.violation_id]
        audiences: list[tuple[str, str, list[Recipient]]] = []
        member = people.member_recipient(v.platform, v.member_id)
        audiences.append(("member", "violation_member", [member] if member else []))
        admins = people.directory.recipients(v.platform, people.admins(v.platform, v.group_id))
        audiences.append(("admins", "violation_admins", admins))
        if d.severe:
            owner = people.directory.recipients(v.platform, people.owner(v.platform, v.group_id))
            if [r.address for r in owner] != [r.address for r in admins]:
                audiences.append(("owner", "violation_admins", owner))
        if d.penalty == "removal":
            head = people.roster.department_head_email(v.platform, v.member_id)
            audiences.append(
                ("department", "violation_department", [Recipient(head)] if head else [])
            )
        for audience, template, recipients in audiences:
            key = f"moderation:violation:{v.id}:{audience}"
            if not recipients:
                out.append(Notice(key, audience, [], False))
                continue
            context = violation_context(
                engine, v, d, people, policy, clock, audience=audience, recipients=recipients,
                actions=(actions or {}).get(v.id, ()),
            )  # fmt: skip
            email = render_email(template, context, language=policy.language)
            result = enqueue(
                engine, email, key=key, kind=MODERATION_KIND, to=recipients, sender=sender,
                outbox_dir=outbox_dir, now=now,
            )  # fmt: skip
            out.append(Notice(key, audience, [r.address for r in recipients], result.created))
    return out


def send_appeal_notice(
    engine: sa.Engine,
    appeal: Any,
    what: str,
    policy: Policy,
    *,
    sender: str,
    outbox_dir: Path,
    now: datetime,
    people: People | None = None,
    recounts: Sequence[Decision] = (),
    overdue_minutes: float = 0.0,
) -> Notice:
    """One appeal email: ``what`` is ``filed`` or ``overdue`` (to the admins) or ``late``,
    ``upheld``, ``rejected`` (to the member). ``appeal`` is an
    :class:`~groupops.moderation.appeals.AppealRecord`."""
    from groupops.moderation.store import get_violation

    people = people or People.load(engine)
    tz = policy.tz
    language = check_language(policy.language)
    to_admins = what in ("filed", "overdue")
    if to_admins:
        recipients = people.directory.recipients(
            appeal.platform, people.admins(appeal.platform, appeal.group_id)
        )
    else:
        member = people.member_recipient(appeal.platform, appeal.member_id)
        recipients = [member] if member else []
    key = f"moderation:appeal:{appeal.id}:{'decision' if what in ('upheld', 'rejected') else what}"
    if not recipients:
        return Notice(key, "admins" if to_admins else "member", [], False)
    v = get_violation(engine, appeal.violation_id)
    assert v is not None
    recounted = [(r, get_violation(engine, r.violation_id)) for r in recounts]
    sep = "、" if language == "zh-CN" else ", "
    context = {
        "company": policy.company,
        "what": what,
        "recipient_names": sep.join(r.name or r.address for r in recipients),
        "appeal": {
            "id": appeal.id,
            "filed_at": appeal.filed_at.astimezone(tz),
            "appeal_deadline": appeal.appeal_deadline.astimezone(tz),
            "answer_due_at": appeal.answer_due_at.astimezone(tz) if appeal.answer_due_at else None,
            "reason": appeal.reason,
            "note": appeal.note,
            "overdue_minutes": overdue_minutes,
            "working_day_minutes": working_day_minutes(policy.working_time),
            "answer_days": policy.moderation.appeal_answer_working_days,
        },
        "v": {
            "id": v.id,
            "group_name": people.group_name(v.platform, v.group_id),
            "member_name": people.name(v.platform, v.member_id),
            "category_label": _category(v.category, language),
            "penalty_label": translate(f"mod.penalty.{v.penalty}", language) if v.penalty else "–",
            "at": v.at.astimezone(tz),
            "snippet": v.snippet,
        },
        "recounts": [
            {
                "what": _category(later.category, language)
                + " "
                + later.at.astimezone(tz).strftime("%m-%d %H:%M"),
                "old": translate(f"mod.penalty.{r.previous}", language) if r.previous else "–",
                "new": translate(f"mod.penalty.{r.penalty}", language),
            }
            for r, later in recounted
            if later is not None
        ],
    }
    template = "appeal_admins" if to_admins else "appeal_member"
    email = render_email(template, context, language=policy.language)
    result = enqueue(
        engine, email, key=key, kind=MODERATION_KIND, to=recipients, sender=sender,
        outbox_dir=outbox_dir, now=now,
    )  # fmt: skip
    return Notice(
        key, "admins" if to_admins else "member", [r.address for r in recipients], result.created
    )
