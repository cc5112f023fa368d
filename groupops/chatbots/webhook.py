"""Posting to a group bot's webhook and reading its answer.

Feishu answers ``{"code": 0, "msg": "success"}``; an error keeps HTTP 200 and says
``{"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current
time"}`` (signature), ``9499`` (bad request), ``19024`` (keyword), ``19022`` (IP not allowed),
``11232`` (frequency limited). WeCom answers ``{"errcode": 0, "errmsg": "ok"}``; ``93000``
is an invalid webhook URL, ``45009`` the rate limit.

Only a network failure, a server error (HTTP 5xx), HTTP 429 or the platform's rate-limit code is
worth retrying (:class:`BotPostError` with ``transient=True``); every other answer is a clear,
permanent error naming the platform's code and message. The webhook URL is a credential: it is
never part of an error or a log line (the bot's name is).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from groupops.chatbots.payloads import BotKind, feishu_payload, wecom_payload

if TYPE_CHECKING:  # the client is imported where a card is posted (a digest run without bots
    import httpx  # or cards to post never loads it)

#: Platform codes that mean "too many requests": retry later.
RATE_LIMIT_CODES = {"feishu": {11232}, "wecom": {45009}}
#: What the platform codes mean, for the error message.
KNOWN_CODES = {
    "feishu": {
        9499: "bad request (check the card JSON)",
        11232: "rate limited",
        19021: "signature check failed (the signing secret, or the clock)",
        19022: "IP address not allowed",
        19024: "keyword check failed",
    },
    "wecom": {
        45009: "rate limited",
        93000: "invalid webhook URL (the key is wrong or the robot was removed)",
        40008: "invalid message type",
    },
}


class BotPostError(Exception):
    """A post was not accepted. ``transient``: retrying later may succeed."""

    def __init__(self, bot: str, detail: str, *, transient: bool, code: int | None = None):
        super().__init__(f"chat bot {bot!r}: {detail}")
        self.bot = bot
        self.transient = transient
        self.code = code


@dataclass(frozen=True)
class BotTarget:
    """Where one named bot posts: its kind, webhook URL and (Feishu) signing secret."""

    name: str
    kind: BotKind
    url: SecretStr
    secret: SecretStr | None = None

    def __repr__(self) -> str:  # the URL holds the credential
        signed = ", signed" if self.secret else ""
        return f"BotTarget({self.name!r}, {self.kind}{signed})"


def build_payload(
    target: BotTarget, title: str, body: str, *, pointer: str, tone: str, now: datetime
) -> dict[str, Any]:
    """The request body for ``target`` (signed with the current time for a Feishu secret)."""
    if target.kind == "feishu":
        secret = target.secret.get_secret_value() if target.secret else None
        return feishu_payload(title, body, pointer=pointer, tone=tone, secret=secret,
                              timestamp=int(now.timestamp()))  # fmt: skip
    return wecom_payload(title, body, pointer=pointer)


def check_answer(target: BotTarget, resp: httpx.Response) -> None:
    """Raise :class:`BotPostError` unless the platform accepted the post."""
    if resp.status_code == 429 or resp.status_code >= 500:
        raise BotPostError(target.name, f"HTTP {resp.status_code}", transient=True)
    try:
        body = resp.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise BotPostError(target.name, f"HTTP {resp.status_code}, not a JSON object",
                           transient=False)  # fmt: skip
    key, msg_key = ("code", "msg") if target.kind == "feishu" else ("errcode", "errmsg")
    raw = body.get(key, body.get("StatusCode"))
    code = raw if isinstance(raw, int) else None
    if code == 0 and resp.status_code < 400:
        return
    message = str(body.get(msg_key) or "")[:300]
    meaning = KNOWN_CODES[target.kind].get(code or -1)
    detail = f"{target.kind} answered HTTP {resp.status_code}, code {code}: {message}"
    if meaning:
        detail += f" ({meaning})"
    transient = code in RATE_LIMIT_CODES[target.kind]
    raise BotPostError(target.name, detail, transient=transient, code=code)


def post(
    client: httpx.Client,
    target: BotTarget,
    title: str,
    body: str,
    *,
    pointer: str,
    tone: str = "blue",
    now: datetime | None = None,
) -> None:
    """Post one card to ``target``; returns when the platform accepted it."""
    from datetime import UTC

    import httpx

    payload = build_payload(target, title, body, pointer=pointer, tone=tone,
                            now=now or datetime.now(UTC))  # fmt: skip
    try:
        resp = client.post(target.url.get_secret_value(), json=payload)
    except httpx.TransportError as exc:
        # httpx's message may quote the URL: name only the failure's type.
        raise BotPostError(target.name, f"network error ({type(exc).__name__})",
                           transient=True) from None  # fmt: skip
    check_answer(target, resp)
