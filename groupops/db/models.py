"""Typed ORM models. Natural keys (platform + the platform's own ids) make every upsert
idempotent; constraint names follow one convention so migrations are stable on every backend.

Later issues add tables here (digests, obligations, archive, moderation) with a migration each.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from groupops.db.types import JSONList, UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID = String(191)  # platform ids: long enough for Matrix/Slack/WeCom ids, indexable everywhere


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Group(Base):
    """A chat group on one platform, with its owner and admins (platform member ids)."""

    __tablename__ = "groups"

    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    group_id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    category: Mapped[str | None] = mapped_column(String(64))
    owner_id: Mapped[str | None] = mapped_column(ID)
    admin_ids: Mapped[list[str]] = mapped_column(JSONList, default=list)
    content_hash: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Member(Base):
    """A person as the platform knows them, with the directory facts the rulebook needs."""

    __tablename__ = "members"

    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    member_id: Mapped[str] = mapped_column(ID, primary_key=True)
    display_name: Mapped[str] = mapped_column(String(255))
    real_name: Mapped[str | None] = mapped_column(String(255))
    department: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    content_hash: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MembershipEvent(Base):
    """A join, leave or removal; ``approved_by`` is the admin who approved a join."""

    __tablename__ = "membership_events"
    __table_args__ = (
        ForeignKeyConstraint(
            ["platform", "group_id"], ["groups.platform", "groups.group_id"], ondelete="CASCADE"
        ),
        Index("ix_membership_events_member", "platform", "member_id"),
    )

    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    group_id: Mapped[str] = mapped_column(ID, primary_key=True)
    member_id: Mapped[str] = mapped_column(ID, primary_key=True)
    event: Mapped[str] = mapped_column(String(16), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    approved_by: Mapped[str | None] = mapped_column(ID)
    reason: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Message(Base):
    """One chat message in canonical form (see docs/formats.md)."""

    __tablename__ = "messages"
    __table_args__ = (
        ForeignKeyConstraint(
            ["platform", "group_id"], ["groups.platform", "groups.group_id"], ondelete="CASCADE"
        ),
        # Every analysis reads a group's messages over a period. (A per-sender index was dropped
        # in 0002: nothing reads by sender alone, and it cost ~15% of a large ingest.)
        Index("ix_messages_group_sent_at", "platform", "group_id", "sent_at"),
    )

    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    group_id: Mapped[str] = mapped_column(ID, primary_key=True)
    message_id: Mapped[str] = mapped_column(ID, primary_key=True)
    sender_id: Mapped[str] = mapped_column(ID)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")
    reply_to: Mapped[str | None] = mapped_column(ID)
    mentions: Mapped[list[str]] = mapped_column(JSONList, default=list)
    mention_all: Mapped[bool] = mapped_column(Boolean, default=False)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    content_hash: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ingest_run_id: Mapped[int | None] = mapped_column(Integer)


class RosterEntry(Base):
    """One person on the company's HR roster (实名制, departures): loaded by the validated
    ingest (``groupops ingest roster.csv --format roster``), checked by ``groupops roster
    check``. ``member_ids``: platform ids (``platform:id`` or bare); members are also matched by
    email."""

    __tablename__ = "roster"

    employee_id: Mapped[str] = mapped_column(ID, primary_key=True)
    real_name: Mapped[str] = mapped_column(String(255))
    department: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))  # active | departed | external
    email: Mapped[str | None] = mapped_column(String(320))
    department_head_email: Mapped[str | None] = mapped_column(String(320))
    member_ids: Mapped[list[str]] = mapped_column(JSONList, default=list)
    departed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    content_hash: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IngestRun(Base):
    """One ingest (or pull) of one source, with its counts and the newest instant it saw."""

    __tablename__ = "ingest_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(32))
    # running | clean | quarantined | failed | crashed (its process died: see db.leases)
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    loaded: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    watermark: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    # The lease of a running run: renewed by its process (wall clock), and who holds it
    # ("host:pid"); a `running` row whose lease lapsed or whose process is gone is `crashed`.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    owner: Mapped[str | None] = mapped_column(Text)


class IngestedFile(Base):
    """A source file one run read completely and cleanly (nothing quarantined), by its
    fingerprint: the next run finding the same fingerprint skips the file (its records count as
    unchanged). ``complete`` is false while the run reads it; an update or delete of the
    entity's stored rows by anyone else drops the entity's rows here (the ingest for updates,
    triggers for deletes), so a skip never hides what a re-read would change."""

    __tablename__ = "ingested_files"
    __table_args__ = (Index("ix_ingested_files_entity_source", "entity", "source_file"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(32))
    source_file: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    # What else decides the stored rows: the ingest code's rules and the policy's and limits'
    # settings that reach it (groupops.ingest.fingerprint.rules_digest).
    rules: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[int] = mapped_column(Integer)
    complete: Mapped[bool] = mapped_column(Boolean, default=False)
    records: Mapped[int] = mapped_column(Integer, default=0)
    watermark: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The run's "now": a later run with an earlier now (a narrower window of plausible
    # instants) reads the file again.
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime)


class QuarantineRecord(Base):
    """A rejected input record: where it came from, which field, why, and its raw text.

    Unique on (source, line, entity, field, fingerprint): re-ingesting the same bad input
    refreshes ``last_seen_at`` instead of adding rows."""

    __tablename__ = "quarantine"
    __table_args__ = (
        UniqueConstraint("source_file", "line", "entity", "field", "fingerprint"),
        Index("ix_quarantine_last_seen_at", "last_seen_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int | None] = mapped_column(Integer)
    source_file: Mapped[str] = mapped_column(Text)
    line: Mapped[int] = mapped_column(Integer)
    entity: Mapped[str] = mapped_column(String(32))
    field: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(40))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ConnectorWatermark(Base):
    """Where the last successfully ingested pull of one group of one configured source stopped
    (see groupops.connectors): an opaque platform cursor and the newest instant seen."""

    __tablename__ = "connector_watermarks"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    group_id: Mapped[str] = mapped_column(ID, primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    cursor: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pulled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    messages: Mapped[int] = mapped_column(Integer, default=0)
    ingest_run_id: Mapped[int | None] = mapped_column(Integer)


class OutboxEmail(Base):
    """A rendered email, stored (row + ``.eml`` file) before any attempt to send it.

    ``key`` is the idempotency key (e.g. ``digest:week:2026-W47:owner:wecom:u001``): one row per
    key, so the same email is never enqueued or sent twice unless forced. ``status`` is
    ``pending`` (never tried), ``sent`` or ``failed`` (last attempt failed; still sendable)."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("key"),
        Index("ix_outbox_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(191))
    kind: Mapped[str] = mapped_column(String(32))
    template: Mapped[str] = mapped_column(String(128))
    language: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(Text)
    sender: Mapped[str] = mapped_column(String(320))
    recipients: Mapped[list[str]] = mapped_column(JSONList, default=list)
    eml_path: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ChatbotPost(Base):
    """A card for a group bot (Feishu custom bot, WeCom group robot), stored before any attempt
    to post it, like the email outbox: one row per ``key`` (the email's key and the bot's
    name), so a re-run never posts the same digest or reminder twice. ``status`` is
    ``pending``, ``sending``, ``sent`` or ``failed`` (``last_error``; still sendable)."""

    __tablename__ = "chatbot_posts"
    __table_args__ = (
        UniqueConstraint("key"),
        Index("ix_chatbot_posts_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(191))
    kind: Mapped[str] = mapped_column(String(32))  # digest | deadline_reminder
    bot: Mapped[str] = mapped_column(String(48))  # the policy's [chatbots.NAME]
    channel: Mapped[str] = mapped_column(String(16))  # feishu | wecom
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)  # the card's markdown
    pointer: Mapped[str] = mapped_column(Text)  # the line that ends a truncated card
    tone: Mapped[str] = mapped_column(String(16))  # the Feishu header colour
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DigestLog(Base):
    """One digest decision per audience and period: ``queued`` (in the outbox, ``outbox_id``),
    ``empty`` (nothing to say, not sent), ``no_recipients`` or ``held`` (no data for the
    period; ``reason`` says why). A ``queued`` entry makes re-runs skip that digest."""

    __tablename__ = "digest_log"
    __table_args__ = (UniqueConstraint("key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(191))
    period: Mapped[str] = mapped_column(String(8))  # week | month
    period_label: Mapped[str] = mapped_column(String(16))  # 2026-W47 | 2026-11
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    audience: Mapped[str] = mapped_column(String(16))  # owner | admin
    platform: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(ID)  # the owner's member id, or the group id
    outcome: Mapped[str] = mapped_column(String(16))  # queued | empty | no_recipients | held
    outbox_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)  # why it is held (outcome ``held``)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DeadlineReminder(Base):
    """One escalation step of one obligation, recorded when the reminder went out.

    Unique on the obligation (kind, platform, group, message, assignee) and the step (0 the
    assignee, 1 the group's admins, 2 the owner): a step is never sent twice. ``channel`` is
    ``email`` (enqueued in the outbox under ``outbox_key``) or ``digest`` (the owner's step,
    reported in the owner's digest)."""

    __tablename__ = "deadline_reminders"
    __table_args__ = (
        UniqueConstraint(
            "kind",
            "platform",
            "group_id",
            "message_id",
            "assignee_id",
            "step",
            name="uq_deadline_reminders_obligation_step",  # the default name is too long for PG
        ),
        Index("ix_deadline_reminders_group", "platform", "group_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(
        String(16)
    )  # reply | task_ack | task_done | minutes | commitment
    platform: Mapped[str] = mapped_column(String(32))
    group_id: Mapped[str] = mapped_column(ID)
    message_id: Mapped[str] = mapped_column(ID)
    assignee_id: Mapped[str] = mapped_column(ID)
    step: Mapped[int] = mapped_column(Integer)
    requester_id: Mapped[str | None] = mapped_column(ID)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    overdue_working_minutes: Mapped[float] = mapped_column(Float, default=0.0)
    channel: Mapped[str] = mapped_column(String(16))  # email | digest
    recipients: Mapped[list[str]] = mapped_column(JSONList, default=list)  # member ids
    outbox_key: Mapped[str | None] = mapped_column(String(191))
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)  # the run's as_of
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Violation(Base):
    """A rule violation by a member in a group (rulebook ch. 6), with its evidence and the
    ladder's decision (see groupops.moderation).

    Unique per (platform, group, member, category, ``evidence_key``): a re-run finds the same
    evidence again and refreshes it instead of adding a row. ``evidence_key`` is ``msg:<first
    message id>`` for detections, ``period:<YYYY-MM>`` for non-response (recorded by the deadline
    watcher) and ``admin:<hash>`` for violations recorded by an admin. ``penalty`` and
    ``decided_at`` are set by the moderation run that decided it (when the notice went out);
    ``revoked_at`` by an upheld appeal."""

    __tablename__ = "violations"
    __table_args__ = (
        UniqueConstraint(
            "platform",
            "group_id",
            "member_id",
            "category",
            "evidence_key",
            name="uq_violations_evidence",  # the default name is too long for PostgreSQL
        ),
        Index("ix_violations_member", "platform", "member_id"),
        Index("ix_violations_at", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(32))
    group_id: Mapped[str] = mapped_column(ID)
    member_id: Mapped[str] = mapped_column(ID)
    category: Mapped[str] = mapped_column(String(32))
    rule: Mapped[str] = mapped_column(String(64))
    evidence_key: Mapped[str] = mapped_column(String(191))
    message_ids: Mapped[list[str]] = mapped_column(JSONList, default=list)
    matched: Mapped[list[str]] = mapped_column(JSONList, default=list)
    snippet: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime)  # the evidence's time
    source: Mapped[str] = mapped_column(String(16))  # detected | admin
    recorded_by: Mapped[str | None] = mapped_column(ID)  # the admin, for source = admin
    note: Mapped[str | None] = mapped_column(Text)
    penalty: Mapped[str | None] = mapped_column(String(16))  # warning | mute | removal
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mute_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The notice posted in the group (where a connector can post): a reply to it is an appeal.
    notice_message_id: Mapped[str | None] = mapped_column(ID)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ModerationAction(Base):
    """A platform action a decision calls for (mute, unmute, remove, reinvite): carried out by a
    connector (``done``/``failed``) or left to the admins (``todo``, listed in their digest).
    One row per (violation, action): a re-run never acts twice."""

    __tablename__ = "moderation_actions"
    __table_args__ = (
        UniqueConstraint("violation_id", "action"),
        Index("ix_moderation_actions_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    violation_id: Mapped[int] = mapped_column(Integer)
    platform: Mapped[str] = mapped_column(String(32))
    group_id: Mapped[str] = mapped_column(ID)
    member_id: Mapped[str] = mapped_column(ID)
    action: Mapped[str] = mapped_column(String(16))  # mute | unmute | remove | reinvite
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))  # done | todo | failed | skipped
    via: Mapped[str | None] = mapped_column(String(64))  # the source (connector) that acted
    detail: Mapped[str | None] = mapped_column(Text)
    # An admin's to-do marked done by hand (``groupops todos done``): when, by whom, their note.
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by: Mapped[str | None] = mapped_column(ID)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Appeal(Base):
    """A member's appeal (申诉) against a violation, filed by command or detected in a message.

    ``appeal_deadline`` and ``answer_due_at`` are fixed when it is filed (working days on the
    working clock). ``state`` stores ``pending``, ``late``, ``upheld`` or ``rejected``;
    ``answer_overdue`` is derived at read time. ``admins_told_at``/``owner_told_at``: the
    escalation of an overdue answer (admins by email, then the owner's digest)."""

    __tablename__ = "appeals"
    __table_args__ = (
        UniqueConstraint("violation_id", "filed_at"),
        Index("ix_appeals_state", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    violation_id: Mapped[int] = mapped_column(Integer)
    platform: Mapped[str] = mapped_column(String(32))
    group_id: Mapped[str] = mapped_column(ID)
    member_id: Mapped[str] = mapped_column(ID)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(16))  # command | message
    message_id: Mapped[str | None] = mapped_column(ID)
    reason: Mapped[str | None] = mapped_column(Text)
    appeal_deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    answer_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(ID)
    note: Mapped[str | None] = mapped_column(Text)
    admins_told_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    owner_told_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MeetingRecord(Base):
    """A meeting as the meetings flow last saw it (groupops.meetings): one row per meeting,
    updated when what it knows changes (``fingerprint``), so a re-run changes nothing.

    ``sequence`` is the iCalendar SEQUENCE of the last invitation state (0, then +1 per change
    or cancellation); the outbox keys of its emails carry it."""

    __tablename__ = "meetings"
    __table_args__ = (Index("ix_meetings_group_start", "platform", "group_id", "start_at"),)

    meeting_id: Mapped[str] = mapped_column(String(191), primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    group_id: Mapped[str] = mapped_column(ID)
    source: Mapped[str] = mapped_column(String(16))  # notice | file
    topic: Mapped[str] = mapped_column(Text)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    place: Mapped[str | None] = mapped_column(Text)
    organizer_id: Mapped[str | None] = mapped_column(ID)
    attendees: Mapped[list[str]] = mapped_column(JSONList, default=list)
    on_leave: Mapped[list[str]] = mapped_column(JSONList, default=list)
    late_leave: Mapped[list[str]] = mapped_column(JSONList, default=list)
    notice_message_id: Mapped[str | None] = mapped_column(ID)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16))  # scheduled | held | cancelled
    minutes_message_id: Mapped[str | None] = mapped_column(ID)
    minutes_state: Mapped[str] = mapped_column(String(16))  # not_due | published | late | missing
    minutes_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    action_items: Mapped[int] = mapped_column(Integer, default=0)
    fingerprint: Mapped[str] = mapped_column(String(40))
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)  # the run that last changed the row
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ArchiveEntry(Base):
    """An important message in the archive register (rulebook ch. 3(四), groupops.archive):
    a copy of what it said, why it is important (``rules``), who archived it and when. One row
    per message: archiving again adds a newly matching rule and changes nothing else."""

    __tablename__ = "archive_register"
    __table_args__ = (
        UniqueConstraint("platform", "group_id", "message_id"),
        Index("ix_archive_register_group_sent_at", "platform", "group_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(32))
    group_id: Mapped[str] = mapped_column(ID)
    message_id: Mapped[str] = mapped_column(ID)
    sender_id: Mapped[str] = mapped_column(ID)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    text: Mapped[str] = mapped_column(Text, default="")
    rules: Mapped[list[str]] = mapped_column(JSONList, default=list)  # why: the rules it matched
    archived_by: Mapped[str] = mapped_column(String(191))  # who ran the archiving run
    archived_at: Mapped[datetime] = mapped_column(UTCDateTime)
    run_id: Mapped[str | None] = mapped_column(String(64))  # the cleanup run that archived it
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LegalHold(Base):
    """A legal hold on one message (``groupops hold add``): never purged while the hold is on.
    Released holds stay as the record (``released_at``)."""

    __tablename__ = "legal_holds"
    __table_args__ = (Index("ix_legal_holds_message", "platform", "group_id", "message_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(32))
    group_id: Mapped[str] = mapped_column(ID)
    message_id: Mapped[str] = mapped_column(ID)
    reason: Mapped[str] = mapped_column(Text)
    held_by: Mapped[str] = mapped_column(String(191))
    held_at: Mapped[datetime] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_by: Mapped[str | None] = mapped_column(String(191))
    release_reason: Mapped[str | None] = mapped_column(Text)


class CleanupRun(Base):
    """One ``groupops cleanup`` run, preview or applied (or refused by the guard): its
    parameters, who ran it, its counts and its lists (JSON text), and a restore of it."""

    __tablename__ = "cleanup_runs"
    __table_args__ = (Index("ix_cleanup_runs_started_at", "started_at"),)

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    mode: Mapped[str] = mapped_column(String(16))  # preview | applied | refused
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    groups: Mapped[list[str]] = mapped_column(JSONList, default=list)  # empty: every group
    apply: Mapped[bool] = mapped_column(Boolean, default=False)
    force: Mapped[bool] = mapped_column(Boolean, default=False)
    ran_by: Mapped[str] = mapped_column(String(191))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    candidates: Mapped[int] = mapped_column(Integer, default=0)
    exempt: Mapped[int] = mapped_column(Integer, default=0)
    archived: Mapped[int] = mapped_column(Integer, default=0)
    purged: Mapped[int] = mapped_column(Integer, default=0)
    deleted: Mapped[int] = mapped_column(Integer, default=0)  # hard-deleted after the window
    refused: Mapped[str | None] = mapped_column(Text)  # why the guard refused
    detail: Mapped[str] = mapped_column(Text, default="{}")  # JSON: candidates, exempt, guard
    restored_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    restored_by: Mapped[str | None] = mapped_column(String(191))


class PurgedMessage(Base):
    """A message purged by an applied cleanup run, kept whole (every column of ``messages``)
    so ``groupops restore RUN_ID`` puts it back exactly. ``deleted_at``: the copy and the
    message were deleted for good after ``notices.restore_window_days``."""

    __tablename__ = "purged_messages"
    __table_args__ = (
        UniqueConstraint("run_id", "platform", "group_id", "message_id"),
        Index("ix_purged_messages_message", "platform", "group_id", "message_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(16))  # expired | superseded | duplicate | off_topic
    detail: Mapped[str] = mapped_column(Text, default="")
    purged_at: Mapped[datetime] = mapped_column(UTCDateTime)
    restore_until: Mapped[datetime] = mapped_column(UTCDateTime)
    restored_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the message, whole
    platform: Mapped[str] = mapped_column(String(32))
    group_id: Mapped[str] = mapped_column(ID)
    message_id: Mapped[str] = mapped_column(ID)
    sender_id: Mapped[str] = mapped_column(ID)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")
    reply_to: Mapped[str | None] = mapped_column(ID)
    mentions: Mapped[list[str]] = mapped_column(JSONList, default=list)
    mention_all: Mapped[bool] = mapped_column(Boolean, default=False)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    content_hash: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ingest_run_id: Mapped[int | None] = mapped_column(Integer)


class CleanupAction(Base):
    """A platform action a purge calls for (``recall``): done by a connector (``done`` /
    ``failed``) or left to the admins (``todo``, in their digest). One row per (run, message,
    action)."""

    __tablename__ = "cleanup_actions"
    __table_args__ = (
        UniqueConstraint("run_id", "platform", "group_id", "message_id", "action"),
        Index("ix_cleanup_actions_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(64))
    platform: Mapped[str] = mapped_column(String(32))
    group_id: Mapped[str] = mapped_column(ID)
    message_id: Mapped[str] = mapped_column(ID)
    action: Mapped[str] = mapped_column(String(16))  # recall | unpin
    status: Mapped[str] = mapped_column(String(16))  # done | todo | failed
    via: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SearchEntry(Base):
    """The search index of one message (groupops.archive.search): its grams (bigrams of Chinese
    runs, words of the rest) — space-separated text under an FTS5 table on SQLite
    (``archive_search_fts``, external content, made by the migration), a ``text[]`` with a GIN
    index on PostgreSQL (``ix_archive_search_grams``, made by the migration).

    ``id`` is the message's time (epoch seconds, shifted left 21 bits) plus a hash of its key:
    reading the index in ``id`` order is reading it newest first, whatever order messages were
    written in. ``source``: where the text is, ``messages`` or ``register`` (the archive
    register's copy of a message deleted for good). The grams begin with a token naming the
    group (a private-use character and a hash: no text makes it), so ``--group`` is a gram."""

    __tablename__ = "archive_search"
    __table_args__ = (UniqueConstraint("platform", "group_id", "message_id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=False
    )
    platform: Mapped[str] = mapped_column(String(32))
    group_id: Mapped[str] = mapped_column(ID)
    message_id: Mapped[str] = mapped_column(ID)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(16))  # messages | register
    grams: Mapped[Any] = mapped_column(Text().with_variant(ARRAY(Text()), "postgresql"))


class SearchState(Base):
    """Where the search index stands: ``queue`` (present: writes are queued for the index by
    the triggers archive_0003 made; on SQLite the first build creates them with the mark,
    ``groupops.archive.search.sqlite_queue_triggers``), ``built`` (present: the index holds
    every message)."""

    __tablename__ = "archive_search_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class SearchQueue(Base):
    """Messages written since the index last looked (filled by triggers on ``messages``,
    ``purged_messages`` and ``archive_register``; emptied by the next search). ``n``: how many
    writes (an upsert that bumps it waits for a search's lock on the row: no write is lost)."""

    __tablename__ = "archive_search_queue"

    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    group_id: Mapped[str] = mapped_column(ID, primary_key=True)
    message_id: Mapped[str] = mapped_column(ID, primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=1)
