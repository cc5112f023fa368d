"""Input limits and the file-level trust rules every reader of untrusted input shares.

The one place these rules live (docs/security.md): the canonical bundle reader and the export
importers open files, archive members and documents only through here.

* **Records** are read by :func:`bounded_lines`, which never holds more than
  ``max_record_bytes`` of a line: a longer line is counted to its end and handed on as a short
  head with its real length, to be quarantined as too long.
* **Files**: only regular files are read (no device, FIFO or socket: ``/dev/zero`` is refused);
  a symlink is followed only when it resolves inside the bundle root; at most
  ``max_file_bytes`` are read from any file, and a document parsed whole (a Slack day file)
  may be at most ``max_document_bytes`` (Telegram and Discord exports are streamed instead:
  :mod:`groupops.importers._jsonstream`).
* **Archives**: member names are normalised (``\\`` → ``/``, ``./`` dropped) and a dangerous
  one (absolute, a drive, ``..``, a control character) is refused with its name; the members'
  declared sizes are checked before anything is read (at most ``max_archive_bytes`` in all,
  a compression ratio of at most ``max_compression_ratio``), and the byte limits above are
  enforced while reading, whatever the headers claim.

A refused file or member is never skipped silently: readers turn a :class:`Refusal` into a
quarantine record naming it (field ``(file)``).
"""

from __future__ import annotations

import csv
import re
import stat
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, NamedTuple

#: How much of a too-long record quarantine keeps (its head), in bytes.
HEAD_BYTES = 200
_BLOCK = 1 << 20
#: Below this size a member's compression ratio is not judged (a small file of blanks
#: legitimately compresses 1000:1).
_RATIO_FLOOR = 1 << 20
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class Limits:
    """The input limits (``GROUPOPS_MAX_*`` settings; defaults keep an ingest well under
    512 MB of memory whatever the input)."""

    max_record_bytes: int = 1 << 20
    max_file_bytes: int = 4 << 30
    max_document_bytes: int = 64 << 20
    max_archive_bytes: int = 8 << 30
    max_compression_ratio: float = 200.0

    @classmethod
    def from_settings(cls) -> Limits:
        from groupops.settings import get_settings

        s = get_settings()
        return cls(
            max_record_bytes=s.max_record_bytes,
            max_file_bytes=s.max_file_bytes,
            max_document_bytes=s.max_document_bytes,
            max_archive_bytes=s.max_archive_bytes,
            max_compression_ratio=s.max_compression_ratio,
        )


class InputRefused(ValueError):
    """A file, member or document that is not read (the message says why)."""


@dataclass(frozen=True)
class Refusal:
    """A file or archive member that was found but not read, and why."""

    name: str  # how quarantine names it: a path, or ``archive.zip!member``
    reason: str


# -- files ------------------------------------------------------------------------------------


def file_refusal(path: Path, root: Path | None = None) -> str | None:
    """Why ``path`` may not be read (``None``: it may). Only regular files; a symlink only
    when it resolves inside ``root`` (the bundle's folder) to a regular file."""
    try:
        info = path.lstat()
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    if stat.S_ISLNK(info.st_mode):
        try:
            target = path.resolve(strict=True)
        except (OSError, RuntimeError):
            return "a symlink to nothing (or a loop): not followed"
        inside = root is not None and target.is_relative_to(root.resolve())
        if not inside:
            return "a symlink that leads outside the bundle: not followed"
        info = target.stat()
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file (a device, FIFO, socket or folder): not read"
    return None


def check_file(path: Path, root: Path | None = None) -> None:
    """:class:`InputRefused` unless :func:`file_refusal` allows ``path``."""
    reason = file_refusal(path, root)
    if reason is not None:
        raise InputRefused(reason)


def read_document(stream: IO[bytes], limit: int, what: str = "document") -> bytes:
    """The whole of a stream parsed as one document, refused past ``limit`` bytes (read at
    most one byte past it)."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise InputRefused(
            f"{what} larger than {limit:,} bytes (max_document_bytes): not read; raise "
            "GROUPOPS_MAX_DOCUMENT_BYTES to read it"
        )
    return data


def read_path_document(path: Path, limits: Limits, root: Path | None = None) -> bytes:
    """A document file, checked (:func:`check_file`) and read within the limits."""
    check_file(path, root)
    with path.open("rb") as stream:
        return read_document(stream, min(limits.max_document_bytes, limits.max_file_bytes))


# -- lines ------------------------------------------------------------------------------------


class Line(NamedTuple):
    """One line (without its line end); ``length`` is its full size in bytes: when it is more
    than the limit, ``data`` holds only the first :data:`HEAD_BYTES`. (A named tuple: a
    million of them are made per million-line file.)"""

    number: int
    data: bytes
    length: int

    @property
    def too_long(self) -> bool:
        return len(self.data) < self.length


class FileTooLarge(InputRefused):
    """More than ``max_file_bytes`` in one file: what was read stands, the rest is not read."""


def bounded_lines(
    stream: IO[bytes], limits: Limits, *, keep_blank: bool = False, any_newline: bool = False
) -> Iterator[Line]:
    """The non-blank lines of ``stream`` (every line with ``keep_blank``) with their 1-based
    numbers, holding at most ``max_record_bytes`` of any line (plus one read block); a read
    block of nothing but blank lines is skipped whole (counted, never yielded), also when a
    CRLF or a blank line straddles the blocks' edges. Lines end at
    LF (a CR before it is dropped), or with ``any_newline`` at CRLF, CR or LF alike (what
    ``newline=""`` gives a text file: old Mac and some WhatsApp exports end lines with CR).
    Raises :class:`FileTooLarge` after ``max_file_bytes``."""
    max_record, max_file = limits.max_record_bytes, limits.max_file_bytes
    number = 1  # the number of the line being assembled
    parts: list[bytes] = []
    held = 0  # bytes in parts
    length = 0  # the current line's full length so far
    total = 0
    blank = True  # the line being assembled is empty or only white space so far
    skip_lf = False  # any_newline: the last block ended with CR, so a leading LF is its CRLF
    over = False
    while not over and (block := stream.read(_BLOCK)):
        if total + len(block) > max_file:  # read up to the limit; the line it cuts is not read
            block, over = block[: max_file - total], True
        total += len(block)
        start = 0
        if skip_lf:
            skip_lf = False
            if block.startswith(b"\n"):
                start = 1
        if blank and not block.strip():  # a block of blank lines (the common attack)
            ends = _line_ends(block[start:], any_newline)
            number += ends
            if ends:  # the line being assembled ended in it; what follows the last end is blank
                last = block.rfind(b"\n")
                if any_newline:
                    last = max(last, block.rfind(b"\r"))
                parts, held, length = [], 0, len(block) - last - 1
            else:
                length += len(block) - start
            skip_lf = any_newline and block.endswith(b"\r")
            continue  # (past max_file_bytes the loop ends and raises)
        plain_tried = keep_blank or any_newline  # once per block, when no line is being assembled
        lf = cr = -2  # any_newline: the next LF and CR at or after start (-1: none left)
        while True:
            if not plain_tried and not length:
                plain_tried = True
                start, lines = _plain_lines(block, start, number, max_record)
                if lines:
                    yield from lines
                    number += len(lines)
            if any_newline:  # two memchr scans, each resumed only once passed (linear)
                if -1 < lf < start or lf == -2:
                    lf = block.find(b"\n", start)
                if -1 < cr < start or cr == -2:
                    cr = block.find(b"\r", start)
                end = lf if cr == -1 or -1 < lf < cr else cr
                after = end + (2 if end == cr and lf == cr + 1 else 1)
            else:
                end = block.find(b"\n", start)
                after = end + 1
            if end == -1:
                break
            piece = block[start:end]
            if held < max_record:
                keep = piece[: max_record - held]
                parts.append(keep)
                held += len(keep)
            length += len(piece)
            line = b"".join(parts)
            if keep_blank or line.strip():
                yield _line(number, line, length, max_record)
            number += 1
            parts, held, length, blank = [], 0, 0, True
            start = after
            if any_newline and after == len(block) and block.endswith(b"\r"):
                skip_lf = True
        rest = block[start:]
        if rest:
            blank = blank and not rest.strip()
            if held < max_record:
                keep = rest[: max_record - held]
                parts.append(keep)
                held += len(keep)
            length += len(rest)
    if over:
        raise FileTooLarge(
            f"file larger than {max_file:,} bytes (max_file_bytes): the rest is not read"
        )
    if length:
        line = b"".join(parts)
        if line.strip():
            yield _line(number, line, length, max_record)


def _line_ends(block: bytes, any_newline: bool) -> int:
    """How many lines end in ``block`` (CRLF counted once)."""
    if not any_newline:
        return block.count(b"\n")
    return block.count(b"\n") + block.count(b"\r") - block.count(b"\r\n")


def _plain_lines(block: bytes, start: int, number: int, max_record: int) -> tuple[int, list[Line]]:
    """The complete lines of ``block`` from ``start`` in one go when they are plain: each
    starts with ``{`` (so none is blank), none holds a CR, none is longer than
    ``max_record``; (where the per-line loop goes on, those lines, numbered from ``number``).
    Anything else: ``(start, [])``, and the per-line loop reads the block as before."""
    end = block.rfind(b"\n", start)
    if end <= start or block[start : start + 1] != b"{":
        return start, []
    body = block[start:end]
    pieces = body.split(b"\n")
    if body.count(b"\n{") != len(pieces) - 1 or b"\r" in body or max(map(len, pieces)) > max_record:
        return start, []
    lengths = map(len, pieces)
    return end + 1, list(map(Line, range(number, number + len(pieces)), pieces, lengths))


def _line(number: int, data: bytes, length: int, max_record: int) -> Line:
    data = data.rstrip(b"\r")
    if length > max_record:
        return Line(number, data[:HEAD_BYTES], length)
    return Line(number, data, len(data))


def too_long_reason(length: int, limits: Limits, what: str = "record", size: str = "") -> str:
    """Why a record is not read (``size``: a qualifier such as ``"about "``)."""
    return (
        f"{what} of {size}{length:,} bytes is longer than {limits.max_record_bytes:,} "
        "(max_record_bytes): not read"
    )


# -- CSV rows ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CsvRow:
    """One CSV row: its cells, or why it cannot be read (``error``; ``raw`` is then what
    quarantine keeps: the row, or the head of a too-long one)."""

    line: int  # its first physical line
    cells: list[str]
    raw: str
    error: str | None = None


#: Stands for a line longer than ``max_record_bytes`` in what the CSV parser reads (a NUL
#: never survives normalisation, so the marker cannot be mistaken for data).
_TOO_LONG = "\x00groupops:too-long\x00"


class _RowTooLong(Exception):
    """Raised into the CSV parser when one row (a quoted cell spanning lines, or many of
    them) grows past ``max_record_bytes``."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


class _CsvText:
    """The physical lines as the CSV parser reads them: decoded, a too-long one as the
    marker with its head; the size of the row being parsed is counted and past
    ``max_record_bytes`` :class:`_RowTooLong` is raised into the parser. An iterator object,
    not a generator, so that it goes on after raising (the parser starts a new row)."""

    def __init__(self, lines: Iterable[Line], encoding: str, limits: Limits) -> None:
        self.lines = iter(lines)
        self.codec = encoding.removesuffix("-sig")
        self.max_record = limits.max_record_bytes
        self.number = 0  # the last line read
        self.long = 0  # the length of the last too-long line
        self.row = 0  # bytes of the row being parsed

    def __iter__(self) -> _CsvText:
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        self.number = line.number
        data = line.data
        if line.number == 1 and data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        text = data.decode(self.codec, errors="surrogateescape")
        self.row += line.length + 1
        if line.too_long:
            self.long = line.length
            return f"{text}{_TOO_LONG}\n"
        if self.row > self.max_record:
            raise _RowTooLong(self.row)
        return text + "\n"


def csv_rows(lines: Iterable[Line], encoding: str, limits: Limits) -> Iterator[CsvRow]:
    """The non-blank rows of a CSV file from :func:`bounded_lines` (``keep_blank=True``),
    decoded with ``encoding``. A row is at most ``max_record_bytes``: a longer physical line,
    or a row that grows past it over several lines, becomes a too-long :class:`CsvRow` and the
    parser goes on; so does a cell past the ``csv`` module's field limit and text that is not
    valid in ``encoding``."""
    text = _CsvText(lines, encoding, limits)
    reader = csv.reader(text)
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except _RowTooLong as exc:
            at, start, text.row = start, text.number + 1, 0
            yield CsvRow(at, [], "", too_long_reason(exc.size, limits, "row", "more than "))
            continue
        except csv.Error as exc:  # a quoted cell past the csv module's field limit (128 KiB)
            at, start, text.row = start, text.number + 1, 0
            yield CsvRow(at, [], "", f"unreadable CSV: {exc}")
            continue
        at, start, text.row = start, text.number + 1, 0
        if not any(cell.strip() for cell in cells):
            continue
        raw = ",".join(cells)
        if _TOO_LONG in raw:
            shown = raw.replace(_TOO_LONG, "")[:HEAD_BYTES] + "…"
            yield CsvRow(at, [], shown, too_long_reason(text.long, limits))
            continue
        if any("\udc80" <= ch <= "\udcff" for ch in raw):
            clean = raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            yield CsvRow(at, [], clean, f"not valid {text.codec.upper()} text")
            continue
        yield CsvRow(at, cells, raw)


# -- archives ---------------------------------------------------------------------------------


def normalise_member_name(name: str) -> str | Refusal:
    """An archive member's name as a relative POSIX path, or why it is dangerous."""
    if _UNSAFE_NAME.search(name):
        return Refusal(name, "member name holds a control character: not read")
    posix = name.replace("\\", "/")
    if posix.startswith("/") or _DRIVE.match(posix):
        return Refusal(name, "absolute member name: not read")
    parts = [p for p in PurePosixPath(posix).parts if p not in ("", ".")]
    if ".." in parts:
        return Refusal(name, "member name leads outside the archive (..): not read")
    return "/".join(parts) + ("/" if posix.endswith("/") and parts else "")


@dataclass
class ArchiveIndex:
    """The members of a zip that may be read (``safe name → ZipInfo``), and the refused ones
    with their reasons (checked from the headers: names, declared sizes, ratios)."""

    members: dict[str, zipfile.ZipInfo]
    refusals: list[Refusal]


def index_archive(archive: zipfile.ZipFile, limits: Limits, label: str) -> ArchiveIndex:
    """Check every member of ``archive`` from its header (``label``: how to name it)."""
    members: dict[str, zipfile.ZipInfo] = {}
    refusals: list[Refusal] = []
    total = 0
    for info in archive.infolist():
        if info.is_dir():
            continue
        name = normalise_member_name(info.filename)
        shown = f"{label}!{info.filename}"
        if isinstance(name, Refusal):
            refusals.append(Refusal(shown, name.reason))
            continue
        if info.flag_bits & 0x1:
            refusals.append(Refusal(shown, "encrypted member: not read"))
            continue
        if stat.S_ISLNK(info.external_attr >> 16):
            refusals.append(Refusal(shown, "a symlink inside the archive: not followed"))
            continue
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > _RATIO_FLOOR and ratio > limits.max_compression_ratio:
            refusals.append(
                Refusal(
                    shown,
                    f"compression ratio {ratio:,.0f}:1 is more than "
                    f"{limits.max_compression_ratio:,.0f}:1 (max_compression_ratio): not read",
                )
            )
            continue
        if info.file_size > limits.max_file_bytes:
            refusals.append(
                Refusal(
                    shown,
                    f"member of {info.file_size:,} bytes is larger than "
                    f"{limits.max_file_bytes:,} (max_file_bytes): not read",
                )
            )
            continue
        if total + info.file_size > limits.max_archive_bytes:
            refusals.append(
                Refusal(
                    shown,
                    f"the archive expands to more than {limits.max_archive_bytes:,} bytes "
                    "(max_archive_bytes): this member is not read",
                )
            )
            continue
        if name in members:
            refusals.append(Refusal(shown, f"a second member named {name!r}: not read"))
            continue
        total += info.file_size
        members[name] = info
    return ArchiveIndex(members, refusals)


def open_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> IO[bytes]:
    """A member's bytes; zipfile stops at the declared size and checks the CRC, so a header
    that lies about the size cannot make it read more."""
    return archive.open(info)


def is_zip(path: Path) -> bool:
    """A regular file that is a zip archive (a device or FIFO is never opened as one)."""
    try:
        return stat.S_ISREG(path.stat().st_mode) and zipfile.is_zipfile(path)
    except OSError:
        return False
