"""What the membership rules (rulebook ch. 1–2) must find: joins without approval, removals,
departures, departed employees still in a group, members without a real name or with another
display name (``membership``), and the members who fell silent (``inactive_members``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

from groupops.demo import company
from groupops.demo.builder import Builder
from groupops.demo.chapter import Chapter
from groupops.demo.period import AS_OF, CLOCK, POLICY, SINCE, local
from groupops.demo.plants import membership
from groupops.demo.plants.membership import Planted


def record(planted: Planted, b: Builder) -> dict[str, Any]:
    people, events = company.PEOPLE_BY_ID, planted.events
    presence = b.presence
    return {
        "membership": {
            "unapproved_joins": [
                {"group_id": e.group_id, "member_id": e.member_id, "at": local(e.at).isoformat()}
                for e in events
                if e.event == "join" and not e.by
            ],
            "removed": [
                {
                    "group_id": e.group_id,
                    "member_id": e.member_id,
                    "at": local(e.at).isoformat(),
                    "by": e.by,
                    "reason": e.reason,
                }
                for e in events
                if e.event == "removed"
            ],
            "left": [
                {"group_id": e.group_id, "member_id": e.member_id, "at": local(e.at).isoformat()}
                for e in events
                if e.event == "leave"
            ],
            "departed_still_in_group": [
                {"group_id": g, "member_id": m}
                for (m, g) in sorted(presence.joined, key=lambda k: (k[1], k[0]))
                if people[m].department == "已离职" and (m, g) not in presence.gone
            ],
            "no_real_name": [p.member_id for p in company.PEOPLE if not p.real_name],
            "display_name_differs": [
                p.member_id for p in company.PEOPLE if p.real_name and p.real_name != p.display_name
            ],
        },
        "inactive_members": inactive_members(b),
        "roster_findings": roster_findings(planted, b),
    }


def roster_findings(planted: Planted, b: Builder) -> list[dict[str, Any]]:
    """What ``groupops roster check`` must find at as_of against ``roster.jsonl`` (the kinds in
    that command's order, then group and member)."""
    from groupops.demo.scenario import roster

    people = company.PEOPLE_BY_ID
    present = sorted(b.presence.current(AS_OF), key=lambda k: (k[1], k[0]))
    out: list[tuple[str, str, str]] = []
    for member, group in present:
        person = people[member]
        if member in roster.DEPARTED:
            out.append(("departed_still_member", group, member))
            departed_on = local(roster.DEPARTED[member][1] + " 00:00")
            due = CLOCK.within_working_days(departed_on, POLICY.roster.removal_working_days)
            if due < AS_OF:
                out.append(("left_without_removal", group, member))
        partner = person.department in roster.PARTNER_DEPARTMENTS
        if partner and person.email is None:
            out.append(("unknown_person", group, member))  # no roster entry, no e-mail domain
            continue
        real = person.real_name or roster.HR_REAL_NAMES.get(member)
        if real is None or (
            person.display_name != real and member not in roster.CONVENTIONAL_NAMES
        ):
            out.append(("name_mismatch", group, member))
    for e in planted.events:
        if e.event == "join" and not e.by:
            out.append(("unapproved_join", e.group_id, e.member_id))
    kinds = ("departed_still_member", "left_without_removal", "unknown_person", "name_mismatch",
             "unapproved_join")  # fmt: skip
    ordered = sorted(set(out), key=lambda f: (kinds.index(f[0]), f[1], f[2]))
    return [{"kind": k, "group_id": g, "member_id": m} for k, g, m in ordered]


def inactive_members(b: Builder) -> list[str]:
    """Members with no message anywhere in the 14 days before as_of, still in some group."""
    cutoff = AS_OF - timedelta(days=POLICY.activity.inactive_days)
    last: dict[str, datetime] = {}
    for msg in b.messages:
        last[msg.sender_id] = max(last.get(msg.sender_id, msg.at), msg.at)
    current = {m for m, _ in b.presence.current(AS_OF)}
    return sorted(m for m in current if last.get(m, SINCE) < cutoff)


CHAPTER: Final = Chapter(
    name="membership", plant=membership.plant, record=record, markers=membership.MARKERS
)
