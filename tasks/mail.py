"""Prefect tasks for the outbox: sending (retried with exponential backoff, the only network
step) and the SMTP password lookup (environment first, then a Prefect Secret block)."""

from __future__ import annotations

from typing import cast

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff
from pydantic import SecretStr

from groupops import mail
from groupops.db import make_engine
from groupops.mail import SmtpConfig, SmtpTransport
from groupops.settings import Settings, get_settings


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


@task(
    name="send-entry",
    retries=4,
    retry_delay_seconds=exponential_backoff(backoff_factor=10),
    retry_jitter_factor=0.3,
    task_run_name="send-entry-{entry_id}",
    cache_policy=NO_CACHE,
)
def send_entry(entry_id: int, database_url: str | None = None) -> str:
    """Send one outbox entry (already sent: nothing happens); returns its status.

    A failure marks the entry ``failed`` (kept, with the error) and raises, so Prefect retries
    with backoff: 10 s, 20 s, 40 s, 80 s."""
    settings = get_settings()
    config = smtp_config(settings)
    if config is None:
        return "pending"
    engine = make_engine(database_url or settings.database_url)
    try:
        entry = mail.send_entry(engine, entry_id, SmtpTransport(config))
    finally:
        engine.dispose()
    get_run_logger().info(
        "outbox %s: %s to %d recipients", entry.key, entry.status, len(entry.recipients)
    )
    return entry.status


@task(name="pending-entries", cache_policy=NO_CACHE)
def pending_entries(
    keys: list[str] | None = None, kind: str | None = None, database_url: str | None = None
) -> list[int]:
    """Ids of outbox entries still to send (pending or failed), optionally only these keys."""
    engine = make_engine(database_url or get_settings().database_url)
    try:
        return [e.id for e in mail.pending_entries(engine, kind=kind, keys=keys)]
    finally:
        engine.dispose()
