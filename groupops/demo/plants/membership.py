"""Rulebook ch. 1–2 (admission with approval, people who leave are removed): who is in which
group since when, and the system messages that record the joins, departures and removals of
the period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from groupops.demo import company
from groupops.demo.builder import SYSTEM_SENDER, Membership, Planter, Role
from groupops.demo.chapter import policy_words
from groupops.demo.period import local
from groupops.demo.scenario.membership import (
    MEMBERSHIP_EVENTS,
    NEW_MEMBERSHIP_EVENTS,
    MembershipEvent,
)
from groupops.demo.texts import display

MARKERS: Final = policy_words()
SYSTEM: Final = Role("system")

SYSTEM_TEXTS: Final[dict[tuple[str, bool], str]] = {
    ("join", True): "{member} 加入了群聊，已由 {by} 审核通过",
    ("join", False): "{member} 通过扫描二维码加入了群聊",
    ("leave", False): "{member} 退出了群聊",
    ("removed", True): "{by} 将 {member} 移出了群聊",
}


@dataclass(frozen=True, slots=True)
class Planted:
    events: tuple[MembershipEvent, ...]  # the membership events of the period


def plant(p: Planter) -> Planted:
    events = (*MEMBERSHIP_EVENTS, *NEW_MEMBERSHIP_EVENTS)
    plant_founders(p.founding, {(e.group_id, e.member_id) for e in events if e.event == "join"})
    for event in MEMBERSHIP_EVENTS:
        plant_event(p.founding, event)
    for event in NEW_MEMBERSHIP_EVENTS:
        plant_event(p, event)
    return Planted(events)


def plant_founders(p: Planter, joining_later: set[tuple[str, str]]) -> None:
    """Founding members joined before the period, approved by the owner (the owner's own join
    is the group's creation)."""
    for g in company.GROUPS:
        founded = datetime.fromisoformat(company.FOUNDED[g.group_id])
        for i, member in enumerate(g.members):
            if (g.group_id, member) not in joining_later:
                at = founded + timedelta(days=3 * i, minutes=7 * i) if i else founded
                p.member_event(Membership(g.group_id, member, "join", at, g.owner_id))


def plant_event(p: Planter, e: MembershipEvent) -> None:
    """A join, departure or removal in the period, and the system message that records it."""
    at = local(e.at)
    p.member_event(Membership(e.group_id, e.member_id, e.event, at, e.by, e.reason))
    template = SYSTEM_TEXTS[(e.event, e.by is not None)]
    text = template.format(member=display(e.member_id), by=display(e.by) if e.by else "")
    p.add(e.group_id, SYSTEM_SENDER, at, text, SYSTEM, kind="system")
