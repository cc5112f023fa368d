"""What the meeting rules (rulebook ch. 5) must find: each meeting's notice, minutes (or none
yet), kind, start and the leave requests (``meetings``)."""

from __future__ import annotations

from typing import Any, Final

from groupops.demo.builder import Builder
from groupops.demo.chapter import Chapter
from groupops.demo.period import local
from groupops.demo.plants import meetings
from groupops.demo.plants.meetings import Planted


def record(planted: Planted, b: Builder) -> dict[str, Any]:
    return {
        "meetings": [
            {
                "group_id": m.notice.group_id,
                "notice_id": m.notice.message_id,
                "minutes_id": m.minutes.message_id if m.minutes else None,
                "topic": m.spec.topic,
                "kind": m.spec.kind,
                "starts_at": local(m.spec.starts).isoformat(),
                "leaves": [
                    {"message_id": x.message_id, "member_id": x.sender_id} for x in m.leaves
                ],
            }
            for m in planted.meetings
        ]
    }


CHAPTER: Final = Chapter(
    name="meetings", plant=meetings.plant, record=record, markers=meetings.MARKERS
)
