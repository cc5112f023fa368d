"""The owner's digest *meetings* section (rulebook ch. 5): the period's meetings in the owner's
groups — held or cancelled, who was on leave, minutes late or missing, and their action items
open / overdue / done at ``as_of`` (the deadline watcher's task states).

``section.data`` is a plain dict (``as_of``, ``totals``, ``meetings``) so the owner's report can
move it as it is.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

import pandas as pd

from groupops.digest.context import DigestScope, Section, SectionProvider
from groupops.mail.i18n import Language, translate
from groupops.roster import Directory

#: Audiences that get the section (the issue: the owner's digest).
AUDIENCES = ("owner",)


def _item_counts(items: list[dict[str, Any]]) -> dict[str, int]:
    states = [str(a.get("state")) for a in items]
    done = states.count("done")
    overdue = states.count("overdue") + states.count("ack_overdue")
    return {"open": len(items) - done - overdue, "overdue": overdue, "done": done}


def meetings_section_data(
    records: list[dict[str, Any]],
    scope: DigestScope,
    people: Directory,
    group_names: dict[str, str],
    as_of: datetime,
    tz: tzinfo,
) -> dict[str, Any]:
    """The section's data for one scope: meetings starting in the scope's period."""
    since, until = scope.period.since, scope.period.until
    rows = []
    for r in records:
        start = datetime.fromisoformat(str(r["start"]))
        if r["platform"] != scope.platform or r["group_id"] not in scope.groups:
            continue
        if not (since <= start < until):
            continue
        counts = _item_counts(r["action_items"])
        rows.append(
            {
                "organizer": people.name(scope.platform, str(r["organizer_id"]))
                if r.get("organizer_id")
                else None,
                "organizer_id": r.get("organizer_id"),
                "meeting_id": r["meeting_id"],
                "topic": r["topic"],
                "group": group_names.get(str(r["group_id"]), str(r["group_id"])),
                "start": start.astimezone(tz),
                "state": r["state"],
                "on_leave": [people.name(scope.platform, m) for m in r["on_leave"]],
                "late_leave": [people.name(scope.platform, m) for m in r["late_leave"]],
                "minutes_state": r["minutes_state"],
                "items": counts,
            }
        )
    totals = {
        "held": sum(1 for m in rows if m["state"] == "held"),
        "cancelled": sum(1 for m in rows if m["state"] == "cancelled"),
        "scheduled": sum(1 for m in rows if m["state"] == "scheduled"),
        "on_leave": sum(len(m["on_leave"]) + len(m["late_leave"]) for m in rows),
        "minutes_late": sum(1 for m in rows if m["minutes_state"] == "late"),
        "minutes_missing": sum(1 for m in rows if m["minutes_state"] == "missing"),
        "items_open": sum(m["items"]["open"] for m in rows),
        "items_overdue": sum(m["items"]["overdue"] for m in rows),
        "items_done": sum(m["items"]["done"] for m in rows),
    }
    return {"as_of": as_of.astimezone(tz), "totals": totals, "meetings": rows}


def meetings_provider(
    records: list[dict[str, Any]],
    as_of: datetime,
    people: Directory,
    groups: pd.DataFrame,
    tz: tzinfo,
) -> SectionProvider:
    """A section provider for :func:`groupops.digest.context.build_digest` (``records``: the
    :func:`groupops.meetings.meetings.meeting_records` at ``as_of``)."""
    names = {
        str(g): str(n)
        for g, n in zip(groups.get("group_id", []), groups.get("name", []), strict=False)
    }

    def provide(scope: DigestScope, language: Language) -> Section | None:
        if scope.audience not in AUDIENCES:
            return None
        data = meetings_section_data(records, scope, people, names, as_of, tz)
        return Section(
            id="meetings",
            template="meetings",
            title=translate("digest.meetings.title", language),
            data=data,
            has_content=bool(data["meetings"]),
        )

    return provide
