"""The moderation record in the store: violations (detected, recorded by an admin, or
non-response from the deadline watcher), loaded back as typed :class:`ViolationRecord` objects.

Recording is idempotent: a violation is identified by (platform, group, member, category,
``evidence_key``); finding the same evidence again refreshes it (new evidence messages, matched
words) and never adds a row or touches its decision.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from groupops.db.models import Violation
from groupops.moderation.detect import CATEGORIES, Detection
from groupops.moderation.ladder import state_at
from groupops.policy import Policy

if TYPE_CHECKING:
    import pandas as pd

SOURCES = ("detected", "admin")


@dataclass(frozen=True)
class ViolationRecord:
    """A stored violation (see :class:`groupops.db.models.Violation`)."""

    id: int
    platform: str
    group_id: str
    member_id: str
    category: str
    rule: str
    evidence_key: str
    message_ids: tuple[str, ...]
    matched: tuple[str, ...]
    snippet: str
    at: datetime
    source: str
    recorded_by: str | None
    note: str | None
    penalty: str | None
    decided_at: datetime | None
    mute_until: datetime | None
    revoked_at: datetime | None
    created_at: datetime
    notice_message_id: str | None = None

    @property
    def decided(self) -> bool:
        return self.decided_at is not None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


def _record(row: Violation) -> ViolationRecord:
    return ViolationRecord(
        id=row.id,
        platform=row.platform,
        group_id=row.group_id,
        member_id=row.member_id,
        category=row.category,
        rule=row.rule,
        evidence_key=row.evidence_key,
        message_ids=tuple(row.message_ids or ()),
        matched=tuple(row.matched or ()),
        snippet=row.snippet or "",
        at=row.at,
        source=row.source,
        recorded_by=row.recorded_by,
        note=row.note,
        penalty=row.penalty,
        decided_at=row.decided_at,
        mute_until=row.mute_until,
        revoked_at=row.revoked_at,
        created_at=row.created_at,
        notice_message_id=row.notice_message_id,
    )


def load_violations(
    engine: sa.Engine,
    *,
    as_of: datetime | None = None,
    groups: Sequence[str] | None = None,
    ids: Iterable[int] | None = None,
) -> list[ViolationRecord]:
    """Stored violations whose evidence is at or before ``as_of`` (all when ``None``), in
    (``at``, id) order."""
    stmt = sa.select(Violation).order_by(Violation.at, Violation.id)
    if as_of is not None:
        stmt = stmt.where(Violation.at <= as_of)
    if groups:
        stmt = stmt.where(Violation.group_id.in_(list(groups)))
    if ids is not None:
        stmt = stmt.where(Violation.id.in_(list(ids)))
    with sa.orm.Session(engine) as session:
        return [_record(r) for r in session.execute(stmt).scalars().all()]


def get_violation(engine: sa.Engine, violation_id: int) -> ViolationRecord | None:
    found = load_violations(engine, ids=[violation_id])
    return found[0] if found else None


def _upsert(
    conn: sa.Connection,
    *,
    platform: str,
    group_id: str,
    member_id: str,
    category: str,
    evidence_key: str,
    values: dict[str, object],
    now: datetime,
) -> tuple[int, bool]:
    """(id, changed): insert, or refresh the evidence columns in ``values`` when they differ."""
    table = Violation.__table__
    assert isinstance(table, sa.Table)
    where = sa.and_(
        table.c.platform == platform,
        table.c.group_id == group_id,
        table.c.member_id == member_id,
        table.c.category == category,
        table.c.evidence_key == evidence_key,
    )
    refreshable = ("message_ids", "matched", "snippet", "at", "rule")
    existing = conn.execute(
        sa.select(table.c.id, *(table.c[k] for k in refreshable)).where(where)
    ).first()
    if existing is None:
        result = conn.execute(
            table.insert().values(
                platform=platform,
                group_id=group_id,
                member_id=member_id,
                category=category,
                evidence_key=evidence_key,
                created_at=now,
                updated_at=now,
                **values,
            )
        )
        pk = result.inserted_primary_key
        assert pk is not None
        return int(pk[0]), True
    current = dict(zip(refreshable, existing[1:], strict=True))
    fresh = {k: values[k] for k in refreshable if k in values}
    fresh = {k: v for k, v in fresh.items() if _differs(current[k], v)}
    if fresh:
        conn.execute(
            table.update().where(table.c.id == existing[0]).values(updated_at=now, **fresh)
        )
    return int(existing[0]), bool(fresh)


def _differs(stored: object, new: object) -> bool:
    if isinstance(new, tuple | list):
        return list(stored) != list(new) if isinstance(stored, list | tuple) else True
    return bool(stored != new)


def record_detections(engine: sa.Engine, detections: Iterable[Detection], now: datetime) -> int:
    """Insert or refresh detected violations; how many rows were added or changed."""
    changed = 0
    for d in detections:
        values: dict[str, object] = {
            "rule": d.rule,
            "message_ids": list(d.message_ids),
            "matched": list(d.matched),
            "snippet": d.snippet,
            "at": d.at,
            "source": "detected",
        }
        with engine.begin() as conn:
            _id, did = _upsert(
                conn,
                platform=d.platform,
                group_id=d.group_id,
                member_id=d.member_id,
                category=d.category,
                evidence_key=d.evidence_key,
                values=values,
                now=now,
            )
        changed += did
    return changed


def record_violations(engine: sa.Engine, violations: pd.DataFrame, now: datetime) -> int:
    """Record the deadline watcher's non-response violations (``Obligations.violations``:
    platform, group_id, member_id, period, evidence_message_ids) as ``non_response``
    violations, one per member, group and month; how many rows were added or changed.

    ``at`` is the latest evidence message's time when the store knows it."""
    if violations.empty:
        return 0
    from groupops.db.models import Message

    changed = 0
    for v in violations.to_dict(orient="records"):
        evidence = [str(i) for i in v["evidence_message_ids"]]
        with engine.begin() as conn:
            times = conn.execute(
                sa.select(Message.sent_at).where(
                    Message.platform == v["platform"],
                    Message.group_id == v["group_id"],
                    Message.message_id.in_(evidence),
                )
            ).scalars()
            at = max(times, default=None)
            values: dict[str, object] = {
                "rule": "non_response_threshold",
                "message_ids": evidence,
                "matched": [f"{len(evidence)} missed"],
                "snippet": "",
                "at": at if at is not None else now,
                "source": "detected",
            }
            _id, did = _upsert(
                conn,
                platform=str(v["platform"]),
                group_id=str(v["group_id"]),
                member_id=str(v["member_id"]),
                category="non_response",
                evidence_key=f"period:{v['period']}",
                values=values,
                now=now,
            )
        changed += did
    return changed


class ViolationError(ValueError):
    """A violation cannot be recorded as asked (unknown category, no such message …)."""


def admin_evidence_key(message_ids: Sequence[str], at: datetime, recorded_by: str) -> str:
    payload = "|".join([*sorted(message_ids), at.isoformat(), recorded_by])
    return "admin:" + hashlib.sha256(payload.encode()).hexdigest()[:32]


def record_admin_violation(
    engine: sa.Engine,
    *,
    platform: str,
    group_id: str,
    member_id: str,
    category: str,
    message_ids: Sequence[str],
    at: datetime,
    recorded_by: str,
    note: str | None,
    now: datetime,
) -> tuple[ViolationRecord, bool]:
    """Record a violation an admin judged (rumours, disputes): it enters the same ladder at the
    next moderation run. The same command twice records it once: ``(violation, created)``."""
    if category not in CATEGORIES:
        raise ViolationError(f"unknown category {category!r}; one of {', '.join(CATEGORIES)}")
    if at.tzinfo is None:
        raise ViolationError("--at must carry a time zone (or be read in the policy's zone)")
    key = admin_evidence_key(message_ids, at, recorded_by)
    values: dict[str, object] = {
        "rule": "admin",
        "message_ids": list(message_ids),
        "matched": [],
        "snippet": "",
        "at": at,
        "source": "admin",
        "recorded_by": recorded_by,
        "note": note,
    }
    try:
        with engine.begin() as conn:
            violation_id, created = _upsert(
                conn,
                platform=platform,
                group_id=group_id,
                member_id=member_id,
                category=category,
                evidence_key=key,
                values=values,
                now=now,
            )
    except IntegrityError:  # a concurrent identical command won
        created = False
        found = [
            v
            for v in load_violations(engine, groups=[group_id])
            if v.evidence_key == key and v.member_id == member_id
        ]
        violation_id = found[0].id
    record = get_violation(engine, violation_id)
    assert record is not None
    return record, created


@dataclass(frozen=True)
class FlaggedMessage:
    """A message that is evidence of a (not revoked) violation."""

    platform: str
    group_id: str
    message_id: str
    member_id: str
    category: str
    rule: str
    violation_id: int
    at: datetime


def flagged_messages(
    engine: sa.Engine, categories: Iterable[str], as_of: datetime
) -> list[FlaggedMessage]:
    """Messages flagged by moderation as one of ``categories`` (e.g. ``["ad", "vulgar"]``) in
    violations recorded with evidence at or before ``as_of`` and not revoked by an appeal, in
    (``at``, message id) order. The archive's cleanup purges these as ``off_topic``."""
    wanted = list(categories)
    unknown = sorted(set(wanted) - set(CATEGORIES))
    if unknown:
        raise ValueError(f"unknown categories: {', '.join(unknown)}")
    stmt = (
        sa.select(Violation)
        .where(
            Violation.category.in_(wanted),
            Violation.at <= as_of,
            Violation.revoked_at.is_(None),
        )
        .order_by(Violation.at, Violation.id)
    )
    out: list[FlaggedMessage] = []
    with sa.orm.Session(engine) as session:
        for v in session.execute(stmt).scalars():
            for message_id in v.message_ids or ():
                out.append(
                    FlaggedMessage(
                        v.platform, v.group_id, message_id, v.member_id, v.category, v.rule,
                        v.id, v.at,
                    )
                )  # fmt: skip
    return out


def violation_dicts(
    records: Sequence[ViolationRecord], as_of: datetime, policy: Policy
) -> list[dict[str, object]]:
    """Violations as ``groupops violations --json`` prints them, as they stood at ``as_of``
    (a decision or revocation after ``as_of`` is not known yet then); local ISO times."""
    tz = policy.tz
    window = policy.moderation.ladder_window_days

    def iso(value: datetime | None) -> str | None:
        return value.astimezone(tz).isoformat() if value else None

    out: list[dict[str, object]] = []
    for v in records:
        decided = v.decided_at is not None and v.decided_at <= as_of
        revoked = v.revoked_at is not None and v.revoked_at <= as_of
        out.append(
            {
                "violation_id": v.id,
                "platform": v.platform,
                "group_id": v.group_id,
                "member_id": v.member_id,
                "category": v.category,
                "rule": v.rule,
                "message_ids": list(v.message_ids),
                "matched": list(v.matched),
                "snippet": v.snippet,
                "at": iso(v.at),
                "decided_at": iso(v.decided_at) if decided else None,
                "source": v.source,
                "recorded_by": v.recorded_by,
                "note": v.note,
                "penalty": v.penalty if decided else None,
                "mute_until": iso(v.mute_until) if decided else None,
                "severe": v.category in policy.moderation.severe_categories,
                "state": state_at(v.at, revoked, as_of, window_days=window),
                "revoked_at": iso(v.revoked_at) if revoked else None,
            }
        )
    return out
