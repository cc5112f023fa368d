"""JSON exports read as a stream (``ijson``) instead of parsed whole: Telegram Desktop's
``result.json`` and DiscordChatExporter's files can be hundreds of megabytes, and a parsed
document holds several times its size in memory. Only one message (or one other value) is
built at a time, and each is bounded:

* a value whose bytes pass ``max_record_bytes`` is not built: it comes as :class:`TooLong`
  (quarantined, the rest goes on);
* a single token (a string, a number) that long cannot be skipped by a streaming parser: the
  document stops there with :class:`StreamError`, what came before it stands;
* so does invalid JSON, and a file past ``max_file_bytes``.

A value's size is counted from its tokens as they come (about its JSON size: strings at
their UTF-8 size, a few bytes per other token); a single token's in read blocks
(:data:`BUFFER` bytes).
"""

from __future__ import annotations

import codecs
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, Any, Protocol

import ijson

from groupops.canonical import Entity, RawRecord, RecordError
from groupops.ingest.limits import FileTooLarge, Limits, check_file, too_long_reason

#: How much the parser reads at a time.
BUFFER = 64 << 10
_OPEN = frozenset({"start_map", "start_array"})
_CLOSE = frozenset({"end_map", "end_array"})


@dataclass(frozen=True, slots=True)
class TooLong:
    """A value not built because it passed ``max_record_bytes`` (``size``: about its bytes)."""

    size: int


class StreamError(ValueError):
    """The document cannot be read past this point (the message says why)."""


class Readable(Protocol):
    """What the readers read from: a binary file, or :class:`Omitting`."""

    def read(self, size: int = -1, /) -> bytes: ...


class _Reader:
    """The file as the parser reads it: counts bytes, drops a UTF-8 BOM, stops at
    ``max_file_bytes``, and stops a single token that grows past ``max_record_bytes``
    (``mark`` is where the last parser event was seen)."""

    def __init__(self, raw: Readable, limits: Limits) -> None:
        self.raw = raw
        self.pos = 0
        self.mark = 0
        self.max_token = limits.max_record_bytes + 2 * BUFFER
        self.max_record = limits.max_record_bytes
        self.max_file = limits.max_file_bytes

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(BUFFER if size < 0 else min(size, BUFFER))
        if self.pos == 0 and data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8) :]
            self.pos = len(codecs.BOM_UTF8)
        self.pos += len(data)
        if self.pos > self.max_file:
            raise FileTooLarge(
                f"file larger than {self.max_file:,} bytes (max_file_bytes): the rest is not read"
            )
        if self.pos - self.mark > self.max_token:
            raise StreamError(
                f"a single JSON value longer than {self.max_record:,} bytes (max_record_bytes) "
                f"at byte {self.mark:,}: the rest of the document is not read"
            )
        return data


class Walker:
    """Parser events of one document with helpers to build or skip one value."""

    def __init__(self, raw: IO[bytes], limits: Limits) -> None:
        self.reader = _Reader(raw, limits)
        self.limit = limits.max_record_bytes
        self._events = ijson.basic_parse(self.reader, use_float=True, buf_size=BUFFER)

    def next(self) -> tuple[str, Any]:
        try:
            event: tuple[str, Any] = next(self._events)
        except StopIteration:
            raise StreamError("the document ends early: the rest is not read") from None
        except ijson.JSONError as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise StreamError(
                f"not valid JSON after byte {self.reader.mark:,} ({reason}): "
                "the rest of the document is not read"
            ) from None
        self.reader.mark = self.reader.pos
        return event

    def value(self, event: str, value: Any) -> Any:
        """The value that starts with ``(event, value)``, or :class:`TooLong`."""
        if event not in _OPEN:
            return value
        builder: Any = ijson.ObjectBuilder()
        builder.event(event, value)
        depth, size = 1, 1
        while depth:
            event, value = self.next()
            if event in _OPEN:
                depth += 1
            elif event in _CLOSE:
                depth -= 1
            # about the value's JSON size: its strings (keys too) and a little per token
            size += (
                len(value) * (1 if value.isascii() else 3) if isinstance(value, str) else 0
            ) + 4
            if builder is not None:
                builder.event(event, value)
                if size > self.limit:
                    builder = None  # stop building; read on to its end
        if builder is None:
            return TooLong(size)
        return builder.value

    def skip(self, event: str) -> None:
        """Read past the value that starts with ``event`` without building it."""
        if event not in _OPEN:
            return
        depth = 1
        while depth:
            event, _ = self.next()
            if event in _OPEN:
                depth += 1
            elif event in _CLOSE:
                depth -= 1

    def object_keys(self) -> Iterator[str]:
        """The keys of the object just opened (the caller reads or skips each value)."""
        while True:
            event, key = self.next()
            if event == "end_map":
                return
            yield key

    def items(self, skip: int = 0) -> Iterator[tuple[int, Any]]:
        """``(position, value)`` of each item of the array just opened (1-based); the first
        ``skip`` items are read past unbuilt (a fast pass already gave them)."""
        position = 0
        while True:
            event, value = self.next()
            if event == "end_array":
                return
            position += 1
            if position <= skip:
                self.skip(event)
                continue
            yield position, self.value(event, value)


@dataclass(frozen=True, slots=True)
class Meta:
    """A chat's (or a document's) key other than its messages, with its value."""

    chat: int
    key: str
    value: Any


@dataclass(frozen=True, slots=True)
class Item:
    """One message of a chat (``index``: its 1-based position), or :class:`TooLong`."""

    chat: int
    index: int
    value: Any


@dataclass(frozen=True, slots=True)
class Chat:
    """A chat of a whole-account Telegram export starts (``value`` is set when the list item
    is not an object: it is then the whole item, or :class:`TooLong`)."""

    chat: int
    value: Any = None


@dataclass(frozen=True, slots=True)
class Messages:
    """A chat's ``messages`` key: an array (its items follow as :class:`Item`) or not."""

    chat: int
    is_list: bool


@dataclass(frozen=True, slots=True)
class NotObject:
    """The document is not a JSON object."""


Event = Meta | Item | Chat | Messages | NotObject

#: Keys of a Telegram whole-account export whose ``list`` holds chats.
SECTIONS = ("chats", "left_chats")


def document_events(walker: Walker, *, messages: bool = True, skip: int = 0) -> Iterator[Event]:
    """The events of a chat document: the root's keys and messages as chat 0, and for a
    Telegram whole-account export each chat of ``chats.list`` / ``left_chats.list`` as chat
    1, 2, ... (in document order). ``messages=False`` skips every message unbuilt (a pass
    that needs only the metadata); ``skip``: the first messages of each list read past
    unbuilt (what :func:`fast_items` already gave)."""
    event, _ = walker.next()
    if event != "start_map":
        walker.skip(event)
        yield NotObject()
        return
    position = [0]
    for key in walker.object_keys():
        if key in SECTIONS:
            yield from _section(walker, position, messages)
        else:
            yield from _chat_key(walker, 0, key, messages, skip)


def _chat_key(
    walker: Walker, chat: int, key: str, messages: bool, skip: int = 0
) -> Iterator[Event]:
    event, value = walker.next()
    if key != "messages":
        yield Meta(chat, key, walker.value(event, value))
    elif event != "start_array":
        walker.skip(event)
        yield Messages(chat, is_list=False)
    else:
        yield Messages(chat, is_list=True)
        if not messages:
            walker.skip(event)
            return
        for index, item in walker.items(skip):
            yield Item(chat, index, item)


def _section(walker: Walker, position: list[int], messages: bool) -> Iterator[Event]:
    event, _ = walker.next()
    if event != "start_map":
        walker.skip(event)
        return
    for key in walker.object_keys():
        event, value = walker.next()
        if key != "list" or event != "start_array":
            walker.skip(event)
            continue
        while True:
            event, value = walker.next()
            if event == "end_array":
                break
            position[0] += 1
            chat = position[0]
            if event != "start_map":
                yield Chat(chat, walker.value(event, value))
                continue
            yield Chat(chat)
            for chat_key in walker.object_keys():
                yield from _chat_key(walker, chat, chat_key, messages)


def too_long(entity: Entity, source: str, index: int, value: TooLong, limits: Limits) -> RawRecord:
    """The quarantine record of a message (or chat) not built because of its size."""
    reason = too_long_reason(value.size, limits, "message", "about ")
    return RawRecord(entity, source, index, "", error=RecordError("(record)", reason))


def open_document(path: Path, root: Path | None = None) -> IO[bytes]:
    """A JSON export file opened for streaming: a regular file (a symlink named by the user
    is followed, one found in a folder only when it stays inside ``root``);
    :class:`~groupops.ingest.limits.InputRefused` otherwise."""
    if root is None and path.is_symlink():
        path = path.resolve()
    check_file(path, root)
    return path.open("rb")


# -- the fast path: values built by ijson's C backend -----------------------------------------
#
# Building a message event by event in Python (:meth:`Walker.value`) is most of an export's
# ingest. :func:`fast_items` lets yajl2_c build whole messages instead, and stops (handing
# over to the per-event reader from where it stopped) as soon as it cannot prove that the
# per-event reader would have given the same value: a message is only taken when the bytes
# it can span are few enough that its size estimate cannot pass ``max_record_bytes`` (the
# estimate adds at most 7 per byte: 4 per token, 3 per string byte), so nothing the
# per-event reader would quarantine as too long is ever built here. Invalid JSON, a file
# past ``max_file_bytes``, anything unusual: the fast pass stops and the per-event reader
# reads the rest, with its own messages.


class Declined(Exception):
    """The fast pass stops here: the per-event reader takes over."""


def _fast_buffer(limits: Limits) -> tuple[int, int]:
    """(read size, most bytes a value may span) of the fast pass."""
    span = (limits.max_record_bytes - 1) // 7
    return max(1024, min(BUFFER, span // 8)), span


class _FastReader:
    """The file as the C parser reads it: drops a UTF-8 BOM and declines past
    ``max_file_bytes`` or once ``span`` bytes pass without a value being taken."""

    def __init__(self, raw: IO[bytes], limits: Limits, size: int, span: int) -> None:
        self.raw = raw
        self.pos = 0
        self.taken = 0  # ``pos`` when the last value was taken
        self.size = size
        self.span = span
        self.max_file = limits.max_file_bytes

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(self.size if size < 0 else min(size, self.size))
        if self.pos == 0 and data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8) :]
            self.pos = len(codecs.BOM_UTF8)
        self.pos += len(data)
        if self.pos > self.max_file or self.pos - self.taken > self.span:
            raise Declined
        return data


def fast_items(raw: IO[bytes], limits: Limits, prefix: str) -> Iterator[tuple[int, Any]]:
    """``(position, value)`` of the items under ``prefix`` (an ijson prefix such as
    ``messages.item``), built in C; raises :class:`Declined` where the per-event reader must
    take over (the items before it stand). Ends normally only when the whole document was
    read as valid JSON."""
    size, span = _fast_buffer(limits)
    if 2 * size >= span:
        raise Declined
    reader = _FastReader(raw, limits, size, span)
    position = 0
    try:
        for value in ijson.items(reader, prefix, use_float=True, buf_size=size):
            # The value lies within the bytes read since the previous one was taken, plus at
            # most the previous read (the C parser hands over what each read completes).
            if reader.pos - reader.taken + 2 * size > span:
                raise Declined
            reader.taken = reader.pos
            position += 1
            yield position, value
    except ijson.JSONError:
        raise Declined from None


class PrefixWalker(Walker):
    """A :class:`Walker` over ijson's prefixed events that reads past a value it skips in C
    (no Python per event): for a metadata pass over a document whose items a
    :func:`fast_items` pass already read cleanly. The single-token limit is not checked
    inside a skipped value (that pass proved no value there is long)."""

    def __init__(self, raw: Readable, limits: Limits) -> None:
        self.reader = _Reader(raw, limits)
        self.limit = limits.max_record_bytes
        self._parse = ijson.parse(self.reader, use_float=True, buf_size=BUFFER)
        self._prefix = ""

    def next(self) -> tuple[str, Any]:
        try:
            prefix, event, value = next(self._parse)
        except StopIteration:
            raise StreamError("the document ends early: the rest is not read") from None
        except ijson.JSONError as exc:
            raise StreamError(f"not valid JSON after byte {self.reader.mark:,}") from exc
        self._prefix = prefix
        self.reader.mark = self.reader.pos
        return event, value

    def skip(self, event: str) -> None:
        if event not in _OPEN:
            return
        end = (self._prefix, "end_map" if event == "start_map" else "end_array", None)
        self.reader.max_token = 1 << 62  # checked by the fast pass instead
        try:
            deque(iter(partial(next, self._parse), end), maxlen=0)
        except ijson.JSONError as exc:
            raise StreamError(f"not valid JSON after byte {self.reader.mark:,}") from exc
        self.reader.max_token = self.limit + 2 * BUFFER
        self.reader.mark = self.reader.pos


# -- a valid document's messages arrays located without parsing them -------------------------
#
# The metadata pass (:class:`PrefixWalker`, ``messages=False``) reads a single-chat export's
# keys other than ``messages``; even skipped in C, walking the messages array is most of that
# pass. Once :func:`fast_items` has read the whole document as valid JSON, the bytes of each
# array that is a value of a root-level key ``"messages"`` are found by a vectorised scan of
# the bytes (strings told apart by their unescaped quotes), and the walker reads the document
# with those arrays' items left out (``"messages": []``): it then gives the same events, since
# it reads nothing inside them (``tests/test_jsonstream_lean.py``).

#: A JSON escape (a backslash and the character it escapes), or a JSON whitespace character.
_ESCAPE_PAIR = re.compile(rb"\\.", re.DOTALL)
_WHITESPACE = b" \t\n\r"
#: How many bytes are scanned at a time, and read back before an array for its key.
SCAN_BLOCK = 1 << 20
_KEY_WINDOW = 4096


def _top_spans(
    raw: IO[bytes], block: int = SCAN_BLOCK, commas: list[Any] | None = None
) -> list[tuple[int, int]]:
    """``(open, close)`` byte positions of every array or object directly inside the root
    value of a **valid** JSON document (its brackets at depth one), read from ``raw``'s start;
    ``commas``: given, it gets (numpy arrays of) the positions of the commas directly inside
    those arrays and objects (the separators of their items).

    A quote is a string's delimiter unless escaped: escape pairs (a backslash and the next
    byte) are blanked first, a block never ending inside a run of backslashes, so every pair
    is blanked as the JSON reader pairs them; a bracket belongs to the structure when an even
    number of delimiters come before it."""
    import numpy as np

    spans: list[tuple[int, int]] = []
    depth, in_string, offset, opened = 0, 0, 0, -1
    carry = b""
    while True:
        data = raw.read(block)
        buf = carry + data if carry else data
        chunk = buf.rstrip(b"\\") if data else buf
        carry = buf[len(chunk) :]
        if chunk:
            if b"\\" in chunk:
                chunk = _ESCAPE_PAIR.sub(b"__", chunk)
            view = np.frombuffer(chunk, dtype=np.uint8)
            quotes = np.flatnonzero(view == 0x22)
            folded = view & 0xDF  # '{' → '[' and '}' → ']'
            brackets = (folded == 0x5B) | (folded == 0x5D)
            if commas is not None:
                brackets |= view == 0x2C
            marks = np.flatnonzero(brackets)
            outside = (np.searchsorted(quotes, marks) + in_string) % 2 == 0
            marks = marks[outside]
            steps = 0x5C - folded[marks].astype(np.int64)  # '[' +1, ']' -1
            if commas is not None:
                is_comma = view[marks] == 0x2C
                steps[is_comma] = 0
            after = depth + np.cumsum(steps)
            if commas is not None:
                commas.append(offset + marks[is_comma & (after == 2)])
            top = np.flatnonzero(((after == 2) & (steps == 1)) | ((after == 1) & (steps == -1)))
            for i in top.tolist():
                at = offset + int(marks[i])
                if steps[i] == 1:
                    opened = at
                else:
                    spans.append((opened, at))
            if len(after):
                depth = int(after[-1])
            in_string = (in_string + len(quotes)) % 2
            offset += len(chunk)
        if not data:
            return spans


def _keyed(raw: IO[bytes], start: int, key: bytes) -> bool:
    """Whether the array opened at byte ``start`` is the value of ``"key"`` (spelt without
    escapes): ``"key"`` then ``:`` before it, whitespace aside, its opening quote unescaped."""
    begin = max(0, start - _KEY_WINDOW)
    raw.seek(begin)
    before = raw.read(start - begin + 1)
    if before[-1:] != b"[":
        return False
    before = before[:-1].rstrip(_WHITESPACE)
    if before[-1:] != b":":
        return False
    before = before[:-1].rstrip(_WHITESPACE)
    quoted = b'"' + key + b'"'
    if not before.endswith(quoted):
        return False
    head = before[: -len(quoted)]
    backslashes = len(head) - len(head.rstrip(b"\\"))
    if backslashes == len(head) and begin > 0:
        return False  # backslashes back to the window's start: not told, so not left out
    return backslashes % 2 == 0


def keyed_array_items(raw: IO[bytes], key: str, block: int = SCAN_BLOCK) -> list[tuple[int, int]]:
    """``[start, end)`` byte ranges of the items of every array that is the value of a
    root-level ``key`` of a **valid** JSON document (the caller proved it valid: the scan
    trusts it). Leaves ``raw`` at an unspecified position."""
    raw.seek(0)
    spans = _top_spans(raw, block)
    name = key.encode()
    return [(start + 1, end) for start, end in spans if _keyed(raw, start, name)]


#: Each ASCII digit as ``0``: a run of 19 digits (an integer the C parser refuses as past 64
#: bits, which orjson reads) is then one substring search.
_DIGITS_AS_ZERO = bytes.maketrans(b"0123456789", b"0" * 10)
_LONG_DIGITS = b"0" * 19


def keyed_array_ranges(
    raw: IO[bytes], key: str, block: int = SCAN_BLOCK
) -> list[tuple[int, int, Any, Any]]:
    """For every array that is the value of a root-level ``key`` of a **valid** JSON document
    (as :func:`keyed_array_items`): ``(start, end, starts, ends)``, its items' bytes
    ``[start, end)`` and each item's ``[starts[i], ends[i])`` (numpy arrays: the bytes between
    its separators, whitespace included; an empty array gives one range of whitespace only).
    Leaves ``raw`` at an unspecified position."""
    import numpy as np

    raw.seek(0)
    found: list[Any] = []
    spans = _top_spans(raw, block, found)
    commas = np.concatenate(found) if found else np.zeros(0, dtype=np.int64)
    name = key.encode()
    out = []
    for start, end in spans:
        if not _keyed(raw, start, name):
            continue
        inside = commas[np.searchsorted(commas, start) : np.searchsorted(commas, end)]
        starts = np.concatenate(([start + 1], inside + 1)).astype(np.int64)
        ends = np.concatenate((inside, [end])).astype(np.int64)
        out.append((start + 1, end, starts, ends))
    return out


def parse_ranges(raw: IO[bytes], starts: Any, ends: Any, first: int, last: int) -> list[Any]:
    """The items ``first`` to ``last`` (exclusive) of :func:`keyed_array_ranges`' ranges,
    parsed in one orjson call (the collector paused: the parse builds no cycles); raises
    :class:`Declined` unless they parse as exactly that many JSON values that ijson's C
    parser reads the same (no integer of 19 digits or more, which it refuses past 64 bits;
    orjson refuses what else it would read differently: lone surrogates, invalid UTF-8)."""
    import gc

    import orjson

    begin, stop = int(starts[first]), int(ends[last - 1])
    raw.seek(begin)
    data = raw.read(stop - begin)
    if len(data) != stop - begin or _LONG_DIGITS in data.translate(_DIGITS_AS_ZERO):
        raise Declined
    paused = gc.isenabled()
    gc.disable()
    try:
        values = orjson.loads(b"[" + data + b"]")
    except orjson.JSONDecodeError:
        raise Declined from None
    finally:
        if paused:
            gc.enable()
    # (an empty array: its one range of whitespace only parses as no value)
    if len(values) != last - first and (values or last - first != 1 or len(starts) != 1):
        raise Declined
    return values  # type: ignore[no-any-return]  # orjson.loads of a list


class Omitting:
    """``raw``'s bytes from its start without the byte ranges ``gaps`` (sorted, disjoint)."""

    def __init__(self, raw: IO[bytes], gaps: list[tuple[int, int]]) -> None:
        self.raw = raw
        self.gaps = deque(gaps)
        self.pos = 0
        raw.seek(0)

    def read(self, size: int = -1) -> bytes:
        size = BUFFER if size < 0 else size
        while self.gaps and self.pos >= self.gaps[0][0]:
            self.pos = max(self.pos, self.gaps.popleft()[1])
            self.raw.seek(self.pos)
        if self.gaps:
            size = min(size, self.gaps[0][0] - self.pos)
        data = self.raw.read(size)
        self.pos += len(data)
        return data
