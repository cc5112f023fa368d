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
    FLOOD_AT,
    FLOOD_GROUP,
    FLOOD_MEMBER,
    FLOOD_TEXTS,
)

MARKERS: Final = policy_words(
    confidential="moderation.confidential_markers",
    ad="moderation.ad_words",
    rumour="moderation.rumour_words",  # planted nowhere: no message may hold one
)
AD_ROLE, CONFIDENTIAL_ROLE = marked("ad"), marked("confidential")
FLOOD: Final = Role("flood")


@dataclass(frozen=True, slots=True)
class Planted:
    ad: Msg
    confidential: list[Msg]
    flood: list[Msg]


def plant(p: Planter) -> Planted:
    founding = p.founding
    ad = founding.post(AD, AD_ROLE)
    confidential = [founding.post(item, CONFIDENTIAL_ROLE) for item in CONFIDENTIAL]
    return Planted(ad, confidential, plant_flood(founding))


def plant_flood(p: Planter) -> list[Msg]:
    """One message every 4 seconds from the flooding member."""
    p.expect_flood(FLOOD_MEMBER, FLOOD_GROUP)
    start = local(FLOOD_AT)
    return [
        p.add(FLOOD_GROUP, FLOOD_MEMBER, start + timedelta(seconds=4 * i), text, FLOOD)
        for i, text in enumerate(FLOOD_TEXTS)
    ]
