"""Read a canonical activity bundle: a folder or ``.zip`` holding ``groups``, ``members``,
``memberships`` and ``messages`` as ``.jsonl`` or ``.csv`` (UTF-8 or GBK). A single canonical
file (``messages.jsonl``) is a bundle of one entity.

Records stream line by line; a line that is not valid JSON, not decodable, or not an object
becomes a :class:`RawRecord` with an ``error`` (it lands in quarantine; the rest goes on).
"""

from __future__ import annotations

import codecs
import hashlib
import itertools
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import IO, TYPE_CHECKING

import orjson

from groupops.canonical import (
    ALL_ENTITIES,
    ENTITIES,
    FIELDS,
    FILE_STEMS,
    ROSTER,
    Entity,
    RawRecord,
    RecordError,
)
from groupops.ingest.limits import (
    FileTooLarge,
    Limits,
    Line,
    Refusal,
    bounded_lines,
    csv_rows,
    file_refusal,
    index_archive,
    is_zip,
    open_member,
    too_long_reason,
)

if TYPE_CHECKING:
    import pandas as pd

    from groupops.ingest.fingerprint import Fingerprint

SUFFIXES = (".jsonl", ".csv")
# GB18030 is a superset of GBK and GB2312: what Chinese Excel and WeChat tools write.
FALLBACK_ENCODING = "gb18030"


class BundleError(ValueError):
    """The path is not a bundle at all (nothing to read)."""


def _decode_line(raw: bytes) -> tuple[str | None, str | None]:
    """(text, encoding error). UTF-8 first (BOM stripped), then GBK/GB18030."""
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        try:
            return raw.decode(FALLBACK_ENCODING), None
        except UnicodeDecodeError:
            return None, f"not valid UTF-8 or GBK text ({exc.reason} at byte {exc.start})"


@dataclass(frozen=True)
class _Member:
    """One entity file inside a folder or a zip."""

    entity: Entity
    label: str  # what quarantine records as the source file
    suffix: str
    path: Path
    inner: zipfile.ZipInfo | None = None  # the member inside the zip (checked by its header)

    def open(self) -> IO[bytes]:
        if self.inner is None:
            return self.path.open("rb")
        archive = zipfile.ZipFile(self.path)
        return open_member(archive, self.inner)


def _entity_for(name: str) -> tuple[Entity, str] | None:
    stem, dot, suffix = Path(name).name.rpartition(".")
    if not dot or f".{suffix.lower()}" not in SUFFIXES:
        return None
    for entity in ALL_ENTITIES:
        if stem == FILE_STEMS[entity]:
            return entity, f".{suffix.lower()}"
    return None


class BundleSource:
    """A canonical bundle as a :class:`~groupops.canonical.Source`.

    Files and archive members are opened only as :mod:`groupops.ingest.limits` allows (regular
    files, symlinks only inside the bundle, safe member names, declared sizes and ratios
    within the limits); one that is refused becomes a quarantine record naming it (field
    ``(file)``), and the entities' records are read line by line within ``max_record_bytes``."""

    format = "canonical"

    def __init__(self, path: Path, limits: Limits | None = None, *, columnar: bool = True) -> None:
        self.path = path
        self.columnar = columnar
        self.name = str(path)
        self.limits = limits or Limits.from_settings()
        self.refusals: dict[Entity, list[Refusal]] = {}
        self._archive_fingerprint: Fingerprint | None = None
        self._files = self._discover()
        if not self._files and not self.refusals:
            names = ", ".join(f"{FILE_STEMS[e]}.jsonl|.csv" for e in ALL_ENTITIES)
            raise BundleError(f"{path}: no canonical bundle files found (expected {names})")

    def _refuse(self, entity: Entity, name: str, reason: str) -> None:
        self.refusals.setdefault(entity, []).append(Refusal(name, reason))

    def _discover(self) -> dict[Entity, _Member]:
        found: dict[Entity, _Member] = {}
        path = self.path
        if path.is_dir():
            for child in sorted(path.iterdir()):
                hit = _entity_for(child.name)
                if not hit or hit[0] in found:
                    continue
                reason = file_refusal(child, root=path)
                if reason is not None:
                    self._refuse(hit[0], str(child), reason)
                    continue
                found[hit[0]] = _Member(hit[0], str(child), hit[1], child)
        elif is_zip(path):
            with zipfile.ZipFile(path) as archive:
                index = index_archive(archive, self.limits, str(path))
            for refusal in index.refusals:
                hit = _entity_for(refusal.name.rpartition("!")[2].replace("\\", "/"))
                self._refuse(hit[0] if hit else "messages", refusal.name, refusal.reason)
            for name, info in sorted(index.members.items()):
                hit = _entity_for(name)
                if hit and hit[0] not in found:
                    label = f"{path}!{info.filename}"
                    found[hit[0]] = _Member(hit[0], label, hit[1], path, info)
        elif path.exists() or path.is_symlink():
            hit = _entity_for(path.name)
            if hit:  # named by the user: followed wherever it leads, but only to a regular file
                reason = file_refusal(path.resolve() if path.is_symlink() else path)
                if reason is not None:
                    self._refuse(hit[0], str(path), reason)
                else:
                    found[hit[0]] = _Member(hit[0], str(path), hit[1], path)
        else:
            raise BundleError(f"{path}: no such file or folder")
        return found

    @property
    def entities(self) -> tuple[Entity, ...]:
        """The activity entities, and the roster when the bundle holds one."""
        present = ROSTER in self._files or ROSTER in self.refusals  # a refused one is reported
        return (*ENTITIES, ROSTER) if present else ENTITIES

    @property
    def files(self) -> dict[Entity, str]:
        return {entity: member.label for entity, member in self._files.items()}

    def records(self, entity: Entity) -> Iterator[RawRecord]:
        for refusal in self.refusals.get(entity, ()):
            yield RawRecord(
                entity, refusal.name, 0, "", error=RecordError("(file)", refusal.reason)
            )
        member = self._files.get(entity)
        if member is None:
            return
        with member.open() as stream:
            try:
                if member.suffix == ".jsonl":
                    yield from _jsonl_records(entity, member.label, stream, self.limits)
                else:
                    yield from _csv_records(entity, member.label, stream, self.limits)
            except FileTooLarge as exc:
                yield RawRecord(entity, member.label, 0, "", error=RecordError("(file)", str(exc)))

    def apart_bytes(self, entity: Entity) -> int | None:
        """The size of the entity's file (an archive member: its declared size), which a child
        process may prepare apart (:mod:`groupops.ingest.overlap`); ``None`` when the entity
        has no file or a refused one."""
        member = self._files.get(entity)
        if member is None or self.refusals.get(entity):
            return None
        if member.inner is not None:
            return member.inner.file_size
        return member.path.stat().st_size

    def fingerprint(self, entity: Entity) -> Fingerprint | None:
        """The entity's file's fingerprint (:mod:`groupops.ingest.fingerprint`); ``None`` when
        the entity has no file or a refused one (read every time, so it is reported)."""
        from groupops.ingest.fingerprint import Fingerprint, file_fingerprint

        member = self._files.get(entity)
        if member is None or self.refusals.get(entity):
            return None
        if member.inner is None:
            return file_fingerprint(member.label, member.path)
        if self._archive_fingerprint is None:  # the whole archive, hashed once per source
            self._archive_fingerprint = file_fingerprint(str(self.path), self.path)
        whole = self._archive_fingerprint
        inner = member.inner
        extra = f"{whole.sha256}|{inner.filename}|{inner.CRC}|{inner.file_size}"
        digest = hashlib.sha256(extra.encode()).hexdigest()
        return Fingerprint(member.label, whole.size, whole.mtime_ns, digest)

    def chunks(
        self, entity: Entity, size: int, *, columnar: bool | None = None, skip: int = 0
    ) -> Iterator[list[RawRecord] | pd.DataFrame]:
        """The entity's records (as :meth:`records` gives them) ``size`` lines at a time; a
        JSONL chunk of clean canonical lines comes as one columnar frame instead
        (:mod:`groupops.ingest.columnar`), unless ``columnar`` (default: the source's own
        setting) is false. The chunk boundaries are the same either way. ``skip``: the chunks
        after the first ``skip`` (a JSONL file's skipped lines are split, never parsed)."""
        member = self._files.get(entity)
        refused = [
            RawRecord(entity, refusal.name, 0, "", error=RecordError("(file)", refusal.reason))
            for refusal in self.refusals.get(entity, ())
        ]
        if member is None or member.suffix != ".jsonl" or (refused and skip):
            yield from islice(self._chunks(entity, size, columnar, refused), skip, None)
            return
        yield from self._chunks(entity, size, columnar, refused, skip=skip)

    def _chunks(
        self,
        entity: Entity,
        size: int,
        columnar: bool | None,
        refused: list[RawRecord],
        *,
        skip: int = 0,
    ) -> Iterator[list[RawRecord] | pd.DataFrame]:
        member = self._files.get(entity)
        if member is None or member.suffix != ".jsonl":
            records = self.records(entity)
            while chunk := list(islice(records, size)):
                yield chunk
            return
        if refused:
            yield refused
        columnar = self.columnar if columnar is None else columnar
        with member.open() as stream:
            yield from _jsonl_chunks(
                entity, member.label, stream, size, self.limits, columnar=columnar, skip=skip
            )


def open_bundle(
    path: Path | str, limits: Limits | None = None, *, columnar: bool = True
) -> BundleSource:
    return BundleSource(Path(path), limits, columnar=columnar)


class RosterFile(BundleSource):
    """One HR roster file (``.csv`` or ``.jsonl``, any name) as a source of the ``roster``
    entity only: ``groupops ingest hr-export.csv --format roster``."""

    format = "roster"

    @property
    def entities(self) -> tuple[Entity, ...]:
        return (ROSTER,)

    def _discover(self) -> dict[Entity, _Member]:
        path = self.path
        if not path.is_file():
            raise BundleError(f"{path}: no such file (a roster is one .csv or .jsonl file)")
        suffix = path.suffix.lower()
        if suffix not in SUFFIXES:
            raise BundleError(f"{path}: a roster is a .csv or .jsonl file")
        return {ROSTER: _Member(ROSTER, str(path), suffix, path)}


def open_roster(path: Path | str) -> RosterFile:
    return RosterFile(Path(path))


def _too_long(entity: Entity, label: str, line: Line, limits: Limits) -> RawRecord:
    head = line.data.decode("utf-8", errors="replace") + "…"
    return RawRecord(
        entity, label, line.number, head,
        error=RecordError("(line)", too_long_reason(line.length, limits)),
    )  # fmt: skip


def _jsonl_records(
    entity: Entity, label: str, stream: IO[bytes], limits: Limits | None = None
) -> Iterator[RawRecord]:
    limits = limits or Limits()
    for line in bounded_lines(stream, limits):
        record = parse_line(entity, label, line, limits)
        if record is not None:
            yield record


def _jsonl_chunks(
    entity: Entity,
    label: str,
    stream: IO[bytes],
    size: int,
    limits: Limits,
    *,
    columnar: bool,
    skip: int = 0,
) -> Iterator[list[RawRecord] | pd.DataFrame]:
    """``size`` lines at a time: a frame when the columnar reader takes the chunk, else the
    chunk's records read line by line. A file past ``max_file_bytes`` ends with its
    ``(file)`` record, after the lines read before it. ``skip``: the chunks after the first
    ``skip`` (their lines split, not parsed)."""
    from groupops.ingest.columnar import read_columnar

    for chunk in islice(_line_chunks(entity, label, stream, size, limits), skip, None):
        if isinstance(chunk, RawRecord):
            yield [chunk]
            continue
        frame = read_columnar(entity, label, chunk) if columnar else None
        if frame is not None:
            yield frame
        else:
            records = [parse_line(entity, label, line, limits) for line in chunk]
            yield [record for record in records if record is not None]


def _line_chunks(
    entity: Entity, label: str, stream: IO[bytes], size: int, limits: Limits
) -> Iterator[list[Line] | RawRecord]:
    """The lines of :func:`_jsonl_chunks`' chunks, one item per chunk it yields: ``size``
    lines, or the ``(file)`` record of a file past ``max_file_bytes``."""
    lines = bounded_lines(stream, limits)
    while True:
        chunk: list[Line] = []
        refused: RawRecord | None = None
        try:
            chunk.extend(islice(lines, size))  # what was read before a refusal stays in chunk
        except FileTooLarge as exc:
            refused = RawRecord(entity, label, 0, "", error=RecordError("(file)", str(exc)))
        if chunk:
            yield chunk
        if refused is not None:
            yield refused
            return
        if len(chunk) < size:
            return


def parse_line(entity: Entity, label: str, line: Line, limits: Limits) -> RawRecord | None:
    """One JSONL line as a record (with an ``error`` when it cannot be read: too long, not
    text, not JSON, not an object); ``None`` for a blank line."""
    number, raw_bytes = line.number, line.data
    if line.too_long:
        return _too_long(entity, label, line, limits)
    if number == 1 and raw_bytes.startswith(codecs.BOM_UTF8):
        raw_bytes = raw_bytes[len(codecs.BOM_UTF8) :]
    if not raw_bytes.strip():
        return None
    try:  # the fast path: UTF-8, decoded once (orjson reads the same bytes)
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError:
        decoded, decode_error = _decode_line(raw_bytes)
        if decoded is None:
            raw = raw_bytes.decode("utf-8", errors="replace")
            return RawRecord(
                entity, label, number, raw, error=RecordError("(line)", str(decode_error))
            )
        text = decoded
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        reason = f"not valid JSON: {exc}"
        return RawRecord(entity, label, number, text, error=RecordError("(line)", reason))
    if not isinstance(data, dict):
        reason = f"expected a JSON object, got {type(data).__name__}"
        return RawRecord(entity, label, number, text, error=RecordError("(line)", reason))
    return RawRecord(entity, label, number, text, data=data)


CSV_SAMPLE_BYTES = 1 << 20


def _sniff_encoding(head: bytes) -> str:
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8-sig"
    except UnicodeDecodeError:
        return FALLBACK_ENCODING


def _csv_records(
    entity: Entity, label: str, stream: IO[bytes], limits: Limits | None = None
) -> Iterator[RawRecord]:
    """Rows of a CSV file (UTF-8, or GB18030 when its first MiB is not UTF-8), each at most
    ``max_record_bytes`` (a longer physical line, or a quoted cell growing past it, is
    quarantined as too long and the parser goes on)."""
    limits = limits or Limits()
    lines = bounded_lines(stream, limits, keep_blank=True)
    head: list[Line] = []  # the first MiB decides the encoding
    size = 0
    for line in lines:
        head.append(line)
        size += len(line.data) + 1
        if size >= CSV_SAMPLE_BYTES:
            break
    if not head:
        return
    encoding = _sniff_encoding(b"\n".join(line.data for line in head))
    rows = csv_rows(itertools.chain(head, lines), encoding, limits)
    header_row = next(rows, None)
    if header_row is None:
        return
    if header_row.error is not None:
        reason = f"not CSV: {header_row.error}"
        yield RawRecord(
            entity, label, header_row.line, header_row.raw, error=RecordError("(line)", reason)
        )
        return
    header = [h.strip().lstrip("\ufeff") for h in header_row.cells]
    known = {f.name for f in FIELDS[entity]}
    for row in rows:
        if row.error is not None:
            yield RawRecord(
                entity, label, row.line, row.raw, error=RecordError("(line)", row.error)
            )
            continue
        if len(row.cells) != len(header):
            reason = f"{len(row.cells)} cells where the header has {len(header)}"
            yield RawRecord(entity, label, row.line, row.raw, error=RecordError("(line)", reason))
            continue
        data = {
            h: (v if v != "" else None)
            for h, v in zip(header, row.cells, strict=True)
            if h in known
        }
        yield RawRecord(entity, label, row.line, row.raw, data=data)
