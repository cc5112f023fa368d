"""The outbox: every email is stored, as a database row (table ``outbox``) and an ``.eml``
file in ``Settings.outbox_dir``, before any attempt to send it.

* :func:`build_message` makes the MIME message with the standard :mod:`email` package::

      multipart/alternative
      ├── text/plain            (the .txt rendering)
      └── multipart/related
          ├── text/html         (the .html rendering)
          └── image/png …       (inline images, by Content-ID)

  and, when the email has attachments (a meeting's ``invite.ics``), that inside
  ``multipart/mixed`` followed by each attachment.

* :func:`enqueue` stores it under an idempotency key (unique): enqueuing a key that exists
  stores nothing and returns the existing entry with ``created=False``; ``force=True`` replaces
  it (new ``.eml``, status back to ``pending``) so it is sent again.
* :func:`send_entry` sends one stored ``.eml`` byte for byte through a
  :class:`~groupops.mail.smtp.Transport`, records the attempt, marks it ``sent``, or ``failed``
  with the error and re-raises (the caller retries; the email is never lost).
  A ``sent`` entry is never sent again.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import SMTP, SMTPUTF8, Policy
from email.utils import format_datetime, make_msgid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from groupops.addresses import MailAddress, mail_address, needs_smtputf8
from groupops.db.models import OutboxEmail
from groupops.mail.render import RenderedEmail
from groupops.mail.smtp import Transport

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
SENDABLE = (PENDING, FAILED)
#: A ``sending`` entry older than this was left by a run that crashed (or was killed) during
#: its SMTP transaction: it is sendable again, with the same Message-ID.
STALE_SENDING = timedelta(minutes=10)


@dataclass(frozen=True)
class Recipient:
    """An address with an optional display name (may be Chinese)."""

    address: str
    name: str | None = None

    @property
    def wire(self) -> MailAddress:
        """The validated address in its wire form (:mod:`groupops.addresses`)."""
        return mail_address(self.address)

    def header(self) -> Address:
        wire = self.wire
        return Address(display_name=self.name or "", username=wire.local, domain=wire.domain)


@dataclass(frozen=True)
class OutboxEntry:
    """One stored email; :attr:`message_id` is read from its ``.eml`` (what is sent)."""

    id: int
    key: str
    kind: str
    subject: str
    recipients: list[str]
    eml_path: Path
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None

    @property
    def message_id(self) -> str | None:
        with self.eml_path.open("rb") as handle:
            found = BytesHeaderParser(policy=SMTP).parse(handle)["Message-ID"]
        return None if found is None else str(found)


@dataclass(frozen=True)
class EnqueueResult:
    entry: OutboxEntry
    created: bool  # False: the key was already in the outbox and nothing was stored


def _recipients(to: Sequence[Recipient] | Mapping[str, str | None]) -> list[Recipient]:
    if isinstance(to, Mapping):
        return [Recipient(addr, name) for addr, name in to.items()]
    return list(to)


def build_message(
    email: RenderedEmail,
    *,
    sender: Recipient | str,
    to: Sequence[Recipient] | Mapping[str, str | None],
    key: str | None = None,
    now: datetime | None = None,
) -> EmailMessage:
    """A ``multipart/alternative`` message: text/plain, then text/html with its inline
    images in ``multipart/related``."""
    sender_r = Recipient(sender) if isinstance(sender, str) else sender
    recipients = _recipients(to)
    if not recipients:
        raise ValueError("an email needs at least one recipient")
    msg = EmailMessage()
    msg["Subject"] = email.subject
    msg["From"] = sender_r.header()
    msg["To"] = [r.header() for r in recipients]
    now = now or datetime.now(UTC)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id(key, now, sender_r.wire.domain) if key else make_msgid()
    msg["Content-Language"] = email.language
    if key:
        msg["X-Groupops-Key"] = key
    msg.set_content(email.text, subtype="plain", charset="utf-8")
    msg.add_alternative(email.html, subtype="html", charset="utf-8")
    if email.images:
        html_part = list(msg.iter_parts())[1]
        assert isinstance(html_part, EmailMessage)
        for cid, data in email.images.items():
            html_part.add_related(
                data,
                maintype="image",
                subtype="png",
                cid=f"<{cid}>",
                filename=f"{cid}.png",
                disposition="inline",
            )
    for attachment in email.attachments:
        msg.add_attachment(
            attachment.data,
            maintype=attachment.maintype,
            subtype=attachment.subtype,
            filename=attachment.filename,
            params=dict(attachment.params),
        )
    return msg


def message_id(key: str, created: datetime, domain: str) -> str:
    """The Message-ID of the outbox entry ``key`` stored at ``created``: the same for every
    send of that entry (a resend after a crash is recognisably the same message; receivers
    drop the duplicate), a new one only when the entry is re-enqueued with ``force``."""
    digest = hashlib.sha256(f"{key}\x1f{created.astimezone(UTC).isoformat()}".encode())
    return f"<{digest.hexdigest()[:32]}.groupops@{domain}>"


def eml_policy(message: EmailMessage) -> Policy:
    """SMTP's policy, or SMTPUTF8's when an address has a non-ASCII local part."""
    addresses = [a.addr_spec for h in ("From", "To") for a in message[h].addresses]
    return SMTPUTF8 if needs_smtputf8(addresses) else SMTP


def _slug(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", key).strip("_")[:150]


def _entry(row: OutboxEmail) -> OutboxEntry:
    return OutboxEntry(
        id=row.id,
        key=row.key,
        kind=row.kind,
        subject=row.subject,
        recipients=list(row.recipients),
        eml_path=Path(row.eml_path),
        status=row.status,
        attempts=row.attempts,
        last_error=row.last_error,
        created_at=row.created_at,
        sent_at=row.sent_at,
    )


def enqueue(
    engine: sa.Engine,
    email: RenderedEmail,
    *,
    key: str,
    to: Sequence[Recipient] | Mapping[str, str | None],
    sender: Recipient | str,
    outbox_dir: Path,
    kind: str = "email",
    force: bool = False,
    now: datetime | None = None,
) -> EnqueueResult:
    """Store ``email`` under ``key`` (row + ``.eml``), ready to send; see the module doc."""
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    with engine.connect() as conn:
        existing = conn.execute(sa.select(OutboxEmail.id).where(OutboxEmail.key == key)).first()
    if existing is not None and not force:
        found = get_entry(engine, existing[0])
        return EnqueueResult(found, created=False)

    recipients = _recipients(to)
    message = build_message(email, sender=sender, to=recipients, key=key, now=now)
    outbox_dir.mkdir(parents=True, exist_ok=True)
    path = outbox_dir / f"{now.astimezone(UTC):%Y%m%dT%H%M%S%f}-{_slug(key)}.eml"
    path.write_bytes(message.as_bytes(policy=eml_policy(message)))
    values = {
        "kind": kind,
        "template": email.template,
        "language": email.language,
        "subject": email.subject,
        "sender": (Recipient(sender) if isinstance(sender, str) else sender).wire.address,
        "recipients": [r.wire.address for r in recipients],
        "eml_path": str(path),
        "status": PENDING,
        "attempts": 0,
        "last_error": None,
        "updated_at": now,
        "sent_at": None,
    }
    table = OutboxEmail.__table__
    assert isinstance(table, sa.Table)
    try:
        with engine.begin() as conn:
            if existing is not None:
                conn.execute(table.update().where(table.c.key == key).values(**values))
                entry_id = existing[0]
            else:
                result = conn.execute(table.insert().values(key=key, created_at=now, **values))
                pk = result.inserted_primary_key
                assert pk is not None
                entry_id = int(pk[0])
    except IntegrityError:
        # Another run stored the same key first: keep theirs.
        path.unlink(missing_ok=True)
        with engine.connect() as conn:
            entry_id = conn.execute(sa.select(OutboxEmail.id).where(OutboxEmail.key == key)).one()[
                0
            ]
        return EnqueueResult(get_entry(engine, entry_id), created=False)
    return EnqueueResult(get_entry(engine, entry_id), created=True)


def get_entry(engine: sa.Engine, entry_id: int) -> OutboxEntry:
    with Session(engine) as session:
        return _entry(
            session.execute(sa.select(OutboxEmail).where(OutboxEmail.id == entry_id)).scalar_one()
        )


def _sendable(now: datetime) -> sa.ColumnElement[bool]:
    stale = sa.and_(OutboxEmail.status == SENDING, OutboxEmail.updated_at < now - STALE_SENDING)
    return sa.or_(OutboxEmail.status.in_(SENDABLE), stale)


def pending_entries(
    engine: sa.Engine,
    *,
    kind: str | None = None,
    keys: Sequence[str] | None = None,
    now: datetime | None = None,
) -> list[OutboxEntry]:
    """Entries still to send (``pending``, ``failed``, or ``sending`` left by a crashed run
    :data:`STALE_SENDING` ago), oldest first."""
    stmt = sa.select(OutboxEmail).where(_sendable(now or datetime.now(UTC)))
    if kind is not None:
        stmt = stmt.where(OutboxEmail.kind == kind)
    if keys is not None:
        stmt = stmt.where(OutboxEmail.key.in_(list(keys)))
    with Session(engine) as session:
        return [_entry(r) for r in session.execute(stmt.order_by(OutboxEmail.id)).scalars()]


def send_entry(
    engine: sa.Engine, entry_id: int, transport: Transport, *, now: datetime | None = None
) -> OutboxEntry:
    """Send one stored email if it is still sendable; returns its new state.

    The entry is marked ``sending`` (only if still sendable: two runs never send it at once)
    before the SMTP transaction and ``sent`` after the server accepted it. A run that dies in
    between leaves it ``sending``; after :data:`STALE_SENDING` the next run sends the same
    ``.eml`` again, byte for byte, so with the same Message-ID (at least once, never lost,
    recognisably one message). On failure the row becomes ``failed`` with the attempt counted
    and the error recorded, and the exception is re-raised for the caller's retry policy."""
    stamp = now or datetime.now(UTC)
    table = OutboxEmail.__table__
    assert isinstance(table, sa.Table)
    with engine.begin() as conn:
        claimed = conn.execute(
            table.update()
            .where(table.c.id == entry_id, _sendable(stamp))
            .values(status=SENDING, updated_at=stamp)
        ).rowcount
    entry = get_entry(engine, entry_id)
    if not claimed:  # sent already, or another run is sending it right now
        return entry
    data = entry.eml_path.read_bytes()
    with engine.connect() as conn:
        sender = conn.execute(sa.select(table.c.sender).where(table.c.id == entry_id)).scalar_one()
    try:
        transport.send(data, sender=sender, recipients=entry.recipients)
    except Exception as exc:
        _record_attempt(engine, entry_id, FAILED, f"{type(exc).__name__}: {exc}"[:2000], now)
        raise
    _record_attempt(engine, entry_id, SENT, None, now)
    return get_entry(engine, entry_id)


def _record_attempt(
    engine: sa.Engine, entry_id: int, status: str, error: str | None, now: datetime | None
) -> None:
    """Count one send attempt of an entry and record its outcome (``sent_at`` when sent)."""
    stamp = now or datetime.now(UTC)
    table = OutboxEmail.__table__
    assert isinstance(table, sa.Table)
    values: dict[str, object] = {"status": status, "attempts": table.c.attempts + 1,
                                 "last_error": error, "updated_at": stamp}  # fmt: skip
    if status == SENT:
        values["sent_at"] = stamp
    with engine.begin() as conn:
        conn.execute(table.update().where(table.c.id == entry_id).values(**values))
