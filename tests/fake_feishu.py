"""A local HTTP server answering the documented Feishu Open Platform shapes (im/v1), for the
connector and flow tests. It keeps a small in-memory chat, records every request (path, query,
body, headers) and can be told to answer the next N calls of a path with a rate limit."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

APP_ID = "cli_test_app"
APP_SECRET = "s3cret-app-secret"
TOKEN = "t-tenant-token-1"


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]


@dataclass
class FakeFeishu:
    base_url: str = ""
    chats: dict[str, dict[str, Any]] = field(default_factory=dict)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # chat -> items
    members: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    pins: dict[str, list[str]] = field(default_factory=dict)
    moderation: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    rate_limit: dict[str, int] = field(default_factory=dict)  # path -> how many 429s to send
    tokens_issued: int = 0
    token: str = TOKEN  # the tenant token the server currently issues and accepts
    _next_id: int = 0

    def add_chat(self, chat_id: str, name: str, owner: str, managers: list[str]) -> None:
        self.chats[chat_id] = {
            "name": name,
            "owner_id": owner,
            "owner_id_type": "open_id",
            "user_manager_id_list": managers,
            "bot_manager_id_list": [],
            "chat_mode": "group",
        }
        self.messages[chat_id] = []
        self.members[chat_id] = []
        self.pins[chat_id] = []
        self.moderation[chat_id] = ("all_members", [])

    def add_member(self, chat_id: str, open_id: str, name: str) -> None:
        self.members[chat_id].append(
            {"member_id_type": "open_id", "member_id": open_id, "name": name, "tenant_key": "tk"}
        )

    def add_message(
        self,
        chat_id: str,
        sender: str,
        create_ms: int,
        content: dict[str, Any],
        *,
        msg_type: str = "text",
        mentions: list[dict[str, str]] | None = None,
        parent_id: str | None = None,
    ) -> str:
        self._next_id += 1
        message_id = f"om_{self._next_id:04d}"
        item: dict[str, Any] = {
            "message_id": message_id,
            "msg_type": msg_type,
            "create_time": str(create_ms),
            "update_time": str(create_ms),
            "deleted": False,
            "updated": False,
            "chat_id": chat_id,
            "sender": {
                "id": sender,
                "id_type": "open_id",
                "sender_type": "user",
                "tenant_key": "tk",
            },
            "body": {"content": json.dumps(content, ensure_ascii=False)},
            "mentions": mentions or [],
        }
        if parent_id:
            item["parent_id"] = parent_id
            item["root_id"] = parent_id
        self.messages[chat_id].append(item)
        self.messages[chat_id].sort(key=lambda m: int(m["create_time"]))
        return message_id

    def seen(self, path: str, method: str = "GET") -> list[Seen]:
        return [r for r in self.requests if r.path == path and r.method == method]


def _page(items: list[Any], query: dict[str, str], default_size: int = 20) -> dict[str, Any]:
    size = int(query.get("page_size", default_size))
    start = int(query.get("page_token") or 0)
    chunk = items[start : start + size]
    more = start + size < len(items)
    data: dict[str, Any] = {"items": chunk, "has_more": more}
    if more:
        data["page_token"] = str(start + size)
    return data


class _Handler(BaseHTTPRequestHandler):
    fake: FakeFeishu

    def log_message(self, *_args: object) -> None:  # keep test output quiet
        pass

    def _reply(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(raw)

    def _ok(self, data: Any = None) -> None:
        self._reply(200, {"code": 0, "msg": "success", "data": data or {}})

    def _error(self, code: int, msg: str, status: int = 400) -> None:
        self._reply(status, {"code": code, "msg": msg})

    def _handle(self, method: str) -> None:
        fake = self.fake
        url = urlsplit(self.path)
        path = unquote(url.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        fake.requests.append(Seen(method, path, query, body, dict(self.headers.items())))
        if fake.rate_limit.get(path, 0) > 0:
            fake.rate_limit[path] -= 1
            self._reply(
                429,
                {"code": 99991400, "msg": "request trigger frequency limit"},
                {"x-ogw-ratelimit-reset": "2"},
            )
            return
        if path == "/open-apis/auth/v3/tenant_access_token/internal" and method == "POST":
            if body != {"app_id": APP_ID, "app_secret": APP_SECRET}:
                self._error(10003, "invalid param")
                return
            fake.tokens_issued += 1
            self._reply(
                200, {"code": 0, "msg": "ok", "tenant_access_token": fake.token, "expire": 7200}
            )
            return
        if self.headers.get("Authorization") != f"Bearer {fake.token}":
            self._error(99991663, "Invalid access token for authorization.", 400)
            return
        parts = path.split("/")
        chat_param = query.get("chat_id") or query.get("container_id")
        if chat_param is not None and chat_param not in fake.chats:
            self._error(230002, "The bot can not be outside the group.")
            return
        if path == "/open-apis/im/v1/messages" and method == "GET":
            self._list_messages(query)
        elif path == "/open-apis/im/v1/messages" and method == "POST":
            assert query.get("receive_id_type") == "chat_id"
            content = json.loads(body["content"])
            chat = body["receive_id"]
            newest = max((int(m["create_time"]) for m in fake.messages[chat]), default=0)
            message_id = fake.add_message(chat, "cli_test_app", newest + 1000, content)
            self._ok({"message_id": message_id, "chat_id": chat, "msg_type": body["msg_type"]})
        elif path.startswith("/open-apis/im/v1/messages/") and method == "GET":
            found = [
                i for items in fake.messages.values() for i in items if i["message_id"] == parts[-1]
            ]
            if not found:
                self._error(230001, "Your request contains an invalid request parameter.")
            else:
                self._ok({"items": found})
        elif path.startswith("/open-apis/im/v1/messages/") and method == "DELETE":
            for items in fake.messages.values():
                for item in items:
                    if item["message_id"] == parts[-1]:
                        item["deleted"] = True
                        item["body"] = {"content": "This message was recalled"}
            self._ok()
        elif path == "/open-apis/im/v1/pins" and method == "GET":
            pins = [
                {
                    "message_id": m,
                    "chat_id": query["chat_id"],
                    "operator_id": "ou_owner",
                    "operator_id_type": "open_id",
                    "create_time": "1700000000000",
                }
                for m in fake.pins[query["chat_id"]]
            ]
            self._ok(_page(pins, query))
        elif path == "/open-apis/im/v1/pins" and method == "POST":
            chat = next(
                c
                for c, items in fake.messages.items()
                if any(i["message_id"] == body["message_id"] for i in items)
            )
            if body["message_id"] not in fake.pins[chat]:
                fake.pins[chat].append(body["message_id"])
            self._ok({"pin": {"message_id": body["message_id"], "chat_id": chat}})
        elif path.startswith("/open-apis/im/v1/pins/") and method == "DELETE":
            for pins in fake.pins.values():
                if parts[-1] in pins:
                    pins.remove(parts[-1])
            self._ok()
        elif len(parts) == 6 and parts[4] == "chats" and method == "GET":
            chat = fake.chats.get(parts[5])
            if chat is None:
                self._error(232006, "Your request specifies a chat_id which is invalid.")
            else:
                self._ok(chat)
        elif len(parts) == 7 and parts[6] == "members" and method == "GET":
            data = _page(fake.members[parts[5]], query)
            data["member_total"] = len(fake.members[parts[5]])
            self._ok(data)
        elif len(parts) == 7 and parts[6] == "members" and method == "DELETE":
            ids = set(body["id_list"])
            fake.members[parts[5]] = [
                m for m in fake.members[parts[5]] if m["member_id"] not in ids
            ]
            self._ok({"invalid_id_list": []})
        elif len(parts) == 7 and parts[6] == "moderation" and method == "GET":
            setting, speakers = fake.moderation[parts[5]]
            items = [
                {"user_id_type": "open_id", "user_id": s, "tenant_key": "tk"} for s in speakers
            ]
            data = _page(items, query) if setting == "moderator_list" else {"has_more": False}
            self._ok({"moderation_setting": setting, **data})
        elif len(parts) == 7 and parts[6] == "moderation" and method == "PUT":
            setting, speakers = fake.moderation[parts[5]]
            new_setting = body.get("moderation_setting", setting)
            if new_setting == "moderator_list":
                current = set(speakers) if setting == "moderator_list" else set()
                current |= set(body.get("moderator_added_list") or [])
                current -= set(body.get("moderator_removed_list") or [])
                fake.moderation[parts[5]] = (new_setting, sorted(current))
            else:
                fake.moderation[parts[5]] = (new_setting, [])
            self._ok()
        else:
            self._error(404, f"no route {method} {path}", 404)

    def _list_messages(self, query: dict[str, str]) -> None:
        fake = self.fake
        if query.get("container_id_type") != "chat":
            self._error(230001, "container_id_type must be chat")
            return
        for key in ("start_time", "end_time"):
            if key in query and len(query[key]) != 10:  # documented: seconds
                self._error(230001, f"{key} must be a timestamp in seconds")
                return
        items = fake.messages.get(query["container_id"], [])
        start = int(query.get("start_time", 0)) * 1000
        end = int(query.get("end_time", 99_999_999_999)) * 1000 + 999
        selected = [m for m in items if start <= int(m["create_time"]) <= end]
        if query.get("sort_type") == "ByCreateTimeDesc":
            selected = selected[::-1]
        self._ok(_page(selected, query))

    def _safe(self, method: str) -> None:
        try:
            self._handle(method)
        except Exception as exc:  # a bug in the fake must not look like a network failure
            self._reply(500, {"code": -1, "msg": f"fake server error: {exc!r}"})

    def do_GET(self) -> None:
        self._safe("GET")

    def do_POST(self) -> None:
        self._safe("POST")

    def do_PUT(self) -> None:
        self._safe("PUT")

    def do_DELETE(self) -> None:
        self._safe("DELETE")


@pytest.fixture
def feishu_server() -> Iterator[FakeFeishu]:
    fake = FakeFeishu()
    handler = type("Handler", (_Handler,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
