"""Slack Web API connector, through ``slack_sdk.WebClient`` (``base_url`` is configurable).

History: ``conversations.history`` from the watermark's ``ts`` (``oldest``, exclusive) with
cursor paging, then ``conversations.replies`` for every thread parent in the window (replies
newer than the watermark). Slack lists newest first; the connector keeps the oldest
``max_messages`` and sets the watermark to the newest top-level ``ts`` it kept, so a bounded pull
resumes exactly. A reply posted later to a thread whose parent is older than the watermark is
not seen (Slack only surfaces it through the parent's ``latest_reply``).

Mentions: ``<@U…>``; ``<!channel>``, ``<!here>``, ``<!everyone>`` mention everyone. Thread
replies answer their ``thread_ts``. ``channel_join``/``channel_leave`` become memberships;
edits, deletions and tombstones are skipped.

Owner: the channel's ``creator`` (``conversations.info``); admins: workspace owners and admins
among the members (Slack has no per-channel admins in the Web API). Slack offers no mute, so
:class:`SlackConnector` does not declare :attr:`~groupops.connectors.base.Capability.MUTE`.

Rate limits: HTTP 429 with ``Retry-After`` (seconds) is waited out when short, otherwise raised
as :class:`~groupops.connectors.base.RateLimited`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Unpack
from urllib.error import URLError

from pydantic import SecretStr

from groupops.connectors._http import RateLimitedCall, call_with_rate_limit, retry_after_seconds
from groupops.connectors.base import (
    ALL_CAPABILITIES,
    Capability,
    Connector,
    ConnectorError,
    GroupInfo,
    MemberInfo,
    PlatformError,
    Pull,
    Tuning,
    Watermark,
    decode_cursor,
    encode_cursor,
    pin_changes,
)

PLATFORM = "slack"
_USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_ALL_MENTION = re.compile(r"<!(?:channel|here|everyone)(?:\|[^>]*)?>")
_SKIPPED_SUBTYPES = frozenset({"message_changed", "message_deleted", "tombstone"})
_MEMBERSHIP_SUBTYPES = {"channel_join": "join", "channel_leave": "leave", "group_join": "join",
                        "group_leave": "leave"}  # fmt: skip


def ts_to_datetime(ts: str) -> datetime:
    """A Slack ``ts`` (``"1700000000.000100"``) as an aware UTC instant, to the microsecond."""
    seconds, _, fraction = ts.partition(".")
    micros = int((fraction + "000000")[:6])
    return datetime.fromtimestamp(int(seconds), UTC) + timedelta(microseconds=micros)


def datetime_to_ts(at: datetime) -> str:
    return f"{Decimal(int(at.timestamp() * 1_000_000)) / Decimal(1_000_000):.6f}"


def _kind(message: Mapping[str, Any]) -> str:
    files = message.get("files") or []
    if not files:
        return "text"
    mimetype = str(files[0].get("mimetype", ""))
    for prefix, kind in (("image/", "image"), ("audio/", "voice"), ("video/", "video")):
        if mimetype.startswith(prefix):
            return kind
    return "file"


def message_record(channel: str, message: Mapping[str, Any]) -> dict[str, Any] | None:
    """The canonical message of one Slack message (``None`` for edits/deletions/joins)."""
    subtype = message.get("subtype")
    if subtype in _SKIPPED_SUBTYPES or subtype in _MEMBERSHIP_SUBTYPES:
        return None
    ts = str(message["ts"])
    text = str(message.get("text") or "")
    thread_ts = message.get("thread_ts")
    sender = message.get("user") or message.get("bot_id")
    return {
        "platform": PLATFORM,
        "group_id": channel,
        "message_id": ts,
        "sender_id": sender,
        "sent_at": ts_to_datetime(ts).isoformat(timespec="microseconds"),
        "kind": _kind(message),
        "text": text,
        "reply_to": thread_ts if thread_ts and thread_ts != ts else None,
        "mentions": list(dict.fromkeys(m for m in _USER_MENTION.findall(text) if m != sender)),
        "mention_all": bool(_ALL_MENTION.search(text)),
        "pinned": channel in (message.get("pinned_to") or []),
    }


def membership_record(channel: str, message: Mapping[str, Any]) -> dict[str, Any] | None:
    event = _MEMBERSHIP_SUBTYPES.get(str(message.get("subtype")))
    if event is None or not message.get("user"):
        return None
    return {
        "platform": PLATFORM,
        "group_id": channel,
        "member_id": message["user"],
        "event": event,
        "at": ts_to_datetime(str(message["ts"])).isoformat(timespec="microseconds"),
        "approved_by": message.get("inviter"),
        "reason": None,
    }


class SlackConnector(Connector):
    platform = PLATFORM
    capabilities = ALL_CAPABILITIES & ~Capability.MUTE

    default_page_size = 200

    def __init__(self, base_url: str, token: SecretStr, **tuning: Unpack[Tuning]) -> None:
        super().__init__(**tuning)
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        from slack_sdk import WebClient  # here: listing sources reads the class only

        self._client = WebClient(
            token=token.get_secret_value(), base_url=self.base_url, timeout=int(self.timeout_s)
        )

    def __repr__(self) -> str:
        return f"SlackConnector(base_url={self.base_url!r}, token='**********')"

    # -- HTTP ---------------------------------------------------------------------------------
    def _call(self, method: str, **params: Any) -> dict[str, Any]:
        """One Web API method through slack-sdk, with typed errors and Retry-After."""
        fn = getattr(self._client, method.replace(".", "_"))

        from slack_sdk.errors import SlackApiError

        def once() -> dict[str, Any]:
            try:
                response = fn(**params)
            except SlackApiError as exc:
                resp = exc.response
                if resp.status_code == 429:
                    raise RateLimitedCall(
                        retry_after_seconds(dict(resp.headers)), f"{method}: HTTP 429"
                    ) from None
                error = resp.get("error") if isinstance(resp.data, dict) else None
                raise PlatformError(
                    f"{method}: HTTP {resp.status_code} {error or ''}".strip(),
                    status=resp.status_code,
                    code=error,
                ) from None
            except (URLError, OSError) as exc:
                err = ConnectorError(f"{method}: {type(exc).__name__}: {exc}")
                err.transient = True
                raise err from exc
            data: dict[str, Any] = response.data if isinstance(response.data, dict) else {}
            return data

        return call_with_rate_limit(
            once, max_inline_wait_s=self.max_inline_wait_s, sleep=self._sleep
        )

    def _paged(self, method: str, key: str, **params: Any) -> Iterator[Any]:
        cursor: str | None = None
        while True:
            page = self._call(method, **params, **({"cursor": cursor} if cursor else {}))
            yield from page.get(key) or []
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return

    # -- reading ------------------------------------------------------------------------------
    def _pull(self, group_id: str, watermark: Watermark | None, *, now: datetime) -> Pull:
        position, previous_pins = decode_cursor(watermark.cursor if watermark else None)
        oldest = position
        if oldest is None and self.history_since is not None:
            oldest = datetime_to_ts(self.history_since)
        params: dict[str, Any] = {
            "channel": group_id,
            "limit": self.page_size,
            "latest": datetime_to_ts(now),
        }
        if oldest:
            params |= {"oldest": oldest, "inclusive": False}
        history = list(self._paged("conversations.history", "messages", **params))
        history.sort(key=lambda m: Decimal(str(m["ts"])))
        history = history[: self.max_messages]
        pull = Pull(PLATFORM, group_id, watermark=watermark or Watermark())
        source = f"{self.base_url}conversations.history?channel={group_id}"
        pins = self._pinned_messages(group_id)
        pinned = set(pins)
        senders: set[str] = set()
        seen: set[str] = set()
        for message in history:
            seen.add(str(message["ts"]))
            self._add(pull, group_id, message, source, pinned, senders)
            if int(message.get("reply_count") or 0) > 0:
                replies_params: dict[str, Any] = {
                    "channel": group_id,
                    "ts": message["ts"],
                    "limit": self.page_size,
                }
                if oldest:
                    replies_params |= {"oldest": oldest, "inclusive": False}
                for reply in self._paged("conversations.replies", "messages", **replies_params):
                    if reply["ts"] != message["ts"]:
                        seen.add(str(reply["ts"]))
                        self._add(
                            pull,
                            group_id,
                            reply,
                            f"{self.base_url}conversations.replies",
                            pinned,
                            senders,
                        )
        for ts in sorted(pin_changes(previous_pins, pinned) - seen):
            older = pins.get(ts) or self._message_at(group_id, ts)  # outside the window
            if older is not None:
                self._add(pull, group_id, older, f"{self.base_url}pins.list", pinned, senders)
        info = self._group_info(group_id)
        pull.add(
            "groups",
            f"{self.base_url}conversations.info?channel={group_id}",
            {"channel": group_id, "name": info.name, "creator": info.owner_id},
            {"platform": PLATFORM, "group_id": group_id, "name": info.name,
             "owner_id": info.owner_id, "admin_ids": list(info.admin_ids)},
        )  # fmt: skip
        known = {m.member_id: m for m in self._list_members(group_id)}
        for member_id in sorted(set(known) | senders):
            member = known.get(member_id) or MemberInfo(member_id, member_id)
            data = {"platform": PLATFORM, "member_id": member_id, "display_name": member.display_name,
                    "real_name": member.real_name, "email": member.email}  # fmt: skip
            pull.add("members", f"{self.base_url}users.list", {"id": member_id}, data)
        if history:
            position = str(history[-1]["ts"])
        at = ts_to_datetime(position) if position else None
        pull.watermark = Watermark(encode_cursor(position, pinned), at)
        return pull

    def _message_at(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The top-level message with this ``ts`` (``None`` when deleted or a thread reply)."""
        page = self._call(
            "conversations.history", channel=channel, latest=ts, oldest=ts, inclusive=True, limit=1
        )
        found = [m for m in page.get("messages") or [] if str(m.get("ts")) == ts]
        return dict(found[0]) if found else None

    @staticmethod
    def _add(
        pull: Pull,
        channel: str,
        message: Mapping[str, Any],
        source: str,
        pinned: set[str],
        senders: set[str],
    ) -> None:
        membership = membership_record(channel, message)
        if membership is not None:
            pull.add("memberships", source, message, membership)
            senders.add(str(membership["member_id"]))
            return
        record = message_record(channel, message)
        if record is None or not record["sender_id"]:
            pull.skipped += 1
            return
        record["pinned"] = record["pinned"] or record["message_id"] in pinned
        pull.add("messages", source, message, record)
        senders.add(str(record["sender_id"]))

    def _users(self) -> dict[str, dict[str, Any]]:
        return {u["id"]: u for u in self._paged("users.list", "members", limit=self.page_size)}

    def _group_info(self, group_id: str) -> GroupInfo:
        channel = self._call("conversations.info", channel=group_id).get("channel") or {}
        owner = channel.get("creator") or None
        members = set(
            self._paged("conversations.members", "members", channel=group_id, limit=self.page_size)
        )
        users = self._users()
        admins = sorted(
            m for m in members
            if m != owner and (users.get(m, {}).get("is_admin") or users.get(m, {}).get("is_owner"))
        )  # fmt: skip
        return GroupInfo(group_id, str(channel.get("name") or group_id), owner, tuple(admins))

    def _list_members(self, group_id: str) -> list[MemberInfo]:
        ids = list(
            self._paged("conversations.members", "members", channel=group_id, limit=self.page_size)
        )
        users = self._users()
        out = []
        for member_id in ids:
            user = users.get(member_id) or {}
            profile = user.get("profile") or {}
            name = (
                profile.get("display_name")
                or user.get("real_name")
                or user.get("name")
                or member_id
            )
            out.append(
                MemberInfo(member_id, str(name), profile.get("email"), user.get("real_name"))
            )
        return sorted(out, key=lambda m: m.member_id)

    def _pinned_messages(self, group_id: str) -> dict[str, dict[str, Any]]:
        """The channel's pinned messages by ``ts`` (``pins.list`` returns them whole)."""
        items = self._call("pins.list", channel=group_id).get("items") or []
        return {
            str(i["message"]["ts"]): dict(i["message"])
            for i in items
            if i.get("type") == "message" and i.get("message")
        }

    def _list_pins(self, group_id: str) -> list[str]:
        return list(self._pinned_messages(group_id))

    # -- writing ------------------------------------------------------------------------------
    def _pin(self, group_id: str, message_id: str, *, pinned: bool) -> None:
        try:
            self._call(
                "pins.add" if pinned else "pins.remove", channel=group_id, timestamp=message_id
            )
        except PlatformError as exc:
            if exc.code not in ("already_pinned", "no_pin"):
                raise

    def _recall(self, group_id: str, message_id: str, reason: str | None) -> None:
        self._call("chat.delete", channel=group_id, ts=message_id)

    def _remove_member(self, group_id: str, member_id: str, reason: str | None) -> None:
        self._call("conversations.kick", channel=group_id, user=member_id)

    def _post(self, group_id: str, text: str, mentions: tuple[str, ...]) -> str:
        prefix = "".join(f"<@{m}> " for m in mentions)
        return str(self._call("chat.postMessage", channel=group_id, text=prefix + text)["ts"])
