"""The digest's *moderation* section (rulebook ch. 1–2 and 6).

For a group's admins: the violations decided in the period, the platform actions left to them
(to-dos: mute, unmute, remove, re-invite where no connector acts, until an admin marks one
done with ``groupops todos done`` or it resolves itself: ``groupops.moderation.todos``), the appeals waiting for their answer (overdue first), and
the roster findings with what to do. For an owner: the severe violations in their groups and
the appeals whose answer is overdue past the owner's escalation step.

The data is a plain dict of lists (``violations``, ``todos``, ``appeals``, ``roster``) so the
owner's report can move it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from groupops.clock.lateness import working_day_minutes
from groupops.clock.workclock import WorkClock
from groupops.db.queries import load_memberships
from groupops.digest.context import DigestScope, Section, SectionProvider
from groupops.mail.i18n import Language, translate
from groupops.moderation.actions import load_actions
from groupops.moderation.appeals import appeal_rows, load_appeals
from groupops.moderation.notices import People
from groupops.moderation.store import load_violations
from groupops.moderation.text import snippet
from groupops.moderation.todos import departures, todo_rows
from groupops.policy import Policy
from groupops.roster.compliance import Finding, check_roster


def moderation_provider(engine: sa.Engine, policy: Policy, as_of: datetime) -> SectionProvider:
    """A section provider for :func:`groupops.digest.context.build_digest`."""
    tz = policy.tz
    clock = WorkClock.from_policy(policy)
    day_minutes = working_day_minutes(policy.working_time)
    violations = load_violations(engine, as_of=as_of)
    by_id = {v.id: v for v in violations}
    actions = load_actions(engine, list(by_id))
    appeals = appeal_rows(load_appeals(engine, as_of=as_of), as_of, clock)
    findings: list[Finding] = check_roster(engine, policy, as_of, clock=clock)
    people = People.load(engine)
    todo_list = todo_rows(actions, by_id, departures(load_memberships(engine)), as_of)

    def name(platform: str, member_id: str) -> str:
        return people.name(platform, member_id)

    def provide(scope: DigestScope, language: Language) -> Section | None:
        mine = {(scope.platform, g) for g in scope.groups}
        since, until = scope.period.since, scope.period.until
        decided = [
            v
            for v in violations
            if (v.platform, v.group_id) in mine
            and v.decided_at is not None
            and since <= v.decided_at < until
            and (scope.audience == "admin" or v.category in policy.moderation.severe_categories)
        ]
        rows = [
            {
                "group": people.group_name(v.platform, v.group_id),
                "member": name(v.platform, v.member_id),
                "category": translate(f"mod.category.{v.category}", language),
                "penalty": translate(f"mod.penalty.{v.penalty}", language) if v.penalty else "–",
                "at": v.at.astimezone(tz),
                "revoked": v.revoked,
            }
            for v in decided
        ]
        todos = [
            {
                "id": t.action.id,
                "group": people.group_name(t.action.platform, t.action.group_id),
                "member": name(t.action.platform, t.action.member_id),
                "action": translate(f"mod.action.{t.action.action}", language),
                "due_at": t.action.due_at.astimezone(tz),
                "failed": t.action.status == "failed",
            }
            for t in todo_list
            if scope.audience == "admin"
            and t.state == "open"
            and (t.action.platform, t.action.group_id) in mine
        ]
        open_appeals = [
            r
            for r in appeals
            if (r.appeal.platform, r.appeal.group_id) in mine
            and r.state in ("pending", "answer_overdue")
            and (scope.audience == "admin" or r.appeal.owner_told_at is not None)
        ]
        open_appeals.sort(key=lambda r: (-r.overdue_working_minutes, r.appeal.filed_at))
        appeal_items = [
            {
                "id": r.appeal.id,
                "group": people.group_name(r.appeal.platform, r.appeal.group_id),
                "member": name(r.appeal.platform, r.appeal.member_id),
                "answer_due_at": r.appeal.answer_due_at.astimezone(tz)
                if r.appeal.answer_due_at
                else None,
                "state": r.state,
                "overdue_minutes": r.overdue_working_minutes,
            }
            for r in open_appeals
        ]
        roster = [
            {
                "kind": f.kind,
                "label": translate(f"roster.kind.{f.kind}", language),
                "group": people.group_name(f.platform, f.group_id),
                "member": f.real_name or f.display_name or f.member_id,
                "display_name": f.display_name,
                "todo": translate(f"roster.do.{f.kind}", language),
            }
            for f in findings
            if scope.audience == "admin" and (f.platform, f.group_id) in mine
        ]
        needs: list[dict[str, Any]] = []
        for r in open_appeals:
            due = r.appeal.answer_due_at
            near = due is not None and (
                r.state == "answer_overdue"
                or clock.working_minutes_between(as_of, due) <= day_minutes
            )
            if near:
                member = name(r.appeal.platform, r.appeal.member_id)
                needs.append({
                    "slot": "appeals", "group": people.group_name(r.appeal.platform, r.appeal.group_id),
                    "who": member, "person_id": r.appeal.member_id, "what": "needs.what.appeal",
                    "todo": "needs.todo.appeal", "todo_args": {"id": r.appeal.id},
                    "text": snippet(r.appeal.reason or "", 80) or None,
                    "due_at": due.astimezone(tz) if due else None,
                    "late_minutes": r.overdue_working_minutes or None,
                })  # fmt: skip
        for v in decided:
            if v.category in policy.moderation.severe_categories and not v.revoked:
                needs.append({
                    "slot": "removals", "group": people.group_name(v.platform, v.group_id),
                    "who": name(v.platform, v.member_id), "person_id": v.member_id,
                    "what": f"mod.category.{v.category}", "todo": "needs.todo.severe",
                    "todo_args": {}, "due_at": None,
                })  # fmt: skip
        for t in todo_list:
            act = t.action
            if (
                scope.audience == "admin"
                and t.state == "open"
                and act.action == "remove"
                and (act.platform, act.group_id) in mine
            ):
                needs.append({
                    "slot": "removals", "group": people.group_name(act.platform, act.group_id),
                    "who": name(act.platform, act.member_id), "person_id": act.member_id,
                    "what": "mod.action.remove", "todo": "needs.todo.remove",
                    "todo_args": {}, "due_at": act.due_at.astimezone(tz),
                })  # fmt: skip
        for f in findings:
            if f.kind == "departed_still_member" and (f.platform, f.group_id) in mine:
                needs.append({
                    "slot": "departed", "group": people.group_name(f.platform, f.group_id),
                    "who": f.real_name or f.display_name or f.member_id, "person_id": f.member_id,
                    "what": "roster.kind.departed_still_member",
                    "todo": "roster.do.departed_still_member", "todo_args": {},
                    "due_at": f.due_at.astimezone(tz) if f.due_at else None,
                })  # fmt: skip
        data: dict[str, Any] = {
            "violations": rows,
            "todos": todos,
            "appeals": appeal_items,
            "roster": roster,
            "as_of": as_of.astimezone(tz),
            "day_minutes": day_minutes,
        }
        return Section(
            id="moderation",
            template="moderation",
            title=translate(f"digest.moderation.title.{scope.audience}", language),
            data=data,
            has_content=bool(rows or todos or appeal_items or roster),
            actions=tuple(needs),
        )

    return provide
