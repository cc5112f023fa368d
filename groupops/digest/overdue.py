"""The digest's *overdue* section: replies and tasks past their deadline on the working clock.

Escalation (issue 4): the group's admins hear of an item once it is overdue (step 1), the owner
after a further ``tasks.owner_escalation_working_hours`` (step 2) — in the digest. So an owner
digest lists its groups' items at step 2 and an admin digest its group's items at step ≥ 1.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

import pandas as pd

from groupops.deadlines.obligations import Obligations
from groupops.digest.context import DigestScope, Section, SectionProvider
from groupops.mail.i18n import Language, translate
from groupops.roster import Directory

#: Escalation step from which each audience is told.
MIN_STEP = {"owner": 2, "admin": 1}


def overdue_items(
    obligations: Obligations,
    scope: DigestScope,
    people: Directory,
    group_names: dict[str, str],
    tz: tzinfo,
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
            "requester": people.name(scope.platform, str(row["requester_id"])),
            "requested_at": _local(row["requested_at"], tz),
            "due_at": _local(row["due_at"], tz),
            "overdue_minutes": float(row["overdue_working_minutes"]),
            "escalation": int(row["escalation"]),
        }
        for _, row in mine.iterrows()
    ]


def _local(value: Any, tz: tzinfo) -> datetime | None:
    if value is None or value is pd.NaT:
        return None
    return pd.Timestamp(value).to_pydatetime().astimezone(tz)


def overdue_provider(
    obligations: Obligations,
    people: Directory,
    groups: pd.DataFrame,
    tz: tzinfo,
    *,
    day_minutes: float,
) -> SectionProvider:
    """A section provider for :func:`groupops.digest.context.build_digest` (``day_minutes``:
    the policy's working-day length, :func:`groupops.clock.lateness.working_day_minutes`)."""
    names = {
        str(g): str(n)
        for g, n in zip(groups.get("group_id", []), groups.get("name", []), strict=False)
    }

    def provide(scope: DigestScope, language: Language) -> Section | None:
        items = overdue_items(obligations, scope, people, names, tz)
        return Section(
            id="overdue",
            template="overdue",
            title=translate(f"digest.overdue.title.{scope.audience}", language),
            data={
                "items": items,
                "as_of": obligations.as_of.astimezone(tz),
                "day_minutes": day_minutes,
            },
            has_content=bool(items),
        )

    return provide
