"""DiscordChatExporter JSON: one file per channel or thread (``guild``, ``channel``,
``messages``), or a folder of them (a guild export, with its ``_threads`` sub-folder)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from groupops.canonical import Entity, RawRecord
from groupops.importers._common import (
    ExportSource,
    bad,
    dumps,
    first,
    id_str,
    is_link_only,
    kind_from_filename,
    ok,
    required_id,
    unique,
)
from groupops.importers._jsonstream import (
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

#: Message types a person writes; every other type is a notice (kind ``system``).
USER_TYPES = frozenset(
    {"Default", "Reply", "ThreadStarterMessage", "ChatInputCommand", "ContextMenuCommand"}
)
#: Channel types whose messages belong to the parent channel (``channel.categoryId``).
THREAD_TYPES = frozenset({"GuildPublicThread", "GuildPrivateThread", "GuildNewsThread"})
_MENTION_ALL = re.compile(r"@(?:everyone|here)\b")


class DiscordExport(ExportSource):
    """DiscordChatExporter JSON. Thread exports are folded into their parent channel: the
    group is the parent, and a thread message that answers nothing in particular replies to
    the thread's starter (the thread id)."""

    format = "discord"
    platform = "discord"

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        self.limits = Limits.from_settings()

    def files(self) -> list[Path]:
        if self.path.is_dir():  # what is refused is quarantined by _file
            return sorted(p for p in self.path.rglob("*.json") if p.is_file() or p.is_symlink())
        return [self.path]

    def _records(self, entity: Entity) -> Iterator[RawRecord]:
        for path in self.files():
            yield from self._file(path, entity)

    def _file(self, path: Path, entity: Entity) -> Iterator[RawRecord]:
        """One exported channel, streamed (:mod:`groupops.importers._jsonstream`): its
        ``guild`` and ``channel`` first, then its messages one at a time."""
        source = str(path)
        root = self.path if self.path.is_dir() else None
        meta: dict[str, Any] = {}
        listed = False
        try:
            with open_document(path, root) as raw:
                for event in document_events(Walker(raw, self.limits), messages=False):
                    if isinstance(event, Meta) and not isinstance(event.value, TooLong):
                        meta[event.key] = event.value
                    elif isinstance(event, Messages):
                        listed = listed or event.is_list
                    elif isinstance(event, NotObject):
                        break
        except InputRefused as exc:
            yield bad("messages", source, 0, "", "(file)", str(exc))
            return
        except StreamError as exc:  # read what came before the break (the second pass stops there)
            if not (isinstance(meta.get("channel"), Mapping) and listed):
                yield bad("messages", source, 0, "", "(file)", str(exc))
                return
        if not (isinstance(meta.get("channel"), Mapping) and listed):
            yield bad("messages", source, 0, "", "(file)", "not a DiscordChatExporter export")
            return
        channel = meta["channel"]
        guild = meta.get("guild") if isinstance(meta.get("guild"), Mapping) else {}
        assert isinstance(guild, Mapping)
        thread_id: str | None = None
        if str(channel.get("type")) in THREAD_TYPES and id_str(channel.get("categoryId")):
            thread_id = id_str(channel.get("id"))
            group_id = str(id_str(channel.get("categoryId")))
            group_name = first(channel, "category") or group_id
        else:
            group_id = id_str(channel.get("id")) or path.stem
            group_name = first(channel, "name") or path.stem
        guild_name = first(guild, "name")
        yield ok(
            "groups",
            source,
            0,
            dumps({"guild": guild, "channel": channel}),
            platform=self.platform,
            group_id=group_id,
            name=f"{guild_name} #{group_name}"
            if guild_name and guild_name != "Direct Messages"
            else group_name,
        )
        if entity == "groups":
            return
        try:
            with open_document(path, root) as raw:
                for event in document_events(Walker(raw, self.limits)):
                    if isinstance(event, Item) and event.chat == 0:
                        yield from self._message(source, event.index, event.value, group_id,
                                                 thread_id)  # fmt: skip
        except (StreamError, InputRefused) as exc:
            yield bad("messages", source, 0, "", "(file)", str(exc))

    def _message(
        self, source: str, pos: int, m: Any, group_id: str, thread_id: str | None
    ) -> Iterator[RawRecord]:
        raw = dumps(m)
        if isinstance(m, TooLong):
            yield too_long("messages", source, pos, m, self.limits)
            return
        message_id = required_id("messages", source, pos, raw, m, "id", "message without an id")
        if isinstance(message_id, RawRecord):
            yield message_id
            return
        author = m.get("author") if isinstance(m.get("author"), Mapping) else None
        sender = id_str(author.get("id")) if author else None
        if author is None or sender is None:
            yield bad("messages", source, pos, raw, "author", "message without an author id")
            return
        if not isinstance(m.get("timestamp"), str):
            yield bad("messages", source, pos, raw, "timestamp", "message without a timestamp")
            return
        yield self.member(source, pos, raw, sender, first(author, "nickname", "name"))
        mentioned: list[str] = []
        for user in _list(m.get("mentions")):
            uid = id_str(user.get("id")) if isinstance(user, Mapping) else None
            if uid:
                mentioned.append(uid)
                yield self.member(source, pos, raw, uid, first(user, "nickname", "name"))
        mtype = str(m.get("type") or "Default")
        content = m.get("content") if isinstance(m.get("content"), str) else ""
        assert isinstance(content, str)
        yield from self._membership(source, pos, raw, m, mtype, group_id, sender, mentioned)
        reference = m.get("reference") if isinstance(m.get("reference"), Mapping) else {}
        assert isinstance(reference, Mapping)
        reply_to = id_str(reference.get("messageId"))
        if reply_to is None and thread_id and thread_id != message_id and mtype in USER_TYPES:
            reply_to = thread_id
        edited = m.get("timestampEdited")
        yield self.message(
            source,
            pos,
            raw,
            group_id,
            message_id,
            sender,
            m["timestamp"],
            kind=_kind(m, mtype, content),
            text=content,
            reply_to=reply_to if reply_to != message_id else None,
            mentions=unique(mentioned),
            mention_all=bool(_MENTION_ALL.search(content)),
            pinned=bool(m.get("isPinned")),
            extra={"edited_at": edited} if edited else None,
        )

    def _membership(
        self,
        source: str,
        pos: int,
        raw: str,
        m: Mapping[str, Any],
        mtype: str,
        group_id: str,
        author: str,
        mentioned: list[str],
    ) -> Iterator[RawRecord]:
        events: list[tuple[str, str, str | None]] = []
        if mtype == "GuildMemberJoin":
            events.append((author, "join", None))
        elif mtype == "RecipientAdd":
            events += [(uid, "join", author if uid != author else None) for uid in mentioned]
        elif mtype == "RecipientRemove":
            for uid in mentioned or [author]:
                left = uid == author
                events.append((uid, "leave" if left else "removed", None if left else author))
        for member, event, approved_by in events:
            yield self.membership(
                source, pos, raw, group_id, member, event, m["timestamp"], approved_by
            )


def _kind(m: Mapping[str, Any], mtype: str, content: str) -> str:
    if mtype not in USER_TYPES:
        return "system"
    attachments = [a for a in _list(m.get("attachments")) if isinstance(a, Mapping)]
    if attachments:
        return kind_from_filename(str(first(attachments[0], "fileName", "url") or ""))
    if m.get("stickers"):
        return "image"
    if is_link_only(content):
        return "link"
    return "text"


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
