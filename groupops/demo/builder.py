"""The bundle being built: its messages and membership events, who may write where and when,
and the planter a chapter plants with.

Two sets of facts decide who may write: :attr:`Builder.presence` holds every planted fact
(joins, departures, planned silences) and is what the finished bundle must obey;
:attr:`Builder.chatter_presence` holds only the founding plants' facts and is what the chatter is
generated with. That is how a chapter's new plant leaves the chatter, and so every other
chapter's bytes, as they were (docs/demo.md, "Adding to a chapter").
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from random import Random
from typing import Any, Literal

from groupops.demo import company
from groupops.demo.period import SINCE, UNTIL, local
from groupops.demo.scenario import Plain

SYSTEM_SENDER = "system"  # the platform's own messages (joins, departures): nobody's activity

MembershipKind = Literal["join", "leave", "removed"]


@dataclass(frozen=True, slots=True)
class Role:
    """What a message is in the scenario. ``allowed``: the marker families (a chapter's
    ``MARKERS``) its text may hold; ``required``: the one it must hold; ``replies``: when set,
    only messages of these roles may reply to it (nothing but an acknowledgement or a completion
    replies to a task)."""

    name: str
    allowed: frozenset[str] = frozenset()
    required: str | None = None
    replies: frozenset[str] | None = None


def marked(name: str, *also: str, replies: frozenset[str] | None = None) -> Role:
    """A role whose text must hold the marker family ``name`` and may hold ``also``."""
    return Role(name, frozenset((name, *also)), name, replies)


@dataclass(slots=True)
class Msg:
    seq: int  # order of planting; breaks ties between messages sent at the same instant
    group_id: str
    sender_id: str
    at: datetime
    text: str
    role: Role
    series: str | None = None  # None: the groups' shared id sequence; else a chapter's own
    conversation: int | None = None  # chatter: the conversation it belongs to
    kind: str = "text"
    reply_to: int | None = None  # seq of the message replied to
    mentions: tuple[str, ...] = ()
    mention_all: bool = False
    pinned: bool = False
    message_id: str = ""


@dataclass(frozen=True, slots=True)
class Membership:
    """One row of ``memberships.jsonl``; ``approved_by`` is the remover for ``removed``."""

    group_id: str
    member_id: str
    event: MembershipKind
    at: datetime
    approved_by: str | None = None
    reason: str | None = None


@dataclass(slots=True)
class Presence:
    """Who may write in which group when: one stay per member and group (joined … gone), cut
    short by a planned silence there and by the member's ``active_until`` everywhere."""

    joined: dict[tuple[str, str], datetime] = field(default_factory=dict)
    gone: dict[tuple[str, str], datetime] = field(default_factory=dict)
    silent: dict[tuple[str, str], datetime] = field(default_factory=dict)

    def record(self, row: Membership) -> None:
        stays = self.joined if row.event == "join" else self.gone
        stays[(row.member_id, row.group_id)] = row.at

    def silence(self, member: str, group_id: str, at: datetime) -> None:
        key = (member, group_id)
        self.silent[key] = min(self.silent.get(key, UNTIL), at)

    def can_post(self, member: str, group_id: str, at: datetime) -> bool:
        key = (member, group_id)
        person = company.PEOPLE_BY_ID[member]
        return (
            SINCE <= at < UNTIL
            and key in self.joined
            and self.joined[key] <= at < self.gone.get(key, UNTIL)
            and at < self.silent.get(key, UNTIL)
            and (person.active_until is None or at < local(person.active_until))
        )

    def current(self, at: datetime) -> list[tuple[str, str]]:
        """(member, group) pairs still in the group at ``at``."""
        return [key for key in self.joined if self.gone.get(key, UNTIL) > at]


@dataclass(slots=True)
class Builder:
    """Collects the messages and membership events; ``rng`` is the chatter's random stream (the
    seed itself), ``floods`` the (member, group) pairs whose bursts are planned."""

    seed: int
    rng: Random = field(init=False)
    messages: list[Msg] = field(default_factory=list)
    memberships: list[Membership] = field(default_factory=list)
    presence: Presence = field(default_factory=Presence)
    chatter_presence: Presence = field(default_factory=Presence)
    floods: set[tuple[str, str]] = field(default_factory=set)
    conversations: int = 0

    def __post_init__(self) -> None:
        self.rng = Random(self.seed)

    def add(
        self, group_id: str, sender: str, at: datetime, text: str, role: Role, **kw: Any
    ) -> Msg:
        """Append a message (``kw``: the other :class:`Msg` fields); an @所有人 message says so."""
        if kw.get("mention_all") and not text.startswith("@所有人"):
            text = f"@所有人 {text}"
        msg = Msg(len(self.messages), group_id, sender, at, text, role, **kw)
        self.messages.append(msg)
        return msg

    def new_conversation(self) -> int:
        self.conversations += 1
        return self.conversations

    def planter(self, chapter: str) -> Planter:
        return Planter(self, chapter, Random(f"{self.seed}:{chapter}"), series=chapter)


@dataclass(frozen=True, slots=True)
class Planter:
    """What a chapter plants with.

    Its messages are numbered in the chapter's own id series (``{group}-{chapter}-0001`` …, in
    time order within the group), its randomness comes from its own stream ``rng`` (seeded with
    the seed and the chapter's name), and the facts it plants (joins, departures, silences) bind
    the bundle but not the chatter, which is generated as if they were not there; chatter
    conversations that contradict them are dropped whole, leaving their ids unused.

    :attr:`founding` is the same planter for the plants made when the demo was split by chapter:
    their messages take numbers in the groups' shared sequence with the chatter and their facts
    shape the chatter, so moving, adding or removing one changes every chapter's bytes. They are
    frozen; new plants use the planter itself.
    """

    builder: Builder
    chapter: str
    rng: Random
    series: str | None

    @property
    def founding(self) -> Planter:
        return replace(self, series=None)

    def _presences(self) -> tuple[Presence, ...]:
        b = self.builder
        return (b.presence,) if self.series else (b.presence, b.chatter_presence)

    def add(
        self,
        group_id: str,
        sender: str,
        at: datetime,
        text: str,
        role: Role,
        *,
        reply_to: Msg | None = None,
        **kw: Any,
    ) -> Msg:
        """Plant a message (``kw``: ``kind``, ``mentions``, ``mention_all``, ``pinned``)."""
        reply = reply_to.seq if reply_to is not None else None
        return self.builder.add(
            group_id, sender, at, text, role, series=self.series, reply_to=reply, **kw
        )

    def post(self, item: Plain, role: Role) -> Msg:
        """Plant a one-off message from a scenario table."""
        return self.add(
            item.group_id,
            item.sender,
            local(item.at),
            item.text,
            role,
            kind=item.kind,
            pinned=item.pinned,
            mention_all=item.mention_all,
        )

    def member_event(self, row: Membership) -> None:
        """A join, departure or removal: a row of ``memberships.jsonl`` and a fact of presence."""
        self.builder.memberships.append(row)
        for presence in self._presences():
            presence.record(row)

    def silence(self, member: str, group_id: str, at: datetime) -> None:
        """``member`` writes nothing more in the group from ``at`` (an unanswered mention)."""
        for presence in self._presences():
            presence.silence(member, group_id, at)

    def expect_flood(self, member: str, group_id: str) -> None:
        """A burst of messages by ``member`` in the group is planned (the check allows it)."""
        self.builder.floods.add((member, group_id))
