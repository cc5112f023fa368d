"""Telegram Desktop export: ``result.json`` of one chat, or the whole-account export whose
``chats.list`` (and ``left_chats.list``) hold one object per chat."""

from __future__ import annotations

from codecs import BOM_UTF8 as BOM
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final, NamedTuple

from groupops.canonical import FIELDS, Entity, RawRecord, RecordError, unstated_fields
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
    BUFFER,
    Chat,
    Declined,
    Event,
    Item,
    Messages,
    Meta,
    NotObject,
    Omitting,
    PrefixWalker,
    StreamError,
    TooLong,
    Walker,
    document_events,
    fast_items,
    keyed_array_items,
    keyed_array_ranges,
    open_document,
    parse_ranges,
    too_long,
)
from groupops.ingest.limits import InputRefused, Limits

if TYPE_CHECKING:
    import pandas as pd

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
MEMBERSHIP_ACTIONS = JOIN_ACTIONS | JOIN_SELF_ACTIONS | {"remove_members"}


#: Chat types of a whole-account export that are not groups (skipped unless include_personal).
PERSONAL_CHAT_TYPES: Final = frozenset({"personal_chat", "bot_chat", "saved_messages"})


def telegram_user_id(value: Any) -> str | None:
    """Both ``from_id`` shapes as one id: ``"user123"`` stays, a bare ``123`` becomes
    ``"user123"``."""
    if isinstance(value, str):  # each distinct id worked out once
        return _text_user_id(str(value))
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return f"user{value}"
    return None


@lru_cache(maxsize=4096)
def _text_user_id(value: str) -> str | None:
    """:func:`telegram_user_id` of a string (an export names a few senders many times)."""
    text = value.strip()
    if not text:
        return None
    return f"user{text}" if text.isdigit() else text


class TelegramExport(ExportSource):
    """A Telegram Desktop JSON export (one chat or a whole account)."""

    format = "telegram"
    platform = "telegram"

    def __init__(
        self, path: str | Path, include_personal: str | bool = False, *, fast: bool = True
    ) -> None:
        path = Path(path)
        if path.is_dir():
            path = path / "result.json"
        super().__init__(path)
        self.limits = Limits.from_settings()
        # A whole-account export also holds people's one-to-one chats: groupops is about group
        # chats, so those stay out unless asked for (a single-chat export is always read).
        self.include_personal = str(include_personal).strip().lower() in {"1", "true", "yes"}
        self._scanned: tuple[tuple[int, int] | None, _Scan] | None = None
        # ``fast=False``: every message built by the per-event reader and read as records
        # (what the fast path is proven against, tests/test_telegram_fast.py).
        self.fast = fast

    def _records(self, entity: Entity) -> Iterator[RawRecord]:
        for record in self._walk(entity, rows=False):
            assert isinstance(record, RawRecord)
            yield record

    def chunks(self, entity: Entity, size: int) -> Iterator[list[RawRecord] | pd.DataFrame] | None:
        """The messages ``size`` at a time as frames of the canonical columns, built in bulk
        (what :func:`groupops.ingest.normalise.normalise` would build from the records
        :meth:`records` gives, the same rows; the records it would quarantine come as lists);
        ``None`` for the other entities (read as records)."""
        if entity != "messages" or not self.fast:
            return None
        return self._message_chunks(size)

    def _message_chunks(self, size: int) -> Iterator[list[RawRecord] | pd.DataFrame]:
        from groupops.ingest.pipeline import CHUNK_RAW_CHARS

        batch = _Batch(str(self.path))
        for item in self._walk("messages", rows=True):
            if isinstance(item, _Row):
                batch.add_row(item)
            elif item.entity != "messages":
                continue
            elif item.error is not None or item.data is None:
                batch.bad.append(item)
                batch.held += len(item.raw)
            else:
                batch.add_record(item)
            # The per-record path's chunk boundaries (``_chunks``: every record counts), so a
            # message given twice is judged within a chunk exactly as there.
            if len(batch.lines) + len(batch.bad) >= size or batch.held >= CHUNK_RAW_CHARS:
                yield from batch.flush()
        yield from batch.flush()

    def _walk(self, entity: Entity, *, rows: bool) -> Iterator[RawRecord | _Row]:
        """Two streamed passes (:mod:`groupops.importers._jsonstream`): the chats' metadata,
        senders' names and pinned ids first (once per source and file version), then the
        messages one at a time. ``rows``: a plain message comes as a :class:`_Row` of its
        message's fields (the rest of its records, a member, are not asked for)."""
        source = str(self.path)
        scan = self._scan_once()
        if scan.refused is not None:
            yield bad("messages", source, 0, "", "(file)", scan.refused)
            return
        chats = scan.chats
        if chats is None:
            yield bad("messages", source, 0, "", "(file)", "expected a JSON object")
            return
        for chat in chats.values():
            yield from self._chat(source, chat)
        if entity == "groups":
            return
        if entity == "members" and scan.fast and all(c.senders is not None for c in chats.values()):
            # Every member is a plain message's sender with an id: the scan kept each one's
            # first message (what the messages pass would give first).
            for chat in chats.values():
                for sender, (index, raw, name) in (chat.senders or {}).items():
                    yield self.member(source, index, raw, sender, name)
            return
        if entity == "memberships" and self.fast and not any(c.memberships for c in chats.values()):
            return  # no service message of the export names a join or a departure
        senders: set[str] = set()
        try:
            for event in self._events(scan):
                if not isinstance(event, Item) or event.chat not in chats:
                    continue
                chat = chats[event.chat]
                if not chat.listed or chat.group_id is None:
                    continue
                m, index = event.value, event.index
                if (
                    self.fast
                    and entity != "messages"
                    and isinstance(m, Mapping)
                    and m.get("type") != "service"
                ):
                    # A plain message gives a member and a message record (or a message's
                    # quarantine): only the member's first record counts (``records``).
                    if entity == "members":
                        plain = _plain(m, index, chat.names, chat.pinned)
                        if isinstance(plain, _Row) and plain.sender_id not in senders:
                            senders.add(plain.sender_id)
                            yield self.member(source, index, dumps(m), plain.sender_id,
                                              plain.name)  # fmt: skip
                    continue
                if rows and isinstance(m, _MAPPING) and m.get("type") != "service":
                    plain = _plain(m, index, chat.names, chat.pinned, chat.group_id, raw=True)
                    if isinstance(plain, _Row):
                        yield plain
                        continue
                yield from self._message(source, index, m, chat.group_id, chat.names, chat.pinned)
        except (StreamError, InputRefused) as exc:
            yield bad("messages", source, 0, "", "(file)", str(exc))

    def _events(self, scan: _Scan) -> Iterator[Event]:
        """The document's events for the messages pass: a proven single-chat export's
        messages parsed by orjson from the byte ranges the scan found (:class:`_Ranges`) or
        built by the C parser (:func:`~groupops.importers._jsonstream.fast_items`), the rest
        (from wherever that pass declines) by the per-event reader."""
        done = 0
        if scan.ranges is not None:
            try:
                with open_document(self.path) as raw:
                    for index, value in scan.ranges.items(raw):
                        done = index
                        yield Item(0, index, value)
                return
            except Declined:
                pass
        elif scan.fast:
            try:
                with open_document(self.path) as raw:
                    for index, value in fast_items(raw, self.limits, "messages.item"):
                        done = index
                        yield Item(0, index, value)
                return
            except Declined:
                pass
        with open_document(self.path) as raw:
            yield from document_events(Walker(raw, self.limits), skip=done)

    def _scan_once(self) -> _Scan:
        """:meth:`_scan`, kept while the file is unchanged (every entity's pass needs it)."""
        try:
            stat = self.path.stat()
            version: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            version = None
        cached = self._scanned
        if cached is not None and version is not None and cached[0] == version:
            return cached[1]
        try:
            scan = (self.fast and (self._ranged_scan() or self._fast_scan())) or _Scan(self._scan())
        except InputRefused as exc:
            scan = _Scan(None, refused=str(exc))
        self._scanned = (version, scan)
        return scan

    def _ranged_scan(self) -> _Scan | None:
        """:meth:`_fast_scan` without the C parser's build of every message: the byte ranges
        of the messages found by a vectorised scan
        (:func:`~groupops.importers._jsonstream.keyed_array_ranges`), the rest of the document
        proven valid JSON by orjson and read by the same :class:`PrefixWalker`, the messages
        parsed by orjson a block at a time (:class:`_Ranges`); the document whole is then
        valid JSON, as :func:`fast_items` proves it. ``None`` when anything needs the other
        readers: a BOM, a file past ``max_file_bytes``, not exactly one ``messages`` array, a
        message whose bytes could pass ``max_record_bytes``, what the parsers would read
        differently (tests/test_telegram_fast.py)."""
        import orjson

        limits = self.limits
        span = (limits.max_record_bytes - 1) // 7  # what fast_items takes (the same values)
        chat = _Chat(0)
        try:
            with open_document(self.path) as raw:
                if self.path.stat().st_size > limits.max_file_bytes or raw.read(3) == BOM:
                    return None
                found = keyed_array_ranges(raw, "messages")
                if len(found) != 1:
                    return None
                start, end, starts, ends = found[0]
                if int((ends - starts).max()) > span:
                    return None
                gaps = [(start, end)]
                lean = Omitting(raw, gaps)
                skeleton = b"".join(iter(partial(lean.read, BUFFER), b""))
                try:
                    orjson.loads(skeleton)  # the document less its messages is valid JSON
                except orjson.JSONDecodeError:
                    return None
                ranges = _Ranges(starts, ends)
                for index, value in ranges.items(raw):
                    if isinstance(value, _MAPPING):
                        chat.take(index, value)
                lists = 0
                walker = PrefixWalker(Omitting(raw, gaps), limits)
                for event in document_events(walker, messages=False):
                    if isinstance(event, NotObject | Chat):
                        return None
                    if isinstance(event, Meta) and not isinstance(event.value, TooLong):
                        chat.meta[event.key] = event.value
                    elif isinstance(event, Messages):
                        lists += 1
                        chat.listed = event.is_list
        except (Declined, StreamError):
            return None
        if lists != 1 or not chat.listed:
            return None
        return _Scan({0: chat}, fast=True, ranges=ranges)

    def _fast_scan(self) -> _Scan | None:
        """:meth:`_scan` of a single-chat export read cleanly by the C parser (its messages
        by :func:`fast_items`, its other keys by a :class:`PrefixWalker` over the document
        with the ``messages`` arrays' items left out, found by
        :func:`~groupops.importers._jsonstream.keyed_array_items` once the C parser has read
        it as valid JSON); ``None`` when anything about the document needs the per-event
        reader (it then scans it itself)."""
        chat = _Chat(0)
        try:
            with open_document(self.path) as raw:
                for index, value in fast_items(raw, self.limits, "messages.item"):
                    if isinstance(value, Mapping):
                        chat.learn(value)
                        chat.note_sender(index, value)
                lean = Omitting(raw, keyed_array_items(raw, "messages"))
                lists = 0
                for event in document_events(PrefixWalker(lean, self.limits), messages=False):
                    if isinstance(event, NotObject | Chat):
                        return None
                    if isinstance(event, Meta) and not isinstance(event.value, TooLong):
                        chat.meta[event.key] = event.value
                    elif isinstance(event, Messages):
                        lists += 1
                        chat.listed = event.is_list
        except (Declined, StreamError):
            return None
        if lists > 1 or (lists == 1 and not chat.listed):
            return None  # two message keys, or one that is no list: the per-event reader
        return _Scan({0: chat}, fast=True)

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
        if m.get("type") != "service":
            plain = _plain(m, index, names, pinned)
            if isinstance(plain, RecordError):
                yield bad("messages", source, index, raw, plain.field, plain.reason)
                return
            yield self.member(source, index, raw, plain.sender_id, plain.name)
            edited = first(m, "edited_unixtime", "edited")
            yield self.message(source, index, raw, group_id, plain.message_id,
                               plain.sender_id, plain.sent_at, kind=plain.kind,
                               text=plain.text, reply_to=plain.reply_to,
                               mentions=plain.mentions, mention_all=False,
                               pinned=plain.pinned, extra={"edited_at": edited} if edited else None)  # fmt: skip
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
    memberships: int = 0  # service messages that may name a join or a departure
    #: Each sender's first message (position, JSON text, display name), while every member
    #: the messages give is a plain message's sender with an id (``None`` once not so).
    senders: dict[str, tuple[int, str, str | None]] | None = field(default_factory=dict)

    def note_sender(self, index: int, m: Mapping[str, Any]) -> None:
        """What :meth:`TelegramExport._message` makes the member of: a plain message with a
        date names its sender by id (or by name: then the first pass's names are needed, so
        the members are read in the messages pass)."""
        if self.senders is None:
            return
        if m.get("type") == "service":
            self.senders = None  # a service message's members: the messages pass
            return
        if not isinstance(first(m, "date_unixtime", "date"), str | int):
            return
        name = first(m, "from", "actor")
        sender = telegram_user_id(first(m, "from_id", "actor_id"))
        if sender is None:
            if isinstance(name, str):
                self.senders = None
            return
        if sender not in self.senders:
            self.senders[sender] = (index, dumps(m), name if isinstance(name, str) else None)

    def take(self, index: int, m: Mapping[str, Any]) -> None:
        """:meth:`learn` and :meth:`note_sender` of one message: a plain message with a
        ``date_unixtime``, ``from`` and ``from_id`` strings and no ``actor``, ``actor_id`` or
        ``action`` read inline (the same, tests/test_telegram_fast.py)."""
        get = m.get
        name, value = get("from"), get("from_id")
        if (
            type(name) is str
            and name
            and type(value) is str
            and value
            and type(sent := get("date_unixtime")) is str
            and sent
            and get("type") != "service"
            and "actor" not in m
            and "actor_id" not in m
            and "action" not in m
            and (sender := _text_user_id(value)) is not None
        ):
            self.names.setdefault(name, sender)
            senders = self.senders
            if senders is not None and sender not in senders:
                senders[sender] = (index, dumps(m), name)
            return
        self.learn(m)
        self.note_sender(index, m)

    def learn(self, m: Mapping[str, Any]) -> None:
        for name_key, id_key in (("from", "from_id"), ("actor", "actor_id")):
            name = m.get(name_key)
            if isinstance(name, str) and name:  # the id is read only for a name
                uid = telegram_user_id(m.get(id_key))
                if uid:
                    self.names.setdefault(name, uid)
        if m.get("action") == "pin_message" and m.get("message_id"):
            self.pinned.add(str(m.get("message_id")))
        if m.get("type") == "service" and str(m.get("action")) in MEMBERSHIP_ACTIONS:
            self.memberships += 1


#: ``Mapping`` with ``dict`` first: what the JSON parser builds is told without the ABC's check.
_MAPPING: Final = (dict, Mapping)


def _text_and_mentions(m: Mapping[str, Any]) -> tuple[str, list[str]]:
    """The plain text and the mentioned member ids. ``text`` is a string or a list of strings
    and entity objects; ``text_entities`` (newer exports) is the same as a list of objects.
    A ``mention_name`` entity names the user id; a ``mention`` entity only the ``@username``,
    which is kept as is (the export does not say whose it is)."""
    parts = m.get("text_entities")
    if not isinstance(parts, list) or not parts:
        text = m.get("text")
        if not isinstance(text, list):
            return (text if isinstance(text, str) else ""), []
        parts = text
    pieces: list[str] = []
    mentions: list[str] = []
    for part in parts:
        if isinstance(part, str):
            pieces.append(part)
        elif isinstance(part, _MAPPING):
            pieces.append(str(part.get("text") or ""))
            kind = part.get("type")
            if kind == "mention_name":
                uid = telegram_user_id(part.get("user_id"))
                if uid:
                    mentions.append(uid)
            elif kind == "mention" and part.get("text"):
                mentions.append(str(part["text"]))
    return "".join(pieces), unique(mentions) if mentions else mentions


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


class _Row(NamedTuple):
    """A plain (not service) message's canonical fields, as :meth:`TelegramExport._message`
    puts them in its message record (``name``: the sender's display name, for its member)."""

    message_id: str
    sender_id: str
    name: str | None
    sent_at: str | int
    kind: str
    text: str
    reply_to: str | None
    mentions: list[str]
    pinned: bool
    line: int
    group_id: str = ""
    raw: str = ""


def _plain(
    m: Mapping[str, Any],
    index: int,
    names: Mapping[str, str],
    pinned: set[str],
    group_id: str = "",
    *,
    raw: bool = False,
) -> _Row | RecordError:
    """The fields of a plain message, or why it is quarantined (the same checks, in the same
    order, as every message's); ``raw``: with the message's JSON text. The usual shapes (an
    int id, a non-empty ``date_unixtime``, ``from`` and ``from_id`` strings, one plain text
    entity, no attachment) are read inline; the rest by the general helpers (the same values,
    tests/test_telegram_fast.py against the code before)."""
    get = m.get
    value = get("id")
    message_id = str(value) if type(value) is int else (id_str(value) or f"pos-{index}")
    sent_at = get("date_unixtime")
    if type(sent_at) is not str or not sent_at:
        sent_at = first(m, "date_unixtime", "date")
        if not isinstance(sent_at, str | int):
            return RecordError("date", "message without a date")
    name = get("from")
    if type(name) is not str or not name:
        name = first(m, "from", "actor")
    value = get("from_id")
    sender = (
        _text_user_id(value)
        if type(value) is str and value
        else telegram_user_id(first(m, "from_id", "actor_id"))
    )
    if sender is None and isinstance(name, str):
        sender = names.get(name) or slug(name)
    if sender is None:
        return RecordError("from_id", "message without a sender")
    parts = get("text_entities")
    if (
        type(parts) is list
        and len(parts) == 1
        and type(part := parts[0]) is dict
        and (part.get("type") == "plain" and type(text := part.get("text")) is str)
    ):
        mentions: list[str] = []  # one plain entity: its text, no mention
    else:
        text, mentions = _text_and_mentions(m)
    if "media_type" in m or "photo" in m or "file" in m:
        kind = _kind(m, text)
    else:  # a link holds "://" or "www.": without "/" and "." no regex is needed
        kind = "link" if ("/" in text or "." in text) and is_link_only(text) else "text"
    value = get("reply_to_message_id")
    reply_to = str(value) if type(value) is int else id_str(value)
    return _Row(message_id, sender, name if isinstance(name, str) else None, sent_at, kind,
                text, reply_to, mentions, message_id in pinned, index, group_id,
                dumps(m) if raw else "")  # fmt: skip


@dataclass
class _Scan:
    """What the first pass found: the chats (``None``: the document is no object), whether
    the C parser may read the messages (:meth:`TelegramExport._events`), or why the file is
    refused."""

    chats: dict[int, _Chat] | None
    fast: bool = False
    refused: str | None = None
    ranges: _Ranges | None = None


class _Ranges:
    """A single-chat export's messages as byte ranges
    (:func:`~groupops.importers._jsonstream.keyed_array_ranges`), parsed :data:`BLOCK`
    bytes at a time."""

    #: About how many bytes of messages one orjson call parses.
    BLOCK = 1 << 20

    def __init__(self, starts: Any, ends: Any) -> None:
        self.starts = starts
        self.ends = ends

    def items(self, raw: IO[bytes]) -> Iterator[tuple[int, Any]]:
        """``(position, value)`` of every message (from 1), as :func:`fast_items` gives
        them; raises :class:`Declined` where a block cannot be proven read the same."""
        import numpy as np

        starts, count = self.starts, len(self.starts)
        first = 0
        while first < count:
            last = int(np.searchsorted(starts, int(starts[first]) + self.BLOCK, side="right"))
            last = min(max(last, first + 1), count)
            for offset, value in enumerate(parse_ranges(raw, starts, self.ends, first, last)):
                yield first + offset + 1, value
            first = last


_MESSAGE_FIELDS = tuple(spec.name for spec in FIELDS["messages"])


class _Batch:
    """One chunk of messages as canonical columns (the frame
    :func:`~groupops.ingest.normalise.normalise` builds from records) and its records that go
    to quarantine as they are."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.reset()

    def reset(self) -> None:
        self.rows: list[tuple[object, ...]] = []
        self.lines: list[int] = []
        self.raws: list[str] = []
        self.unstated: list[tuple[str, ...]] = []
        self.bad: list[RawRecord] = []
        self.held = 0

    def add_row(self, row: _Row) -> None:
        # unpacked once (cheaper than a named field lookup each)
        message_id, sender_id, _, sent_at, kind, text, reply_to, mentions, pinned, line, \
            group_id, raw = row  # fmt: skip
        if type(sent_at) is str and len(sent_at) <= 15 and sent_at.isascii() and sent_at.isdigit():
            # ``date_unixtime`` as the number it spells: the same instant, and the frame's
            # column then takes normalise's path for numbers (tests/test_telegram_fast.py)
            sent_at = int(sent_at)
        self.rows.append(("telegram", group_id, message_id, sender_id, sent_at, kind, text,
                          reply_to, mentions, False, pinned))  # fmt: skip
        self.lines.append(line)
        self.raws.append(raw)
        self.unstated.append(_NO_REPLY if reply_to is None else ())
        self.held += len(raw)

    def add_record(self, record: RawRecord) -> None:
        data = record.data or {}
        self.rows.append(tuple(data.get(name) for name in _MESSAGE_FIELDS))
        self.lines.append(record.line)
        self.raws.append(record.raw)
        self.unstated.append(unstated_fields("messages", record))
        self.held += len(record.raw)

    def flush(self) -> Iterator[list[RawRecord] | pd.DataFrame]:
        import numpy as np
        import pandas as pd

        from groupops.ingest.normalise import UNSTATED

        if self.rows:
            columns = zip(*self.rows, strict=True)
            frame = pd.DataFrame(
                {
                    name: _column(name, list(col))
                    for name, col in zip(_MESSAGE_FIELDS, columns, strict=True)
                }
            )
            frame["_source"] = pd.Series([self.source] * len(self.rows), dtype=object)
            frame["_line"] = np.asarray(self.lines, dtype=np.int64)
            frame["_raw"] = pd.Series(self.raws, dtype=object)
            frame[UNSTATED] = pd.Series(self.unstated, dtype=object)
            yield frame
        if self.bad:
            yield self.bad
        self.reset()


_NO_REPLY: Final = ("reply_to",)
#: The message fields handed over in Arrow when every value allows (text or id lists).
_ARROW_TEXT: Final = frozenset(
    spec.name for spec in FIELDS["messages"] if spec.type in ("id", "str", "enum")
)
_ARROW_IDS: Final = frozenset(spec.name for spec in FIELDS["messages"] if spec.type == "ids")


def _column(name: str, values: list[Any]) -> pd.Series:
    """One field's values as the frame's column: texts (strings or ``None``) and id lists
    (lists of strings or ``None``) in Arrow, as the columnar reader hands them over, so
    :func:`~groupops.ingest.normalise.normalise_frame` takes its Arrow paths (the same rows,
    tests/test_telegram_fast.py); anything else, or a value Arrow would not keep as it is
    (a lone surrogate), as Python objects."""
    import pandas as pd
    import pyarrow as pa

    try:
        if name in _ARROW_TEXT:
            return pd.Series(pd.arrays.ArrowStringArray(pa.array(values, type=pa.string())))
        if name in _ARROW_IDS:
            lists = pa.array(values, type=pa.list_(pa.string()))
            return pd.Series(pd.arrays.ArrowExtensionArray(lists))
    except (pa.ArrowException, UnicodeError):
        pass
    return pd.Series(values, dtype=object)
