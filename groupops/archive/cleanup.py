"""One cleanup run (``groupops cleanup``, ``flows/cleanup.py``): load the groups' messages and
what moderation, holds, meetings and earlier purges say about them, plan (preview), and with
``apply`` archive the important messages, purge the candidates (kept whole, restorable), ask
the platform to recall them where a connector can (else an admin to-do), and delete for good
what was purged longer than ``notices.restore_window_days`` ago. Every run, preview or applied,
is logged with its parameters, who ran it, its counts and its lists.

Purged messages keep their ``messages`` row until the restore window is over, so the activity
statistics of past periods do not change when a notice is purged (docs/archive.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa

from groupops.archive import store
from groupops.archive.rules import (
    OFF_TOPIC_CATEGORIES,
    Flag,
    Key,
    Plan,
    important_messages,
    plan_cleanup,
)
from groupops.clock.workclock import WorkClock
from groupops.connectors.base import Capability, ConnectorError
from groupops.db.queries import load_groups, load_messages
from groupops.meetings.store import recorded_meetings
from groupops.moderation.actions import ConnectorFor
from groupops.moderation.store import flagged_messages, load_violations
from groupops.policy import Policy

_EPSILON = timedelta(microseconds=1)


@dataclass
class CleanupResult:
    run_id: str
    mode: str  # preview | applied
    as_of: datetime
    plan: Plan
    groups: list[str]
    ran_by: str
    refused: list[dict[str, Any]] = field(default_factory=list)
    archived: int = 0
    purged: int = 0
    deleted: int = 0
    actions: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self, tz: Any = None) -> dict[str, Any]:
        """The ``groupops cleanup --json`` object."""

        def iso(value: datetime) -> str:
            return (value.astimezone(tz) if tz else value).isoformat()

        return {
            "run_id": self.run_id,
            "mode": self.mode,
            "as_of": iso(self.as_of),
            "groups": self.groups,
            "ran_by": self.ran_by,
            "candidates": [
                {
                    "group_id": c.group_id, "message_id": c.message_id, "reason": c.reason,
                    "detail": c.detail, "platform": c.platform, "sent_at": iso(c.sent_at),
                }
                for c in self.plan.candidates
            ],
            "exempt": [
                {
                    "group_id": e.group_id, "message_id": e.message_id, "why": e.why,
                    "platform": e.platform, "reason": e.reason, "detail": e.detail,
                }
                for e in self.plan.exempt
            ],
            "guard": [
                {
                    "platform": g.platform, "group_id": g.group_id, "messages": g.messages,
                    "purge": g.purge, "fraction": round(g.fraction, 4), "limit": g.limit,
                    "over": g.over,
                }
                for g in self.plan.guard
            ],
            "refused": self.refused,
            "counts": {
                "candidates": len(self.plan.candidates),
                "exempt": len(self.plan.exempt),
                "archived": self.archived,
                "purged": self.purged,
                "deleted": self.deleted,
            },
            "actions": self.actions,
        }  # fmt: skip


def new_run_id(as_of: datetime, tz: Any) -> str:
    return f"cleanup-{as_of.astimezone(tz):%Y%m%dT%H%M}-{uuid.uuid4().hex[:8]}"


def load_scope(engine: sa.Engine, as_of: datetime, groups: Sequence[str] | None) -> pd.DataFrame:
    """The groups' stored messages up to ``as_of``."""
    return load_messages(engine, until=as_of + _EPSILON, groups=groups)


def _flags(engine: sa.Engine, as_of: datetime) -> dict[Key, Flag]:
    out: dict[Key, Flag] = {}
    for f in flagged_messages(engine, OFF_TOPIC_CATEGORIES, as_of):
        out.setdefault(
            (f.platform, f.group_id, f.message_id), Flag(f.category, f.rule, f.violation_id)
        )
    return out


def _minutes(engine: sa.Engine) -> set[Key]:
    frame = recorded_meetings(engine)
    if frame.empty:
        return set()
    found = frame[frame["minutes_message_id"].notna()]
    return {
        (str(p), str(g), str(m))
        for p, g, m in zip(
            found["platform"], found["group_id"], found["minutes_message_id"], strict=True
        )
    }


def _evidence(engine: sa.Engine, as_of: datetime, groups: Sequence[str] | None) -> set[Key]:
    return {
        (v.platform, v.group_id, m)
        for v in load_violations(engine, as_of=as_of, groups=groups)
        if v.revoked_at is None or v.revoked_at > as_of
        for m in v.message_ids
    }


def plan(
    engine: sa.Engine,
    policy: Policy,
    as_of: datetime,
    *,
    groups: Sequence[str] | None = None,
    messages: pd.DataFrame | None = None,
) -> Plan:
    """The cleanup plan at ``as_of`` from the store."""
    frame = load_scope(engine, as_of, groups) if messages is None else messages
    return plan_cleanup(
        frame, policy, as_of, clock=WorkClock.from_policy(policy),
        purged=store.purged_keys(engine), flagged=_flags(engine, as_of),
        holds=store.active_holds(engine),
    )  # fmt: skip


def archive_important(
    engine: sa.Engine,
    policy: Policy,
    as_of: datetime,
    *,
    by: str,
    now: datetime,
    groups: Sequence[str] | None = None,
    run_id: str | None = None,
    messages: pd.DataFrame | None = None,
) -> int:
    """Register every important message up to ``as_of`` (idempotent); rows added or changed."""
    frame = load_scope(engine, as_of, groups) if messages is None else messages
    found = important_messages(
        frame, load_groups(engine), policy, minutes_ids=_minutes(engine),
        evidence_ids=_evidence(engine, as_of, groups),
    )  # fmt: skip
    return store.register_important(engine, found, frame, by=by, now=now, run_id=run_id)


def cleanup(
    engine: sa.Engine,
    policy: Policy,
    as_of: datetime,
    *,
    now: datetime,
    ran_by: str,
    groups: Sequence[str] | None = None,
    apply: bool = False,
    force: bool = False,
    connector_for: ConnectorFor | None = None,
) -> CleanupResult:
    """Preview (default) or apply a cleanup at ``as_of``; the run is logged either way. With
    ``apply``, a run the guard refuses (and ``force`` is not given) stays a preview."""
    frame = load_scope(engine, as_of, groups)
    the_plan = plan(engine, policy, as_of, groups=groups, messages=frame)
    run_id = new_run_id(as_of, policy.tz)
    result = CleanupResult(run_id, "preview", as_of, the_plan, list(groups or []), ran_by)
    result.refused = [
        {"platform": g.platform, "group_id": g.group_id, "messages": g.messages,
         "purge": g.purge, "fraction": round(g.fraction, 4), "limit": g.limit}
        for g in the_plan.refused
    ]  # fmt: skip
    go = apply and (force or not the_plan.refused)
    if go:
        result.mode = "applied"
        result.archived = archive_important(
            engine, policy, as_of, by=ran_by, now=now, groups=groups, run_id=run_id,
            messages=frame,
        )  # fmt: skip
    window = timedelta(days=policy.notices.restore_window_days)
    with engine.begin() as conn:
        if go:
            result.purged = store.purge(
                conn, ((c.key, c.reason, c.detail) for c in the_plan.candidates),
                run_id=run_id, purged_at=now, restore_until=as_of + window,
            )  # fmt: skip
            result.deleted = store.delete_expired_purges(conn, as_of, now)
        store.log_run(conn, _log_values(result, apply=apply, force=force, now=now))
    if go:
        result.actions = _platform_actions(engine, result, connector_for, now)
    return result


def _log_values(r: CleanupResult, *, apply: bool, force: bool, now: datetime) -> dict[str, Any]:
    full = r.as_dict()
    return {
        "run_id": r.run_id, "mode": r.mode, "as_of": r.as_of, "groups": r.groups, "apply": apply,
        "force": force, "ran_by": r.ran_by, "started_at": now, "finished_at": now,
        "candidates": len(r.plan.candidates), "exempt": len(r.plan.exempt),
        "archived": r.archived, "purged": r.purged, "deleted": r.deleted,
        "refused": (
            "; ".join(f"{g['group_id']}: {g['purge']}/{g['messages']} > {g['limit']:g}"
                      for g in r.refused) if r.refused and not (apply and force) else None
        ),
        "detail": {k: full[k] for k in ("candidates", "exempt", "guard")},
    }  # fmt: skip


def _platform_actions(
    engine: sa.Engine, r: CleanupResult, connector_for: ConnectorFor | None, now: datetime
) -> list[dict[str, Any]]:
    """Recall each purged message where a connector can; otherwise an admin to-do."""
    out: list[dict[str, Any]] = []
    for c in r.plan.candidates:
        found = connector_for(c.platform, c.group_id) if connector_for else None
        status, via = "todo", None
        detail: str | None = "recall it on the platform (no connector can)"
        if found is not None and found[1].supports(Capability.RECALL_MESSAGE):
            via = found[0]
            try:
                found[1].recall(c.group_id, c.message_id, reason=f"groupops cleanup: {c.reason}")
                status, detail = "done", None
            except ConnectorError as exc:
                status, detail = "failed", f"{type(exc).__name__}: {exc}"
        with engine.begin() as conn:
            store.record_action(
                conn, run_id=r.run_id, key=c.key, action="recall", status=status, via=via,
                detail=detail, now=now,
            )  # fmt: skip
        out.append(
            {"platform": c.platform, "group_id": c.group_id, "message_id": c.message_id,
             "action": "recall", "status": status, "via": via, "detail": detail}
        )  # fmt: skip
    return out


def restore(engine: sa.Engine, run_id: str, *, by: str, now: datetime) -> store.Restored:
    """``groupops restore RUN_ID``: every message of the run back as it was; a recall done on
    the platform cannot be undone there, so it becomes an admin to-do (post it again)."""
    result = store.restore_run(engine, run_id, by=by, now=now)
    recalled = {
        (a["platform"], a["group_id"], a["message_id"])
        for a in store.load_actions(engine, status="done")
        if a["run_id"] == run_id and a["action"] == "recall"
    }
    with engine.begin() as conn:
        for key in result.restored:
            if key in recalled:
                store.record_action(
                    conn, run_id=run_id, key=key, action="repost", status="todo", via=None,
                    detail="restored in the store; the platform copy was recalled: post it again",
                    now=now,
                )  # fmt: skip
    return result
