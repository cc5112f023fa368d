"""Rulebook ch. 6 (违规处理): an ad from a member who joined without approval, confidential
text (one in the partner group) and a flood; the ladder, links, duplicates, personal data; and
appeals with the admins' replies (upheld, rejected, late, answer overdue)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Final

from groupops.demo.builder import Msg, Planter, Role, marked
from groupops.demo.chapter import policy_words
from groupops.demo.period import local
from groupops.demo.scenario.moderation import (
    AD,
    APPEALS,
    CONFIDENTIAL,
    DUPLICATE,
    FLOOD_AT,
    FLOOD_GROUP,
    FLOOD_MEMBER,
    FLOOD_TEXTS,
    LADDER,
    NEAR_MISSES,
    PERSONAL,
    AppealPlant,
)
from groupops.demo.texts import display

MARKERS: Final = policy_words(
    confidential="moderation.confidential_markers",
    ad="moderation.ad_words",
    rumour="moderation.rumour_words",  # planted nowhere: no message may hold one
    vulgar="moderation.vulgar_words",
    illegal="moderation.illegal_words",  # planted nowhere
    appeal="moderation.appeal_markers",  # appeals, and the admins' answers to them
    uphold="moderation.appeal_uphold_markers",
    reject="moderation.appeal_reject_markers",
)
AD_ROLE, CONFIDENTIAL_ROLE = marked("ad"), marked("confidential")
FLOOD: Final = Role("flood")
VULGAR_ROLE, PLAIN = marked("vulgar"), Role("moderation")
APPEAL_ROLE = marked("appeal")
UPHOLD_ROLE, REJECT_ROLE = marked("uphold", "appeal"), marked("reject", "appeal")
HOLDING = Role("appeal_reply")  # an admin's reply to an appeal that decides nothing


@dataclass(frozen=True, slots=True)
class Planted:
    ad: Msg
    confidential: list[Msg]
    flood: list[Msg]
    ladder: list[Msg]  # the flooding member's second and third violations
    duplicate: list[Msg]
    personal: Msg
    near_misses: list[Msg]
    appeals: list[tuple[AppealPlant, Msg, Msg]] = field(default_factory=list)  # (plan, appeal,
    # the admin's reply)


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
    appeals = [plant_appeal(p, a) for a in APPEALS]
    return Planted(ad, confidential, flood, ladder, duplicate, personal, near_misses, appeals)


def plant_appeal(p: Planter, a: AppealPlant) -> tuple[AppealPlant, Msg, Msg]:
    """The member's appeal @mentioning an admin, and the admin's reply to it."""
    appeal = p.add(a.group_id, a.member, local(a.at), f"@{display(a.admin)} {a.text}",
                   APPEAL_ROLE, mentions=[a.admin])  # fmt: skip
    role = {"upheld": UPHOLD_ROLE, "rejected": REJECT_ROLE}.get(a.state, HOLDING)
    reply = p.add(a.group_id, a.admin, local(a.reply_at), a.reply, role, reply_to=appeal)
    return a, appeal, reply


def plant_flood(p: Planter) -> list[Msg]:
    """One message every 4 seconds from the flooding member."""
    p.expect_flood(FLOOD_MEMBER, FLOOD_GROUP)
    start = local(FLOOD_AT)
    return [
        p.add(FLOOD_GROUP, FLOOD_MEMBER, start + timedelta(seconds=4 * i), text, FLOOD)
        for i, text in enumerate(FLOOD_TEXTS)
    ]
