"""Sending stored messages over SMTP with yagmail.

yagmail's own message builder puts the HTML into the text/plain part, so groupops builds the
MIME message itself (:func:`groupops.mail.outbox.build_message`) and uses yagmail only for the
connection: ``login()`` (plain, STARTTLS or SSL; no login without a password) and the
``smtplib`` connection's ``sendmail`` with the stored bytes.

The password comes from ``GROUPOPS_SMTP_PASSWORD`` or (looked up by ``tasks/``) a Prefect
Secret block; it is a ``SecretStr`` here and never appears in logs, reprs or errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from pydantic import SecretStr

from groupops.addresses import needs_smtputf8
from groupops.settings import Settings


class Transport(Protocol):
    """Delivers one message (RFC 5322 bytes) to the given envelope recipients."""

    def send(self, message: bytes, *, sender: str, recipients: list[str]) -> None: ...


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 25
    tls: Literal["none", "starttls", "ssl"] = "none"
    user: str | None = None
    password: SecretStr | None = None
    # Seconds a connection may wait for the server: a silent server must fail the send (and be
    # retried), never hang the flow.
    timeout_s: float = 30.0

    def __repr__(self) -> str:  # the password never shows, even as SecretStr's stars
        return f"SmtpConfig(host={self.host!r}, port={self.port}, tls={self.tls!r}, user={self.user!r})"

    @classmethod
    def from_settings(
        cls, settings: Settings, password: SecretStr | None = None
    ) -> SmtpConfig | None:
        """The configured server, or ``None`` when no host is set (emails stay in the outbox).
        ``password`` overrides ``settings.smtp_password`` (e.g. from a Secret block)."""
        if not settings.smtp_host:
            return None
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            tls=settings.smtp_tls,
            user=settings.smtp_user,
            password=password if password is not None else settings.smtp_password,
        )


class SmtpUtf8Unsupported(RuntimeError):
    """The message needs SMTPUTF8 (a non-ASCII local part) and the server does not offer it."""


class SmtpTransport:
    """One yagmail connection per :meth:`send` (digests are few; no state to go stale)."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    def send(self, message: bytes, *, sender: str, recipients: list[str]) -> None:
        import yagmail

        cfg = self.config
        password = cfg.password.get_secret_value() if cfg.password else None
        client = yagmail.SMTP(
            user={cfg.user or sender: None},
            password=password,
            host=cfg.host,
            port=cfg.port,
            smtp_ssl=cfg.tls == "ssl",
            smtp_starttls=cfg.tls == "starttls",
            smtp_skip_login=not password,
            soft_email_validation=False,
            timeout=cfg.timeout_s,  # passed through to smtplib.SMTP
        )
        utf8 = needs_smtputf8([sender, *recipients])
        try:
            client.login()
            smtp = client.smtp
            smtp.ehlo_or_helo_if_needed()
            if utf8 and not smtp.has_extn("smtputf8"):
                raise SmtpUtf8Unsupported(
                    f"{cfg.host} does not announce SMTPUTF8, which an address with a non-ASCII "
                    "local part needs: not sent (stays in the outbox)"
                )
            options = ["SMTPUTF8"] if utf8 else []
            refused = smtp.sendmail(sender, recipients, message, mail_options=options)
        finally:
            client.close()
        if refused:
            raise RuntimeError(f"the server refused recipients: {sorted(refused)}")
