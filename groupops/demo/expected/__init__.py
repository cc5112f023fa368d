"""What the rules must find in the bundle: ``planted.json``, one module per chapter of the
rulebook (each declares its :class:`groupops.demo.chapter.Chapter`: the plants of
:mod:`groupops.demo.plants` with the same module name, and the verdicts that follow from them).

This module assembles the record: the header, the open obligations of every chapter split into
``overdue`` and ``pending`` at ``as_of``, then each chapter's keys. The founding keys keep their
order (:data:`FOUNDING_KEYS`); a key a chapter adds comes after them, in chapter order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from groupops.demo import company
from groupops.demo.builder import Builder
from groupops.demo.chapter import Chapter, Obligation
from groupops.demo.period import AS_OF, CLOCK, SINCE, UNTIL

FOUNDING_KEYS: Final[tuple[str, ...]] = (
    "overdue",
    "pending",
    "tasks",
    "notices",
    "meetings",
    "violations",
    "membership",
    "inactive_members",
    "important",
    "mention_all",
)
OBLIGATION_ORDER: Final = ("group_id", "message_id", "assignee_id", "kind")


def iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def obligation_entry(o: Obligation) -> dict[str, Any]:
    """The ``planted.json`` entry of an open obligation. Refuses one due within a working day
    before ``as_of``: every overdue item is a full working day late, so a rule that is off by a
    few working hours still finds the same items."""
    margin = CLOCK.add_working_minutes(o.due, CLOCK.minutes_per_day)
    if not (margin <= AS_OF or o.due > AS_OF):
        raise AssertionError(f"{o.kind} {o.msg.text!r} due {o.due}: too close to as_of")
    return {
        "kind": o.kind,
        "platform": company.PLATFORM,
        "group_id": o.msg.group_id,
        "message_id": o.message_id or o.msg.message_id,
        "assignee_id": o.assignee,
        "requester_id": o.msg.sender_id if o.own_request else o.requester,
        "requested_at": iso(o.msg.at if o.own_request else o.requested_at),
        "due_at": iso(o.due),
    }


def _sorted(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(entries, key=lambda e: tuple(e[k] for k in OBLIGATION_ORDER))


def planted_record(
    b: Builder, planted: Sequence[tuple[Chapter[Any], Any]], seed: int
) -> dict[str, Any]:
    """``planted.json``: what each chapter planted, read as the rules must read it."""
    open_items = [o for chapter, state in planted for o in chapter.obligations(state, b)]
    keys: dict[str, Any] = {
        "overdue": _sorted([obligation_entry(o) for o in open_items if o.due < AS_OF]),
        "pending": _sorted([obligation_entry(o) for o in open_items if o.due >= AS_OF]),
    }
    for chapter, state in planted:
        for key, value in chapter.record(state, b).items():
            if key in keys:
                raise ValueError(f"chapter {chapter.name!r}: planted.json key {key!r} is taken")
            keys[key] = value
    ordered = {key: keys.pop(key) for key in FOUNDING_KEYS if key in keys}
    return {
        "seed": seed,
        "as_of": AS_OF.isoformat(),
        "period": {"since": SINCE.isoformat(), "until": UNTIL.isoformat()},
        **ordered,
        **keys,
    }
