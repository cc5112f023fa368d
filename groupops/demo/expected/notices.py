"""What the archive rules (rulebook ch. 3(四)) must find: every notice, the expired ones and the
reposts (``notices``), the important messages (``important``) and every @所有人 message of the
bundle (``mention_all``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from groupops.demo.builder import Builder
from groupops.demo.chapter import Chapter
from groupops.demo.period import AS_OF, POLICY
from groupops.demo.plants import notices
from groupops.demo.plants.notices import Planted


def record(planted: Planted, b: Builder) -> dict[str, Any]:
    expiry = AS_OF - timedelta(days=POLICY.notices.retention_days)
    every = sorted(
        (n for pair in planted.notices for n in pair if n is not None), key=lambda n: n.at
    )
    return {
        "notices": {
            "all": [n.message_id for n in every],
            "expired": [n.message_id for n in every if n.at < expiry],
            "duplicates": [
                {"original": o.message_id, "duplicate": r.message_id, "exact": o.text == r.text}
                for o, r in planted.notices
                if r is not None
            ],
        },
        "important": sorted(m.message_id for m in planted.important),
        "mention_all": sorted(m.message_id for m in b.messages if m.mention_all),
    }


CHAPTER: Final = Chapter(
    name="notices", plant=notices.plant, record=record, markers=notices.MARKERS
)
