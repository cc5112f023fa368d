"""Violations, the penalty ladder and appeals (rulebook ch. 6, 违规处理).

* :mod:`.text` — Chinese-aware matching: normalisation, word lists (Aho–Corasick), links,
  personal data (resident IDs, bank cards, mobiles) and masking.
* :mod:`.detect` — messages → :class:`~groupops.moderation.detect.Detection` (pure).
* :mod:`.ladder` — the penalty of each violation, recounted from the record (pure).
* :mod:`.store` — the violations table: recording (idempotent), loading, flagged messages.

Docs: ``docs/moderation.md``.
"""

from groupops.moderation.detect import CATEGORIES, Detection, detect
from groupops.moderation.store import (
    FlaggedMessage,
    ViolationRecord,
    flagged_messages,
    load_violations,
    record_detections,
    record_violations,
)

__all__ = [
    "CATEGORIES",
    "Detection",
    "FlaggedMessage",
    "ViolationRecord",
    "detect",
    "flagged_messages",
    "load_violations",
    "record_detections",
    "record_violations",
]
