"""Read a canonical activity bundle: a folder or ``.zip`` holding ``groups``, ``members``,
``memberships`` and ``messages`` as ``.jsonl`` or ``.csv`` (UTF-8 or GBK). A single canonical
file (``messages.jsonl``) is a bundle of one entity.

Records stream line by line; a line that is not valid JSON, not decodable, or not an object
becomes a :class:`RawRecord` with an ``error`` (it lands in quarantine; the rest goes on).
"""

from __future__ import annotations

import codecs
import csv
import io
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

if TYPE_CHECKING:
    import pandas as pd
    from _typeshed import WriteableBuffer

SUFFIXES = (".jsonl", ".csv")
# GB18030 is a superset of GBK and GB2312: what Chinese Excel and WeChat tools write.
FALLBACK_ENCODING = "gb18030"
CSV_SAMPLE_BYTES = 1 << 20


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
    inner: str | None = None  # name inside the zip

    def open(self) -> IO[bytes]:
        if self.inner is None:
            return self.path.open("rb")
        archive = zipfile.ZipFile(self.path)
        return archive.open(self.inner)


def _entity_for(name: str) -> tuple[Entity, str] | None:
    stem, dot, suffix = Path(name).name.rpartition(".")
    if not dot or f".{suffix.lower()}" not in SUFFIXES:
        return None
    for entity in ALL_ENTITIES:
        if stem == FILE_STEMS[entity]:
            return entity, f".{suffix.lower()}"
    return None


class BundleSource:
    """A canonical bundle as a :class:`~groupops.canonical.Source`."""

    format = "canonical"

    def __init__(self, path: Path, *, columnar: bool = True) -> None:
        self.path = path
        self.columnar = columnar
        self.name = str(path)
        self._files = self._discover()
        if not self._files:
            names = ", ".join(f"{FILE_STEMS[e]}.jsonl|.csv" for e in ALL_ENTITIES)
            raise BundleError(f"{path}: no canonical bundle files found (expected {names})")

    def _discover(self) -> dict[Entity, _Member]:
        found: dict[Entity, _Member] = {}
        path = self.path
        if path.is_dir():
            for child in sorted(path.iterdir()):
                hit = _entity_for(child.name)
                if hit and hit[0] not in found:
                    found[hit[0]] = _Member(hit[0], str(child), hit[1], child)
        elif path.is_file() and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for info in sorted(archive.infolist(), key=lambda i: i.filename):
                    hit = _entity_for(info.filename)
                    if hit and not info.is_dir() and hit[0] not in found:
                        label = f"{path}!{info.filename}"
                        found[hit[0]] = _Member(hit[0], label, hit[1], path, info.filename)
        elif path.is_file():
            hit = _entity_for(path.name)
            if hit:
                found[hit[0]] = _Member(hit[0], str(path), hit[1], path)
        elif not path.exists():
            raise BundleError(f"{path}: no such file or folder")
        return found

    @property
    def entities(self) -> tuple[Entity, ...]:
        """The activity entities, and the roster when the bundle holds one."""
        return (*ENTITIES, ROSTER) if ROSTER in self._files else ENTITIES

    @property
    def files(self) -> dict[Entity, str]:
        return {entity: member.label for entity, member in self._files.items()}

    def records(self, entity: Entity) -> Iterator[RawRecord]:
        member = self._files.get(entity)
        if member is None:
            return
        with member.open() as stream:
            if member.suffix == ".jsonl":
                yield from _jsonl_records(entity, member.label, stream)
            else:
                yield from _csv_records(entity, member.label, stream)

    def chunks(
        self, entity: Entity, size: int, *, columnar: bool | None = None
    ) -> Iterator[list[RawRecord] | pd.DataFrame]:
        """The entity's records ``size`` at a time; a JSONL chunk of clean canonical lines
        comes as one columnar frame instead (:mod:`groupops.ingest.columnar`), unless
        ``columnar`` (default: the source's own setting) is false."""
        member = self._files.get(entity)
        if member is None:
            return
        columnar = self.columnar if columnar is None else columnar
        with member.open() as stream:
            if member.suffix == ".jsonl":
                yield from _jsonl_chunks(entity, member.label, stream, size, columnar=columnar)
            else:
                records = _csv_records(entity, member.label, stream)
                while chunk := list(islice(records, size)):
                    yield chunk


def open_bundle(path: Path | str, *, columnar: bool = True) -> BundleSource:
    return BundleSource(Path(path), columnar=columnar)


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


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """A JSONL file's lines with their 1-based numbers, as bytes (line end included)."""
    return enumerate(stream, start=1)


def _jsonl_records(entity: Entity, label: str, stream: IO[bytes]) -> Iterator[RawRecord]:
    for number, raw_bytes in _lines(stream):
        record = parse_line(entity, label, number, raw_bytes)
        if record is not None:
            yield record


def _jsonl_chunks(
    entity: Entity, label: str, stream: IO[bytes], size: int, *, columnar: bool
) -> Iterator[list[RawRecord] | pd.DataFrame]:
    """``size`` lines at a time: a frame when the columnar reader takes the chunk, else the
    chunk's records read line by line (the same chunk boundaries either way)."""
    from groupops.ingest.columnar import read_columnar

    lines = _lines(stream)
    while chunk := list(islice(lines, size)):
        frame = read_columnar(entity, label, chunk) if columnar else None
        if frame is not None:
            yield frame
            continue
        records = [parse_line(entity, label, number, raw) for number, raw in chunk]
        yield [record for record in records if record is not None]


def parse_line(entity: Entity, label: str, number: int, raw_bytes: bytes) -> RawRecord | None:
    """One JSONL line as a record (with an ``error`` when it cannot be read); ``None`` for a
    blank line."""
    raw_bytes = raw_bytes.rstrip(b"\r\n")
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


def _sniff_encoding(stream: IO[bytes]) -> tuple[str, bytes]:
    head = stream.read(CSV_SAMPLE_BYTES)
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=False)
        return "utf-8-sig", head
    except UnicodeDecodeError:
        return FALLBACK_ENCODING, head


class _Chain(io.RawIOBase):
    """``head`` followed by the rest of ``stream``: sniffing must not lose bytes."""

    def __init__(self, head: bytes, stream: IO[bytes]) -> None:
        self._head = head
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        if self._head:
            n = min(len(view), len(self._head))
            view[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._stream.read(len(view))
        view[: len(data)] = data
        return len(data)


def _csv_records(entity: Entity, label: str, stream: IO[bytes]) -> Iterator[RawRecord]:
    encoding, head = _sniff_encoding(stream)
    text = io.TextIOWrapper(
        io.BufferedReader(_Chain(head, stream)),
        encoding=encoding,
        errors="surrogateescape",
        newline="",
    )
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        return
    header = [h.strip().lstrip("\ufeff") for h in header]
    known = {f.name for f in FIELDS[entity]}
    start = reader.line_num + 1
    for row in reader:
        end = reader.line_num
        line, start = start, end + 1
        if not any(cell.strip() for cell in row):
            continue
        raw = ",".join(row)
        if any("\udc80" <= ch <= "\udcff" for ch in raw):
            clean = raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            reason = f"not valid {encoding.removesuffix('-sig').upper()} text"
            yield RawRecord(entity, label, line, clean, error=RecordError("(line)", reason))
            continue
        if len(row) != len(header):
            reason = f"{len(row)} cells where the header has {len(header)}"
            yield RawRecord(entity, label, line, raw, error=RecordError("(line)", reason))
            continue
        data = {h: (v if v != "" else None) for h, v in zip(header, row, strict=True) if h in known}
        yield RawRecord(entity, label, line, raw, data=data)
