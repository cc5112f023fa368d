"""Telegram Desktop export: ``result.json`` of one chat, or the whole-account export whose
``chats.list`` (and ``left_chats.list``) hold one object per chat."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from groupops.canonical import Entity, RawRecord
from groupops.importers._common import (
    SYSTEM_MEMBER_ID,
    ExportSource,
    bad,
    dumps,
    first,
    id_str,
    is_link_only,
    kind_from_mime,
    ok,
    slug,
    unique,
)
from groupops.importers._jsonstream import (
    Chat,
    Item,
    Messages,
    Meta,
    NotObject,
    StreamError,
    TooLong,
    Walker,
    document_events,
    open_document,
    too_long,
)
from groupops.ingest.limits import InputRefused, Limits

#: ``media_type`` values and the canonical kind they become.
MEDIA_KINDS: dict[str, str] = {
    "sticker": "image",
    "animation": "video",
    "video_file": "video",
    "video_message": "video",
    "voice_message": "voice",
    "audio_file": "voice",
}
#: Service actions that change who is in the chat.
JOIN_ACTIONS = frozenset({"invite_members", "create_group", "join_group_by_link"})
JOIN_SELF_ACTIONS = frozenset({"join_group_by_link", "join_group_by_request"})


#: Chat types of a whole-account export that are not groups (skipped unless include_personal).
PERSONAL_CHAT_TYPES: Final = frozenset({"personal_chat", "bot_chat", "saved_messages"})


def telegram_user_id(value: Any) -> str | None:
    """Both ``from_id`` shapes as one id: ``"user123"`` stays, a bare ``123`` becomes
    ``"user123"``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return f"user{value}"
    if isinstance(value, str) and value.strip():
        text = value.strip()
        return f"user{text}" if text.isdigit() else text
    return None


class TelegramExport(ExportSource):
    """A Telegram Desktop JSON export (one chat or a whole account)."""

    format = "telegram"
    platform = "telegram"

    def __init__(self, path: str | Path, include_personal: str | bool = False) -> None:
        path = Path(path)
        if path.is_dir():
            path = path / "result.json"
        super().__init__(path)
        self.limits = Limits.from_settings()
        # A whole-account export also holds people's one-to-one chats: groupops is about group
        # chats, so those stay out unless asked for (a single-chat export is always read).
        self.include_personal = str(include_personal).strip().lower() in {"1", "true", "yes"}

    def _records(self, entity: Entity) -> Iterator[RawRecord]:
        """Two streamed passes (:mod:`groupops.importers._jsonstream`): the chats' metadata,
        senders' names and pinned ids first, then the messages one at a time."""
        source = str(self.path)
        try:
            chats = self._scan()
        except InputRefused as exc:
            yield bad("messages", source, 0, "", "(file)", str(exc))
            return
        if chats is None:
            yield bad("messages", source, 0, "", "(file)", "expected a JSON object")
            return
        for chat in chats.values():
            yield from self._chat(source, chat)
        if entity == "groups":
            return
        try:
            with open_document(self.path) as raw:
                for event in document_events(Walker(raw, self.limits)):
                    if isinstance(event, Item) and event.chat in chats:
                        chat = chats[event.chat]
                        if chat.listed and chat.group_id is not None:
                            yield from self._message(source, event.index, event.value,
                                                     chat.group_id, chat.names, chat.pinned)  # fmt: skip
        except (StreamError, InputRefused) as exc:
            yield bad("messages", source, 0, "", "(file)", str(exc))

    def _scan(self) -> dict[int, _Chat] | None:
        """The chats to read (position → what the first pass learnt), ``None`` when the
        document is not an object. A document that breaks off is read up to the break (the
        second pass quarantines the break)."""
        chats: dict[int, _Chat] = {}
        account = False
        with open_document(self.path) as raw:
            try:
                for event in document_events(Walker(raw, self.limits)):
                    if isinstance(event, NotObject):
                        return None
                    chat = chats.setdefault(event.chat, _Chat(event.chat))
                    if isinstance(event, Chat):
                        account = True
                        chat.not_object = event.value
                    elif isinstance(event, Meta) and not isinstance(event.value, TooLong):
                        chat.meta[event.key] = event.value
                    elif isinstance(event, Messages):
                        chat.listed = event.is_list
                    elif isinstance(event, Item) and isinstance(event.value, Mapping):
                        chat.learn(event.value)
            except (StreamError, InputRefused):
                pass
        if account:  # a whole-account export: the chats of its lists, groups only unless asked
            return {
                pos: chat
                for pos, chat in chats.items()
                if pos > 0
                and (self.include_personal or chat.meta.get("type") not in PERSONAL_CHAT_TYPES)
            }
        return {0: chats.get(0, _Chat(0))}

    def _chat(self, source: str, chat: _Chat) -> Iterator[RawRecord]:
        """The group record of a chat (and why its messages cannot be read, if so)."""
        pos = chat.position
        if chat.not_object is not None:
            yield bad("groups", source, pos, dumps(chat.not_object), "(record)",
                      "chat is not an object")  # fmt: skip
            return
        # Without a chat id: the file's name (``result.json``: its folder's name).
        fallback = self.path.parent.name if self.path.stem == "result" else self.path.stem
        fallback = fallback or self.path.stem
        meta = chat.meta
        chat.group_id = id_str(meta.get("id")) or slug(fallback) + (f"-{pos}" if pos else "")
        yield ok(
            "groups",
            source,
            pos,
            dumps(meta),
            platform=self.platform,
            group_id=chat.group_id,
            name=first(meta, "name") or fallback,
        )
        if not chat.listed:
            yield bad("messages", source, pos, dumps(meta), "messages", "chat has no messages list")

    def _message(
        self,
        source: str,
        index: int,
        m: Any,
        group_id: str,
        names: Mapping[str, str],
        pinned: set[str],
    ) -> Iterator[RawRecord]:
        if isinstance(m, TooLong):
            yield too_long("messages", source, index, m, self.limits)
            return
        raw = dumps(m)
        if not isinstance(m, Mapping):
            yield bad("messages", source, index, raw, "(record)", "not a JSON object")
            return
        message_id = id_str(m.get("id")) or f"pos-{index}"
        sent_at = first(m, "date_unixtime", "date")
        if not isinstance(sent_at, str | int):
            yield bad("messages", source, index, raw, "date", "message without a date")
            return
        service = m.get("type") == "service"
        name = first(m, "actor", "from") if service else first(m, "from", "actor")
        sender = telegram_user_id(
            first(m, "actor_id", "from_id") if service else first(m, "from_id", "actor_id")
        )
        if sender is None and isinstance(name, str):
            sender = names.get(name) or slug(name)
        if sender is None:
            if not service:
                yield bad("messages", source, index, raw, "from_id", "message without a sender")
                return
            sender = SYSTEM_MEMBER_ID
            yield self.system_member(source)
        else:
            yield self.member(source, index, raw, sender, name if isinstance(name, str) else None)
        text, mentions = _text_and_mentions(m)
        if service:
            yield from self._membership(source, index, raw, m, group_id, sender, sent_at, names)
            action = str(m.get("action") or "service")
            kind = "system"
            members = [str(x) for x in _list(m.get("members")) if x]
            text = text or " ".join(
                x for x in (str(name or ""), action.replace("_", " "), ", ".join(members)) if x
            )
        else:
            kind = _kind(m, text)
        reply_to = id_str(m.get("reply_to_message_id"))
        edited = first(m, "edited_unixtime", "edited")
        yield self.message(
            source,
            index,
            raw,
            group_id,
            message_id,
            sender,
            sent_at,
            kind=kind,
            text=text,
            reply_to=reply_to,
            mentions=mentions,
            mention_all=False,
            pinned=message_id in pinned,
            extra={"edited_at": edited} if edited else None,
        )

    def _membership(
        self,
        source: str,
        index: int,
        raw: str,
        m: Mapping[str, Any],
        group_id: str,
        actor: str,
        at: str | int,
        names: Mapping[str, str],
    ) -> Iterator[RawRecord]:
        action = str(m.get("action"))
        listed = [x for x in _list(m.get("members")) if isinstance(x, str) and x]
        events: list[tuple[str, str, str | None]] = []  # member, event, approved_by
        if action in JOIN_SELF_ACTIONS:
            events.append((actor, "join", None))
        elif action in JOIN_ACTIONS:
            for member_name in listed:
                member = names.get(member_name) or slug(member_name)
                events.append((member, "join", None if member == actor else actor))
        elif action == "remove_members":
            for member_name in listed:
                member = names.get(member_name) or slug(member_name)
                left = member == actor
                events.append((member, "leave" if left else "removed", None if left else actor))
        for member, event, approved_by in events:
            if member not in names.values():
                name = next((n for n in listed if slug(n) == member), member)
                yield self.member(source, index, raw, member, name)
            yield self.membership(source, index, raw, group_id, member, event, at, approved_by)


@dataclass
class _Chat:
    """What the first pass learns of one chat: its keys other than ``messages``, whether
    ``messages`` is a list, display name → user id (service messages name members by name
    only) and the ids of pinned messages."""

    position: int
    meta: dict[str, Any] = field(default_factory=dict)
    listed: bool = False
    names: dict[str, str] = field(default_factory=dict)
    pinned: set[str] = field(default_factory=set)
    not_object: Any = None
    group_id: str | None = None

    def learn(self, m: Mapping[str, Any]) -> None:
        for name_key, id_key in (("from", "from_id"), ("actor", "actor_id")):
            name, uid = m.get(name_key), telegram_user_id(m.get(id_key))
            if isinstance(name, str) and name and uid:
                self.names.setdefault(name, uid)
        if m.get("action") == "pin_message" and m.get("message_id"):
            self.pinned.add(str(m.get("message_id")))


def _text_and_mentions(m: Mapping[str, Any]) -> tuple[str, list[str]]:
    """The plain text and the mentioned member ids. ``text`` is a string or a list of strings
    and entity objects; ``text_entities`` (newer exports) is the same as a list of objects.
    A ``mention_name`` entity names the user id; a ``mention`` entity only the ``@username``,
    which is kept as is (the export does not say whose it is)."""
    parts = m.get("text_entities")
    if not isinstance(parts, list) or not parts:
        text = m.get("text")
        parts = text if isinstance(text, list) else [text if isinstance(text, str) else ""]
    pieces: list[str] = []
    mentions: list[str] = []
    for part in parts:
        if isinstance(part, str):
            pieces.append(part)
        elif isinstance(part, Mapping):
            pieces.append(str(part.get("text") or ""))
            if part.get("type") == "mention_name":
                uid = telegram_user_id(part.get("user_id"))
                if uid:
                    mentions.append(uid)
            elif part.get("type") == "mention" and part.get("text"):
                mentions.append(str(part["text"]))
    return "".join(pieces), unique(mentions)


def _kind(m: Mapping[str, Any], text: str) -> str:
    media_type = m.get("media_type")
    if isinstance(media_type, str) and media_type in MEDIA_KINDS:
        return MEDIA_KINDS[media_type]
    if m.get("photo"):
        return "image"
    if m.get("file"):
        return kind_from_mime(m.get("mime_type"), str(m.get("file_name") or m.get("file")))
    if is_link_only(text):
        return "link"
    return "text"


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
