"""What a group bot is sent: a Feishu interactive card or a WeCom markdown message, built from a
card's title and markdown body (rendered from the same context as the email:
:func:`groupops.mail.render_card`).

* Feishu custom bot: ``{"msg_type": "interactive", "card": {...}}`` with a header (the title)
  and one ``markdown`` element (the body); with a signing secret also ``timestamp`` (seconds)
  and ``sign`` = base64(HMAC-SHA256(key = ``f"{timestamp}\\n{secret}"``, message = empty)).
  The request body may be at most 20 KB.
* WeCom group robot: ``{"msgtype": "markdown", "markdown": {"content": ...}}``; the content may
  be at most 4096 bytes (UTF-8).

A body over the limit is cut at a line boundary and ends with a pointer to the email that
carries the whole report (``pointer``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any, Literal

BotKind = Literal["feishu", "wecom"]
#: WeCom: ``markdown.content`` at most this many bytes.
WECOM_MARKDOWN_MAX_BYTES = 4096
#: Feishu: the whole request body at most 20 KB; the card's markdown is kept under this.
FEISHU_BODY_MAX_BYTES = 18_000


def feishu_sign(timestamp: int, secret: str) -> str:
    """Feishu's signature of a custom-bot request (the key is the string to sign)."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


def truncate_lines(text: str, max_bytes: int, pointer: str) -> str:
    """``text`` if it fits in ``max_bytes`` (UTF-8), else its first whole lines followed by
    ``pointer`` (on its own line), the whole at most ``max_bytes``."""
    if len(text.encode()) <= max_bytes:
        return text
    budget = max_bytes - len(pointer.encode()) - 1
    if budget <= 0:
        return pointer.encode()[:max_bytes].decode(errors="ignore")
    kept: list[str] = []
    used = 0
    for line in text.splitlines():
        size = len(line.encode()) + 1
        if used + size > budget:
            if not kept:  # one gigantic first line: cut it at a character boundary
                kept.append(line.encode()[: budget - 1].decode(errors="ignore"))
            break
        kept.append(line)
        used += size
    return "\n".join(kept) + "\n" + pointer


def feishu_card(title: str, body: str, *, pointer: str, tone: str = "blue") -> dict[str, Any]:
    """The ``card`` of a Feishu interactive message: a coloured header and the markdown."""
    return {
        "config": {"wide_screen_mode": True},
        "header": {"title": {"tag": "plain_text", "content": title}, "template": tone},
        "elements": [
            {"tag": "markdown", "content": truncate_lines(body, FEISHU_BODY_MAX_BYTES, pointer)}
        ],
    }


def feishu_payload(
    title: str,
    body: str,
    *,
    pointer: str,
    tone: str = "blue",
    secret: str | None = None,
    timestamp: int | None = None,
) -> dict[str, Any]:
    """The request body for a Feishu custom bot (signed when there is a ``secret``)."""
    payload: dict[str, Any] = {
        "msg_type": "interactive",
        "card": feishu_card(title, body, pointer=pointer, tone=tone),
    }
    if secret:
        if timestamp is None:
            raise ValueError("a signed Feishu request needs its timestamp")
        payload["timestamp"] = str(timestamp)
        payload["sign"] = feishu_sign(timestamp, secret)
    return payload


def wecom_payload(title: str, body: str, *, pointer: str) -> dict[str, Any]:
    """The request body for a WeCom group robot: the title in bold, then the markdown, within
    the 4096-byte limit."""
    content = truncate_lines(f"**{title}**\n{body}", WECOM_MARKDOWN_MAX_BYTES, pointer)
    return {"msgtype": "markdown", "markdown": {"content": content}}


def payload_bytes(payload: dict[str, Any]) -> int:
    """The size of ``payload`` as sent (compact JSON, UTF-8)."""
    return len(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode())
