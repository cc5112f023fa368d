"""Email: rendering (:mod:`.render`), the outbox (:mod:`.outbox`) and SMTP sending (:mod:`.smtp`).

Every email goes the same way, whatever produced it (digests, deadline reminders, minutes)::

    from groupops.mail import Recipient, enqueue, render_email

    email = render_email("reminder", {"item": ...}, language=policy.language)
    result = enqueue(
        engine, email,
        key="reminder:task:wecom:g001:m123:step1",   # idempotency key, unique
        kind="reminder",
        to=[Recipient("li.lei@example.com", "李雷")],
        sender=settings.mail_from,
        outbox_dir=settings.outbox_dir,
    )
    # result.created is False when that key was already enqueued (nothing new stored)

Sending is separate and follows one rule, :func:`deliver` (:mod:`.delivery`): each sendable
entry is tried once, a failure stays in the outbox (``failed``, retried by the next run) and
fails the run, only what the server accepted is reported sent; with no SMTP host configured the
emails wait in the outbox. The Prefect task in ``tasks/mail.py`` adds retries with backoff.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from groupops.mail.delivery import Delivery, DeliveryFailed, deliver
    from groupops.mail.outbox import (
        EnqueueResult,
        OutboxEntry,
        Recipient,
        build_message,
        enqueue,
        get_entry,
        pending_entries,
        send_entry,
    )
    from groupops.mail.render import (
        Attachment,
        RenderedCard,
        RenderedEmail,
        render_card,
        render_email,
    )
    from groupops.mail.smtp import SmtpConfig, SmtpTransport, Transport

#: Where each name lives: loaded on first use, so a command that only formats numbers
#: (:mod:`groupops.mail.i18n`) does not load Jinja, email-validator and the outbox.
_WHERE = {
    "Attachment": "groupops.mail.render",
    "Delivery": "groupops.mail.delivery",
    "DeliveryFailed": "groupops.mail.delivery",
    "EnqueueResult": "groupops.mail.outbox",
    "OutboxEntry": "groupops.mail.outbox",
    "Recipient": "groupops.mail.outbox",
    "RenderedCard": "groupops.mail.render",
    "RenderedEmail": "groupops.mail.render",
    "SmtpConfig": "groupops.mail.smtp",
    "SmtpTransport": "groupops.mail.smtp",
    "Transport": "groupops.mail.smtp",
    "build_message": "groupops.mail.outbox",
    "deliver": "groupops.mail.delivery",
    "enqueue": "groupops.mail.outbox",
    "get_entry": "groupops.mail.outbox",
    "pending_entries": "groupops.mail.outbox",
    "render_card": "groupops.mail.render",
    "render_email": "groupops.mail.render",
    "send_entry": "groupops.mail.outbox",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)


__all__ = [
    "Attachment",
    "Delivery",
    "DeliveryFailed",
    "EnqueueResult",
    "OutboxEntry",
    "Recipient",
    "RenderedCard",
    "RenderedEmail",
    "SmtpConfig",
    "SmtpTransport",
    "Transport",
    "build_message",
    "deliver",
    "enqueue",
    "get_entry",
    "pending_entries",
    "render_card",
    "render_email",
    "send_entry",
]
