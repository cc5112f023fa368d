"""Rulebook ch. 3(四) (important messages are kept, stale notices are cleaned out): notices,
some reposted verbatim or changed, and important messages (pinned, 【重要】, 紧急)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from groupops.demo.builder import Msg, Planter, Role, marked
from groupops.demo.chapter import policy_words
from groupops.demo.period import local
from groupops.demo.scenario.notices import (
    IMPORTANT,
    NOTICES,
    REPEATS,
    REVISIONS,
    STALE_NOTICES,
    Notice,
)

MARKERS: Final = policy_words(notice="notices.markers", important="importance.markers")
NOTICE, IMPORTANT_ROLE = marked("notice"), marked("important")
REPEATED: Final = Role("repeated")  # a long message posted twice (no marker)


@dataclass(frozen=True, slots=True)
class Planted:
    notices: list[tuple[Msg, Msg | None]]  # (notice, its repost or None)
    important: list[Msg]
    # Added for the cleanup (issue 10), in the chapter's own series:
    stale: list[Msg]  # notices stating an end (STALE_NOTICES, in order)
    revisions: list[tuple[Msg, Msg]]  # (notice, its revision)
    repeats: list[tuple[Msg, Msg]]  # (first copy, second copy)


def plant(p: Planter) -> Planted:
    founding = p.founding
    notices = [plant_notice(founding, n) for n in NOTICES]
    important = [founding.post(item, IMPORTANT_ROLE) for item in IMPORTANT]
    stale = [p.add(n.group_id, n.sender, local(n.at), n.text, NOTICE) for n in STALE_NOTICES]
    revisions = [
        (
            p.add(r.group_id, r.sender, local(r.at), r.text, NOTICE),
            p.add(r.group_id, r.sender, local(r.revised_at), r.revised_text, NOTICE),
        )
        for r in REVISIONS
    ]
    repeats = [
        (
            p.add(
                r.group_id, r.first[0], local(r.first[1]), r.text, NOTICE if r.notice else REPEATED
            ),
            p.add(
                r.group_id, r.again[0], local(r.again[1]), r.text, NOTICE if r.notice else REPEATED
            ),
        )
        for r in REPEATS
    ]
    return Planted(notices, important, stale, revisions, repeats)


def plant_notice(p: Planter, n: Notice) -> tuple[Msg, Msg | None]:
    original = p.add(n.group_id, n.sender, local(n.at), n.text, NOTICE, mention_all=n.mention_all)
    if n.repost_at is None:
        return original, None
    text = n.repost_text or original.text
    repost = p.add(
        n.group_id, n.sender, local(n.repost_at), text, NOTICE, mention_all=n.mention_all
    )
    return original, repost
