"""A local HTTP server answering like a Feishu custom bot and a WeCom group robot, with the
documented JSON: Feishu ``{"code": 0, "msg": "success"}`` (errors keep HTTP 200: 19021 sign
match fail, 9499 Bad Request, 11232 frequency limited, 19001 invalid webhook token); WeCom
``{"errcode": 0, "errmsg": "ok"}`` (93000 invalid webhook url, 45009 api freq out of limit,
40058 markdown.content over 4096 bytes).

It checks what the platforms check: the message shape, the webhook's token or key, a Feishu
signature (``timestamp`` within an hour, ``sign`` = base64(HMAC-SHA256(key=f"{timestamp}\\n
{secret}", msg=b""))), WeCom's 4096-byte markdown limit. ``script`` makes the next requests
answer something else (a rate limit, an HTTP 503, a bad request); every accepted post is kept.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

FEISHU_TOKEN = "3f2a9c1e-feishu-hook-token"
FEISHU_SIGNED_TOKEN = "7d41b0aa-feishu-signed-token"
FEISHU_SECRET = "feishu-sign-secret-Qx9"
WECOM_KEY = "693a91f6-7aaa-4bc4-97a0-0ec2sifa5aaa"

OK_FEISHU = {"code": 0, "msg": "success", "data": {}}
OK_WECOM = {"errcode": 0, "errmsg": "ok"}


@dataclass
class FakeBots:
    base_url: str = ""
    accepted: list[dict[str, Any]] = field(default_factory=list)  # {"bot", "payload"}
    requests: int = 0
    script: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # next answers

    @property
    def feishu_url(self) -> str:
        return f"{self.base_url}/open-apis/bot/v2/hook/{FEISHU_TOKEN}"

    @property
    def feishu_signed_url(self) -> str:
        return f"{self.base_url}/open-apis/bot/v2/hook/{FEISHU_SIGNED_TOKEN}"

    @property
    def wecom_url(self) -> str:
        return f"{self.base_url}/cgi-bin/webhook/send?key={WECOM_KEY}"

    def answer(self, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        self.requests += 1
        if self.script:
            return self.script.pop(0)
        if path.startswith("/open-apis/bot/v2/hook/"):
            return self._feishu(path.rsplit("/", 1)[1], body)
        if path == "/cgi-bin/webhook/send":
            return self._wecom(query.get("key", [""])[0], body)
        return 404, {"error": "not found"}

    def _feishu(self, token: str, body: Any) -> tuple[int, Any]:
        if token not in (FEISHU_TOKEN, FEISHU_SIGNED_TOKEN):
            return 200, {
                "code": 19001,
                "msg": "param invalid: incoming webhook access token invalid",
            }
        if not isinstance(body, dict) or body.get("msg_type") != "interactive":
            return 200, {"code": 9499, "msg": "Bad Request", "data": {}}
        card = body.get("card")
        if not isinstance(card, dict) or not isinstance(card.get("elements"), list):
            return 200, {"code": 9499, "msg": "Bad Request", "data": {}}
        if token == FEISHU_SIGNED_TOKEN:
            stamp = str(body.get("timestamp", ""))
            key = f"{stamp}\n{FEISHU_SECRET}".encode()
            want = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
            fresh = stamp.isdigit() and abs(time.time() - int(stamp)) < 3600
            if not fresh or body.get("sign") != want:
                return 200, {"code": 19021, "msg": "sign match fail or timestamp is not within "
                             "one hour from current time"}  # fmt: skip
        self.accepted.append({"bot": "feishu", "payload": body})
        return 200, OK_FEISHU

    def _wecom(self, key: str, body: Any) -> tuple[int, Any]:
        if key != WECOM_KEY:
            return 200, {"errcode": 93000, "errmsg": "invalid webhook url, hint: [1]"}
        if not isinstance(body, dict) or body.get("msgtype") != "markdown":
            return 200, {"errcode": 40008, "errmsg": "invalid message type"}
        content = body.get("markdown", {}).get("content", "")
        if len(content.encode()) > 4096:
            return 200, {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}
        self.accepted.append({"bot": "wecom", "payload": body})
        return 200, OK_WECOM


def _handler(fake: FakeBots) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            status, answer = fake.answer(parts.path, parse_qs(parts.query), body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@pytest.fixture
def fake_bots() -> Iterator[FakeBots]:
    fake = FakeBots()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
