"""Shared pieces of the export importers: the :class:`ExportSource` base, record builders,
text clean-up, stable ids from names, message kinds from file names, and a reader that treats a
folder and a ``.zip`` alike."""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

import orjson

from groupops.canonical import KEYS, Entity, RawRecord, RecordError
from groupops.ingest.limits import (
    Limits,
    Refusal,
    file_refusal,
    index_archive,
    open_member,
    read_document,
    read_path_document,
)

#: The member id of platform-generated lines that name no person (WhatsApp "Messages are
#: end-to-end encrypted", a WeChat 系统消息 without an actor, ...).
SYSTEM_MEMBER_ID = "system"
SYSTEM_MEMBER_NAME = "(system)"

_URL_ONLY = re.compile(r"^\s*<?(?:https?://|www\.)\S+>?\s*$", re.IGNORECASE)

_IMAGE_EXT = frozenset({"jpg", "jpeg", "png", "gif", "webp", "bmp", "heic", "heif", "tif", "tiff"})
_VIDEO_EXT = frozenset({"mp4", "mov", "avi", "mkv", "webm", "m4v", "3gp", "wmv"})
_AUDIO_EXT = frozenset({"opus", "ogg", "oga", "mp3", "m4a", "aac", "wav", "amr", "flac", "silk"})


_INVISIBLE_RE = re.compile("[\u200b\u200e\u200f\u2066-\u2069\ufeff\u202a-\u202e]")
_SPACES_RE = re.compile("[\u00a0\u202f\u2007\u2009]")


def clean_text(text: str) -> str:
    """Drop invisible direction marks and turn no-break spaces into plain spaces."""
    if text.isascii():
        return text
    return _SPACES_RE.sub(" ", _INVISIBLE_RE.sub("", text))


_NATIVE_DIGIT = re.compile(r"(?![0-9])\d")


def to_ascii_digits(text: str) -> str:
    """Arabic-Indic, Persian, full-width ... digits to ``0-9`` (other characters unchanged)."""
    if text.isascii():
        return text
    return _NATIVE_DIGIT.sub(lambda m: str(unicodedata.digit(m[0])), text)


def slug(name: str) -> str:
    """A stable member id from a display name: NFKC, case-folded, runs of spaces and
    punctuation to ``-``. Letters of any script are kept (``张三`` stays ``张三``); a name with
    no letter or digit left gets a short hash instead."""
    text = unicodedata.normalize("NFKC", clean_text(name)).casefold().strip()
    text = re.sub(r"[^\w+]+", "-", text).strip("-")
    if not text:
        return "name-" + hashlib.sha1(name.encode("utf-8")).hexdigest()[:10]
    return text


@lru_cache(maxsize=1024)
def kind_from_filename(name: str, default: str = "file") -> str:
    """``image``/``video``/``voice``/``file`` from a file name's extension (each distinct
    name worked out once: an export attaches the same few names many times)."""
    ext = PurePosixPath(name.strip().lower()).suffix.lstrip(".")
    if ext in _IMAGE_EXT:
        return "image"
    if ext in _VIDEO_EXT:
        return "video"
    if ext in _AUDIO_EXT:
        return "voice"
    return default


def kind_from_mime(mime: str | None, name: str = "", default: str = "file") -> str:
    """Like :func:`kind_from_filename`, trusting a MIME type first."""
    major = (mime or "").split("/", 1)[0].lower()
    if major == "image":
        return "image"
    if major == "video":
        return "video"
    if major == "audio":
        return "voice"
    return kind_from_filename(name, default)


def is_link_only(text: str) -> bool:
    """True when the text is one URL and nothing else (kind ``link``)."""
    return bool(_URL_ONLY.match(text))


def dumps(obj: Any) -> str:
    """The JSON text of an original record, for ``RawRecord.raw``."""
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS, default=str).decode("utf-8")


def ok(
    entity: Entity,
    source: str,
    line: int,
    raw: str,
    *,
    extra: Mapping[str, Any] | None = None,
    **data: Any,
) -> RawRecord:
    """A record in canonical field names (``None`` values are left out); ``extra`` keeps
    facts the canonical model has no field for (an edit time, ...). Partial: a field an export
    does not carry (a member's email, a group's owner) keeps what the store already holds."""
    return RawRecord(
        entity=entity,
        source=source,
        line=line,
        raw=raw,
        data={k: v for k, v in data.items() if v is not None},
        extra=dict(extra or {}),
        partial=True,
    )


def bad(entity: Entity, source: str, line: int, raw: str, field: str, reason: str) -> RawRecord:
    """A record the importer could not understand: it goes to quarantine with ``reason``."""
    return RawRecord(
        entity=entity, source=source, line=line, raw=raw, error=RecordError(field, reason)
    )


def required_id(
    entity: Entity, source: str, line: int, raw: str, item: Any, key: str, missing: str
) -> str | RawRecord:
    """``item[key]`` as an id, or the quarantine record saying why there is none: ``item`` is
    not a JSON object (``(record)``), or has no ``key`` (the reason ``missing``)."""
    if not isinstance(item, Mapping):
        return bad(entity, source, line, raw, "(record)", "not a JSON object")
    value = id_str(item.get(key))
    return value if value is not None else bad(entity, source, line, raw, key, missing)


class ExportSource:
    """Base of the export importers.

    Subclasses implement :meth:`_records`, yielding the records of every entity in whatever
    order the export is read (they may use the ``entity`` hint to skip work). :meth:`records`
    keeps the asked entity and drops repeated groups and members (the first one wins), so an
    importer can emit a member for every sender it meets. Each call re-reads the export, so
    nothing beyond what the format needs is held in memory.
    """

    format: str
    platform: ClassVar[str]

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.name = str(path)

    def records(self, entity: Entity) -> Iterator[RawRecord]:
        dedupe = entity in ("groups", "members")
        key_fields = KEYS[entity]
        seen: set[tuple[str, ...]] = set()
        for record in self._records(entity):
            if record.entity != entity:
                continue
            if dedupe and record.data is not None:
                key = tuple(str(record.data.get(k, "")) for k in key_fields)
                if key in seen:
                    continue
                seen.add(key)
            yield record

    def _records(self, entity: Entity) -> Iterator[RawRecord]:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- small builders shared by the importers --------------------------------------------
    def single_group(self, group_id: str, name: str) -> RawRecord:
        """The one group of an export that holds a single chat (WhatsApp, WeChat CSV)."""
        return ok(
            "groups", str(self.path), 0, "", platform=self.platform, group_id=group_id, name=name
        )

    def member(
        self,
        source: str,
        line: int,
        raw: str,
        member_id: str,
        display_name: str | None,
        **extra: Any,
    ) -> RawRecord:
        return ok(
            "members",
            source,
            line,
            raw,
            platform=self.platform,
            member_id=member_id,
            display_name=display_name or member_id,
            **extra,
        )

    def message(
        self,
        source: str,
        line: int,
        raw: str,
        group_id: str,
        message_id: str,
        sender_id: str,
        sent_at: object,
        **fields: Any,
    ) -> RawRecord:
        """A message of ``sender_id`` in ``group_id``; ``fields``: the other canonical message
        fields (kind, text, reply_to, mentions, mention_all, pinned) and ``extra``."""
        return ok("messages", source, line, raw, platform=self.platform, group_id=group_id,
                  message_id=message_id, sender_id=sender_id, sent_at=sent_at, **fields)  # fmt: skip

    def membership(
        self,
        source: str,
        line: int,
        raw: str,
        group_id: str,
        member_id: str,
        event: str,
        at: object,
        approved_by: str | None = None,
    ) -> RawRecord:
        """A join / leave / removal of ``member_id`` in ``group_id`` at ``at`` (approved or done
        by ``approved_by``)."""
        return ok("memberships", source, line, raw, platform=self.platform, group_id=group_id,
                  member_id=member_id, event=event, at=at, approved_by=approved_by)  # fmt: skip

    def system_member(self, source: str) -> RawRecord:
        return self.member(source, 0, "", SYSTEM_MEMBER_ID, SYSTEM_MEMBER_NAME)


class Tree:
    """Read files from a folder or a ``.zip`` by relative POSIX names, within the input limits
    (:mod:`groupops.ingest.limits`): only regular files, symlinks only inside the folder,
    archive members by their normalised names, documents up to ``max_document_bytes``. What
    is refused is listed in :attr:`refusals` (the importer quarantines it), never skipped
    silently."""

    def __init__(self, path: Path, limits: Limits | None = None) -> None:
        self.path = path
        self.limits = limits or Limits.from_settings()
        self.refusals: list[Refusal] = []
        self._zip: zipfile.ZipFile | None = None
        self._infos: dict[str, zipfile.ZipInfo] = {}
        self._prefix = ""
        if path.is_file():
            self._zip = zipfile.ZipFile(path)
            index = index_archive(self._zip, self.limits, str(path))
            self.refusals = index.refusals
            names = list(index.members)
            # A zip often wraps everything in one top folder: strip it.
            roots = {n.split("/", 1)[0] for n in names}
            if len(roots) == 1 and all("/" in n for n in names):
                self._prefix = next(iter(roots)) + "/"
            self._infos = {
                n[len(self._prefix) :]: info
                for n, info in index.members.items()
                if not n.startswith("__MACOSX/")
            }
            self._names = sorted(self._infos)
        else:
            found: list[str] = []
            for folder, dirs, files in os.walk(path):  # symlinked folders are not entered
                base = Path(folder)
                for name in files + [d for d in dirs if (base / d).is_symlink()]:
                    child = base / name
                    reason = file_refusal(child, root=path)
                    if reason is None:
                        found.append(child.relative_to(path).as_posix())
                    elif child.is_symlink() or not child.is_dir():
                        self.refusals.append(Refusal(str(child), reason))
            self._names = sorted(found)

    def names(self) -> list[str]:
        return list(self._names)

    def exists(self, name: str) -> bool:
        return name in self._names

    def read(self, name: str) -> bytes:
        """A whole file (a JSON document): :class:`InputRefused` past ``max_document_bytes``."""
        limit = min(self.limits.max_document_bytes, self.limits.max_file_bytes)
        if self._zip is not None:
            with open_member(self._zip, self._infos[name]) as stream:
                return read_document(stream, limit)
        return read_path_document(self.path / name, self.limits, root=self.path)

    def refused(self, entity: Entity = "messages") -> Iterator[RawRecord]:
        """The refused files and members as quarantine records (field ``(file)``)."""
        for refusal in self.refusals:
            yield bad(entity, refusal.name, 0, "", "(file)", refusal.reason)

    def display(self, name: str) -> str:
        """How a member file is named in quarantine: ``folder/name`` or ``archive.zip!name``."""
        if self._zip is not None:
            return f"{self.path}!{self._prefix}{name}"
        return str(self.path / name)

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


def load_json(data: bytes) -> Any:
    """Parse JSON bytes (a UTF-8 BOM is tolerated)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return orjson.loads(data)


#: What :func:`first` counts as empty (built once: a literal in the test builds a list and a
#: dict per call).
_EMPTY: tuple[Any, ...] = (None, "", [], {})


def first(mapping: Mapping[str, Any], *keys: str) -> Any:
    """The first non-empty value among ``keys``."""
    for key in keys:
        value = mapping.get(key)
        if value not in _EMPTY:
            return value
    return None


def id_str(value: Any) -> str | None:
    """An id as a string (ints and strings; anything else is no id)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def unique(values: Iterable[str]) -> list[str]:
    """Values without repeats, in first-seen order."""
    return list(dict.fromkeys(values))
