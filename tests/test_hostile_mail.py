"""Email under crashes and hostile addresses (issue 14), against real SMTP servers (aiosmtpd):
one stable Message-ID per outbox entry, ``sending`` before the SMTP transaction and a crashed
``sending`` entry resent with the same Message-ID; addresses validated with email-validator
(IDN domains encoded, non-ASCII local parts only where the server announces SMTPUTF8)."""

from __future__ import annotations

import email
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.policy import default
from pathlib import Path

import pytest
import sqlalchemy as sa

from groupops.addresses import InvalidAddress, mail_address
from groupops.db.models import OutboxEmail
from groupops.mail import (
    Recipient,
    SmtpConfig,
    SmtpTransport,
    deliver,
    enqueue,
    get_entry,
    pending_entries,
)
from groupops.mail.outbox import STALE_SENDING
from groupops.mail.render import RenderedEmail
from tests.ports import free_port

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
EMAIL = RenderedEmail("hello", "zh-CN", "你好", "你好。", "<p>你好。</p>")


def transport(host: str, port: int) -> SmtpTransport:
    return SmtpTransport(SmtpConfig(host=host, port=port, timeout_s=10))


class _Collect:
    def __init__(self) -> None:
        self.envelopes: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.envelopes.append(
            (envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content))
        )
        return "250 OK"


@pytest.fixture
def ascii_smtp_server() -> Iterator[tuple[str, int, list[tuple[str, list[str], bytes]]]]:
    """aiosmtpd without SMTPUTF8 (RFC 6531) in its EHLO answer (the shared ``smtp_server``
    announces it, aiosmtpd's Controller default)."""
    from aiosmtpd.controller import Controller

    handler = _Collect()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, enable_SMTPUTF8=False)
    controller.start()
    try:
        yield "127.0.0.1", port, handler.envelopes
    finally:
        controller.stop()


def put(engine: sa.Engine, outbox: Path, key: str, to: str, *, force: bool = False, now=NOW):
    return enqueue(engine, EMAIL, key=key, to=[Recipient(to, "郑浩")], sender="ops@example.com",
                   outbox_dir=outbox, now=now, force=force).entry  # fmt: skip


def message_id(raw: bytes) -> str:
    return str(email.message_from_bytes(raw, policy=default)["Message-ID"])


def test_message_id_is_stable_per_entry_and_new_when_forced(
    engine: sa.Engine, tmp_path: Path
) -> None:
    first = put(engine, tmp_path, "k:1", "a@example.com")
    again = put(engine, tmp_path, "k:1", "a@example.com")
    other = put(engine, tmp_path, "k:2", "a@example.com")
    assert first.message_id == again.message_id != other.message_id
    assert first.message_id is not None and first.message_id.endswith("@example.com>")
    forced = put(engine, tmp_path, "k:1", "a@example.com", force=True, now=NOW + timedelta(1))
    assert forced.message_id != first.message_id


def test_a_crash_during_smtp_resends_the_same_message_id(
    engine: sa.Engine, tmp_path: Path, smtp_server: tuple[str, int, list]
) -> None:
    """Killed between the server's acceptance and the outbox recording it: the entry stays
    ``sending``; a later run (after STALE_SENDING) sends the same bytes again."""
    host, port, received = smtp_server
    entry = put(engine, tmp_path, "k:crash", "a@example.com")

    class DiesAfterSending:
        def send(self, message: bytes, *, sender: str, recipients: list[str]) -> None:
            transport(host, port).send(message, sender=sender, recipients=recipients)
            raise SystemExit("kill -9 after the server accepted")  # not an Exception: a crash

    with pytest.raises(SystemExit):
        deliver(engine, ["k:crash"], DiesAfterSending(), now=NOW)
    assert get_entry(engine, entry.id).status == "sending" and len(received) == 1
    # a concurrent run right after: the entry is in flight, neither sent nor failed
    soon = deliver(engine, ["k:crash"], transport(host, port), now=NOW + timedelta(minutes=1))
    assert soon.pending == ["k:crash"] and soon.ok and len(received) == 1
    assert pending_entries(engine, now=NOW + timedelta(minutes=1)) == []
    later = NOW + STALE_SENDING + timedelta(minutes=1)
    assert [e.key for e in pending_entries(engine, now=later)] == ["k:crash"]
    again = deliver(engine, ["k:crash"], transport(host, port), now=later)
    assert again.sent == ["k:crash"] and len(received) == 2
    assert message_id(received[0][2]) == message_id(received[1][2]) == entry.message_id
    assert get_entry(engine, entry.id).status == "sent"


def test_sending_is_marked_before_the_smtp_transaction(engine: sa.Engine, tmp_path: Path) -> None:
    entry = put(engine, tmp_path, "k:seen", "a@example.com")
    seen: list[str] = []

    class Watching:
        def send(self, message: bytes, *, sender: str, recipients: list[str]) -> None:
            with engine.connect() as conn:
                seen.append(
                    conn.execute(
                        sa.select(OutboxEmail.status).where(OutboxEmail.id == entry.id)
                    ).scalar_one()
                )

    assert deliver(engine, ["k:seen"], Watching(), now=NOW).sent == ["k:seen"]
    assert seen == ["sending"]


@pytest.mark.parametrize(
    ("given", "wire", "utf8"),
    [
        ("zheng@例子.中国", "zheng@xn--fsqu00a.xn--fiqs8s", False),
        ("Li.Lei@Example.COM", "Li.Lei@example.com", False),
        ("郑浩@例子.中国", "郑浩@xn--fsqu00a.xn--fiqs8s", True),
        ("groupops@localhost", "groupops@localhost", False),  # an internal mail host
        ("ops@Corp.Local", "ops@corp.local", False),
        ("运营@mailhost", "运营@mailhost", True),
    ],
)
def test_addresses_in_wire_form(given: str, wire: str, utf8: bool) -> None:
    found = mail_address(given)
    assert (found.address, found.smtputf8) == (wire, utf8)


@pytest.mark.parametrize(
    "bad", ["no-at-sign", "a@b@c.com", "a b@example.com", "x@example.com\r\nBcc: y@z.com",
            "李雷 <li@example.com>", "a@", "@example.com", "a@-bad-.host", "a..b@localhost",
            "x@host\r\nBcc: y"],
)  # fmt: skip
def test_invalid_addresses_are_refused_before_storing(
    engine: sa.Engine, tmp_path: Path, bad: str
) -> None:
    with pytest.raises(InvalidAddress, match="not an email address"):
        put(engine, tmp_path, "k:bad", bad)
    assert pending_entries(engine, now=NOW) == []


def test_idn_domain_is_encoded_in_header_and_envelope(
    engine: sa.Engine, tmp_path: Path, smtp_server: tuple[str, int, list]
) -> None:
    host, port, received = smtp_server
    put(engine, tmp_path, "k:idn", "zheng@例子.中国")
    assert deliver(engine, ["k:idn"], transport(host, port), now=NOW).sent == ["k:idn"]
    [(_, rcpt, raw)] = received
    assert rcpt == ["zheng@xn--fsqu00a.xn--fiqs8s"]
    assert raw.partition(b"\r\n\r\n")[0].isascii()  # the headers
    parsed = email.message_from_bytes(raw, policy=default)
    assert parsed["To"].addresses[0].addr_spec == "zheng@xn--fsqu00a.xn--fiqs8s"
    assert parsed["To"].addresses[0].display_name == "郑浩"


def test_non_ascii_local_part_needs_smtputf8(
    engine: sa.Engine,
    tmp_path: Path,
    ascii_smtp_server: tuple[str, int, list],
    smtp_server: tuple[str, int, list],
) -> None:
    entry = put(engine, tmp_path, "k:utf8", "郑浩@例子.中国")
    host, port, received = ascii_smtp_server
    refused = deliver(engine, ["k:utf8"], transport(host, port), now=NOW)
    assert "SMTPUTF8" in refused.failed.get("k:utf8", str(refused)) and received == []
    assert get_entry(engine, entry.id).status == "failed"

    host, port, accepted = smtp_server  # announces SMTPUTF8
    later = deliver(engine, ["k:utf8"], transport(host, port), now=NOW)
    assert later.sent == ["k:utf8"]
    [(_, rcpt, raw)] = accepted
    # aiosmtpd hands the envelope's UTF-8 bytes over surrogate-escaped
    assert [r.encode("utf-8", "surrogateescape").decode() for r in rcpt] == [
        "郑浩@xn--fsqu00a.xn--fiqs8s"
    ]
    headers = raw.partition(b"\r\n\r\n")[0].decode("utf-8")  # SMTPUTF8: UTF-8 headers
    assert "To: 郑浩 <郑浩@xn--fsqu00a.xn--fiqs8s>" in headers.splitlines()
    assert message_id(raw) == entry.message_id


# -- the ingest's email columns: the same rule ------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "accepted"),
    [
        ("li.lei@example.com", True),
        ("郑浩@例子.中国", True),  # a non-ASCII local part: stored, sent only with SMTPUTF8
        ("ops@例子.中国", True),  # an IDN domain
        ("ops@localhost", True),  # an internal host name, as the outbox takes it
        ("not-an-email", False),
        ("a b@example.com", False),
        ("李雷 <li@example.com>", False),  # a display name smuggled into the address
        ("li@example.com\r\nBcc: x@evil.com", False),
        ("a@@example.com", False),
        ("@example.com", False),
    ],
)
def test_ingest_checks_member_emails_by_the_outbox_rule(address: str, accepted: bool) -> None:
    """A member's (or a roster row's) email is validated by email-validator exactly as the
    outbox validates a recipient: what the ingest stores, the outbox can send to."""
    import pandas as pd

    from groupops.ingest.expectations import Bounds, validate

    frame = pd.DataFrame(
        {"platform": ["wecom", "wecom"], "member_id": ["u1", "u2"], "display_name": ["甲", "乙"],
         "email": [address, address], "_source": "members.jsonl", "_line": [1, 2], "_raw": "{}"}
    )  # fmt: skip
    bounds = Bounds(0.0, 1e15)
    kept, rejected = validate("members", frame, bounds=bounds)
    try:
        mail_address(address)
        outbox = True
    except InvalidAddress:
        outbox = False
    assert outbox is accepted
    assert len(kept) == (2 if accepted else 0)
    assert [(r.field, r.reason) for r in rejected] == (
        [] if accepted else [("email", f"not an email address: {address!r}")] * 2
    )
