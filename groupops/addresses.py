"""Email addresses as they go on the wire, validated with ``email-validator``: the one rule
for the outbox (:mod:`groupops.mail`) and for the email columns of an ingest
(:mod:`groupops.ingest.expectations`). A module of its own so both can use it.

* An internationalised domain (``例子.中国``) is IDNA-encoded (``xn--fsqu00a.xn--fiqs8s``), so
  the message and the envelope stay ASCII and any server takes them.
* A non-ASCII local part (``郑浩@…``) has no ASCII form: such a message needs SMTPUTF8
  (RFC 6531). It is built with UTF-8 headers and sent only to a server that announces
  ``SMTPUTF8``; any other server never sees it (the send fails with that reason and the email
  stays in the outbox).
* Anything else that is not an address (no ``@``, spaces, CR/LF, a display name smuggled into
  the address) is refused with :class:`InvalidAddress` before the email is stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from email_validator import EmailNotValidError, ValidatedEmail, validate_email


class InvalidAddress(ValueError):
    """Not an email address groupops can send to (the message says why)."""


@dataclass(frozen=True)
class MailAddress:
    """An address in its wire form: ``address`` is ASCII (the domain IDNA-encoded) unless
    ``smtputf8`` (a non-ASCII local part, sendable only where the server announces it)."""

    address: str
    local: str
    domain: str
    smtputf8: bool


#: An ASCII host name: what an internal mail domain may be (``localhost``, ``mailhost``,
#: ``corp.local``) although email-validator refuses single labels and special-use names.
_HOST = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
)


def _validate(text: str) -> ValidatedEmail:
    return validate_email(
        text,
        check_deliverability=False,
        allow_smtputf8=True,
        allow_display_name=False,
        globally_deliverable=False,
    )


@lru_cache(maxsize=4096)
def mail_address(text: str) -> MailAddress:
    """``text`` validated and in its wire form (see the module doc). An internal ASCII host
    name as the domain (``groupops@localhost``, ``ops@corp.local``) is accepted: the company's
    own mail server delivers there; the local part follows the same rules either way."""
    try:
        found = _validate(text)
    except EmailNotValidError as exc:
        local, at, domain = text.rpartition("@")
        if not at or not _HOST.fullmatch(domain):
            raise InvalidAddress(f"not an email address: {text!r} ({exc})") from None
        try:  # the local part by email-validator's rules, the domain as a host name
            found = _validate(f"{local}@example.com")
        except EmailNotValidError as local_exc:
            raise InvalidAddress(f"not an email address: {text!r} ({local_exc})") from None
        wire_local = found.local_part
        return MailAddress(
            f"{wire_local}@{domain.lower()}", wire_local, domain.lower(), not wire_local.isascii()
        )
    if found.ascii_email:
        local, _, domain = found.ascii_email.rpartition("@")
        return MailAddress(found.ascii_email, local, domain, smtputf8=False)
    local, _, _ = found.normalized.rpartition("@")
    domain = found.ascii_domain
    return MailAddress(f"{local}@{domain}", local, domain, smtputf8=True)


def is_mail_address(text: str) -> bool:
    """Whether :func:`mail_address` takes ``text``."""
    try:
        mail_address(text)
    except InvalidAddress:
        return False
    return True


def needs_smtputf8(addresses: list[str] | tuple[str, ...]) -> bool:
    """Whether an envelope with these (wire form) addresses needs the SMTPUTF8 extension."""
    return not all(a.isascii() for a in addresses)
