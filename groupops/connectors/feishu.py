"""Feishu / Lark Open Platform connector (``open.feishu.cn`` or ``open.larksuite.com``).

A custom app authenticates with ``POST /open-apis/auth/v3/tenant_access_token/internal``
(``app_id`` + ``app_secret``; the token is cached until shortly before it expires and renewed
once when the platform says it is invalid).

History: ``GET /open-apis/im/v1/messages`` with ``container_id_type=chat``, ``start_time`` /
``end_time`` in **seconds**, ``sort_type=ByCreateTimeAsc`` and ``page_token`` paging;
``create_time`` comes back in **milliseconds** as a string, ``body.content`` as a JSON string.
The watermark is the newest ``create_time`` read and that message's id; the next pull starts at
that second and drops what it already has, so a pull bounded by ``max_messages`` resumes exactly.
Recalled messages (``deleted: true``) are skipped. Replies: ``parent_id``; mentions: ``mentions[]``
(open ids); ``@_all`` in the text is a mention of everyone.

Owner and managers come from ``GET /open-apis/im/v1/chats/{chat_id}`` (``owner_id``,
``user_manager_id_list``); members from ``/chats/{chat_id}/members``; pins from
``/open-apis/im/v1/pins`` (whose times are milliseconds). Recall is
``DELETE /open-apis/im/v1/messages/{message_id}``, removal ``DELETE /chats/{chat_id}/members``.
Feishu has no per-member mute: :meth:`mute` switches the chat's speech setting
(``PUT /chats/{chat_id}/moderation``) to ``moderator_list`` with everyone but the member, and
:meth:`unmute` adds the member back (and returns to ``all_members`` once everyone may speak).
Mutes are not timed; the moderation flow lifts a timed mute.

Rate limits: HTTP 429 (older endpoints: 400) with code ``99991400`` and an
``x-ogw-ratelimit-reset`` header (seconds) become :class:`~groupops.connectors.base.RateLimited`.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Unpack
from urllib.parse import quote

from pydantic import SecretStr

from groupops.connectors._http import (
    RateLimitedCall,
    call_with_rate_limit,
    json_body,
    retry_after_seconds,
    send,
)

if TYPE_CHECKING:  # the client library loads where a connector is opened
    import httpx

from groupops.connectors.base import (
    ALL_CAPABILITIES,
    Connector,
    GroupInfo,
    MemberInfo,
    PlatformError,
    Pull,
    Tuning,
    Watermark,
    decode_cursor,
    encode_cursor,
    iso_from_ms,
    pin_changes,
)

PLATFORM = "feishu"
RATE_LIMIT_CODES = frozenset({99991400})
# "tenant_access_token invalid/expired": renew the token once and retry.
TOKEN_CODES = frozenset({99991661, 99991663, 99991668})
_KINDS = {
    "text": "text",
    "post": "text",
    "image": "image",
    "sticker": "image",
    "audio": "voice",
    "media": "video",
    "file": "file",
    "folder": "file",
    "share_chat": "link",
    "share_user": "link",
    "system": "system",
}
_TOKEN_MARGIN_S = 300


def _post_text(content: Mapping[str, Any]) -> str:
    """Plain text of a rich-text (``post``) message: title, then paragraphs."""
    paragraphs = content.get("content") or []
    lines = [str(content["title"])] if content.get("title") else []
    for paragraph in paragraphs:
        parts = []
        for node in paragraph if isinstance(paragraph, list) else []:
            tag = node.get("tag")
            if tag in ("text", "a", "md"):
                parts.append(str(node.get("text", "")))
            elif tag == "at":
                parts.append("@" + str(node.get("user_name") or node.get("user_id", "")))
        lines.append("".join(parts))
    return "\n".join(lines)


def message_text(msg_type: str, content: Mapping[str, Any]) -> str:
    if msg_type == "text":
        return str(content.get("text", ""))
    if msg_type == "post":
        return _post_text(content)
    if msg_type in ("file", "media", "folder"):
        return str(content.get("file_name", ""))
    return ""


def _mention_id(mention: Mapping[str, Any]) -> str | None:
    ident = mention.get("id")
    if isinstance(ident, Mapping):
        ident = ident.get("open_id") or ident.get("user_id")
    return str(ident) if ident else None


def message_record(chat_id: str, item: Mapping[str, Any]) -> dict[str, Any] | None:
    """The canonical message of one ``data.items[]`` entry; ``None`` when recalled."""
    if item.get("deleted"):
        return None
    msg_type = str(item.get("msg_type", ""))
    raw_content = (item.get("body") or {}).get("content") or "{}"
    try:
        content = json.loads(raw_content)
    except ValueError:
        content = {"text": raw_content}
    text = message_text(msg_type, content if isinstance(content, dict) else {})
    mentions_raw = item.get("mentions") or []
    mention_all = "@_all" in text
    for mention in mentions_raw:
        key, name = mention.get("key"), mention.get("name")
        if key and name:
            text = text.replace(str(key), f"@{name}")
    text = text.replace("@_all", "@所有人")
    mentions = [m for m in (_mention_id(x) for x in mentions_raw) if m]
    sender = item.get("sender") or {}
    return {
        "platform": PLATFORM,
        "group_id": chat_id,
        "message_id": item["message_id"],
        "sender_id": sender.get("id"),
        "sent_at": iso_from_ms(int(item["create_time"])),
        "kind": _KINDS.get(msg_type, "text"),
        "text": text,
        "reply_to": item.get("parent_id") or None,
        "mentions": list(dict.fromkeys(mentions)),
        "mention_all": mention_all,
        "pinned": False,
    }


class FeishuConnector(Connector):
    platform = PLATFORM
    capabilities = ALL_CAPABILITIES

    default_page_size = 50

    def __init__(
        self,
        base_url: str,
        app_id: str,
        app_secret: SecretStr,
        *,
        clock: Callable[[], float] = time.monotonic,
        **tuning: Unpack[Tuning],
    ) -> None:
        super().__init__(**tuning)
        self.base_url = base_url.rstrip("/")
        self.app_id = app_id
        self._app_secret = app_secret
        self._clock = clock
        self._token: SecretStr | None = None
        self._token_expires = 0.0
        import httpx  # here: listing sources reads the class, never opens a client

        self._client = httpx.Client(base_url=self.base_url, timeout=self.timeout_s)

    def __repr__(self) -> str:
        return (
            f"FeishuConnector(base_url={self.base_url!r}, app_id={self.app_id!r}, "
            "app_secret='**********')"
        )

    def close(self) -> None:
        self._client.close()

    # -- HTTP ---------------------------------------------------------------------------------
    def _check(self, resp: httpx.Response, what: str) -> dict[str, Any]:
        body = json_body(resp, what)
        code = body.get("code")
        if code in RATE_LIMIT_CODES:
            raise RateLimitedCall(retry_after_seconds(resp.headers), f"{what}: code {code}")
        if code != 0:
            raise PlatformError(
                f"{what}: HTTP {resp.status_code} code {code}: {body.get('msg', '')}",
                status=resp.status_code,
                code=str(code),
            )
        return body

    def _tenant_token(self) -> str:
        if self._token is None or self._clock() >= self._token_expires:
            what = "POST /open-apis/auth/v3/tenant_access_token/internal"

            def once() -> dict[str, Any]:
                resp = send(
                    self._client,
                    "POST",
                    "/open-apis/auth/v3/tenant_access_token/internal",
                    json={"app_id": self.app_id, "app_secret": self._app_secret.get_secret_value()},
                )
                return self._check(resp, what)

            body = call_with_rate_limit(
                once, max_inline_wait_s=self.max_inline_wait_s, sleep=self._sleep
            )
            self._token = SecretStr(str(body["tenant_access_token"]))
            expire = float(body.get("expire", 7200))
            self._token_expires = self._clock() + max(expire - _TOKEN_MARGIN_S, expire / 2)
        return self._token.get_secret_value()

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> dict[str, Any]:
        what = f"{method} {path}"
        renewed = False

        def once() -> dict[str, Any]:
            nonlocal renewed
            while True:
                headers = {"Authorization": f"Bearer {self._tenant_token()}"}
                resp = send(self._client, method, path, params=params, json=body, headers=headers)
                try:
                    return self._check(resp, what)
                except PlatformError as exc:
                    if renewed or exc.code is None or int(exc.code) not in TOKEN_CODES:
                        raise
                    renewed = True
                    self._token = None

        data = call_with_rate_limit(
            once, max_inline_wait_s=self.max_inline_wait_s, sleep=self._sleep
        ).get("data")
        return dict(data or {})

    def _pages(
        self, path: str, params: Mapping[str, Any], *, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Items of every page (``has_more`` / ``page_token``)."""
        token: str | None = None
        seen = 0
        while True:
            page_params = dict(params)
            if token:
                page_params["page_token"] = token
            data = self._call("GET", path, params=page_params)
            for item in data.get("items") or []:
                yield item
                seen += 1
                if limit is not None and seen >= limit:
                    return
            token = data.get("page_token")
            if not data.get("has_more") or not token:
                return

    @staticmethod
    def _chat(chat_id: str) -> str:
        return f"/open-apis/im/v1/chats/{quote(chat_id, safe='')}"

    # -- reading ------------------------------------------------------------------------------
    def _pull(self, group_id: str, watermark: Watermark | None, *, now: datetime) -> Pull:
        after = watermark.at if watermark and watermark.at else None
        after_ms = int(after.timestamp() * 1000) if after else None
        start = after or self.history_since
        params: dict[str, Any] = {
            "container_id_type": "chat",
            "container_id": group_id,
            "sort_type": "ByCreateTimeAsc",
            "page_size": self.page_size,
            "end_time": str(math.floor(now.timestamp())),
        }
        if start is not None:
            params["start_time"] = str(math.floor(start.timestamp()))
        pull = Pull(PLATFORM, group_id, watermark=watermark or Watermark())
        source = f"{self.base_url}/open-apis/im/v1/messages?container_id={group_id}"
        cursor, previous_pins = decode_cursor(watermark.cursor if watermark else None)
        newest_ms, newest_id = after_ms, cursor
        pinned = set(self._list_pins(group_id))
        senders: set[str] = set()
        seen: set[str] = set()
        taken = 0
        for item in self._pages("/open-apis/im/v1/messages", params):
            created = int(item["create_time"])
            if after_ms is not None and (
                created < after_ms or (created == after_ms and item["message_id"] == cursor)
            ):
                continue  # at or before the watermark: already stored
            seen.add(str(item["message_id"]))
            record = message_record(group_id, item)
            if record is None:
                pull.skipped += 1
            else:
                record["pinned"] = record["message_id"] in pinned
                pull.add("messages", source, item, record)
                if record["sender_id"]:
                    senders.add(str(record["sender_id"]))
            if newest_ms is None or created >= newest_ms:
                newest_ms, newest_id = created, str(item["message_id"])
            taken += 1
            if taken >= self.max_messages:
                break
        for message_id in sorted(pin_changes(previous_pins, pinned) - seen):
            found = self._message(message_id)  # pinned or unpinned, older than the window
            record = message_record(group_id, found) if found else None
            if found and record:
                record["pinned"] = message_id in pinned
                pull.add(
                    "messages",
                    f"{self.base_url}/open-apis/im/v1/messages/{message_id}",
                    found,
                    record,
                )
                senders.add(str(record["sender_id"]))
        info = self._group_info(group_id)
        members = self._list_members(group_id)
        pull.add(
            "groups",
            f"{self.base_url}{self._chat(group_id)}",
            {"chat_id": group_id, "name": info.name, "owner_id": info.owner_id},
            {
                "platform": PLATFORM,
                "group_id": group_id,
                "name": info.name,
                "owner_id": info.owner_id,
                "admin_ids": list(info.admin_ids),
            },
        )
        known = {m.member_id: m for m in members}
        for member_id in sorted(set(known) | senders):
            member = known.get(member_id) or MemberInfo(member_id, member_id)
            pull.add(
                "members",
                f"{self.base_url}{self._chat(group_id)}/members",
                {"member_id": member_id, "name": member.display_name},
                {"platform": PLATFORM, "member_id": member_id, "display_name": member.display_name},
            )
        at = datetime.fromtimestamp(newest_ms / 1000, UTC) if newest_ms is not None else None
        pull.watermark = Watermark(encode_cursor(newest_id, pinned), at)
        return pull

    def _message(self, message_id: str) -> dict[str, Any] | None:
        """One message by id (``GET /open-apis/im/v1/messages/{message_id}``); ``None`` when
        it is gone or not visible to the app."""
        try:
            data = self._call("GET", f"/open-apis/im/v1/messages/{quote(message_id, safe='')}")
        except PlatformError as exc:
            if exc.transient:
                raise
            return None
        items = data.get("items") or []
        return dict(items[0]) if items else None

    def _group_info(self, group_id: str) -> GroupInfo:
        data = self._call("GET", self._chat(group_id), params={"user_id_type": "open_id"})
        owner = data.get("owner_id") or None
        managers = [str(m) for m in data.get("user_manager_id_list") or [] if m != owner]
        return GroupInfo(group_id, str(data.get("name") or group_id), owner, tuple(managers))

    def _list_members(self, group_id: str) -> list[MemberInfo]:
        items = self._pages(
            f"{self._chat(group_id)}/members", {"member_id_type": "open_id", "page_size": 100}
        )
        return sorted(
            (MemberInfo(str(i["member_id"]), str(i.get("name") or i["member_id"])) for i in items),
            key=lambda m: m.member_id,
        )

    def _list_pins(self, group_id: str) -> list[str]:
        items = self._pages("/open-apis/im/v1/pins", {"chat_id": group_id, "page_size": 50})
        return [str(i["message_id"]) for i in items]

    # -- writing ------------------------------------------------------------------------------
    def _pin(self, group_id: str, message_id: str, *, pinned: bool) -> None:
        if pinned:
            self._call("POST", "/open-apis/im/v1/pins", body={"message_id": message_id})
        else:
            self._call("DELETE", f"/open-apis/im/v1/pins/{quote(message_id, safe='')}")

    def _recall(self, group_id: str, message_id: str, reason: str | None) -> None:
        self._call("DELETE", f"/open-apis/im/v1/messages/{quote(message_id, safe='')}")

    def _moderation(self, group_id: str) -> tuple[str, set[str]]:
        """The chat's speech setting and, for ``moderator_list``, who may speak."""
        path = f"{self._chat(group_id)}/moderation"
        first = self._call("GET", path, params={"user_id_type": "open_id", "page_size": 100})
        setting = str(first.get("moderation_setting", "all_members"))
        speakers = {str(i["user_id"]) for i in first.get("items") or []}
        if first.get("has_more") and first.get("page_token"):
            params = {
                "user_id_type": "open_id",
                "page_size": 100,
                "page_token": first["page_token"],
            }
            speakers |= {str(i["user_id"]) for i in self._pages(path, params)}
        return setting, speakers

    def _set_muted(self, group_id: str, member_id: str, *, muted: bool) -> None:
        setting, speakers = self._moderation(group_id)
        path = f"{self._chat(group_id)}/moderation"
        params = {"user_id_type": "open_id"}
        if muted:
            if setting == "only_owner":
                return  # nobody but the owner and managers may speak already
            body: dict[str, Any] = {"moderation_setting": "moderator_list"}
            if setting == "all_members":
                others = [
                    m.member_id for m in self._list_members(group_id) if m.member_id != member_id
                ]
                body["moderator_added_list"] = others
            body["moderator_removed_list"] = [member_id]
            self._call("PUT", path, params=params, body=body)
            return
        if setting != "moderator_list" or member_id in speakers:
            return
        members = {m.member_id for m in self._list_members(group_id)}
        if members <= speakers | {member_id}:
            self._call("PUT", path, params=params, body={"moderation_setting": "all_members"})
        else:
            body = {"moderation_setting": "moderator_list", "moderator_added_list": [member_id]}
            self._call("PUT", path, params=params, body=body)

    def _remove_member(self, group_id: str, member_id: str, reason: str | None) -> None:
        self._call(
            "DELETE",
            f"{self._chat(group_id)}/members",
            params={"member_id_type": "open_id"},
            body={"id_list": [member_id]},
        )

    def _post(self, group_id: str, text: str, mentions: tuple[str, ...]) -> str:
        at = "".join(f'<at user_id="{m}"></at> ' for m in mentions)
        data = self._call(
            "POST",
            "/open-apis/im/v1/messages",
            params={"receive_id_type": "chat_id"},
            body={
                "receive_id": group_id,
                "msg_type": "text",
                "content": json.dumps({"text": at + text}, ensure_ascii=False),
            },
        )
        return str(data["message_id"])
