"""WhatsApp "Export chat" text: iOS ``[date, time] Name: text`` and Android
``date, time - Name: text`` lines, any common date order and 12/24-hour clock, continuation
lines, system lines, and the invisible marks WhatsApp puts around names and dates. A ``.zip``
as shared from the phone (``_chat.txt`` inside) is read the same way."""

from __future__ import annotations

import codecs
import hashlib
import itertools
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Literal

from groupops.canonical import Entity, RawRecord
from groupops.importers._common import (
    SYSTEM_MEMBER_ID,
    ExportSource,
    bad,
    clean_text,
    is_link_only,
    kind_from_filename,
    slug,
    to_ascii_digits,
    unique,
)
from groupops.ingest.limits import (
    HEAD_BYTES,
    FileTooLarge,
    InputRefused,
    Limits,
    Line,
    bounded_lines,
    check_file,
    index_archive,
    is_zip,
    open_member,
    too_long_reason,
)

DateOrder = Literal["dmy", "mdy", "ymd"]
#: How many stamps the time-order guess reads (when no date settles the order).
ORDER_SAMPLE = 20_000
DATE_ORDERS: tuple[DateOrder, ...] = ("dmy", "mdy", "ymd")

_DATE = r"[A-Za-z]?\d{1,4}[./-]\s?\d{1,2}[./-]\s?[A-Za-z]?\d{1,4}\.?(?:\s?(?:BE|г\.?))?"
_TIME = r"\d{1,2}[:.]\d{2}(?:[:.]\d{2})?"
_MARK = r"(?:[^\W\d_]{1,4}\.?\s?){1,2}"
_STAMP = rf"(?:{_DATE},?\s*(?:{_MARK}\s?)?{_TIME}(?:\s?{_MARK})?|{_TIME}(?:\s?{_MARK})?,\s*{_DATE})"
#: iOS: ``[18/03/2022, 14:56:01] Name: text``.
HEADER_IOS = re.compile(rf"^\[(?P<stamp>{_STAMP})\]\s?(?P<rest>.*)$")
#: Android: ``18/03/2022, 14:56 - Name: text``.
HEADER_ANDROID = re.compile(rf"^(?P<stamp>{_STAMP})\s?[-–]\s(?P<rest>.*)$")

_DATE_PARTS = re.compile(
    r"(?P<a>[A-Za-z]?\d{1,4})[./-]\s?(?P<b>\d{1,2})[./-]\s?(?P<c>[A-Za-z]?\d{1,4})\.?(?:\s?(?P<era>BE))?"
)
_TIME_PARTS = re.compile(r"(?P<h>\d{1,2})[:.](?P<m>\d{2})(?:[:.](?P<s>\d{2}))?")

# AM/PM markers seen in exports, compared without dots and spaces, case-folded.
AM_MARKS = frozenset({"am", "a", "午前", "上午", "오전", "ص", "πμ", "sa", "vorm", "fm", "de"})
PM_MARKS = frozenset({"pm", "p", "午後", "下午", "오후", "م", "μμ", "ch", "nachm", "em", "du"})

#: Japanese eras used by iOS's Japanese calendar (``R4`` is Reiwa 4 = 2022).
JAPANESE_ERAS = {"R": 2018, "H": 1988, "S": 1925}
BUDDHIST_OFFSET = 543

_SENDER = re.compile(r"^(?P<name>[^:\n]{1,80}?):(?: |$)(?P<text>.*)$", re.DOTALL)
_SENDER_TIGHT = re.compile(r"^(?P<name>[^:\s][^:\n]{0,40}?):(?P<text>\S.*)$", re.DOTALL)

_ATTACHED = re.compile(r"^<(?:attached|附件)[:：]\s*(?P<file>[^>]+)>$", re.IGNORECASE)
# Android "with media": ``IMG-20220327-WA0001.jpg (file attached)`` in the phone's language.
_FILE_ATTACHED = re.compile(
    r"^(?P<file>(?:IMG|VID|AUD|PTT|STK|DOC)-\d{8}-WA\d{4}\.\w+)(?:\s+\([^()]{2,40}\))?$"
    r"|^(?P<file2>.+\.\w{2,5})\s+\((?:file attached|文件已附上|附件)\)$",
    re.IGNORECASE,
)
_MEDIA_ANDROID = re.compile(r"^<[^<>]{3,40}>$")
MEDIA_WORDS: dict[str, tuple[str, ...]] = {
    "image": (
        "image",
        "imagen",
        "imagem",
        "immagine",
        "bild",
        "изображение",
        "зображення",
        "obrázek",
        "gambar",
        "画像",
        "รูปภาพ",
        "الصورة",
        "hình ảnh",
        "फ़ोटो",
        "图片",
        "圖片",
        "照片",
        "photo",
        "sticker",
        "gif",
        "ملصق",
        "الملصقات",
        "стикер",
        "наклейка",
        "スタンプ",
        "ステッカー",
        "贴纸",
        "表情",
        "ảnh",
    ),
    "video": (
        "video",
        "vídeo",
        "видео",
        "відео",
        "動画",
        "ビデオ",
        "วิดีโอ",
        "فيديو",
        "الفيديو",
        "वीडियो",
        "视频",
    ),
    "voice": (
        "audio",
        "áudio",
        "аудио",
        "音频",
        "语音",
        "オーディオ",
        "音声",
        "الصوتية",
        "ऑडियो",
        "âm thanh",
    ),
    "file": (
        "document",
        "documento",
        "dokument",
        "документ",
        "文件",
        "文档",
        "المستند",
        "card",
        "contact",
    ),
}

_JOIN_LINK = re.compile(
    r"^(?P<who>.+?) joined using this group's invite link$|^(?P<who2>.+?) 通过邀请链接加入了群组$"
)
_ADDED = re.compile(r"^(?P<actor>.+?) added (?P<who>.+)$|^(?P<actor2>.+?) 添加了 (?P<who2>.+)$")
_REMOVED = re.compile(r"^(?P<actor>.+?) removed (?P<who>.+)$|^(?P<actor2>.+?) 移除了 (?P<who2>.+)$")
_LEFT = re.compile(r"^(?P<who>.+?) left$|^(?P<who2>.+?) 已退出$")
_AT = re.compile(r"(?<![\w@])@")
_TRAILING = ".,!?:;，。！？：；、)"
_PHONE = re.compile(r"\+?[\d\s\-()]{6,}")
#: Texts WhatsApp writes in a person's name on Android (iOS marks them with U+200E).
GENERATED_TEXTS = frozenset(
    {
        "this message was deleted",
        "you deleted this message",
        "missed voice call",
        "missed video call",
        "waiting for this message",
        "此消息已删除",
        "你删除了此消息",
        "您删除了此消息",
        "语音通话未接听",
        "视频通话未接听",
    }
)
# Newer exports end an edited message with this note (after a direction mark on iOS).
_EDITED = re.compile(r"\s*<(?:This message was edited|已编辑此消息|此消息已编辑)>$")
_MARKED_BODY = re.compile(r":\s[\u200e\u200f]")
_LIST_SPLIT = re.compile(r",\s*|\s+and\s+|\s*、\s*|\s*和\s*")


@dataclass(frozen=True, slots=True)
class Header:
    """One message header line, split but not yet dated."""

    line: int
    stamp: str
    rest: str


@dataclass(slots=True)
class Entry:
    """One message: its header and its lines (the header line first). ``size`` counts the
    bytes of every line; past ``max_record_bytes`` the lines stop growing (only the head is
    kept) and the message is quarantined as too long."""

    header: Header
    lines: list[str]
    size: int = 0
    last: int = 0  # the number of its last line
    too_long: bool = False


@dataclass(frozen=True, slots=True)
class Stray:
    """What the chat file holds outside any message, or a file that is not read: quarantined
    as it is (``source``: the file or archive member it names)."""

    line: int
    raw: str
    field: str
    reason: str
    source: str | None = None


def match_header(line: str) -> Header | None:
    """The header on a line, or ``None`` for a continuation line. Direction marks are
    dropped, and in the first 60 characters (where the date is) native digits become ASCII
    and the Arabic comma a comma."""
    text = clean_text(line).lstrip()
    head = to_ascii_digits(text[:60]).replace("،", ",")
    text = head + text[60:]
    match = HEADER_IOS.match(text) or HEADER_ANDROID.match(text)
    if match is None:
        return None
    return Header(0, match["stamp"], match["rest"])


def _date_fields(stamp: str) -> tuple[str, str, str, str | None] | None:
    match = _DATE_PARTS.search(stamp)
    if match is None:
        return None
    return match["a"], match["b"], match["c"], match["era"]


class DateEvidence:
    """What the stamps seen so far say about the date order (see :func:`detect_date_order`),
    gathered one stamp at a time so that a file of any size needs no list of them."""

    def __init__(self) -> None:
        self.year_first = self.first_big = self.second_big = False

    def add(self, stamp: str) -> None:
        fields = _date_fields(stamp)
        if fields is None or self.year_first:
            return
        a, b, _c, _era = fields
        if len(a) >= 3 or not a.isdigit():
            self.year_first = True
            return
        self.first_big = self.first_big or int(a) > 12
        self.second_big = self.second_big or int(b) > 12

    def order(self) -> DateOrder | None:
        if self.year_first:
            return "ymd"
        if self.first_big and not self.second_big:
            return "dmy"
        if self.second_big and not self.first_big:
            return "mdy"
        return None


def detect_date_order(stamps: Iterable[str]) -> DateOrder | None:
    """The date order of a whole file: a 4-digit (or era) first field means year first; a
    first field above 12 means day first; a second field above 12 means month first. ``None``
    when every date fits both day-first and month-first."""
    evidence = DateEvidence()
    for stamp in stamps:
        evidence.add(stamp)
        if evidence.year_first:
            break
    return evidence.order()


def _year(text: str, era: str | None) -> int:
    if text[:1].isalpha():
        base = JAPANESE_ERAS.get(text[0].upper())
        if base is None:
            raise ValueError(f"unknown era {text[0]!r}")
        return base + int(text[1:])
    year = int(text)
    if era == "BE":
        return year - BUDDHIST_OFFSET
    if len(text) <= 2:
        return 2000 + year
    return year


def parse_stamp(stamp: str, order: DateOrder) -> datetime:
    """A naive local datetime from a header's date-and-time text (ASCII digits). Raises
    ``ValueError`` with the reason."""
    date_match = _DATE_PARTS.search(stamp)
    if date_match is None:
        raise ValueError(f"no date in {stamp!r}")
    blanked = stamp[: date_match.start()] + " " * len(date_match[0]) + stamp[date_match.end() :]
    time_match = _TIME_PARTS.search(blanked)
    if time_match is None:
        raise ValueError(f"no time in {stamp!r}")
    a, b, c, era = date_match["a"], date_match["b"], date_match["c"], date_match["era"]
    if order == "ymd":
        year, month, day = _year(a, era), int(b), int(c)
    elif order == "dmy":
        day, month, year = int(a), int(b), _year(c, era)
    else:
        month, day, year = int(a), int(b), _year(c, era)
    hour, minute = int(time_match["h"]), int(time_match["m"])
    second = int(time_match["s"] or 0)
    leftover = blanked[: time_match.start()] + " " + blanked[time_match.end() :]
    marker = _marker(leftover)
    if marker is not None:
        if hour > 12:
            raise ValueError(f"hour {hour} with a 12-hour marker in {stamp!r}")
        if marker == "pm" and hour != 12:
            hour += 12
        elif marker == "am" and hour == 12:
            hour = 0
    return datetime(year, month, day, hour, minute, second)  # noqa: DTZ001 - local wall time


def _marker(leftover: str) -> Literal["am", "pm"] | None:
    """The AM/PM marker left once the date and time are taken out, if any. Raises for a
    marker it does not know."""
    key = re.sub(r"[\s.,،]+", "", leftover).casefold()
    if not key:
        return None
    if key in AM_MARKS:
        return "am"
    if key in PM_MARKS:
        return "pm"
    raise ValueError(f"unknown AM/PM marker {leftover.strip(' ,،').strip()!r}")


def media_kind(text: str, system_marked: bool) -> str | None:
    """The kind of a media placeholder line, or ``None`` when the text is not one."""
    body = text.strip()
    attached = _ATTACHED.match(body) or _FILE_ATTACHED.match(body)
    if attached:
        return kind_from_filename(attached["file"] or attached["file2"])
    if _MEDIA_ANDROID.match(body):
        low = body.casefold()
        for kind, words in MEDIA_WORDS.items():
            if any(w in low for w in words):
                return kind
        return "file"
    if system_marked and len(body) <= 60:
        low = body.casefold()
        for kind, words in MEDIA_WORDS.items():
            if any(w in low for w in words):
                return kind
    return None


class WhatsAppExport(ExportSource):
    """One exported WhatsApp chat (``.txt``, or the ``.zip`` shared from the phone).

    Options: ``date_order`` (``dmy``/``mdy``/``ymd``) overrides detection; ``group_id`` and
    ``group_name`` override the ones taken from the file name; ``self_name`` is the name to
    use for "You"/"you" in system lines."""

    format = "whatsapp"
    platform = "whatsapp"

    def __init__(
        self,
        path: str | Path,
        *,
        date_order: DateOrder | None = None,
        group_id: str | None = None,
        group_name: str | None = None,
        self_name: str = "you",
    ) -> None:
        path = Path(path)
        #: The export folder a chat file was found in (a symlink there is followed only
        #: inside it); ``None`` for a file named by the user.
        self.root: Path | None = None
        if path.is_dir():
            self.root = path
            path = _chat_file(path)
        super().__init__(path)
        self.limits = Limits.from_settings()
        if date_order is not None and date_order not in DATE_ORDERS:
            raise ValueError(f"date_order must be one of {', '.join(DATE_ORDERS)}")
        self.date_order = date_order
        title = chat_title(self.path)
        self.group_name = group_name or title
        self.group_id = group_id or slug(title)
        self.self_name = self_name
        self._detected: DateOrder | None = None
        self._names: dict[str, str] | None = None

    # -- reading ---------------------------------------------------------------------------
    def _lines(self) -> Iterator[Line | Stray]:
        """The chat's lines (ended by CRLF, CR or LF) within the input limits: each at most
        ``max_record_bytes`` (a longer one comes as its head and length), at most
        ``max_file_bytes`` of the file; a file or archive member that may not be read comes
        as a :class:`Stray` naming it, and so does a file cut at ``max_file_bytes``."""
        limits = self.limits
        if is_zip(self.path):
            with zipfile.ZipFile(self.path) as archive:
                index = index_archive(archive, limits, str(self.path))
                for refusal in index.refusals:
                    if refusal.name.lower().endswith(".txt"):
                        yield Stray(0, "", "(file)", refusal.reason, refusal.name)
                names = [n for n in index.members if n.lower().endswith(".txt")]
                name = next(
                    (n for n in names if n.endswith("_chat.txt")), names[0] if names else None
                )
                if name is None:
                    return
                with open_member(archive, index.members[name]) as raw:
                    yield from _bounded(raw, limits, f"{self.path}!{name}")
            return
        path = self.path.resolve() if self.root is None and self.path.is_symlink() else self.path
        try:
            check_file(path, self.root)
        except InputRefused as exc:
            yield Stray(0, "", "(file)", str(exc))
            return
        with path.open("rb") as handle:
            yield from _bounded(handle, limits, None)

    def entries(self) -> Iterator[Entry | Stray]:
        """Messages (header plus continuation lines, each at most ``max_record_bytes`` in
        all, empty lines between them included; trailing empty lines are dropped, as the
        text drops them) and, as :class:`Stray`, lines before the first header and files
        not read."""
        max_record = self.limits.max_record_bytes
        current: Entry | None = None
        for item in self._lines():
            if isinstance(item, Stray):  # a refused file, or the end of one cut at its limit
                if current is not None:
                    yield current
                    current = None
                yield item
                continue
            data = item.data
            if item.number == 1 and data.startswith(codecs.BOM_UTF8):
                data = data[len(codecs.BOM_UTF8) :]
            line = data.decode("utf-8", errors="replace")
            header = match_header(line)
            if header is not None:
                if current is not None:
                    yield current
                current = Entry(Header(item.number, header.stamp, header.rest), [line])
                current.size, current.last = item.length, item.number
                current.too_long = item.too_long
            elif current is None:
                if item.too_long:
                    reason = too_long_reason(item.length, self.limits, "line")
                    yield Stray(item.number, line + "…", "(line)", reason)
                elif line.strip():
                    yield Stray(item.number, line, "(line)", "text before the first message header")
            else:  # a continuation line: the empty lines since the last one come with it
                gap = item.number - current.last - 1
                current.size += gap + item.length + 1
                current.last = item.number
                if current.size > max_record:
                    current.too_long = True
                if not current.too_long:
                    current.lines.extend([""] * gap)
                    current.lines.append(line)
        if current is not None:
            yield current

    def detect_order(self) -> DateOrder:
        """The file's date order: the override, else :func:`detect_date_order` over every
        header, else the order that keeps the messages most nearly in time order."""
        if self.date_order is not None:
            return self.date_order
        if self._detected is None:
            self._scan()
        assert self._detected is not None
        return self._detected

    def _scan(self) -> None:
        """One pass over the headers: the date order and the senders' names (for mentions)."""
        evidence = DateEvidence()
        stamps: list[str] = []  # a sample, for the time-order guess
        names: dict[str, str] = {}
        for entry in self.entries():
            if isinstance(entry, Entry):
                stamp = to_ascii_digits(entry.header.stamp)
                evidence.add(stamp)
                if len(stamps) < ORDER_SAMPLE:
                    stamps.append(stamp)
                match = _SENDER.match(entry.header.rest) or _SENDER_TIGHT.match(entry.header.rest)
                if match is not None:
                    name = clean_text(match["name"]).strip()
                    member = self._member_id(name)
                    names.setdefault(name.casefold(), member)
                    if _PHONE.fullmatch(name):
                        names.setdefault(re.sub(r"\D", "", name), member)
        self._names = names
        self._detected = evidence.order() or _least_disorder(stamps)

    def mentions(self, text: str) -> list[str]:
        """Member ids of ``@Name`` / ``@+86 138 …`` / ``@8613800000000`` in a text, for names
        that send messages in this chat (the longest name that fits wins)."""
        if "@" not in text:
            return []
        if self._names is None:
            self._scan()
        assert self._names is not None
        found: list[str] = []
        for at in _AT.finditer(text):
            words = text[at.end() : at.end() + 80].split(" ")[:6]
            for n in range(len(words), 0, -1):
                candidate = " ".join(words[:n]).rstrip(_TRAILING).casefold()
                member = self._names.get(candidate) or (
                    self._names.get(re.sub(r"\D", "", candidate)) if n == 1 else None
                )
                if member is not None:
                    found.append(member)
                    break
        return unique(found)

    def _records(self, entity: Entity) -> Iterator[RawRecord]:
        source = str(self.path)
        yield self.single_group(self.group_id, self.group_name)
        if entity == "groups":
            return
        order = self.detect_order()
        seen_ids: dict[str, int] = {}
        for entry in self.entries():
            if isinstance(entry, Stray):
                where = entry.source or source
                yield bad("messages", where, entry.line, entry.raw, entry.field, entry.reason)
                continue
            if entry.too_long:
                if entity == "messages":
                    head = "\n".join(entry.lines)[:HEAD_BYTES] + "…"
                    reason = too_long_reason(entry.size, self.limits, "message")
                    lines = (
                        f" (lines {entry.header.line}–{entry.last})"
                        if entry.last > entry.header.line
                        else ""
                    )
                    yield bad(
                        "messages", source, entry.header.line, head, "(record)", reason + lines
                    )
                continue
            yield from self._entry(source, entry, order, seen_ids, entity)

    def _entry(
        self,
        source: str,
        entry: Entry,
        order: DateOrder,
        seen_ids: dict[str, int],
        entity: Entity,
    ) -> Iterator[RawRecord]:
        """The records of one message. Only the messages pass builds the message itself; the
        members and memberships passes skip what they do not need."""
        header = entry.header
        rest = header.rest
        sender_match = _SENDER.match(rest) or _SENDER_TIGHT.match(rest)
        raw = "\n".join(entry.lines)
        if sender_match is not None and entity != "messages":
            if entity == "members":
                name = clean_text(sender_match["name"]).strip()
                yield self.member(source, header.line, raw, self._member_id(name), name)
            return
        try:
            sent_at = parse_stamp(to_ascii_digits(header.stamp), order)
        except ValueError as exc:
            yield bad(
                "messages", source, header.line, raw, "sent_at", f"cannot read the date: {exc}"
            )
            return
        continuation = "\n".join(clean_text(x) for x in entry.lines[1:]).rstrip()
        if sender_match is not None:
            name = clean_text(sender_match["name"]).strip()
            body_raw = sender_match["text"]
            sender = self._member_id(name)
            yield self.member(source, header.line, raw, sender, name)
            # iOS starts the text of generated lines ("image omitted", "Messages and calls
            # are end-to-end encrypted") with a direction mark.
            marked = bool(_MARKED_BODY.search(entry.lines[0]))
            body = clean_text(body_raw).strip()
            text = body + ("\n" + continuation if continuation else "")
            edited = _EDITED.search(text)
            if edited is not None:
                text = text[: edited.start()].rstrip()
                body = _EDITED.sub("", body)
            kind = media_kind(body, marked)
            if kind is None:
                generated = marked or text.casefold().rstrip(".。") in GENERATED_TEXTS
                kind = "system" if generated else ("link" if is_link_only(text) else "text")
        else:
            edited = None
            text = clean_text(rest).strip() + ("\n" + continuation if continuation else "")
            kind = "system"
            memberships = list(self._membership(source, header.line, raw, text, sent_at))
            yield from memberships
            actors = [
                str(r.data.get("approved_by") or r.data["member_id"])
                for r in memberships
                if r.entity == "memberships" and r.data is not None
            ]
            sender = actors[0] if actors else SYSTEM_MEMBER_ID
            if not actors:
                yield self.system_member(source)
            if entity != "messages":
                return
        # Time and sender, numbered within the same minute (or second): an edited or deleted
        # message keeps its id in a later export, so re-ingesting updates it in place.
        key = f"{header.stamp}|{sender}"
        digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]
        count = seen_ids.get(digest, 0)
        seen_ids[digest] = count + 1
        message_id = digest if count == 0 else f"{digest}-{count}"
        yield self.message(
            source,
            header.line,
            raw,
            self.group_id,
            message_id,
            sender,
            sent_at.isoformat(),
            kind=kind,
            text=text,
            mentions=self.mentions(text) if sender_match is not None else [],
            mention_all=False,
            pinned=False,
            extra={"edited": True} if edited is not None else None,
        )

    def _member_id(self, name: str) -> str:
        if name.casefold() in ("you", "你", "您"):
            return slug(self.self_name)
        return slug(name)

    def _membership(
        self, source: str, line: int, raw: str, text: str, at: datetime
    ) -> Iterator[RawRecord]:
        """Membership events from English and Chinese system lines (added, removed, left,
        joined by link)."""
        events: list[tuple[str, str, str | None]] = []
        if m := _JOIN_LINK.match(text):
            events.append((m["who"] or m["who2"], "join", None))
        elif m := _ADDED.match(text):
            actor = m["actor"] or m["actor2"]
            events += [(who, "join", actor) for who in _names(m["who"] or m["who2"])]
        elif m := _REMOVED.match(text):
            actor = m["actor"] or m["actor2"]
            events += [(who, "removed", actor) for who in _names(m["who"] or m["who2"])]
        elif m := _LEFT.match(text):
            events.append((m["who"] or m["who2"], "leave", None))
        for who, event, actor in events:
            member = self._member_id(who)
            yield self.member(
                source, line, raw, member, who if member == slug(who) else self.self_name
            )
            approved = self._member_id(actor) if actor else None
            if approved is not None:
                yield self.member(source, line, raw, approved, actor)
            yield self.membership(
                source, line, raw, self.group_id, member, event, at.isoformat(), approved
            )


def _chat_file(folder: Path) -> Path:
    """The chat in an unpacked export folder: ``_chat.txt``, or its only ``.txt`` file."""
    if (folder / "_chat.txt").is_file():
        return folder / "_chat.txt"
    texts = sorted(folder.glob("*.txt"))
    if len(texts) != 1:
        raise ValueError(f"{folder}: expected _chat.txt or exactly one .txt chat file")
    return texts[0]


def _least_disorder(stamps: list[str]) -> DateOrder:
    """Day-first or month-first, whichever reads the stamps best (ties: day-first)."""
    day_first, month_first = _disorder(stamps, "dmy"), _disorder(stamps, "mdy")
    return "mdy" if month_first < day_first else "dmy"


def _disorder(stamps: list[str], order: DateOrder) -> tuple[int, int]:
    """How badly ``order`` reads the stamps: (dates it cannot read, steps back in time)."""
    times: list[datetime] = []
    failures = 0
    for stamp in stamps:
        try:
            times.append(parse_stamp(stamp, order))
        except ValueError:
            failures += 1
    return failures, sum(1 for x, y in itertools.pairwise(times) if y < x)


def _names(text: str) -> list[str]:
    return [n.strip() for n in _LIST_SPLIT.split(text.strip()) if n.strip()]


def _bounded(stream: IO[bytes], limits: Limits, source: str | None) -> Iterator[Line | Stray]:
    """:func:`bounded_lines` over any line end (blank lines are not yielded: a message's
    empty lines are the gaps between line numbers, so a run of them costs nothing until
    text follows); past ``max_file_bytes`` a :class:`Stray` says the rest was not read."""
    try:
        yield from bounded_lines(stream, limits, any_newline=True)
    except FileTooLarge as exc:
        yield Stray(0, "", "(file)", str(exc), source)


_TITLE_PATTERNS = (
    re.compile(r"^WhatsApp Chat (?:with|-) (?P<t>.+)$", re.IGNORECASE),
    re.compile(r"^WhatsApp 聊天 - (?P<t>.+)$"),
    re.compile(r"^与(?P<t>.+)的 WhatsApp 聊天$"),
)


def chat_title(path: Path) -> str:
    """The chat's name from the export's file name (``WhatsApp Chat with X.txt`` → ``X``;
    ``_chat.txt`` inside a folder or zip → that folder's or zip's name)."""
    stem = path.stem
    if stem in ("_chat", "chat") and path.parent.name:
        stem = path.parent.name
    for pattern in _TITLE_PATTERNS:
        if m := pattern.match(stem):
            return m["t"].strip()
    return stem
