"""Rulebook ch. 6 (违规处理): an ad from a member who joined without approval, confidential
text (one in the partner group) and a flood."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from groupops.demo.builder import Msg, Planter, Role, marked
from groupops.demo.chapter import policy_words
from groupops.demo.period import local
from groupops.demo.scenario.moderation import (
    AD,
    CONFIDENTIAL,
    DUPLICATE,
    FLOOD_AT,
    FLOOD_GROUP,
    FLOOD_MEMBER,
    FLOOD_TEXTS,
    LADDER,
    NEAR_MISSES,
    PERSONAL,
)

MARKERS: Final = policy_words(
    confidential="moderation.confidential_markers",
    ad="moderation.ad_words",
    rumour="moderation.rumour_words",  # planted nowhere: no message may hold one
    vulgar="moderation.vulgar_words",
    illegal="moderation.illegal_words",  # planted nowhere
    appeal="moderation.appeal_markers",  # planted nowhere (appeals follow a notice)
)
AD_ROLE, CONFIDENTIAL_ROLE = marked("ad"), marked("confidential")
FLOOD: Final = Role("flood")
VULGAR_ROLE, PLAIN = marked("vulgar"), Role("moderation")


@dataclass(frozen=True, slots=True)
class Planted:
    ad: Msg
    confidential: list[Msg]
    flood: list[Msg]
    ladder: list[Msg]  # the flooding member's second and third violations
    duplicate: list[Msg]
    personal: Msg
    near_misses: list[Msg]


def plant(p: Planter) -> Planted:
    founding = p.founding
    ad = founding.post(AD, AD_ROLE)
    confidential = [founding.post(item, CONFIDENTIAL_ROLE) for item in CONFIDENTIAL]
    flood = plant_flood(founding)
    # New plants: the chapter's own series (no founding id moves).
    ladder = [p.post(LADDER[0], PLAIN), p.post(LADDER[1], VULGAR_ROLE)]
    duplicate = [p.post(item, PLAIN) for item in DUPLICATE]
    personal = p.post(PERSONAL, PLAIN)
    near_misses = [p.post(item, PLAIN) for item in NEAR_MISSES]
    return Planted(ad, confidential, flood, ladder, duplicate, personal, near_misses)


def plant_flood(p: Planter) -> list[Msg]:
    """One message every 4 seconds from the flooding member."""
    p.expect_flood(FLOOD_MEMBER, FLOOD_GROUP)
    start = local(FLOOD_AT)
    return [
        p.add(FLOOD_GROUP, FLOOD_MEMBER, start + timedelta(seconds=4 * i), text, FLOOD)
        for i, text in enumerate(FLOOD_TEXTS)
    ]
