"""The group figures of the activity statistics, shared by the frame engine
(:mod:`groupops.activity.stats`) and the row engine (:mod:`groupops.activity.rowstats`), without
pandas: their names, their order in the report, and their JSON names."""

from __future__ import annotations

#: Group figures compared with the previous period (``<name>_prev``, ``<name>_delta``), in the
#: report's order.
COMPARED = (
    "messages",
    "active_members",
    "members",
    "inactive_members",
    "new_members",
    "departed_members",
    "mentions",
    "mentions_answered",
    "answer_rate",
    "reply_median_minutes",
    "reply_p90_minutes",
)
#: The figures that count (integers, summed over members): all but the rate and reply times.
COUNTS = COMPARED[:8]


def json_name(figure: str) -> str:
    """``members`` is the member list in the report; its count is ``member_count``."""
    return "member_count" if figure == "members" else figure
