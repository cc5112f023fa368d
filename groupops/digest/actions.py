"""The top of every digest: **需要您处理 / Needs you** — what the reader must act on, before
any figure.

Each section provider may hand actions to the block (``Section.actions``); the block orders
them into fixed **slots**, one per kind of work, each with its count and its items:

=============  ============================================================================
slot           what (who provides it)
=============  ============================================================================
``overdue``    replies and tasks overdue and escalated to the reader (``digest.overdue``)
``appeals``    appeals near (within a working day) or past their answer deadline
               (``digest.moderation``)
``removals``   removals to carry out and severe violations (``digest.moderation``)
``departed``   people who left the company and are still in a group (``digest.moderation``)
``minutes``    meetings whose minutes are overdue (the watcher's ``minutes`` items,
               ``digest.overdue``)
``cleanup``    stale notices awaiting cleanup (the archive chapter's provider, when built)
=============  ============================================================================

An action is a plain dict: ``slot``, ``group``, ``who`` (the person concerned), ``what`` (a
catalogue key, e.g. ``deadline.what.reply``), ``todo`` (a catalogue key for what to do, with
``todo_args``), optional ``text`` (the message, shortened and masked), ``words`` (the
requester's words about the deadline), ``link``, ``due_at``, ``late_minutes``, ``person_id``.
Templates translate the keys, so one context renders in either language.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: What an action may leave out.
_OPTIONAL: dict[str, Any] = {
    "person_id": None,
    "todo_args": {},
    "text": None,
    "words": None,
    "link": None,
    "due_at": None,
    "late_minutes": None,
    "requester": None,
}

#: The slots, in the order the block shows them.
SLOTS = ("overdue", "appeals", "removals", "departed", "minutes", "cleanup")


def needs_you(actions: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The block's data: ``slots`` (id, count, items; every slot, empty or not), ``total`` and
    ``late_people`` (distinct people with an overdue item)."""
    by_slot: dict[str, list[dict[str, Any]]] = {slot: [] for slot in SLOTS}
    for action in actions:
        slot = str(action["slot"])
        if slot not in by_slot:
            raise ValueError(f"unknown action slot {slot!r} (known: {', '.join(SLOTS)})")
        by_slot[slot].append({**_OPTIONAL, **action})
    late_people = {(a.get("group"), a.get("person_id") or a.get("who")) for a in by_slot["overdue"]}
    return {
        "slots": [{"id": s, "count": len(items), "items": items} for s, items in by_slot.items()],
        "total": sum(len(items) for items in by_slot.values()),
        "late_people": len(late_people),
    }


def verdict(summary: Sequence[Mapping[str, Any]], *, comparable: bool) -> dict[str, Any]:
    """A one-line verdict on the health of the group(s) from the headline figures: ``tone``
    (``good`` or ``warn``) and the ``points`` that need attention (figures whose change is bad,
    inactive members) — each the figure's ``label_key``, ``value`` and ``fmt``."""
    points = []
    for f in summary:
        change = f.get("change") or {}
        bad = comparable and change.get("good") is False
        if bad or (f.get("key") == "inactive_members" and (f.get("value") or 0) > 0):
            points.append({"label_key": f["label_key"], "value": f["value"], "fmt": f["fmt"],
                           "change": change if comparable else None})  # fmt: skip
    return {"tone": "warn" if points else "good", "points": points}
