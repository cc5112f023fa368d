"""Meeting emails through the outbox, each at most once (idempotency keys):

=============  =====================================================  ===========================
kind           when                                                   key
=============  =====================================================  ===========================
invitation     a scheduled meeting not yet started (sequence 0)       meeting:<id>:request:0
update         the same after a change (sequence n > 0)               meeting:<id>:request:<n>
cancellation   a cancelled meeting not yet started, once invited      meeting:<id>:cancel:<n>
reminder       ``meetings.reminder_minutes_before`` before the start  meeting:<id>:reminder:<n>
minutes        minutes published (within ``window_days`` of as_of)    meeting:<id>:minutes:<msg>
=============  =====================================================  ===========================

Invitations, updates and cancellations go to the attendees with an ``invite.ics``
(:mod:`.calendar`: METHOD REQUEST/CANCEL, one UID per meeting, SEQUENCE = the meeting's
sequence); reminders to the attendees not on leave; minutes (decisions, action items with
owners and deadlines, who was on leave) to the attendees and the group's owner. Only the latest
sequence is sent: a meeting changed twice between runs gets one update.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from groupops.db.models import OutboxEmail
from groupops.db.queries import load_groups
from groupops.mail import Attachment, Recipient, enqueue, render_email
from groupops.meetings.calendar import Method, meeting_calendar
from groupops.meetings.meetings import Meeting, Meetings
from groupops.meetings.store import MeetingsView
from groupops.policy import Policy
from groupops.roster import Directory

#: The outbox ``kind`` of every meeting email (the template tells which one it is).
MEETING_KIND = "meeting"
#: Minutes (and cancellations) older than this at ``as_of`` are not emailed: a first run over
#: months of history does not flood inboxes.
MAIL_WINDOW_DAYS = 7


@dataclass(frozen=True)
class MeetingMail:
    meeting_id: str
    kind: str  # invitation | update | cancellation | reminder | minutes
    key: str
    recipient_ids: list[str]
    addresses: list[str]
    created: bool  # False: the key was already in the outbox (or nobody to email)


def outbox_key(meeting_id: str, suffix: str) -> str:
    key = f"meeting:{meeting_id}:{suffix}"
    if len(key) <= 191:
        return key
    return f"meeting:{hashlib.sha256(meeting_id.encode()).hexdigest()[:40]}:{suffix}"[:191]


def planned_mail(
    found: Meetings, policy: Policy, *, window_days: int = MAIL_WINDOW_DAYS
) -> list[tuple[Meeting, str, str]]:
    """``(meeting, kind, key)`` for every email due at ``found.as_of`` (sent or not)."""
    as_of = found.as_of
    window = timedelta(days=window_days)
    before = timedelta(minutes=policy.meetings.reminder_minutes_before)
    out: list[tuple[Meeting, str, str]] = []
    for m in found.meetings:
        seq = m.sequence
        if m.cancelled:
            assert m.cancelled_at is not None
            if as_of < m.start and as_of - m.cancelled_at <= window:
                out.append((m, "cancellation", outbox_key(m.meeting_id, f"cancel:{seq}")))
            continue
        if as_of < m.start:
            kind = "invitation" if seq == 0 else "update"
            out.append((m, kind, outbox_key(m.meeting_id, f"request:{seq}")))
            if as_of >= m.start - before:
                out.append((m, "reminder", outbox_key(m.meeting_id, f"reminder:{seq}")))
        if m.minutes_at is not None and m.minutes_message_id and as_of - m.minutes_at <= window:
            suffix = f"minutes:{m.minutes_message_id}"
            out.append((m, "minutes", outbox_key(m.meeting_id, suffix)))
    return out


def _invited(engine: sa.Engine, meeting_id: str) -> bool:
    prefix = outbox_key(meeting_id, "request:")
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(OutboxEmail.id).where(OutboxEmail.key.startswith(prefix, autoescape=True))
        ).first()
    return row is not None


def _exists(engine: sa.Engine, key: str) -> bool:
    with engine.connect() as conn:
        return (
            conn.execute(sa.select(OutboxEmail.id).where(OutboxEmail.key == key)).first()
            is not None
        )


def send_meeting_mail(
    engine: sa.Engine,
    found: Meetings,
    records: dict[str, dict[str, Any]],
    policy: Policy,
    *,
    directory: Directory,
    group_names: dict[tuple[str, str], str],
    group_owners: dict[tuple[str, str], str | None],
    sender: str,
    outbox_dir: Path,
    now: datetime,
    dry_run: bool = False,
    window_days: int = MAIL_WINDOW_DAYS,
) -> list[MeetingMail]:
    """Enqueue every planned email not yet in the outbox (``records``: the
    :func:`~groupops.meetings.meetings.meeting_records` by meeting id, for action items' due
    times and states). With ``dry_run`` nothing is written."""
    out: list[MeetingMail] = []
    for m, kind, key in planned_mail(found, policy, window_days=window_days):
        if kind == "cancellation" and not _invited(engine, m.meeting_id):
            continue  # nobody was invited: nothing to take back
        ids = _recipient_ids(m, kind, group_owners.get((m.platform, m.group_id)))
        addresses = directory.recipients(m.platform, ids)
        if not addresses or _exists(engine, key):
            out.append(
                MeetingMail(m.meeting_id, kind, key, ids, [a.address for a in addresses], False)
            )
            continue
        if dry_run:
            out.append(
                MeetingMail(m.meeting_id, kind, key, ids, [a.address for a in addresses], True)
            )
            continue
        context = _context(
            m, kind, records.get(m.meeting_id, {}), directory, group_names, policy, addresses
        )
        attachments: tuple[Attachment, ...] = ()
        if kind in ("invitation", "update", "cancellation"):
            method: Method = "CANCEL" if kind == "cancellation" else "REQUEST"
            ics = meeting_calendar(
                m,
                method,
                organizer=directory.recipient(m.platform, m.organizer_id)
                if m.organizer_id
                else None,
                attendees=directory.recipients(m.platform, m.attendees),
                stamp=m.changed_at or found.as_of,
                description="\n".join(f"{i}. {a}" for i, a in enumerate(m.agenda, 1)),
            )
            attachments = (Attachment("invite.ics", "text", "calendar", ics, {"method": method}),)
        template = "meeting_minutes" if kind == "minutes" else "meeting_notice"
        email = render_email(
            template,
            {**context, "has_ics": bool(attachments)},
            language=policy.language,
            attachments=attachments,
        )
        result = enqueue(
            engine, email, key=key, to=addresses, sender=sender, outbox_dir=outbox_dir,
            kind=MEETING_KIND, now=now,
        )  # fmt: skip
        out.append(
            MeetingMail(
                m.meeting_id, kind, key, ids, [a.address for a in addresses], result.created
            )
        )
    return out


def _recipient_ids(m: Meeting, kind: str, owner: str | None) -> list[str]:
    if kind == "reminder":
        return [a for a in m.attendees if a not in m.on_leave]
    if kind == "minutes":
        return list(dict.fromkeys([*m.attendees, *([owner] if owner else [])]))
    return list(m.attendees)


def _when(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value)
    return None


def _context(
    m: Meeting,
    kind: str,
    record: dict[str, Any],
    directory: Directory,
    group_names: dict[tuple[str, str], str],
    policy: Policy,
    addresses: list[Recipient],
) -> dict[str, Any]:
    tz = policy.tz
    sep = "、" if policy.language == "zh-CN" else ", "

    def name(member: str | None) -> str:
        return directory.name(m.platform, member) if member else ""

    items = []
    for a in record.get("action_items", []):
        items.append(
            {
                "text": a["text"],
                "assignee_name": name(a["assignee_id"]) or a.get("assignee_name"),
                "due_at": (_when(a["due_at"]) or m.start).astimezone(tz) if a["due_at"] else None,
                "state": a.get("state"),
            }
        )
    return {
        "company": policy.company,
        "kind": kind,
        "recipient_names": sep.join(r.name or r.address for r in addresses),
        "meeting": {
            "meeting_id": m.meeting_id,
            "topic": m.topic,
            "group_name": group_names.get((m.platform, m.group_id), m.group_id),
            "start": m.start.astimezone(tz),
            "end": m.end.astimezone(tz),
            "place": m.place,
            "organizer_name": name(m.organizer_id),
            "attendee_names": [name(a) for a in m.attendees],
            "agenda": list(m.agenda),
            "sequence": m.sequence,
            "on_leave_names": [name(a) for a in m.on_leave],
            "late_leave_names": [name(a) for a in m.late_leave],
            "minutes_by_name": name(m.minutes_by),
            "decisions": list(m.decisions),
            "action_items": items,
        },
    }


def notify_meetings(
    engine: sa.Engine,
    view: MeetingsView,
    policy: Policy,
    *,
    sender: str,
    outbox_dir: Path,
    now: datetime,
    dry_run: bool = False,
    window_days: int = MAIL_WINDOW_DAYS,
) -> list[MeetingMail]:
    """:func:`send_meeting_mail` with the directory and groups read from the store."""
    groups = load_groups(engine)
    keys = [(str(p), str(g)) for p, g in zip(groups["platform"], groups["group_id"], strict=True)]
    return send_meeting_mail(
        engine,
        view.found,
        {r["meeting_id"]: r for r in view.records},
        policy,
        directory=Directory.load(engine),
        group_names=dict(zip(keys, (str(n) for n in groups["name"]), strict=True)),
        group_owners=dict(
            zip(keys, (o if isinstance(o, str) else None for o in groups["owner_id"]), strict=True)
        ),
        sender=sender,
        outbox_dir=outbox_dir,
        now=now,
        dry_run=dry_run,
        window_days=window_days,
    )
