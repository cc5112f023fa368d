"""Input limits and the file-level trust rules every reader of untrusted input shares.

The one place these rules live (docs/security.md): the canonical bundle reader and the export
importers open files, archive members and documents only through here.

* **Records** are read by :func:`bounded_lines`, which never holds more than
  ``max_record_bytes`` of a line: a longer line is counted to its end and handed on as a short
  head with its real length, to be quarantined as too long.
* **Files**: only regular files are read (no device, FIFO or socket: ``/dev/zero`` is refused);
  a symlink is followed only when it resolves inside the bundle root; at most
  ``max_file_bytes`` are read from any file, and a document parsed whole (a Slack day file, a
  Telegram ``result.json``, a Discord export) may be at most ``max_document_bytes``.
* **Archives**: member names are normalised (``\\`` → ``/``, ``./`` dropped) and a dangerous
  one (absolute, a drive, ``..``, a control character) is refused with its name; the members'
  declared sizes are checked before anything is read (at most ``max_archive_bytes`` in all,
  a compression ratio of at most ``max_compression_ratio``), and the byte limits above are
  enforced while reading, whatever the headers claim.

A refused file or member is never skipped silently: readers turn a :class:`Refusal` into a
quarantine record naming it (field ``(file)``).
"""

from __future__ import annotations

import re
import stat
import zipfile
from collections.abc import Iterator
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


def bounded_lines(stream: IO[bytes], limits: Limits, *, keep_blank: bool = False) -> Iterator[Line]:
    """The non-blank lines of ``stream`` (every line with ``keep_blank``) with their 1-based
    numbers, holding at most ``max_record_bytes`` of any line (plus one read block); a read
    block of nothing but blank lines is skipped whole (counted, never yielded). Raises
    :class:`FileTooLarge` after ``max_file_bytes``."""
    max_record, max_file = limits.max_record_bytes, limits.max_file_bytes
    number = 1  # the number of the line being assembled
    parts: list[bytes] = []
    held = 0  # bytes in parts
    length = 0  # the current line's full length so far
    total = 0
    while block := stream.read(_BLOCK):
        total += len(block)
        if total > max_file:
            raise FileTooLarge(
                f"file larger than {max_file:,} bytes (max_file_bytes): the rest is not read"
            )
        if not length and not block.strip():  # a block of blank lines (the common attack)
            number += block.count(b"\n")
            continue
        start = 0
        plain_tried = keep_blank  # once per block, when no line is being assembled
        while True:
            if not plain_tried and not length:
                plain_tried = True
                start, lines = _plain_lines(block, start, number, max_record)
                if lines:
                    yield from lines
                    number += len(lines)
            if (end := block.find(b"\n", start)) == -1:
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
            parts, held, length = [], 0, 0
            start = end + 1
        rest = block[start:]
        if rest:
            if held < max_record:
                keep = rest[: max_record - held]
                parts.append(keep)
                held += len(keep)
            length += len(rest)
    if length:
        line = b"".join(parts)
        if line.strip():
            yield _line(number, line, length, max_record)


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


def too_long_reason(length: int, limits: Limits) -> str:
    return (
        f"record of {length:,} bytes is longer than {limits.max_record_bytes:,} "
        "(max_record_bytes): not read"
    )


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
