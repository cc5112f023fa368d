"""The one delivery rule (groupops/mail/delivery.py) against real SMTP servers: what the server
accepts is reported sent, what it refuses or cannot reach stays in the outbox as failed and is
sent by a later delivery, and without a server everything waits."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from groupops.mail import (
    Delivery,
    DeliveryFailed,
    Recipient,
    SmtpConfig,
    SmtpTransport,
    deliver,
    enqueue,
    get_entry,
    pending_entries,
)
from groupops.mail.render import RenderedEmail
from tests.ports import free_port

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
EMAIL = RenderedEmail("hello", "en", "Hello", "Hello.", "<p>Hello.</p>")
KEYS = ["k:one", "k:two"]


def queue(engine: sa.Engine, outbox: Path) -> list[int]:
    return [
        enqueue(engine, EMAIL, key=key, to=[Recipient(f"{n}@example.com")],
                sender="ops@example.com", outbox_dir=outbox, now=NOW).entry.id
        for n, key in enumerate(KEYS)
    ]  # fmt: skip


def transport(host: str, port: int) -> SmtpTransport:
    return SmtpTransport(SmtpConfig(host=host, port=port, timeout_s=10))


def test_what_the_server_accepts_is_sent_once(
    engine: sa.Engine, tmp_path: Path, smtp_server: tuple[str, int, list]
) -> None:
    host, port, received = smtp_server
    queue(engine, tmp_path)
    delivery = deliver(engine, KEYS, transport(host, port))
    assert delivery == Delivery(sent=KEYS)
    assert len(received) == 2 and pending_entries(engine) == []
    again = deliver(engine, KEYS, transport(host, port))  # nothing is sent twice
    assert again.sent == KEYS and len(received) == 2
    delivery.raise_for_failures()  # no failure: nothing raised


@pytest.mark.parametrize("server", ["refusing", "closed port"])
def test_a_failed_send_stays_in_the_outbox_and_a_later_delivery_sends_it(
    engine: sa.Engine,
    tmp_path: Path,
    smtp_server: tuple[str, int, list],
    refusing_smtp_server: tuple[str, int, list],
    server: str,
) -> None:
    ids = queue(engine, tmp_path)
    bad_host, bad_port, refused = refusing_smtp_server
    if server == "closed port":
        bad_port = free_port()
    failed = deliver(engine, KEYS, transport(bad_host, bad_port))
    assert failed.sent == [] and list(failed.failed) == KEYS and not failed.ok
    assert refused == []
    for entry_id in ids:
        entry = get_entry(engine, entry_id)
        assert entry.status == "failed" and entry.attempts == 1 and entry.last_error
        assert entry.eml_path.exists()
    with pytest.raises(DeliveryFailed, match="2 email"):
        failed.raise_for_failures()

    host, port, received = smtp_server
    later = deliver(engine, KEYS, transport(host, port))
    assert later == Delivery(sent=KEYS) and len(received) == 2
    assert [get_entry(engine, i).attempts for i in ids] == [2, 2]


def test_without_a_server_everything_waits_and_nothing_fails(
    engine: sa.Engine, tmp_path: Path
) -> None:
    ids = queue(engine, tmp_path)
    waiting = deliver(engine, KEYS, None)
    assert waiting == Delivery(pending=KEYS) and waiting.ok
    assert [get_entry(engine, i).status for i in ids] == ["pending", "pending"]
