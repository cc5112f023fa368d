"""The connector interface: one class per platform, with declared capabilities.

A connector reads a group's history incrementally from a :class:`Watermark` (an opaque platform
cursor plus the newest instant seen) and returns a :class:`Pull`: canonical
:class:`~groupops.canonical.RawRecord` objects (a :class:`~groupops.canonical.Source`, so the
one validated ingest stores them) and the watermark to store once that ingest succeeded.

Write capabilities (pins, recall, mute, remove, post) are called by later flows (purge,
moderation ladder, reminders). Calling a capability the platform lacks raises
:class:`UnsupportedCapability` before any request is made.

Errors are typed: :class:`RateLimited` carries the platform's ``Retry-After`` (seconds);
:class:`PlatformError` the HTTP status and the platform's error code; ``transient`` tells the
Prefect task whether a retry can help.
"""

from __future__ import annotations

import enum
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, TypedDict

from groupops.canonical import ENTITIES, Entity, RawRecord


class Capability(enum.Flag):
    """What a connector can do on its platform."""

    READ_HISTORY = enum.auto()
    LIST_MEMBERS = enum.auto()
    LIST_ADMINS = enum.auto()
    PINS = enum.auto()
    RECALL_MESSAGE = enum.auto()
    MUTE = enum.auto()
    REMOVE_MEMBER = enum.auto()
    POST_MESSAGE = enum.auto()


ALL_CAPABILITIES: Capability = ~Capability(0)


def capability_names(caps: Capability) -> list[str]:
    """``caps`` as lower-case names, in declaration order."""
    return [c.name.lower() for c in Capability if c in caps and c.name]


class ConnectorError(Exception):
    """A connector failed. ``transient`` is true when retrying later may succeed."""

    transient: bool = False


class UnsupportedCapability(ConnectorError):
    """The platform (or this connector) does not offer the requested capability."""

    def __init__(self, platform: str, capability: Capability) -> None:
        name = (capability.name or str(capability)).lower()
        super().__init__(f"{platform} connector does not support {name!r}")
        self.platform = platform
        self.capability = capability


class RateLimited(ConnectorError):
    """The platform asked us to slow down; ``retry_after`` is in seconds."""

    transient = True

    def __init__(self, retry_after: float, detail: str = "") -> None:
        super().__init__(
            f"rate limited; retry after {retry_after:g} s{': ' + detail if detail else ''}"
        )
        self.retry_after = retry_after


class PlatformError(ConnectorError):
    """The platform answered with an error: HTTP ``status`` and its own ``code``/message."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.transient = status is None or status >= 500


@dataclass(frozen=True, slots=True)
class Watermark:
    """Where the last successful pull of one group stopped: an opaque platform ``cursor``
    (a Matrix sync token, a Slack ``ts``, a Feishu message id) and the newest instant seen."""

    cursor: str | None = None
    at: datetime | None = None

    def __post_init__(self) -> None:
        if self.at is not None and self.at.tzinfo is None:
            raise ValueError("Watermark.at must be timezone-aware")


def encode_cursor(position: str | None, pins: Iterable[str]) -> str:
    """A watermark cursor: the platform position plus the pinned message ids seen, so the next
    pull can re-emit messages whose pin changed even when they are older than the window."""
    return json.dumps({"position": position, "pins": sorted(pins)}, separators=(",", ":"))


def decode_cursor(cursor: str | None) -> tuple[str | None, frozenset[str] | None]:
    """``(position, pins)`` of a cursor; a bare platform cursor has no pins (``None``)."""
    if cursor is None:
        return None, None
    try:
        data = json.loads(cursor)
    except ValueError:
        return cursor, None
    if isinstance(data, dict) and "position" in data:
        position = data["position"]
        return (None if position is None else str(position)), frozenset(data.get("pins") or ())
    return cursor, None


def pin_changes(previous: frozenset[str] | None, current: Iterable[str]) -> set[str]:
    """Message ids whose pinned state may differ from what is stored: every current pin on a
    first pull, otherwise the pins added or removed since the previous pull."""
    now = set(current)
    return now if previous is None else now ^ previous


@dataclass(frozen=True, slots=True)
class GroupInfo:
    group_id: str
    name: str
    owner_id: str | None = None
    admin_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MemberInfo:
    member_id: str
    display_name: str
    email: str | None = None
    real_name: str | None = None


@dataclass
class Pull:
    """The records of one incremental pull of one group, and the watermark to store after a
    successful ingest. Implements :class:`groupops.canonical.Source`."""

    platform: str
    group_id: str
    watermark: Watermark
    batches: dict[Entity, list[RawRecord]] = field(default_factory=dict)
    skipped: int = 0  # platform events that are not messages (redacted, edits, recalled)

    name: str = field(init=False)  # what the ingest run records: ``platform:group``
    format: str = field(init=False)

    def __post_init__(self) -> None:
        self.name = f"{self.platform}:{self.group_id}"
        self.format = f"{self.platform}-api"

    def records(self, entity: Entity) -> Iterator[RawRecord]:
        yield from self.batches.get(entity, ())

    def count(self, entity: Entity) -> int:
        return len(self.batches.get(entity, ()))

    def add(
        self, entity: Entity, source: str, raw: Mapping[str, Any], data: Mapping[str, Any]
    ) -> None:
        """Append one record; ``raw`` is the platform's JSON object (kept for quarantine)."""
        batch = self.batches.setdefault(entity, [])
        batch.append(
            RawRecord(
                entity=entity,
                source=source,
                line=len(batch) + 1,
                raw=json.dumps(raw, ensure_ascii=False, sort_keys=True, default=str),
                data=dict(data),
                # A platform's API does not know everything the roster does (emails, real
                # names): a field it leaves out or gives as None keeps its stored value.
                partial=True,
            )
        )

    def summary(self) -> dict[str, int]:
        return {e: self.count(e) for e in ENTITIES} | {"skipped": self.skipped}


def iso_from_ms(ms: int) -> str:
    """Epoch milliseconds (as the platforms stamp messages) as ISO 8601 UTC."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


class Tuning(TypedDict, total=False):
    """How a connector pages, bounds a pull and waits: the same keys for every platform (a
    source's settings in ``data/sources.toml``). Missing keys take :class:`Connector`'s
    defaults."""

    page_size: int
    max_messages: int
    history_since: datetime | None
    max_inline_wait_s: float
    timeout_s: float
    sleep: Callable[[float], None]


class Connector:
    """Base class. Subclasses set ``platform``, ``capabilities`` and ``default_page_size``,
    pass their :class:`Tuning` to ``super().__init__`` and implement the ``_``-prefixed
    methods of the capabilities they declare."""

    platform: ClassVar[str] = "unknown"
    capabilities: ClassVar[Capability] = Capability(0)
    default_page_size: ClassVar[int] = 100

    def __init__(
        self,
        *,
        page_size: int | None = None,
        max_messages: int = 5000,
        history_since: datetime | None = None,
        max_inline_wait_s: float = 30.0,
        timeout_s: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.page_size = page_size or self.default_page_size
        self.max_messages = max_messages
        self.history_since = history_since
        self.max_inline_wait_s = max_inline_wait_s  # longer Retry-After: raise RateLimited
        self.timeout_s = timeout_s
        self._sleep = sleep

    def supports(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def require(self, capability: Capability) -> None:
        if capability not in self.capabilities:
            raise UnsupportedCapability(self.platform, capability)

    # -- reading ------------------------------------------------------------------------------
    def pull(self, group_id: str, watermark: Watermark | None, *, now: datetime) -> Pull:
        """Records newer than ``watermark`` (everything the connector may read when ``None``,
        bounded by the source's ``history_since``/``max_messages``) and the new watermark."""
        self.require(Capability.READ_HISTORY)
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        return self._pull(group_id, watermark, now=now)

    def group_info(self, group_id: str) -> GroupInfo:
        """Name, owner and admins of the group."""
        self.require(Capability.LIST_ADMINS)
        return self._group_info(group_id)

    def list_members(self, group_id: str) -> list[MemberInfo]:
        self.require(Capability.LIST_MEMBERS)
        return self._list_members(group_id)

    def list_pins(self, group_id: str) -> list[str]:
        """Ids of the group's pinned messages."""
        self.require(Capability.PINS)
        return self._list_pins(group_id)

    # -- writing ------------------------------------------------------------------------------
    def pin(self, group_id: str, message_id: str) -> None:
        self.require(Capability.PINS)
        self._pin(group_id, message_id, pinned=True)

    def unpin(self, group_id: str, message_id: str) -> None:
        self.require(Capability.PINS)
        self._pin(group_id, message_id, pinned=False)

    def recall(self, group_id: str, message_id: str, *, reason: str | None = None) -> None:
        """Recall (delete/redact) a message."""
        self.require(Capability.RECALL_MESSAGE)
        self._recall(group_id, message_id, reason)

    def mute(self, group_id: str, member_id: str) -> None:
        """Stop a member from posting. Mutes are not timed on any platform here: a timed mute
        is lifted by the moderation flow calling :meth:`unmute`."""
        self.require(Capability.MUTE)
        self._set_muted(group_id, member_id, muted=True)

    def unmute(self, group_id: str, member_id: str) -> None:
        self.require(Capability.MUTE)
        self._set_muted(group_id, member_id, muted=False)

    def remove_member(self, group_id: str, member_id: str, *, reason: str | None = None) -> None:
        self.require(Capability.REMOVE_MEMBER)
        self._remove_member(group_id, member_id, reason)

    def post(self, group_id: str, text: str, *, mentions: Sequence[str] = ()) -> str:
        """Post a text message (optionally mentioning members); the new message's id."""
        self.require(Capability.POST_MESSAGE)
        return self._post(group_id, text, tuple(mentions))

    def close(self) -> None:
        """Release HTTP connections."""

    def __enter__(self) -> Connector:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- implementations (override the ones you declare) ---------------------------------------
    def _pull(self, group_id: str, watermark: Watermark | None, *, now: datetime) -> Pull:
        raise UnsupportedCapability(self.platform, Capability.READ_HISTORY)

    def _group_info(self, group_id: str) -> GroupInfo:
        raise UnsupportedCapability(self.platform, Capability.LIST_ADMINS)

    def _list_members(self, group_id: str) -> list[MemberInfo]:
        raise UnsupportedCapability(self.platform, Capability.LIST_MEMBERS)

    def _list_pins(self, group_id: str) -> list[str]:
        raise UnsupportedCapability(self.platform, Capability.PINS)

    def _pin(self, group_id: str, message_id: str, *, pinned: bool) -> None:
        raise UnsupportedCapability(self.platform, Capability.PINS)

    def _recall(self, group_id: str, message_id: str, reason: str | None) -> None:
        raise UnsupportedCapability(self.platform, Capability.RECALL_MESSAGE)

    def _set_muted(self, group_id: str, member_id: str, *, muted: bool) -> None:
        raise UnsupportedCapability(self.platform, Capability.MUTE)

    def _remove_member(self, group_id: str, member_id: str, reason: str | None) -> None:
        raise UnsupportedCapability(self.platform, Capability.REMOVE_MEMBER)

    def _post(self, group_id: str, text: str, mentions: tuple[str, ...]) -> str:
        raise UnsupportedCapability(self.platform, Capability.POST_MESSAGE)
