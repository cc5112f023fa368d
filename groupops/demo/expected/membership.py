"""What the membership rules (rulebook ch. 1–2) must find: joins without approval, removals,
departures, departed employees still in a group, members without a real name or with another
display name (``membership``), and the members who fell silent (``inactive_members``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

from groupops.demo import company
from groupops.demo.builder import Builder
from groupops.demo.chapter import Chapter
from groupops.demo.period import AS_OF, POLICY, SINCE, local
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
    }


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
