"""A local HTTP server answering Slack Web API methods with their documented JSON shapes
(``ok``, ``response_metadata.next_cursor``, HTTP 429 + ``Retry-After``), for the Slack connector
tests. It records each call (method, merged parameters, headers)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

TOKEN = "xoxb-test-token"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    headers: dict[str, str]


@dataclass
class FakeSlack:
    base_url: str = ""
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    replies: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=dict)
    users: list[dict[str, Any]] = field(default_factory=list)
    pins: dict[str, list[str]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    rate_limit: dict[str, tuple[int, str]] = field(default_factory=dict)  # method -> (n, retry)
    _clock: int = 1_762_045_200

    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def next_ts(self) -> str:
        self._clock += 60
        return f"{self._clock}.000200"


def _page(items: list[Any], params: dict[str, Any], key: str) -> dict[str, Any]:
    limit = int(params.get("limit") or 100)
    start = int(params.get("cursor") or 0)
    chunk = items[start : start + limit]
    more = start + limit < len(items)
    return {
        "ok": True,
        key: chunk,
        "has_more": more,
        "response_metadata": {"next_cursor": str(start + limit) if more else ""},
    }


def _window(messages: list[dict[str, Any]], params: dict[str, Any]) -> list[dict[str, Any]]:
    inclusive = params.get("inclusive") in ("1", "true", True)
    out = []
    for m in messages:
        ts = Decimal(m["ts"])
        if "oldest" in params:
            oldest = Decimal(str(params["oldest"]))
            if ts < oldest or (ts == oldest and not inclusive):
                continue
        if "latest" in params:
            latest = Decimal(str(params["latest"]))
            if ts > latest or (ts == latest and not inclusive):
                continue
        out.append(m)
    return out


class _Handler(BaseHTTPRequestHandler):
    fake: FakeSlack

    def log_message(self, *_args: object) -> None:
        pass

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(raw)

    def _handle(self) -> None:
        fake = self.fake
        url = urlsplit(self.path)
        method = url.path.rsplit("/", 1)[-1]
        params: dict[str, Any] = {k: v[-1] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        if raw and "json" in (self.headers.get("Content-Type") or ""):
            params |= json.loads(raw)
        elif raw:
            params |= {k: v[-1] for k, v in parse_qs(raw).items()}
        fake.calls.append(Call(method, params, dict(self.headers.items())))
        count, retry = fake.rate_limit.get(method, (0, "1"))
        if count > 0:
            fake.rate_limit[method] = (count - 1, retry)
            self._send(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": retry})
            return
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._send(200, {"ok": False, "error": "invalid_auth"})
            return
        self._send(200, self._answer(method, params))

    def _answer(self, method: str, p: dict[str, Any]) -> dict[str, Any]:
        fake = self.fake
        channel = p.get("channel", "")
        if channel and channel not in fake.channels:
            return {"ok": False, "error": "channel_not_found"}
        if method == "conversations.history":
            newest_first = sorted(
                _window(fake.history[channel], p), key=lambda m: Decimal(m["ts"]), reverse=True
            )
            return _page(newest_first, p, "messages")
        if method == "conversations.replies":
            thread = fake.replies.get((channel, p["ts"]), [])
            parent = [m for m in fake.history[channel] if m["ts"] == p["ts"]]
            return _page(parent + _window(thread, p), p, "messages")
        if method == "conversations.info":
            return {"ok": True, "channel": {"id": channel, **fake.channels[channel]}}
        if method == "conversations.members":
            return _page(fake.members[channel], p, "members")
        if method == "users.list":
            return _page(fake.users, p, "members")
        if method == "pins.list":
            items = [
                {"type": "message", "created": 1, "created_by": "U1", "channel": channel,
                 "message": next(m for m in fake.history[channel] if m["ts"] == ts)}
                for ts in fake.pins[channel]
            ]  # fmt: skip
            return {"ok": True, "items": items}
        if method == "pins.add":
            if p["timestamp"] in fake.pins[channel]:
                return {"ok": False, "error": "already_pinned"}
            fake.pins[channel].append(p["timestamp"])
            return {"ok": True}
        if method == "pins.remove":
            if p["timestamp"] not in fake.pins[channel]:
                return {"ok": False, "error": "no_pin"}
            fake.pins[channel].remove(p["timestamp"])
            return {"ok": True}
        if method == "chat.delete":
            fake.history[channel] = [m for m in fake.history[channel] if m["ts"] != p["ts"]]
            return {"ok": True, "channel": channel, "ts": p["ts"]}
        if method == "conversations.kick":
            if p["user"] not in fake.members[channel]:
                return {"ok": False, "error": "not_in_channel"}
            fake.members[channel].remove(p["user"])
            return {"ok": True}
        if method == "chat.postMessage":
            ts = fake.next_ts()
            message = {"type": "message", "user": "UBOT", "text": p["text"], "ts": ts}
            fake.history[channel].append(message)
            return {"ok": True, "channel": channel, "ts": ts, "message": message}
        return {"ok": False, "error": "unknown_method"}

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()


@pytest.fixture
def slack_server() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    handler = type("Handler", (_Handler,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}/api/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
