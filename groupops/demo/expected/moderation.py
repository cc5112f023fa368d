"""What the moderation rules (rulebook ch. 6) must find: the violations planted
(``violations``)."""

from __future__ import annotations

from typing import Any, Final

from groupops.demo.builder import Builder, Msg
from groupops.demo.chapter import Chapter
from groupops.demo.plants import moderation
from groupops.demo.plants.moderation import Planted
from groupops.demo.scenario.moderation import (
    DUPLICATE_STEP,
    FLOOD_GROUP,
    FLOOD_MEMBER,
    FOUNDING_STEPS,
    LADDER_STEPS,
    PERSONAL_STEP,
)


def _decision(msgs: list[Msg], step: tuple[str, str]) -> dict[str, Any]:
    first = msgs[0]
    return {
        "group_id": first.group_id,
        "member_id": first.sender_id,
        "category": step[0],
        "message_ids": [m.message_id for m in msgs],
        "at": msgs[-1].at.isoformat(),  # the evidence's time: its last message
        "penalty": step[1],
    }


def record(planted: Planted, b: Builder) -> dict[str, Any]:
    decided = [
        _decision([planted.ad], FOUNDING_STEPS["ad"]),
        _decision(planted.flood, FOUNDING_STEPS["flood"]),
        *(_decision([m], FOUNDING_STEPS["confidential"]) for m in planted.confidential),
        *(_decision([m], step) for m, step in zip(planted.ladder, LADDER_STEPS, strict=True)),
        _decision(planted.duplicate, DUPLICATE_STEP),
        _decision([planted.personal], PERSONAL_STEP),
    ]
    return {
        "violations": {
            "ad": [planted.ad.message_id],
            "flood": {
                "group_id": FLOOD_GROUP,
                "member_id": FLOOD_MEMBER,
                "message_ids": [m.message_id for m in planted.flood],
            },
            "confidential": [m.message_id for m in planted.confidential],
            # Added with the moderation chapter: every violation `groupops moderate` at as_of
            # must decide, in evidence order, with its ladder step; and the near-misses.
            "decided": sorted(decided, key=lambda d: (d["at"], d["group_id"], d["member_id"])),
            "not_violations": [m.message_id for m in planted.near_misses],
        }
    }


CHAPTER: Final = Chapter(
    name="moderation", plant=moderation.plant, record=record, markers=moderation.MARKERS
)
