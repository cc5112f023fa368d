"""Delivering the outbox: the one rule every sender follows (digests, deadline reminders, and
whatever comes next; the flows through ``tasks/mail.py``, ``groupops digest --local`` directly).

* :func:`deliver` tries each given outbox entry that is still sendable (``pending`` or
  ``failed``) once, through the transport, and reports every entry's state from the outbox
  afterwards: ``sent``, ``failed`` (with the last error) or ``pending``.
* A failed send is never lost and never silent: the entry stays in the outbox as ``failed``,
  sendable, and the next delivery tries it again; the caller turns any failure into a failed
  run (:meth:`Delivery.raise_for_failures`: ``DeliveryFailed``). ``tasks/mail.py`` retries the
  delivery with backoff before it gives up.
* Without a transport (no SMTP host configured) nothing is sent and nothing fails: the entries
  wait in the outbox (``pending``) for a run that has one.
* Only an entry the server accepted is reported ``sent``; an entry merely queued never is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from groupops.db.models import OutboxEmail
from groupops.mail.outbox import SENDING, SENT, pending_entries, send_entry
from groupops.mail.smtp import Transport


@dataclass(frozen=True)
class Delivery:
    """The state of the entries a delivery was given, after it (keys in the given order)."""

    sent: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # key → the last error
    # waiting: no transport configured, or another run is sending it right now
    pending: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def describe(self) -> str:
        parts = [f"{len(self.sent)} sent", f"{len(self.failed)} failed"]
        if self.pending:
            parts.append(f"{len(self.pending)} waiting in the outbox (no SMTP host)")
        return ", ".join(parts)

    def raise_for_failures(self) -> None:
        """Raise :class:`DeliveryFailed` when any entry could not be sent."""
        if self.failed:
            raise DeliveryFailed(self)


class DeliveryFailed(RuntimeError):
    """Some emails could not be sent; they stay in the outbox and the next run retries them."""

    def __init__(self, delivery: Delivery) -> None:
        self.delivery = delivery
        failures = "; ".join(f"{key}: {error}" for key, error in delivery.failed.items())
        super().__init__(
            f"{len(delivery.failed)} email(s) could not be sent and stay in the outbox for the "
            f"next run: {failures}"
        )


def deliver(
    engine: sa.Engine,
    keys: Sequence[str],
    transport: Transport | None,
    *,
    now: datetime | None = None,
) -> Delivery:
    """Send the outbox entries ``keys`` that are still sendable, each once, and report the
    state of every one of them (see the module doc). ``transport=None``: send nothing."""
    errors: dict[str, str] = {}
    if transport is not None:
        for entry in pending_entries(engine, keys=keys, now=now):
            try:
                send_entry(engine, entry.id, transport, now=now)
            except Exception as exc:  # recorded on the entry by send_entry; reported below
                errors[entry.key] = f"{type(exc).__name__}: {exc}"
    table = OutboxEmail.__table__
    assert isinstance(table, sa.Table)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(table.c.key, table.c.status, table.c.last_error).where(
                table.c.key.in_(list(keys))
            )
        ).all()
    state = {str(key): (str(status), error) for key, status, error in rows}
    sent = [k for k in keys if k in state and state[k][0] == SENT]
    unsent = [k for k in keys if k in state and state[k][0] != SENT]
    if transport is None:
        return Delivery(sent=sent, pending=unsent)
    in_flight = [k for k in unsent if state[k][0] == SENDING and k not in errors]
    failed = {k: state[k][1] or errors.get(k, "not sent") for k in unsent if k not in in_flight}
    return Delivery(sent=sent, failed=failed, pending=in_flight)
