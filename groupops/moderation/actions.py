"""Carrying out decisions on the platforms: post the notice, mute, unmute when the mute ends (or
the violation is revoked or recounted), remove, and a re-invite to-do after an upheld appeal.

:func:`plan_actions` is pure: what the record calls for at ``as_of`` and is not yet recorded in
``moderation_actions``. :func:`carry_out` does each through the group's connector when one is
configured and has the capability (``done``, or ``failed`` with the error), else records it as
an admin ``todo`` (listed in the admins' digest). One row per (violation, action): never twice.
Mutes are not timed on any platform here, so lifting them is this module's job.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from groupops.connectors.base import Capability, Connector, ConnectorError, PlatformError
from groupops.connectors.config import BlockLoader, SourceConfig, load_sources
from groupops.db.models import ModerationAction, Violation
from groupops.moderation.store import ViolationRecord

#: (platform, group_id) → (source name, open connector), or ``None`` when no configured source
#: can act on that group.
ConnectorFor = Callable[[str, str], tuple[str, Connector] | None]

#: Platform error codes that mean the member to remove is not in the group (Slack's
#: ``conversations.kick``): the removal is done, not failed (else it would be retried forever).
GONE_CODES = frozenset({"not_in_channel"})

NEEDS: dict[str, Capability] = {
    "notice": Capability.POST_MESSAGE,
    "mute": Capability.MUTE,
    "unmute": Capability.MUTE,
    "remove": Capability.REMOVE_MEMBER,
}


@dataclass(frozen=True)
class ActionRecord:
    id: int
    violation_id: int
    platform: str
    group_id: str
    member_id: str
    action: str
    due_at: datetime
    status: str
    via: str | None
    detail: str | None
    done_at: datetime | None = None  # a to-do an admin marked done (``groupops todos done``)
    done_by: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class PlannedAction:
    violation_id: int
    platform: str
    group_id: str
    member_id: str
    action: str  # notice | mute | unmute | remove | reinvite
    due_at: datetime


def load_actions(
    engine: sa.Engine, violation_ids: Iterable[int] | None = None
) -> list[ActionRecord]:
    stmt = sa.select(ModerationAction).order_by(ModerationAction.id)
    if violation_ids is not None:
        stmt = stmt.where(ModerationAction.violation_id.in_(list(violation_ids)))
    with sa.orm.Session(engine) as session:
        return [
            ActionRecord(
                r.id, r.violation_id, r.platform, r.group_id, r.member_id, r.action, r.due_at,
                r.status, r.via, r.detail, r.done_at, r.done_by, r.note,
            )
            for r in session.execute(stmt).scalars()
        ]  # fmt: skip


def plan_actions(
    violations: Sequence[ViolationRecord],
    recorded: Sequence[ActionRecord],
    as_of: datetime,
) -> list[PlannedAction]:
    """The actions due at ``as_of`` that are not recorded yet."""
    done = {(a.violation_id, a.action): a for a in recorded if a.status != "failed"}
    out: list[PlannedAction] = []

    def want(v: ViolationRecord, action: str, due: datetime) -> None:
        if (v.id, action) not in done:
            out.append(PlannedAction(v.id, v.platform, v.group_id, v.member_id, action, due))

    for v in violations:
        if v.decided_at is None or v.decided_at > as_of:
            continue
        if not v.revoked:
            want(v, "notice", v.decided_at)
        muted = (v.id, "mute") in done and done[(v.id, "mute")].status in ("done", "todo")
        mute_over = v.mute_until is not None and v.mute_until <= as_of
        if v.penalty == "mute" and not v.revoked and not mute_over:
            want(v, "mute", v.decided_at)
        elif muted:
            lift_at = v.mute_until if mute_over and v.mute_until else (v.revoked_at or as_of)
            want(v, "unmute", lift_at)
        if v.penalty == "removal" and not v.revoked:
            want(v, "remove", v.decided_at)
        removed = (v.id, "remove") in done and done[(v.id, "remove")].status in ("done", "todo")
        if removed and (v.revoked or v.penalty != "removal"):
            want(v, "reinvite", v.revoked_at or as_of)
    return out


def _record(
    engine: sa.Engine, plan: PlannedAction, status: str, via: str | None, detail: str | None,
    now: datetime,
) -> bool:  # fmt: skip
    table = ModerationAction.__table__
    assert isinstance(table, sa.Table)
    try:
        with engine.begin() as conn:
            conn.execute(
                table.insert().values(
                    violation_id=plan.violation_id, platform=plan.platform,
                    group_id=plan.group_id, member_id=plan.member_id, action=plan.action,
                    due_at=plan.due_at, status=status, via=via, detail=detail,
                    created_at=now, updated_at=now,
                )
            )  # fmt: skip
    except IntegrityError:  # recorded before: retry a failed one, else a concurrent run won
        with engine.begin() as conn:
            retried = conn.execute(
                table.update()
                .where(
                    table.c.violation_id == plan.violation_id,
                    table.c.action == plan.action,
                    table.c.status == "failed",
                )
                .values(status=status, via=via, detail=detail, updated_at=now)
            ).rowcount
        return bool(retried)
    return True


def notice_text(v: ViolationRecord, labels: Mapping[str, str]) -> str:
    """The short notice posted in the group (labels: category, penalty, appeal_by)."""
    return (
        f"【违规通知 / Group rules】{labels['member']}：{labels['category']}，"
        f"处理：{labels['penalty']}。如有异议，请于 {labels['appeal_by']} 前回复本消息并注明“申诉”及理由。"
    )


def carry_out(
    engine: sa.Engine,
    plans: Sequence[PlannedAction],
    connector_for: ConnectorFor | None,
    *,
    now: datetime,
    notice_texts: Mapping[int, str] | None = None,
) -> list[tuple[PlannedAction, str, str | None]]:
    """Do or record each planned action; ``(plan, status, detail)`` for the new records."""
    out: list[tuple[PlannedAction, str, str | None]] = []
    for plan in plans:
        found = connector_for(plan.platform, plan.group_id) if connector_for else None
        status, via, detail = "todo", None, None
        if plan.action == "reinvite":
            detail = "invite the member back (no platform can re-invite by itself)"
        elif found is not None and found[1].supports(NEEDS[plan.action]):
            via, connector = found
            try:
                detail = _act(connector, plan, (notice_texts or {}).get(plan.violation_id, ""))
                status = "done"
            except PlatformError as exc:
                if plan.action == "remove" and exc.code in GONE_CODES:
                    status, detail = "done", f"not in the group any more ({exc.code})"
                else:
                    status, detail = "failed", f"{type(exc).__name__}: {exc}"
            except ConnectorError as exc:
                status, detail = "failed", f"{type(exc).__name__}: {exc}"
        elif plan.action == "notice":
            status, detail = (
                "skipped",
                "no connector can post in this group: the email is the notice",
            )
        if _record(engine, plan, status, via, detail, now):
            out.append((plan, status, detail))
            if plan.action == "notice" and status == "done" and detail:
                _remember_notice(engine, plan.violation_id, detail, now)
    return out


def _act(connector: Connector, plan: PlannedAction, text: str) -> str | None:
    if plan.action == "notice":
        return connector.post(plan.group_id, text, mentions=[plan.member_id])
    if plan.action == "mute":
        connector.mute(plan.group_id, plan.member_id)
    elif plan.action == "unmute":
        connector.unmute(plan.group_id, plan.member_id)
    elif plan.action == "remove":
        connector.remove_member(plan.group_id, plan.member_id, reason="groupops moderation")
    return None


def _remember_notice(engine: sa.Engine, violation_id: int, message_id: str, now: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.update(Violation)
            .where(Violation.id == violation_id)
            .values(notice_message_id=message_id, updated_at=now)
        )


class ConnectorPool:
    """A :data:`ConnectorFor` over the configured sources (``data/sources.toml``): the first
    enabled source of the group's platform that lists the group. Connectors are opened on first
    use (credentials from the environment or, through ``block_loader``, Prefect Secret blocks)
    and closed by :meth:`close`."""

    def __init__(
        self,
        sources: Sequence[SourceConfig],
        *,
        block_loader: BlockLoader | None = None,
    ) -> None:
        self._sources = [s for s in sources if s.enabled]
        self._block_loader = block_loader
        self._open: dict[str, Connector] = {}

    def __call__(self, platform: str, group_id: str) -> tuple[str, Connector] | None:
        for source in self._sources:
            if source.kind == platform and group_id in source.groups:
                if source.name not in self._open:
                    # here: the registry imports every platform's client (httpx, slack_sdk)
                    from groupops.connectors.registry import open_connector

                    self._open[source.name] = open_connector(
                        source, block_loader=self._block_loader
                    )
                return source.name, self._open[source.name]
        return None

    def close(self) -> None:
        for connector in self._open.values():
            connector.close()
        self._open.clear()

    @classmethod
    def from_file(cls, path: Path, *, block_loader: BlockLoader | None = None) -> ConnectorPool:
        """From the sources file; none configured (no file) acts nowhere (every action a to-do)."""
        return cls(load_sources(path) if path.exists() else [], block_loader=block_loader)
