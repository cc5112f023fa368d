"""The archive's tables: the register of important messages, legal holds, purged messages
(kept whole), the cleanup run log and the platform actions of a purge."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from groupops.archive.rules import Hold, Key
from groupops.db.models import (
    ArchiveEntry,
    CleanupAction,
    CleanupRun,
    LegalHold,
    Message,
    PurgedMessage,
)

if TYPE_CHECKING:
    import pandas as pd

#: The columns of a message, copied whole into ``purged_messages``.
MESSAGE_FIELDS: tuple[str, ...] = tuple(c.name for c in Message.__table__.columns)


def _table(model: type[Any]) -> sa.Table:
    table = model.__table__
    assert isinstance(table, sa.Table)
    return table


# -- the register ---------------------------------------------------------------------------


def register_important(
    engine: sa.Engine,
    important: Mapping[Key, Sequence[str]],
    messages: pd.DataFrame,
    *,
    by: str,
    now: datetime,
    run_id: str | None = None,
) -> int:
    """Add each important message to the register with its rules, who and when; a message
    already there only gains rules it newly matches. How many rows were added or changed."""
    import pandas as pd  # here: the register's readers (archive list/search) need no pandas

    if not important:
        return 0
    table = _table(ArchiveEntry)
    rows = {
        (str(r["platform"]), str(r["group_id"]), str(r["message_id"])): r
        for r in messages.to_dict("records")
    }
    changed = 0
    with engine.begin() as conn:
        existing = {
            (p, g, m): (i, list(rules or []))
            for i, p, g, m, rules in conn.execute(
                sa.select(
                    table.c.id,
                    table.c.platform,
                    table.c.group_id,
                    table.c.message_id,
                    table.c.rules,
                )
            )
        }
        inserts: list[dict[str, Any]] = []
        for key, rules in important.items():
            found = existing.get(key)
            if found is not None:
                merged = found[1] + [r for r in rules if r not in found[1]]
                if merged != found[1]:
                    conn.execute(
                        table.update()
                        .where(table.c.id == found[0])
                        .values(rules=merged, updated_at=now)
                    )
                    changed += 1
                continue
            r = rows.get(key)
            if r is None:
                continue
            sent = r["sent_at"]
            inserts.append(
                {
                    "platform": key[0], "group_id": key[1], "message_id": key[2],
                    "sender_id": str(r["sender_id"]),
                    "sent_at": sent.to_pydatetime() if isinstance(sent, pd.Timestamp) else sent,
                    "text": str(r.get("text") or ""), "rules": list(rules), "archived_by": by,
                    "archived_at": now, "run_id": run_id, "updated_at": now,
                }
            )  # fmt: skip
        if inserts:
            conn.execute(table.insert(), inserts)
            changed += len(inserts)
    return changed


@dataclass(frozen=True)
class ArchivedMessage:
    platform: str
    group_id: str
    message_id: str
    sender_id: str
    sent_at: datetime
    text: str
    rules: tuple[str, ...]
    archived_by: str
    archived_at: datetime
    run_id: str | None


def load_register(
    engine: sa.Engine,
    *,
    groups: Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[ArchivedMessage]:
    """The register, oldest message first (``since <= sent_at < until``)."""
    stmt = sa.select(ArchiveEntry).order_by(ArchiveEntry.sent_at, ArchiveEntry.message_id)
    if groups:
        stmt = stmt.where(ArchiveEntry.group_id.in_(list(groups)))
    if since is not None:
        stmt = stmt.where(ArchiveEntry.sent_at >= since)
    if until is not None:
        stmt = stmt.where(ArchiveEntry.sent_at < until)
    with sa.orm.Session(engine) as session:
        return [
            ArchivedMessage(
                e.platform, e.group_id, e.message_id, e.sender_id, e.sent_at, e.text,
                tuple(e.rules or ()), e.archived_by, e.archived_at, e.run_id,
            )
            for e in session.execute(stmt).scalars()
        ]  # fmt: skip


# -- legal holds ----------------------------------------------------------------------------


class HoldError(ValueError):
    """A hold command that cannot be carried out (unknown or ambiguous message)."""


def resolve_message(
    engine: sa.Engine, message_id: str, *, group: str | None = None
) -> tuple[str, str]:
    """(platform, group_id) of a stored (or purged) message id; refuses unknown or ambiguous."""
    found: set[tuple[str, str]] = set()
    with engine.connect() as conn:
        for model in (Message, PurgedMessage):
            t = _table(model)
            stmt = sa.select(t.c.platform, t.c.group_id).where(t.c.message_id == message_id)
            if group is not None:
                stmt = stmt.where(t.c.group_id == group)
            found.update((str(p), str(g)) for p, g in conn.execute(stmt))
    if not found:
        raise HoldError(f"no message {message_id!r} in the store")
    if len(found) > 1:
        where = ", ".join(f"{p}/{g}" for p, g in sorted(found))
        raise HoldError(f"message {message_id!r} is in more than one group ({where}): name --group")
    return next(iter(found))


def active_holds(engine: sa.Engine) -> dict[Key, Hold]:
    t = _table(LegalHold)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.c.platform, t.c.group_id, t.c.message_id, t.c.reason, t.c.held_by)
            .where(t.c.released_at.is_(None))
            .order_by(t.c.id)
        ).all()
    return {(p, g, m): Hold(reason, by) for p, g, m, reason, by in rows}


def add_hold(
    engine: sa.Engine, message_id: str, *, reason: str, by: str, now: datetime,
    group: str | None = None,
) -> tuple[Key, bool]:  # fmt: skip
    """Put a legal hold on a message; (its key, whether a new hold was added)."""
    if not reason.strip():
        raise HoldError("a legal hold needs a reason")
    platform, group_id = resolve_message(engine, message_id, group=group)
    key = (platform, group_id, message_id)
    if key in active_holds(engine):
        return key, False
    with engine.begin() as conn:
        conn.execute(
            _table(LegalHold).insert().values(
                platform=platform, group_id=group_id, message_id=message_id, reason=reason,
                held_by=by, held_at=now,
            )
        )  # fmt: skip
    return key, True


def remove_hold(
    engine: sa.Engine, message_id: str, *, reason: str, by: str, now: datetime,
    group: str | None = None,
) -> tuple[Key, int]:  # fmt: skip
    """Release the active holds on a message (kept as the record); (its key, how many)."""
    platform, group_id = resolve_message(engine, message_id, group=group)
    t = _table(LegalHold)
    with engine.begin() as conn:
        released = conn.execute(
            t.update()
            .where(
                t.c.platform == platform, t.c.group_id == group_id,
                t.c.message_id == message_id, t.c.released_at.is_(None),
            )
            .values(released_at=now, released_by=by, release_reason=reason)
        ).rowcount  # fmt: skip
    return (platform, group_id, message_id), int(released or 0)


# -- purges ---------------------------------------------------------------------------------


def purged_keys(engine: sa.Engine) -> set[Key]:
    """Messages purged and neither restored nor deleted (still restorable)."""
    t = _table(PurgedMessage)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.c.platform, t.c.group_id, t.c.message_id).where(
                t.c.restored_at.is_(None), t.c.deleted_at.is_(None)
            )
        ).all()
    return {(p, g, m) for p, g, m in rows}


def purge(
    conn: sa.Connection,
    keys: Iterable[tuple[Key, str, str]],
    *,
    run_id: str,
    purged_at: datetime,
    restore_until: datetime,
) -> int:
    """Mark each (key, reason, detail) purged by ``run_id``: the message is copied whole into
    ``purged_messages``; the ``messages`` row stays until the restore window is over."""
    msg, pm = _table(Message), _table(PurgedMessage)
    count = 0
    for (platform, group_id, message_id), reason, detail in keys:
        row = conn.execute(
            sa.select(msg).where(
                msg.c.platform == platform, msg.c.group_id == group_id,
                msg.c.message_id == message_id,
            )
        ).mappings().first()  # fmt: skip
        if row is None:
            continue
        conn.execute(
            pm.insert().values(
                run_id=run_id, reason=reason, detail=detail, purged_at=purged_at,
                restore_until=restore_until, **{f: row[f] for f in MESSAGE_FIELDS},
            )
        )  # fmt: skip
        count += 1
    return count


def delete_expired_purges(conn: sa.Connection, as_of: datetime, now: datetime) -> int:
    """Hard-delete what was purged before its restore window ended (``restore_until <=
    as_of``): the ``messages`` row goes, the copy keeps who/when/why but no text."""
    msg, pm = _table(Message), _table(PurgedMessage)
    due = conn.execute(
        sa.select(pm.c.id, pm.c.platform, pm.c.group_id, pm.c.message_id).where(
            pm.c.restored_at.is_(None), pm.c.deleted_at.is_(None), pm.c.restore_until <= as_of
        )
    ).all()
    for pid, platform, group_id, message_id in due:
        conn.execute(
            msg.delete().where(
                msg.c.platform == platform, msg.c.group_id == group_id,
                msg.c.message_id == message_id,
            )
        )  # fmt: skip
        conn.execute(pm.update().where(pm.c.id == pid).values(deleted_at=now, text="", mentions=[]))
    return len(due)


class RestoreError(ValueError):
    """A restore that cannot be carried out (unknown run, deleted for good)."""


@dataclass(frozen=True)
class Restored:
    run_id: str
    restored: list[Key]
    already: int  # restored before
    deleted: list[Key]  # deleted for good after the window: cannot come back


def restore_run(engine: sa.Engine, run_id: str, *, by: str, now: datetime) -> Restored:
    """Put every message purged by ``run_id`` back exactly as it was (every column of its
    ``messages`` row). Restoring twice changes nothing the second time."""
    runs, msg, pm = _table(CleanupRun), _table(Message), _table(PurgedMessage)
    with engine.begin() as conn:
        run = conn.execute(
            sa.select(runs.c.run_id, runs.c.mode).where(runs.c.run_id == run_id)
        ).first()
        if run is None:
            raise RestoreError(f"no cleanup run {run_id!r}")
        if run.mode != "applied":
            raise RestoreError(f"cleanup run {run_id!r} was a {run.mode}: nothing was purged")
        rows = (
            conn.execute(sa.select(pm).where(pm.c.run_id == run_id).order_by(pm.c.id))
            .mappings()
            .all()
        )
        restored: list[Key] = []
        deleted: list[Key] = []
        already = 0
        for r in rows:
            key = (r["platform"], r["group_id"], r["message_id"])
            if r["restored_at"] is not None:
                already += 1
                continue
            if r["deleted_at"] is not None:
                deleted.append(key)
                continue
            values = {f: r[f] for f in MESSAGE_FIELDS}
            where = sa.and_(
                msg.c.platform == key[0], msg.c.group_id == key[1], msg.c.message_id == key[2]
            )
            if conn.execute(sa.select(sa.func.count()).select_from(msg).where(where)).scalar():
                conn.execute(msg.update().where(where).values(values))
            else:
                conn.execute(msg.insert().values(values))
            conn.execute(pm.update().where(pm.c.id == r["id"]).values(restored_at=now))
            restored.append(key)
        if restored:  # the search index follows through its triggers (archive_0003)
            conn.execute(
                runs.update().where(runs.c.run_id == run_id).values(restored_at=now, restored_by=by)
            )
    return Restored(run_id, restored, already, deleted)


# -- the run log ----------------------------------------------------------------------------


def log_run(conn: sa.Connection, values: Mapping[str, Any]) -> None:
    data = dict(values)
    data["detail"] = json.dumps(data.get("detail", {}), ensure_ascii=False, default=str)
    conn.execute(_table(CleanupRun).insert().values(**data))


def load_runs(engine: sa.Engine, *, limit: int | None = None) -> list[dict[str, Any]]:
    """The run log, newest first."""
    t = _table(CleanupRun)
    stmt = sa.select(t).order_by(t.c.started_at.desc(), t.c.run_id.desc())
    if limit:
        stmt = stmt.limit(limit)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(stmt).mappings()]
    for r in rows:
        r["detail"] = json.loads(r["detail"] or "{}")
    return rows


def record_action(
    conn: sa.Connection, *, run_id: str, key: Key, action: str, status: str,
    via: str | None, detail: str | None, now: datetime,
) -> None:  # fmt: skip
    conn.execute(
        _table(CleanupAction).insert().values(
            run_id=run_id, platform=key[0], group_id=key[1], message_id=key[2], action=action,
            status=status, via=via, detail=detail, created_at=now, updated_at=now,
        )
    )  # fmt: skip


def load_actions(engine: sa.Engine, *, status: str | None = None) -> list[dict[str, Any]]:
    t = _table(CleanupAction)
    stmt = sa.select(t).order_by(t.c.id)
    if status is not None:
        stmt = stmt.where(t.c.status == status)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(stmt).mappings()]
