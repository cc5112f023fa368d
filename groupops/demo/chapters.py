"""The chapters of the rulebook the demo plants, in planting order (docs/demo.md)."""

from __future__ import annotations

from typing import Any, Final

from groupops.demo.chapter import Chapter
from groupops.demo.expected import deadlines, meetings, membership, moderation, notices

CHAPTERS: Final[tuple[Chapter[Any], ...]] = (
    membership.CHAPTER,
    deadlines.CHAPTER,
    notices.CHAPTER,
    meetings.CHAPTER,
    moderation.CHAPTER,
)
