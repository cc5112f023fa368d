"""Matrix (client-server API v3) connector.

History: one ``/sync`` with a server-side filter (this room; ``m.room.message`` and
``m.room.member`` only) gives the newest events and a ``next_batch`` token, stored as the
watermark's cursor. When the timeline is ``limited`` the gap is read backwards with
``/rooms/{roomId}/messages`` (same filter, ``to`` = the previous ``next_batch``), so an
incremental pull returns exactly the events since the last stored token. The first pull of a
room reads back to ``history_since`` or at most ``max_messages`` messages.

Redacted messages (``unsigned.redacted_because``, empty content) are skipped; an edit
(``m.replace``) re-emits the original message (same id, sender and time) with the new content; replies come from ``m.relates_to.m.in_reply_to``, mentions from ``m.mentions`` and from
``matrix.to`` pills in ``formatted_body``; ``m.mentions.room`` (or a legacy ``@room``) is a
mention of everyone. Membership events become joins, leaves and removals (kick/ban).

Owner: the sender of ``m.room.create`` (room versions 11+ have no ``creator`` key; version 12
keeps creators outside ``power_levels.users``). Admins: ``additional_creators`` and users whose
power level reaches the room's kick/ban/redact level. Mute lowers the member's power level below
what sending a message needs; Matrix mutes are not timed, so a timed mute needs the moderation
flow to call :meth:`unmute` (which drops the member back to ``users_default``).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Unpack
from urllib.parse import quote, unquote

from pydantic import SecretStr

from groupops.connectors._http import RateLimitedCall, call_with_rate_limit, send

if TYPE_CHECKING:  # the client library loads where a connector is opened
    pass

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

PLATFORM = "matrix"
EVENT_TYPES = ("m.room.message", "m.room.member")
_PILL = re.compile(r"""https://matrix\.to/#/((?:@|%40)[^"'?/<>\s]+)""")
_KINDS = {
    "m.text": "text",
    "m.notice": "text",
    "m.emote": "text",
    "m.location": "text",
    "m.image": "image",
    "m.sticker": "image",
    "m.audio": "voice",
    "m.video": "video",
    "m.file": "file",
}
_DEFAULT_MODERATOR_LEVEL = 50


def _strip_reply_fallback(body: str) -> str:
    """Drop the ``> <@user> quoted text`` lines clients put before a reply's own text."""
    if not body.startswith("> "):
        return body
    lines = body.split("\n")
    i = 0
    while i < len(lines) and lines[i].startswith(">"):
        i += 1
    if i < len(lines) and lines[i] == "":
        i += 1
    return "\n".join(lines[i:])


def message_record(room_id: str, event: Mapping[str, Any]) -> dict[str, Any] | None:
    """The canonical message of an ``m.room.message`` event; ``None`` for redacted messages
    and edits (which are not new messages)."""
    content = event.get("content") or {}
    unsigned = event.get("unsigned") or {}
    if "redacted_because" in unsigned or not content:
        return None
    relates = content.get("m.relates_to") or {}
    if relates.get("rel_type") == "m.replace":
        return None
    reply_to = (relates.get("m.in_reply_to") or {}).get("event_id")
    if reply_to is None and relates.get("rel_type") == "m.thread":
        reply_to = relates.get("event_id")
    body = str(content.get("body") or "")
    if reply_to is not None:
        body = _strip_reply_fallback(body)
    explicit = content.get("m.mentions") or {}
    mentions = [str(u) for u in explicit.get("user_ids") or []]
    formatted = content.get("formatted_body")
    if isinstance(formatted, str):
        mentions += [unquote(m) for m in _PILL.findall(formatted)]
    mentions = list(dict.fromkeys(m for m in mentions if m != event.get("sender")))
    mention_all = bool(explicit.get("room")) or ("m.mentions" not in content and "@room" in body)
    return {
        "platform": PLATFORM,
        "group_id": room_id,
        "message_id": event["event_id"],
        "sender_id": event["sender"],
        "sent_at": iso_from_ms(int(event["origin_server_ts"])),
        "kind": _KINDS.get(str(content.get("msgtype")), "text"),
        "text": body,
        "reply_to": reply_to,
        "mentions": mentions,
        "mention_all": mention_all,
        "pinned": False,
    }


def edit_target(event: Mapping[str, Any]) -> str | None:
    """The event id an edit (``m.replace``) replaces; ``None`` for other events."""
    relates = (event.get("content") or {}).get("m.relates_to") or {}
    if relates.get("rel_type") == "m.replace" and relates.get("event_id"):
        return str(relates["event_id"])
    return None


def apply_edit(
    room_id: str, original: Mapping[str, Any], edit: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The original message with the edit's ``m.new_content`` (same id, sender and time);
    ``None`` when the original is gone or the edit is not by its sender (invalid per spec)."""
    if edit.get("sender") != original.get("sender"):
        return None
    new_content = dict((edit.get("content") or {}).get("m.new_content") or {})
    relates = (original.get("content") or {}).get("m.relates_to")
    if relates:
        new_content["m.relates_to"] = relates
    return message_record(room_id, {**original, "content": new_content}) if new_content else None


def membership_record(room_id: str, event: Mapping[str, Any]) -> dict[str, Any] | None:
    """A join, leave or removal from an ``m.room.member`` event (``None`` for invites and
    profile changes)."""
    content = event.get("content") or {}
    prev = ((event.get("unsigned") or {}).get("prev_content") or {}).get("membership")
    membership = content.get("membership")
    member = event.get("state_key")
    if not member:
        return None
    if membership == "join" and prev != "join":
        kind = "join"
    elif membership == "leave" and prev in ("join", "invite", "knock"):
        kind = "leave" if event.get("sender") == member else "removed"
    elif membership == "ban":
        kind = "removed"
    else:
        return None
    return {
        "platform": PLATFORM,
        "group_id": room_id,
        "member_id": member,
        "event": kind,
        "at": iso_from_ms(int(event["origin_server_ts"])),
        "approved_by": None,
        "reason": content.get("reason"),
    }


def _localpart(user_id: str) -> str:
    return user_id[1:].split(":", 1)[0] if user_id.startswith("@") else user_id


class MatrixConnector(Connector):
    platform = PLATFORM
    capabilities = ALL_CAPABILITIES

    default_page_size = 100

    def __init__(self, base_url: str, access_token: SecretStr, **tuning: Unpack[Tuning]) -> None:
        super().__init__(**tuning)
        self.base_url = base_url.rstrip("/")
        import httpx  # here: listing sources reads the class, never opens a client

        self._client = httpx.Client(
            base_url=self.base_url,
            timeout=self.timeout_s,
            headers={"Authorization": f"Bearer {access_token.get_secret_value()}"},
        )

    def __repr__(self) -> str:
        return f"MatrixConnector(base_url={self.base_url!r}, access_token='**********')"

    def close(self) -> None:
        self._client.close()

    # -- HTTP ---------------------------------------------------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        missing_ok: bool = False,
    ) -> Any:
        def once() -> Any:
            resp = send(self._client, method, path, params=params, json=body)
            if missing_ok and resp.status_code == 404:
                return None
            try:
                data = resp.json()
            except ValueError:
                data = None
            if resp.is_error:
                errcode = data.get("errcode") if isinstance(data, dict) else None
                error = data.get("error") if isinstance(data, dict) else resp.text[:200]
                if errcode == "M_LIMIT_EXCEEDED":
                    raise RateLimitedCall(
                        float(data.get("retry_after_ms", 1000)) / 1000, f"{method} {path}"
                    )
                raise PlatformError(
                    f"{method} {path}: HTTP {resp.status_code} {errcode or ''} {error}".strip(),
                    status=resp.status_code,
                    code=errcode,
                )
            return data

        return call_with_rate_limit(
            once, max_inline_wait_s=self.max_inline_wait_s, sleep=self._sleep
        )

    @staticmethod
    def _room(room_id: str) -> str:
        return f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}"

    # -- reading ------------------------------------------------------------------------------
    def _sync(self, room_id: str, since: str | None) -> dict[str, Any]:
        sync_filter = {
            "presence": {"types": []},
            "account_data": {"types": []},
            "room": {
                "rooms": [room_id],
                "timeline": {"types": list(EVENT_TYPES), "limit": self.page_size},
                "state": {"types": []},
                "ephemeral": {"types": []},
                "account_data": {"types": []},
            },
        }
        params: dict[str, Any] = {
            "filter": json.dumps(sync_filter, separators=(",", ":")),
            "timeout": 0,
            "set_presence": "offline",
        }
        if since:
            params["since"] = since
        result: dict[str, Any] = self._call("GET", "/_matrix/client/v3/sync", params=params)
        return result

    def _backfill(
        self, room_id: str, start: str, *, stop_token: str | None, budget: int | None
    ) -> list[dict[str, Any]]:
        """Events before ``start`` (back to ``stop_token``, ``history_since`` or ``budget``
        messages), oldest first."""
        room_filter = json.dumps({"types": list(EVENT_TYPES)}, separators=(",", ":"))
        since_ms = (
            int(self.history_since.timestamp() * 1000)
            if self.history_since is not None and stop_token is None
            else None
        )
        events: list[dict[str, Any]] = []
        token: str | None = start
        while token:
            params: dict[str, Any] = {
                "dir": "b",
                "from": token,
                "limit": self.page_size,
                "filter": room_filter,
            }
            if stop_token:
                params["to"] = stop_token
            page = self._call("GET", f"{self._room(room_id)}/messages", params=params)
            chunk = page.get("chunk") or []
            for event in chunk:
                if since_ms is not None and int(event.get("origin_server_ts", 0)) < since_ms:
                    return events[::-1]
                events.append(event)
                if budget is not None and len(events) >= budget:
                    return events[::-1]
            if not chunk or page.get("end") in (None, token):
                break
            token = page.get("end")
        return events[::-1]

    def _events_since(self, room_id: str, since: str | None) -> tuple[list[dict[str, Any]], str]:
        """Filtered timeline events after the ``since`` token (the room's recent history when
        ``None``), oldest first, and the new ``next_batch`` token."""
        body = self._sync(room_id, since)
        room = ((body.get("rooms") or {}).get("join") or {}).get(room_id)
        if room is None and since is None:
            raise PlatformError(f"matrix: not joined to {room_id}", status=403, code="M_FORBIDDEN")
        timeline = (room or {}).get("timeline") or {}
        events = list(timeline.get("events") or [])
        if timeline.get("limited") and timeline.get("prev_batch"):
            budget = None if since else max(self.max_messages - len(events), 0)
            if budget != 0:
                older = self._backfill(
                    room_id, timeline["prev_batch"], stop_token=since, budget=budget
                )
                seen = {e.get("event_id") for e in events}
                events = [e for e in older if e.get("event_id") not in seen] + events
        if since is None and self.history_since is not None:
            since_ms = int(self.history_since.timestamp() * 1000)
            events = [e for e in events if int(e.get("origin_server_ts", 0)) >= since_ms]
        return events, str(body["next_batch"])

    def _pull(self, group_id: str, watermark: Watermark | None, *, now: datetime) -> Pull:
        since, previous_pins = decode_cursor(watermark.cursor if watermark else None)
        events, next_batch = self._events_since(group_id, since)
        state = self._state(group_id)
        pull = Pull(PLATFORM, group_id, watermark=Watermark(next_batch, None))
        info = self._info_from_state(group_id, state)
        members = self._members_from_state(state)
        pinned = set(self._pins_from_state(state))
        source = f"{self.base_url}/_matrix/client/v3/rooms/{group_id}"
        pull.add(
            "groups",
            source,
            {"room_id": group_id},
            {
                "platform": PLATFORM,
                "group_id": group_id,
                "name": info.name,
                "owner_id": info.owner_id,
                "admin_ids": list(info.admin_ids),
            },
        )
        newest = watermark.at if watermark else None
        senders: set[str] = set()
        messages: dict[str, tuple[Mapping[str, Any], dict[str, Any]]] = {}
        edits: dict[str, list[Mapping[str, Any]]] = {}
        for event in events:
            if event.get("type") == "m.room.member":
                record = membership_record(group_id, event)
                if record is not None:
                    pull.add("memberships", f"{source}/messages", event, record)
                    senders.add(record["member_id"])
                continue
            target = edit_target(event)
            if target is not None:
                edits.setdefault(target, []).append(event)  # oldest first
                continue
            msg = message_record(group_id, event)
            if msg is None:
                pull.skipped += 1
                continue
            messages[msg["message_id"]] = (event, msg)
            at = datetime.fromtimestamp(int(event["origin_server_ts"]) / 1000, UTC)
            newest = at if newest is None or at > newest else newest
        for original_id, replacements in edits.items():
            pull.skipped += len(replacements)  # edit events are not messages themselves
            original: Mapping[str, Any] | None = (
                messages[original_id][0]
                if original_id in messages
                else self._event(group_id, original_id)
            )
            if original is None:
                continue
            valid = [r for r in (apply_edit(group_id, original, e) for e in replacements) if r]
            if valid:
                messages[original_id] = (original, valid[-1])  # the last valid edit wins
        for event_id in sorted(pin_changes(previous_pins, pinned) - set(messages)):
            pinned_event = self._event(group_id, event_id)  # older than the window
            msg = message_record(group_id, pinned_event) if pinned_event else None
            if pinned_event and msg:
                messages[event_id] = (pinned_event, msg)
        for raw, msg in messages.values():
            msg["pinned"] = msg["message_id"] in pinned
            pull.add("messages", f"{source}/messages", raw, msg)
            senders.add(msg["sender_id"])
        known = {m.member_id: m for m in members}
        for user_id in sorted(set(known) | senders):
            member = known.get(user_id) or MemberInfo(user_id, _localpart(user_id))
            pull.add(
                "members",
                source,
                {"user_id": user_id},
                {"platform": PLATFORM, "member_id": user_id, "display_name": member.display_name},
            )
        pull.watermark = Watermark(encode_cursor(next_batch, pinned), newest)
        return pull

    def _event(self, room_id: str, event_id: str) -> dict[str, Any] | None:
        """One event by id (``None`` when the server does not know it)."""
        path = f"{self._room(room_id)}/event/{quote(event_id, safe='')}"
        event = self._call("GET", path, missing_ok=True)
        return dict(event) if event else None

    def _state(self, room_id: str) -> dict[tuple[str, str], dict[str, Any]]:
        events = self._call("GET", f"{self._room(room_id)}/state") or []
        return {(e["type"], e.get("state_key", "")): e for e in events}

    def _state_content(self, room_id: str, event_type: str) -> dict[str, Any]:
        path = f"{self._room(room_id)}/state/{quote(event_type, safe='')}"
        content = self._call("GET", path, missing_ok=True)
        return dict(content or {})

    def _put_state(self, room_id: str, event_type: str, content: Mapping[str, Any]) -> None:
        self._call("PUT", f"{self._room(room_id)}/state/{quote(event_type, safe='')}", body=content)

    @staticmethod
    def _info_from_state(room_id: str, state: Mapping[tuple[str, str], Any]) -> GroupInfo:
        name = ((state.get(("m.room.name", "")) or {}).get("content") or {}).get("name")
        alias = ((state.get(("m.room.canonical_alias", "")) or {}).get("content") or {}).get(
            "alias"
        )
        create = state.get(("m.room.create", "")) or {}
        create_content = create.get("content") or {}
        owner = create_content.get("creator") or create.get("sender")
        power = (state.get(("m.room.power_levels", "")) or {}).get("content") or {}
        threshold = min(
            int(power.get(key, _DEFAULT_MODERATOR_LEVEL)) for key in ("kick", "ban", "redact")
        )
        admins = [str(u) for u in create_content.get("additional_creators") or []]
        admins += [
            str(u) for u, level in (power.get("users") or {}).items() if int(level) >= threshold
        ]
        admin_ids = tuple(dict.fromkeys(a for a in admins if a != owner))
        return GroupInfo(room_id, str(name or alias or room_id), owner, admin_ids)

    @staticmethod
    def _members_from_state(state: Mapping[tuple[str, str], Any]) -> list[MemberInfo]:
        members = []
        for (event_type, key), event in state.items():
            content = event.get("content") or {}
            if event_type == "m.room.member" and content.get("membership") == "join":
                members.append(MemberInfo(key, str(content.get("displayname") or _localpart(key))))
        return sorted(members, key=lambda m: m.member_id)

    @staticmethod
    def _pins_from_state(state: Mapping[tuple[str, str], Any]) -> list[str]:
        content = (state.get(("m.room.pinned_events", "")) or {}).get("content") or {}
        return [str(e) for e in content.get("pinned") or []]

    def _group_info(self, group_id: str) -> GroupInfo:
        return self._info_from_state(group_id, self._state(group_id))

    def _list_members(self, group_id: str) -> list[MemberInfo]:
        joined = self._call("GET", f"{self._room(group_id)}/joined_members").get("joined") or {}
        return sorted(
            (
                MemberInfo(uid, str((info or {}).get("display_name") or _localpart(uid)))
                for uid, info in joined.items()
            ),
            key=lambda m: m.member_id,
        )

    def _list_pins(self, group_id: str) -> list[str]:
        content = self._state_content(group_id, "m.room.pinned_events")
        return [str(e) for e in content.get("pinned") or []]

    # -- writing ------------------------------------------------------------------------------
    def _pin(self, group_id: str, message_id: str, *, pinned: bool) -> None:
        current = self._list_pins(group_id)
        wanted = [*current, message_id] if pinned and message_id not in current else current
        if not pinned:
            wanted = [e for e in current if e != message_id]
        if wanted != current:
            self._put_state(group_id, "m.room.pinned_events", {"pinned": wanted})

    def _recall(self, group_id: str, message_id: str, reason: str | None) -> None:
        path = f"{self._room(group_id)}/redact/{quote(message_id, safe='')}/{uuid.uuid4().hex}"
        self._call("PUT", path, body={"reason": reason} if reason else {})

    def _set_muted(self, group_id: str, member_id: str, *, muted: bool) -> None:
        power = self._state_content(group_id, "m.room.power_levels")
        events_default = int(power.get("events_default", 0))
        send_level = int((power.get("events") or {}).get("m.room.message", events_default))
        users = dict(power.get("users") or {})
        if muted:
            users[member_id] = min(events_default, send_level) - 1
        elif member_id in users and int(users[member_id]) < send_level:
            del users[member_id]
        else:
            return
        self._put_state(group_id, "m.room.power_levels", {**power, "users": users})

    def _remove_member(self, group_id: str, member_id: str, reason: str | None) -> None:
        body: dict[str, Any] = {"user_id": member_id}
        if reason:
            body["reason"] = reason
        self._call("POST", f"{self._room(group_id)}/kick", body=body)

    def _post(self, group_id: str, text: str, mentions: tuple[str, ...]) -> str:
        content: dict[str, Any] = {
            "msgtype": "m.text",
            "body": text,
            "m.mentions": {"user_ids": list(mentions)},
        }
        path = f"{self._room(group_id)}/send/m.room.message/{uuid.uuid4().hex}"
        return str(self._call("PUT", path, body=content)["event_id"])
