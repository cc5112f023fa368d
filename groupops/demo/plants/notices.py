"""Rulebook ch. 3(四) (important messages are kept, stale notices are cleaned out): notices,
some reposted verbatim or changed, and important messages (pinned, 【重要】, 紧急)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from groupops.demo.builder import Msg, Planter, marked
from groupops.demo.chapter import policy_words
from groupops.demo.period import local
from groupops.demo.scenario.notices import IMPORTANT, NOTICES, Notice

MARKERS: Final = policy_words(notice="notices.markers", important="importance.markers")
NOTICE, IMPORTANT_ROLE = marked("notice"), marked("important")


@dataclass(frozen=True, slots=True)
class Planted:
    notices: list[tuple[Msg, Msg | None]]  # (notice, its repost or None)
    important: list[Msg]


def plant(p: Planter) -> Planted:
    founding = p.founding
    notices = [plant_notice(founding, n) for n in NOTICES]
    return Planted(notices, [founding.post(item, IMPORTANT_ROLE) for item in IMPORTANT])


def plant_notice(p: Planter, n: Notice) -> tuple[Msg, Msg | None]:
    original = p.add(n.group_id, n.sender, local(n.at), n.text, NOTICE, mention_all=n.mention_all)
    if n.repost_at is None:
        return original, None
    text = n.repost_text or original.text
    repost = p.add(
        n.group_id, n.sender, local(n.repost_at), text, NOTICE, mention_all=n.mention_all
    )
    return original, repost
