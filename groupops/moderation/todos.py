"""The admins' to-dos: platform actions no connector could carry out (``todo``) or that failed
(``failed``, retried by the next run), and what became of them at an instant.

A to-do is ``open`` until one of these, whichever comes first at ``as_of``:

* ``done``: an admin marked it done (:func:`mark_done`, ``groupops todos done``);
* ``resolved``: it resolved itself — a removal or leave of the member was recorded in that
  group at or after the to-do was due (``remove``), the mute ended (``mute``), or the violation
  was revoked or recounted so that the action no longer holds (``mute``, ``remove``).

:func:`todo_rows` is pure; the digest's admin section and ``groupops todos`` both use it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from groupops.db.models import MembershipEvent, ModerationAction
from groupops.moderation.actions import ActionRecord, load_actions
from groupops.moderation.store import ViolationRecord, load_violations

if TYPE_CHECKING:
    import pandas as pd

STATES = ("open", "done", "resolved")
OPEN_STATUSES = ("todo", "failed")

#: (platform, group_id, member_id) → the instants a removal or leave was recorded there.
Departures = Mapping[tuple[str, str, str], Sequence[datetime]]


class TodoError(ValueError):
    """A to-do that cannot be marked done as asked."""


@dataclass(frozen=True)
class TodoRow:
    action: ActionRecord
    violation: ViolationRecord | None
    state: str  # open | done | resolved
    resolved_by: str | None  # removal_recorded | mute_ended | revoked | penalty_changed

    def as_dict(self, tz: Any) -> dict[str, object]:
        a = self.action

        def iso(value: datetime | None) -> str | None:
            return value.astimezone(tz).isoformat() if value else None

        return {
            "todo_id": a.id,
            "violation_id": a.violation_id,
            "platform": a.platform,
            "group_id": a.group_id,
            "member_id": a.member_id,
            "action": a.action,
            "due_at": iso(a.due_at),
            "state": self.state,
            "failed": a.status == "failed",
            "detail": a.detail,
            "done_at": iso(a.done_at) if self.state == "done" else None,
            "done_by": a.done_by if self.state == "done" else None,
            "note": a.note if self.state == "done" else None,
            "resolved_by": self.resolved_by,
            "category": self.violation.category if self.violation else None,
            "penalty": self.violation.penalty if self.violation else None,
        }


def is_todo(a: ActionRecord) -> bool:
    """Left to the admins: never carried out by a connector (or marked done by an admin)."""
    return a.status in OPEN_STATUSES or a.done_by is not None


def _resolution(
    a: ActionRecord, v: ViolationRecord | None, departures: Departures, as_of: datetime
) -> str | None:
    if a.action == "remove":
        left = departures.get((a.platform, a.group_id, a.member_id), ())
        if any(a.due_at <= t <= as_of for t in left):
            return "removal_recorded"
    if v is None or a.action not in ("mute", "remove"):
        return None
    if v.revoked_at is not None and v.revoked_at <= as_of:
        return "revoked"
    wanted = "mute" if a.action == "mute" else "removal"
    if v.penalty != wanted:
        return "penalty_changed"
    if a.action == "mute" and v.mute_until is not None and v.mute_until <= as_of:
        return "mute_ended"
    return None


def todo_rows(
    actions: Sequence[ActionRecord],
    violations: Mapping[int, ViolationRecord],
    departures: Departures,
    as_of: datetime,
) -> list[TodoRow]:
    """Every to-do due by ``as_of`` with its state then, in (due, id) order."""
    out = []
    for a in actions:
        if not is_todo(a) or a.due_at > as_of:
            continue
        v = violations.get(a.violation_id)
        if a.done_at is not None and a.done_at <= as_of:
            out.append(TodoRow(a, v, "done", None))
            continue
        why = _resolution(a, v, departures, as_of)
        out.append(TodoRow(a, v, "resolved" if why else "open", why))
    out.sort(key=lambda r: (r.action.due_at, r.action.id))
    return out


_GONE = ("removed", "leave")


def departures(memberships: pd.DataFrame) -> dict[tuple[str, str, str], list[datetime]]:
    """Removals and leaves recorded, by (platform, group, member)."""
    import pandas as pd

    out: dict[tuple[str, str, str], list[datetime]] = {}
    if memberships.empty:
        return out
    gone = memberships[memberships["event"].isin(list(_GONE))]
    for r in gone.to_dict("records"):
        key = (str(r["platform"]), str(r["group_id"]), str(r["member_id"]))
        out.setdefault(key, []).append(pd.Timestamp(r["at"]).to_pydatetime())
    return out


def load_departures(engine: sa.Engine) -> dict[tuple[str, str, str], list[datetime]]:
    """:func:`departures` of the stored membership events, read as rows (no pandas for
    ``groupops todos``): the same keys and instants in the same order (the same statement
    as ``load_memberships``, filtered here; tests/test_light_reads.py checks)."""
    table = MembershipEvent.__table__
    cols = [c for c in table.c if c.name not in {"content_hash", "updated_at"}]
    names = [c.name for c in cols]
    at, event = names.index("at"), names.index("event")
    key = [names.index(n) for n in ("platform", "group_id", "member_id")]
    with engine.connect() as conn:
        rows = conn.execute(sa.select(*cols)).all()
    out: dict[tuple[str, str, str], list[datetime]] = {}
    for r in rows:
        if r[event] in _GONE:
            out.setdefault((str(r[key[0]]), str(r[key[1]]), str(r[key[2]])), []).append(r[at])
    return out


def load_todos(
    engine: sa.Engine, as_of: datetime, *, groups: Sequence[str] | None = None
) -> list[TodoRow]:
    """:func:`todo_rows` from the store (optionally only these group ids)."""
    violations = {v.id: v for v in load_violations(engine, groups=groups)}
    actions = [a for a in load_actions(engine, list(violations)) if is_todo(a)]
    return todo_rows(actions, violations, load_departures(engine), as_of)


@dataclass(frozen=True)
class MarkedDone:
    row: TodoRow
    changed: bool


def mark_done(
    engine: sa.Engine,
    todo_id: int,
    *,
    at: datetime,
    by: str,
    now: datetime,
    note: str | None = None,
) -> MarkedDone:
    """Mark an admin's to-do done at ``at`` by ``by``. Marking it again changes nothing; an
    action a connector carried out, or a time before the to-do was due, is refused."""
    if at.tzinfo is None:
        raise TodoError("the time must carry a time zone")
    found = [a for a in load_actions(engine) if a.id == todo_id]
    if not found:
        raise TodoError(f"no to-do {todo_id}")
    a = found[0]
    if not is_todo(a):
        raise TodoError(
            f"action {todo_id} ({a.action}) is not an admin's to-do: it is {a.status}"
            + (f" (via {a.via})" if a.via else "")
        )
    changed = a.done_by is None
    if changed:
        if at < a.due_at:
            raise TodoError(f"to-do {todo_id} is due from {a.due_at.isoformat()}: not done before")
        with engine.begin() as conn:
            conn.execute(
                sa.update(ModerationAction)
                .where(ModerationAction.id == todo_id, ModerationAction.done_by.is_(None))
                .values(status="done", done_at=at, done_by=by, note=note, updated_at=now)
            )
    (row,) = [r for r in load_todos(engine, max(at, a.done_at or at)) if r.action.id == todo_id]
    return MarkedDone(row, changed)
