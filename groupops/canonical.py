"""The canonical activity model: the one shape every source (bundle, export, API) is turned into.

A *bundle* is a folder or ``.zip`` with ``groups``, ``members``, ``memberships`` and
``messages`` as ``.jsonl`` or ``.csv`` (see docs/formats.md). Importers and connectors yield
:class:`RawRecord` objects of the same four entities, in :data:`ENTITIES` order, and the one
validated ingest (``groupops.ingest``) normalises, validates and stores them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Literal, NamedTuple, Protocol

Entity = Literal["groups", "members", "memberships", "messages", "roster"]

#: The activity entities, in load order: a message or membership may only name a group already
#: known. Every source has them (possibly empty).
ENTITIES: Final[tuple[Entity, ...]] = ("groups", "members", "memberships", "messages")
#: The HR roster (实名制, departures; see docs/roster.md): in a bundle as ``roster.csv`` or
#: ``roster.jsonl``, or a file of its own (``groupops ingest FILE --format roster``).
ROSTER: Final[Entity] = "roster"
ALL_ENTITIES: Final[tuple[Entity, ...]] = (*ENTITIES, ROSTER)
ROSTER_STATUSES: Final[frozenset[str]] = frozenset({"active", "departed", "external"})

MESSAGE_KINDS: Final[frozenset[str]] = frozenset(
    {"text", "image", "voice", "video", "file", "link", "system"}
)
MEMBERSHIP_EVENTS: Final[frozenset[str]] = frozenset({"join", "leave", "removed"})
GROUP_CATEGORIES: Final[tuple[str, ...]] = ("project", "product", "marketing", "partner", "other")

FieldType = Literal["id", "str", "instant", "bool", "ids", "enum"]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    type: FieldType
    required: bool = False
    choices: frozenset[str] = frozenset()


def _f(
    name: str, type_: FieldType, required: bool = False, choices: frozenset[str] = frozenset()
) -> FieldSpec:
    return FieldSpec(name, type_, required, choices)


#: Columns of each entity, in file order. ``id``: a non-empty string (numbers are accepted and
#: turned into strings); ``instant``: ISO 8601 with offset, epoch seconds or milliseconds, or a
#: naive time read in the policy's zone; ``ids``: a list of ids (JSON list, or in CSV a JSON list
#: or ``;``-separated); ``bool``: true/false/1/0/yes/no.
FIELDS: Final[dict[Entity, tuple[FieldSpec, ...]]] = {
    "groups": (
        _f("platform", "id", True),
        _f("group_id", "id", True),
        _f("name", "str", True),
        _f("category", "str"),
        _f("owner_id", "id"),
        _f("admin_ids", "ids"),
    ),
    "members": (
        _f("platform", "id", True),
        _f("member_id", "id", True),
        _f("display_name", "str", True),
        _f("real_name", "str"),
        _f("department", "str"),
        _f("email", "str"),
    ),
    "memberships": (
        _f("platform", "id", True),
        _f("group_id", "id", True),
        _f("member_id", "id", True),
        _f("event", "enum", True, MEMBERSHIP_EVENTS),
        _f("at", "instant", True),
        _f("approved_by", "id"),
        _f("reason", "str"),
    ),
    "messages": (
        _f("platform", "id", True),
        _f("group_id", "id", True),
        _f("message_id", "id", True),
        _f("sender_id", "id", True),
        _f("sent_at", "instant", True),
        _f("kind", "enum", True, MESSAGE_KINDS),
        _f("text", "str"),
        _f("reply_to", "id"),
        _f("mentions", "ids"),
        _f("mention_all", "bool"),
        _f("pinned", "bool"),
    ),
    # One person on the company's HR roster. ``member_ids``: their platform ids, each as
    # ``platform:id`` or a bare id (any platform); people are also matched to members by email.
    "roster": (
        _f("employee_id", "id", True),
        _f("real_name", "str", True),
        _f("department", "str"),
        _f("status", "enum", True, ROSTER_STATUSES),
        _f("email", "str"),
        _f("department_head_email", "str"),
        _f("member_ids", "ids"),
        _f("departed_at", "instant"),
    ),
}

#: The natural key of each entity: re-ingesting a record with the same key updates it.
KEYS: Final[dict[Entity, tuple[str, ...]]] = {
    "groups": ("platform", "group_id"),
    "members": ("platform", "member_id"),
    "memberships": ("platform", "group_id", "member_id", "event", "at"),
    "messages": ("platform", "group_id", "message_id"),
    "roster": ("employee_id",),
}

#: Bundle file stems, per entity.
FILE_STEMS: Final[dict[Entity, str]] = {e: e for e in ALL_ENTITIES}


_NO_EXTRA: Final[Mapping[str, Any]] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class RecordError:
    """Why a record was rejected: the field (or ``"(record)"`` / ``"(line)"``) and the reason."""

    field: str
    reason: str


class RawRecord(NamedTuple):
    """One input record before normalisation.

    ``source`` is the file (or API endpoint) it came from and ``line`` its 1-based line number
    there (for a JSON document, the record's position); ``raw`` is its text, kept for quarantine.
    ``data`` holds the canonical fields (values may still be strings); a reader that could not
    even parse the record sets ``error`` instead and leaves ``data`` as ``None``. ``extra``:
    what an importer knows beyond the canonical fields (e.g. an edit time).

    ``partial``: the record states only the fields it carries (an export importer's or a
    connector's record: a field it leaves out or gives as ``None`` is one its source does not
    know), so a stored value of such a field is kept, never erased (:func:`unstated_fields`).
    A canonical bundle's record states every field: a missing key or ``null`` clears it.

    A named tuple, not a dataclass: millions are made per ingest, and tuples are built fastest.
    """

    entity: Entity
    source: str
    line: int
    raw: str
    data: Mapping[str, Any] | None = None
    error: RecordError | None = None
    extra: Mapping[str, Any] = _NO_EXTRA
    partial: bool = False


def unstated_fields(entity: Entity, record: RawRecord) -> tuple[str, ...]:
    """The optional fields of ``entity`` a partial record does not state (in field order):
    what an upsert of it must leave as stored. A full record states them all (``()``)."""
    if not record.partial or record.data is None:
        return ()
    data = record.data
    return tuple(s.name for s in FIELDS[entity] if not s.required and data.get(s.name) is None)


class Source(Protocol):
    """Anything ingest can read: a canonical bundle, an export importer, an API pull.

    ``name`` is what the ingest run records (a path or ``platform:group``), ``format`` the
    importer's name (``canonical``, ``slack``, ...). ``records(entity)`` yields that entity's
    records; ingest asks for them in :data:`ENTITIES` order and streams them in chunks, so a
    source must not need to hold a whole file in memory.
    """

    name: str
    format: str

    def records(self, entity: Entity) -> Iterator[RawRecord]: ...


def source_entities(source: Source) -> tuple[Entity, ...]:
    """The entities to ingest from ``source``, in load order: a source may declare its own
    (``entities``: a roster file, a bundle holding a roster); by default the activity ones."""
    declared = getattr(source, "entities", None)
    return tuple(declared) if declared else ENTITIES
