"""The digest's *overdue* section: replies and tasks past their deadline on the working clock.

Escalation (issue 4): the group's admins hear of an item once it is overdue (step 1), the owner
after a further ``tasks.owner_escalation_working_hours`` (step 2) — in the digest. So an owner
digest lists its groups' items at step 2 and an admin digest its group's items at step ≥ 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any

import pandas as pd

from groupops.connectors.links import Links, message_link
from groupops.deadlines.obligations import Obligations
from groupops.digest.context import DigestScope, Section, SectionProvider
from groupops.mail.i18n import Language, translate
from groupops.moderation.text import snippet
from groupops.roster import Directory

#: Escalation step from which each audience is told.
MIN_STEP = {"owner": 2, "admin": 1}


def overdue_items(
    obligations: Obligations,
    scope: DigestScope,
    people: Directory,
    group_names: dict[str, str],
    tz: tzinfo,
    *,
    texts: Mapping[tuple[str, str, str], str] | None = None,
    links: Links | None = None,
) -> list[dict[str, Any]]:
    """The scope's overdue items, most overdue first, as template-ready dicts (local times in
    ``tz``; ``overdue_minutes``: working minutes, which templates tell with the ``lateness``
    filter and the section's ``day_minutes``: :func:`groupops.clock.lateness.format_lateness`)."""
    ov = obligations.overdue
    if ov.empty:
        return []
    mine = ov[
        (ov["platform"] == scope.platform)
        & ov["group_id"].isin(list(scope.groups))
        & (ov["escalation"] >= MIN_STEP[scope.audience])
    ].sort_values(["overdue_working_minutes", "requested_at"], ascending=[False, True])
    return [
        {
            "kind": str(row["kind"]),
            "group": group_names.get(str(row["group_id"]), str(row["group_id"])),
            "message_id": str(row["message_id"]),
            "assignee": people.name(scope.platform, str(row["assignee_id"])),
            "requester": people.name(scope.platform, str(row["requester_id"]))
            if isinstance(row["requester_id"], str) and row["requester_id"]
            else "",
            "requested_at": _local(row["requested_at"], tz),
            "due_at": _local(row["due_at"], tz),
            "overdue_minutes": float(row["overdue_working_minutes"]),
            "escalation": int(row["escalation"]),
            "asked_due_at": _local(row.get("asked_due_at"), tz),
            "committed_due_at": _local(row.get("committed_due_at"), tz),
            # The requester's words about the deadline, the message (shortened, personal data
            # masked) and a link to it where the platform gives one.
            "words": row.get("deadline_words")
            if isinstance(row.get("deadline_words"), str)
            else None,
            "text": snippet(_text(row, texts), 80) or None,
            "link": message_link(
                scope.platform, str(row["group_id"]), str(row["message_id"]), links
            ),
            "assignee_id": str(row["assignee_id"]),
        }
        for _, row in mine.iterrows()
    ]


def _text(row: Any, texts: Mapping[tuple[str, str, str], str] | None) -> str:
    own = row.get("text")
    if isinstance(own, str) and own:
        return own  # a source's item (a meeting's minutes) carries its own words
    key = (str(row["platform"]), str(row["group_id"]), str(row["message_id"]))
    return (texts or {}).get(key, "")


def overdue_actions(items: list[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
    """The "Needs you" actions of the overdue items (slot ``overdue``)."""
    return tuple(
        {
            # Missing minutes have their own slot; everything else is an overdue answer.
            "slot": "minutes" if i["kind"] == "minutes" else "overdue",
            "group": i["group"],
            "who": i["assignee"],
            "person_id": i["assignee_id"],
            "what": f"deadline.what.{i['kind']}",
            "todo": "needs.todo.minutes" if i["kind"] == "minutes" else "needs.todo.overdue",
            "todo_args": {
                "who": i["assignee"],
                "requester": i["requester"] or "",
                "topic": i["text"] or "",
            },
            "requester": i["requester"],
            "text": i["text"],
            "words": i["words"],
            "link": i["link"],
            "due_at": i["due_at"],
            "late_minutes": i["overdue_minutes"],
        }
        for i in items
    )


def _local(value: Any, tz: tzinfo) -> datetime | None:
    if value is None or value is pd.NaT or (not isinstance(value, str) and pd.isna(value)):
        return None
    return pd.Timestamp(value).to_pydatetime().astimezone(tz)


def overdue_provider(
    obligations: Obligations,
    people: Directory,
    groups: pd.DataFrame,
    tz: tzinfo,
    *,
    day_minutes: float,
    texts: Mapping[tuple[str, str, str], str] | None = None,
    links: Links | None = None,
) -> SectionProvider:
    """A section provider for :func:`groupops.digest.context.build_digest` (``day_minutes``:
    the policy's working-day length, :func:`groupops.clock.lateness.working_day_minutes`)."""
    names = {
        str(g): str(n)
        for g, n in zip(groups.get("group_id", []), groups.get("name", []), strict=False)
    }

    def provide(scope: DigestScope, language: Language) -> Section | None:
        items = overdue_items(obligations, scope, people, names, tz, texts=texts, links=links)
        return Section(
            id="overdue",
            template="overdue",
            title=translate(f"digest.overdue.title.{scope.audience}", language),
            data={
                "items": items,
                "as_of": obligations.as_of.astimezone(tz),
                "day_minutes": day_minutes,
                # One group: its name is in the heading, not on every row.
                "multi_group": len(scope.groups) > 1,
            },
            has_content=bool(items),
            actions=overdue_actions(items),
        )

    return provide
