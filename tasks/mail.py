"""Prefect tasks for the outbox: the one delivery task (retried with exponential backoff, the
only network step), the entries still to send, and the SMTP password lookup (environment first,
then a Prefect Secret block)."""

from __future__ import annotations

from typing import cast

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff
from pydantic import SecretStr

from groupops import mail
from groupops.db import make_engine
from groupops.mail import Delivery, DeliveryFailed, SmtpConfig, SmtpTransport
from groupops.settings import Settings, get_settings
from tasks.retrying import RETRY_TRANSIENT, retries_left


def smtp_password(settings: Settings) -> SecretStr | None:
    """``GROUPOPS_SMTP_PASSWORD``, else the Secret block named by
    ``GROUPOPS_SMTP_PASSWORD_BLOCK``, else ``None`` (no login)."""
    if settings.smtp_password is not None:
        return settings.smtp_password
    if settings.smtp_password_block:
        from prefect.blocks.system import Secret

        block = cast("Secret[str]", Secret.load(settings.smtp_password_block))
        return SecretStr(str(block.get()))
    return None


def smtp_config(settings: Settings | None = None) -> SmtpConfig | None:
    """The SMTP server to use, or ``None`` when no host is configured."""
    settings = settings or get_settings()
    if not settings.smtp_host:
        return None
    return SmtpConfig.from_settings(settings, password=smtp_password(settings))


#: Attempts after the first before a delivery gives up (10 s, 20 s, 40 s, 80 s apart, ±30 %).
DELIVERY_RETRIES = 4


@task(
    name="deliver",
    retries=DELIVERY_RETRIES,
    retry_delay_seconds=exponential_backoff(backoff_factor=10),
    retry_jitter_factor=0.3,
    cache_policy=NO_CACHE,
)
def deliver(keys: list[str], database_url: str | None = None) -> Delivery:
    """Send the outbox entries ``keys`` (:func:`groupops.mail.deliver`: each sendable one once;
    a failure stays in the outbox as ``failed``; only accepted mail is reported sent).

    While some fail and retries remain, it raises so that Prefect retries after a backoff; the
    last attempt returns the :class:`Delivery` with its failures, and the flow ends Failed
    (``Delivery.raise_for_failures``). Without an SMTP host the emails wait in the outbox."""
    settings = get_settings()
    config = smtp_config(settings)
    engine = make_engine(database_url or settings.database_url)
    try:
        delivery = mail.deliver(engine, keys, SmtpTransport(config) if config else None)
    finally:
        engine.dispose()
    log = get_run_logger()
    if config is None and delivery.pending:
        log.warning(
            "no SMTP host configured: %d email(s) stay in the outbox", len(delivery.pending)
        )
    else:
        log.info("outbox: %s", delivery.describe())
    if delivery.failed and retries_left():
        raise DeliveryFailed(delivery)
    return delivery


@task(name="pending-entries", cache_policy=NO_CACHE, **RETRY_TRANSIENT)
def pending_entries(
    kind: str | None = None, keys: list[str] | None = None, database_url: str | None = None
) -> list[str]:
    """Keys of the outbox entries still to send (pending or failed), oldest first, optionally
    only of ``kind`` / among ``keys``."""
    engine = make_engine(database_url or get_settings().database_url)
    try:
        return [e.key for e in mail.pending_entries(engine, kind=kind, keys=keys)]
    finally:
        engine.dispose()
