"""The membership chapter's scenario (rulebook ch. 1–2: admission with approval, people who
leave): joins, a departure and a removal inside the period. Founding members (who joined
before the period) are the groups' members in :mod:`groupops.demo.company`. Pure data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal


@dataclass(frozen=True, slots=True)
class MembershipEvent:
    """``at``: local ``"MM-DD HH:MM"``; ``by``: who approved the join or removed the member
    (``None``: a join without approval, or leaving by oneself)."""

    group_id: str
    member_id: str
    event: Literal["join", "leave", "removed"]
    at: str
    by: str | None = None
    reason: str | None = None


MEMBERSHIP_EVENTS: Final[tuple[MembershipEvent, ...]] = (
    MembershipEvent("proj-ops", "xuting", "join", "10-27 09:30", "liuyang"),
    MembershipEvent("prod-ops", "songyu", "join", "11-02 09:05", "wanglei"),
    MembershipEvent("partner-channel", "yf_hujun", "join", "11-04 10:20", "hejia"),
    MembershipEvent("partner-channel", "yf_chenjie", "join", "11-09 19:48"),
    MembershipEvent(
        "partner-channel",
        "yf_chenjie",
        "removed",
        "11-10 21:02",
        "zhenghao",
        "发布兼职刷单广告，违反群规",
    ),
    MembershipEvent("partner-channel", "lj_sunqi", "leave", "11-13 18:20"),
)

#: Events planted since the split by chapter (docs/demo.md): planted in the chapter's own id
#: series, their facts drop the chatter they contradict. A member who joins here is no founding
#: member of that group; a new person goes at the end of ``company.PEOPLE`` and of the group's
#: ``members``.
NEW_MEMBERSHIP_EVENTS: Final[tuple[MembershipEvent, ...]] = ()
