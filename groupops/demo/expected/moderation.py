"""What the moderation rules (rulebook ch. 6) must find: the violations planted
(``violations``), each decided by the caught-up moderation at the end of its working day, and
the appeals (``appeals``) with their working-day deadlines and states at ``as_of``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

from groupops.demo.builder import Builder, Msg
from groupops.demo.chapter import Chapter
from groupops.demo.period import AS_OF, CLOCK, POLICY
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


def notified_at(at: datetime) -> datetime:
    """When the caught-up moderation (a run at the end of every working day's hours) decides
    and notifies a violation complete at ``at``: the end of that working day, or of the next
    working day when ``at`` is after it or not on one."""
    day = at.date()
    while not (CLOCK.is_working_day(day, warn=False) and CLOCK.end_of_day(day) >= at):
        day += timedelta(days=1)
    return CLOCK.end_of_day(day)


def _decision(msgs: list[Msg], step: tuple[str, str]) -> dict[str, Any]:
    first = msgs[0]
    return {
        "group_id": first.group_id,
        "member_id": first.sender_id,
        "category": step[0],
        "message_ids": [m.message_id for m in msgs],
        "at": msgs[-1].at.isoformat(),  # the evidence's time: its last message
        "penalty": step[1],
        "decided_at": notified_at(msgs[-1].at).isoformat(),
        "state": "active",
    }


def _appeals(planted: Planted, decided: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each planted appeal as ``groupops appeals --json`` must give it at ``as_of``; an upheld
    one revokes its violation in ``decided``."""
    mp = POLICY.moderation
    out = []
    for a, appeal, reply in planted.appeals:
        (v,) = [
            d
            for d in decided
            if (d["group_id"], d["member_id"], d["category"]) == (a.group_id, a.member, a.category)
        ]
        notified = datetime.fromisoformat(v["decided_at"])
        assert notified < appeal.at, (a, notified)
        deadline = CLOCK.within_working_days(notified, mp.appeal_window_working_days)
        late = appeal.at > deadline
        assert late == (a.state == "late"), a
        answer_due = (
            None if late else CLOCK.within_working_days(appeal.at, mp.appeal_answer_working_days)
        )
        overdue = 0.0
        if a.state == "answer_overdue":
            assert answer_due is not None and answer_due < AS_OF
            overdue = CLOCK.working_minutes_between(answer_due, AS_OF)
        answered = a.state in ("upheld", "rejected")
        if a.state == "upheld":
            v["state"] = "revoked"
        out.append(
            {
                "group_id": a.group_id,
                "member_id": a.member,
                "violation_message_ids": v["message_ids"],
                "message_id": appeal.message_id,
                "filed_at": appeal.at.isoformat(),
                "appeal_deadline": deadline.isoformat(),
                "answer_due_at": answer_due.isoformat() if answer_due else None,
                "state": a.state,
                "overdue_working_minutes": round(overdue, 1),
                # a late appeal is rejected when it is filed
                "decided_at": reply.at.isoformat()
                if answered
                else (appeal.at.isoformat() if late else None),
                "decided_by": a.admin if answered else None,
                "answer_message_id": reply.message_id if answered else None,
            }
        )
    return out


def record(planted: Planted, b: Builder) -> dict[str, Any]:
    decided = [
        _decision([planted.ad], FOUNDING_STEPS["ad"]),
        _decision(planted.flood, FOUNDING_STEPS["flood"]),
        *(_decision([m], FOUNDING_STEPS["confidential"]) for m in planted.confidential),
        *(_decision([m], step) for m, step in zip(planted.ladder, LADDER_STEPS, strict=True)),
        _decision(planted.duplicate, DUPLICATE_STEP),
        _decision([planted.personal], PERSONAL_STEP),
    ]
    appeals = _appeals(planted, decided)
    return {
        "appeals": appeals,
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
        },
    }


CHAPTER: Final = Chapter(
    name="moderation", plant=moderation.plant, record=record, markers=moderation.MARKERS
)
