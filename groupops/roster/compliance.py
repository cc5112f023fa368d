"""Roster compliance (rulebook ch. 1–2): admission with approval, 实名制, departed people removed.

:func:`check_roster` compares who is in each group at ``as_of`` with the HR roster and the
membership record, and returns :class:`Finding` objects of five kinds:

* ``departed_still_member`` — the roster says departed (on or before ``as_of``) and the person
  is still a member of the group;
* ``left_without_removal`` — the same, and ``roster.removal_working_days`` working days after the
  departure have passed with no removal recorded in that group (the deadline is missed);
* ``unknown_person`` — a member who is not on the roster and not external (a roster entry with
  status ``external``, or an e-mail domain in ``roster.external_email_domains``); only once a
  roster is loaded;
* ``name_mismatch`` — the display name is neither the real name (roster, else the member
  directory) nor matches a ``roster.name_patterns`` convention;
* ``unapproved_join`` — a join without ``approved_by``.

Who is a member at ``as_of``: the member's last join/leave/removal in that group up to
``as_of`` is a join; or, with no membership event at all, they wrote in the group.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Literal

import sqlalchemy as sa

from groupops.clock.workclock import WorkClock
from groupops.db.models import Member, MembershipEvent, Message
from groupops.policy import Policy
from groupops.roster.hr import Employee, Roster

FindingKind = Literal[
    "departed_still_member",
    "left_without_removal",
    "unknown_person",
    "name_mismatch",
    "unapproved_join",
]
KINDS: Final[tuple[FindingKind, ...]] = (
    "departed_still_member",
    "left_without_removal",
    "unknown_person",
    "name_mismatch",
    "unapproved_join",
)
#: What an admin should do about each kind (also the i18n key suffix ``roster.do.<kind>``).
ACTIONS: Final[dict[str, str]] = {
    "departed_still_member": "remove them from the group",
    "left_without_removal": "remove them now: the removal deadline has passed",
    "unknown_person": "identify them: add them to the roster, mark them external, or remove them",
    "name_mismatch": "ask them to use their real name (or the company's convention)",
    "unapproved_join": "approve the join (record who approved) or remove them",
}
SYSTEM_SENDERS: Final[frozenset[str]] = frozenset({"system"})

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Finding:
    kind: str
    platform: str
    group_id: str
    member_id: str
    display_name: str | None
    real_name: str | None
    employee_id: str | None
    department: str | None
    at: datetime | None  # the join, the departure, …
    due_at: datetime | None  # the removal deadline (departures)
    detail: str
    action: str

    def as_dict(self, tz: Any = None) -> dict[str, object]:
        out: dict[str, object] = asdict(self)
        for key in ("at", "due_at"):
            value = out[key]
            if isinstance(value, datetime):
                out[key] = (value.astimezone(tz) if tz else value).isoformat()
        return out


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def present_members(
    memberships: pd.DataFrame, messages: pd.DataFrame, as_of: datetime
) -> set[tuple[str, str, str]]:
    """(platform, group_id, member_id) of everyone in a group at ``as_of`` (see module doc)."""
    import pandas as pd

    present: set[tuple[str, str, str]] = set()
    with_events: set[tuple[str, str, str]] = set()
    if not memberships.empty:
        events = memberships[memberships["at"] <= pd.Timestamp(as_of)].sort_values("at")
        for platform, group_id, member_id, event in zip(
            events["platform"],
            events["group_id"],
            events["member_id"],
            events["event"],
            strict=True,
        ):
            key = (str(platform), str(group_id), str(member_id))
            with_events.add(key)
            if event == "join":
                present.add(key)
            else:
                present.discard(key)
    if not messages.empty:
        for key in set(
            zip(messages["platform"], messages["group_id"], messages["sender_id"], strict=True)
        ):
            k = (str(key[0]), str(key[1]), str(key[2]))
            if k not in with_events and k[2] not in SYSTEM_SENDERS:
                present.add(k)
    return present


def name_ok(display_name: str | None, real_name: str, patterns: list[str]) -> bool:
    """The display name is the real name or follows one of the ``{real_name}`` patterns."""
    if not display_name:
        return False
    escaped = re.escape(real_name)
    return any(re.match(p.replace("{real_name}", escaped), display_name) for p in patterns)


def _external(employee: Employee | None, email: str | None, domains: list[str]) -> bool:
    if employee is not None and employee.status == "external":
        return True
    domain = email.rpartition("@")[2].lower() if email and "@" in email else ""
    return bool(domain) and any(
        domain == d.lower() or domain.endswith("." + d.lower()) for d in domains
    )


def check_roster(
    engine: sa.Engine,
    policy: Policy,
    as_of: datetime,
    *,
    clock: WorkClock | None = None,
    roster: Roster | None = None,
) -> list[Finding]:
    """Every finding at ``as_of``, ordered by (kind, group, member). The store is read as rows
    (no pandas: ``groupops roster check`` answers at once); :func:`check_roster_frames` reads
    it as frames and ``tests/test_roster_engines.py`` proves both equal."""
    clock = clock or WorkClock.from_policy(policy)
    roster = roster or Roster.load(engine)
    events = _membership_events(engine)
    members = _table_rows(engine, Member)
    directory = {(str(r["platform"]), str(r["member_id"])): r for r in members}
    senders = _senders(engine, as_of)
    present = _present(events, senders, as_of)
    removals = [e for e in events if e["event"] == "removed"]

    def removed(platform: str, group_id: str, member_id: str, since: datetime) -> bool:
        return any(
            e["platform"] == platform and e["group_id"] == group_id
            and e["member_id"] == member_id and since <= e["at"] <= as_of
            for e in removals
        )  # fmt: skip

    joins = [
        e for e in events if e["event"] == "join" and e["approved_by"] is None and e["at"] <= as_of
    ]
    return _findings(
        policy, as_of, clock, roster, directory, present, removed,
        [((str(e["platform"]), str(e["group_id"]), str(e["member_id"])), e["at"]) for e in joins],
    )  # fmt: skip


def _table_rows(engine: sa.Engine, model: type[Any]) -> list[dict[str, Any]]:
    """The rows ``load_members`` / ``load_memberships`` frame (the same statement, so the same
    order), as dicts."""
    table = model.__table__
    cols = [c for c in table.c if c.name not in {"content_hash", "updated_at"}]
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(*cols))]


def _membership_events(engine: sa.Engine) -> list[dict[str, Any]]:
    return _table_rows(engine, MembershipEvent)


def _senders(engine: sa.Engine, as_of: datetime) -> set[tuple[str, str, str]]:
    """(platform, group_id, sender_id) of every message sent by ``as_of``."""
    table = Message.__table__
    stmt = (
        sa.select(table.c.platform, table.c.group_id, table.c.sender_id)
        .where(table.c.sent_at < as_of + timedelta(microseconds=1))
        .distinct()
    )
    with engine.connect() as conn:
        return {(str(p), str(g), str(m)) for p, g, m in conn.execute(stmt)}


def _present(
    events: list[dict[str, Any]], senders: set[tuple[str, str, str]], as_of: datetime
) -> set[tuple[str, str, str]]:
    """:func:`present_members` of rows: each member's events up to ``as_of`` in time order
    (a stable sort of the store's order; pandas' default sort is not guaranteed stable, so a
    join and a leave of one member at the same instant may be read in either order there)."""
    present: set[tuple[str, str, str]] = set()
    with_events: set[tuple[str, str, str]] = set()
    for e in sorted((e for e in events if e["at"] <= as_of), key=lambda e: e["at"]):
        key = (str(e["platform"]), str(e["group_id"]), str(e["member_id"]))
        with_events.add(key)
        if e["event"] == "join":
            present.add(key)
        else:
            present.discard(key)
    for k in senders:
        if k not in with_events and k[2] not in SYSTEM_SENDERS:
            present.add(k)
    return present


def check_roster_frames(
    engine: sa.Engine,
    policy: Policy,
    as_of: datetime,
    *,
    clock: WorkClock | None = None,
    roster: Roster | None = None,
) -> list[Finding]:
    """:func:`check_roster` with the store read as frames (the pipelines' readers)."""
    import pandas as pd

    from groupops.db.queries import load_members, load_memberships, load_messages

    clock = clock or WorkClock.from_policy(policy)
    roster = roster or Roster.load(engine)
    memberships = load_memberships(engine)
    messages = load_messages(
        engine,
        until=as_of + timedelta(microseconds=1),
        columns=("platform", "group_id", "sender_id"),
    )
    members = load_members(engine)
    directory = {(str(r["platform"]), str(r["member_id"])): r for r in members.to_dict("records")}
    present = present_members(memberships, messages, as_of)
    removals = (
        memberships[memberships["event"] == "removed"] if not memberships.empty else memberships
    )

    def removed(platform: str, group_id: str, member_id: str, since: datetime) -> bool:
        return not removals.empty and bool(
            (
                (removals["platform"] == platform)
                & (removals["group_id"] == group_id)
                & (removals["member_id"] == member_id)
                & (removals["at"] >= pd.Timestamp(since))
                & (removals["at"] <= pd.Timestamp(as_of))
            ).any()
        )

    joins: list[tuple[tuple[str, str, str], datetime]] = []
    if not memberships.empty:
        frame = memberships[
            (memberships["event"] == "join")
            & memberships["approved_by"].isna()
            & (memberships["at"] <= pd.Timestamp(as_of))
        ]
        for row in frame.to_dict("records"):
            key = (str(row["platform"]), str(row["group_id"]), str(row["member_id"]))
            joins.append((key, pd.Timestamp(row["at"]).to_pydatetime()))
    return _findings(policy, as_of, clock, roster, directory, present, removed, joins)


def _findings(
    policy: Policy,
    as_of: datetime,
    clock: WorkClock,
    roster: Roster,
    directory: Mapping[tuple[str, str], Mapping[Any, Any]],
    present: set[tuple[str, str, str]],
    removed: Callable[[str, str, str, datetime], bool],
    joins: Sequence[tuple[tuple[str, str, str], datetime]],
) -> list[Finding]:
    """The rules on what either engine read (the one place they are written)."""
    findings: list[Finding] = []
    cfg = policy.roster

    def finding(kind: str, key: tuple[str, str, str], employee: Employee | None, **kw: Any) -> None:
        person = directory.get((key[0], key[2]), {})
        findings.append(
            Finding(
                kind=kind,
                platform=key[0],
                group_id=key[1],
                member_id=key[2],
                display_name=_text(person.get("display_name")),
                real_name=employee.real_name if employee else _text(person.get("real_name")),
                employee_id=employee.employee_id if employee else None,
                department=(employee.department if employee else None)
                or _text(person.get("department")),
                at=kw.get("at"),
                due_at=kw.get("due_at"),
                detail=kw.get("detail", ""),
                action=ACTIONS[kind],
            )
        )

    for key in sorted(present):
        platform, group_id, member_id = key
        employee = roster.employee(platform, member_id)
        person = directory.get((platform, member_id), {})
        email = _text(person.get("email"))
        if (
            employee is not None
            and employee.status == "departed"
            and (employee.departed_at is None or employee.departed_at <= as_of)
        ):
            finding(
                "departed_still_member", key, employee, at=employee.departed_at,
                detail=f"roster status departed ({employee.department or '-'})",
            )  # fmt: skip
            if employee.departed_at is not None:
                due = clock.within_working_days(employee.departed_at, cfg.removal_working_days)
                if due < as_of and not removed(platform, group_id, member_id, employee.departed_at):
                    finding(
                        "left_without_removal", key, employee, at=employee.departed_at,
                        due_at=due, detail="no removal recorded by the deadline",
                    )  # fmt: skip
        if (
            employee is None
            and len(roster)  # without a roster loaded nobody can be checked against it
            and not _external(None, email, cfg.external_email_domains)
        ):
            finding(
                "unknown_person", key, None,
                detail="not on the roster" + ("" if email else " and no e-mail on record"),
            )  # fmt: skip
            continue
        real_name = employee.real_name if employee else _text(person.get("real_name"))
        display = _text(person.get("display_name"))
        if real_name is None:
            finding("name_mismatch", key, employee, detail="no real name on record")
        elif not name_ok(display, real_name, cfg.name_patterns):
            finding(
                "name_mismatch", key, employee,
                detail=f"display name {display!r} is not {real_name!r}",
            )  # fmt: skip

    for key, at in joins:
        finding(
            "unapproved_join", key, roster.employee(key[0], key[2]), at=at,
            detail="joined without an admin's approval",
        )  # fmt: skip
    order: dict[str, int] = {k: i for i, k in enumerate(KINDS)}
    return sorted(findings, key=lambda f: (order[f.kind], f.platform, f.group_id, f.member_id))
