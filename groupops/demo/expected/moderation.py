"""What the moderation rules (rulebook ch. 6) must find: the violations planted
(``violations``)."""

from __future__ import annotations

from typing import Any, Final

from groupops.demo.builder import Builder
from groupops.demo.chapter import Chapter
from groupops.demo.plants import moderation
from groupops.demo.plants.moderation import Planted
from groupops.demo.scenario.moderation import FLOOD_GROUP, FLOOD_MEMBER


def record(planted: Planted, b: Builder) -> dict[str, Any]:
    return {
        "violations": {
            "ad": [planted.ad.message_id],
            "flood": {
                "group_id": FLOOD_GROUP,
                "member_id": FLOOD_MEMBER,
                "message_ids": [m.message_id for m in planted.flood],
            },
            "confidential": [m.message_id for m in planted.confidential],
        }
    }


CHAPTER: Final = Chapter(
    name="moderation", plant=moderation.plant, record=record, markers=moderation.MARKERS
)
