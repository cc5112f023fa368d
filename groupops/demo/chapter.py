"""What a chapter of the demo is: how it plants (``groupops.demo.plants.<name>``) and what the
rules must find in what it planted (``groupops.demo.expected.<name>``, which declares the
chapter). See docs/demo.md."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Any, Generic, TypeVar

from groupops.demo.builder import Builder, Msg, Planter
from groupops.policy import Policy

S = TypeVar("S")

#: A marker family's words in the policy (matched case-insensitively).
MarkerWords = Callable[[Policy], Sequence[str]]


@dataclass(frozen=True, slots=True)
class Obligation:
    """An obligation open at ``as_of`` that the deadline watcher must find: ``kind`` (``reply``,
    ``task_ack``, ``task_done`` …) of ``assignee`` for the request ``msg``, due at ``due``."""

    kind: str
    msg: Msg
    assignee: str
    due: datetime
    # For obligations that are not one message's (a meeting's action item ``<minutes>#<n>``
    # asked by the organizer; minutes due after the meeting's end, asked by nobody): the
    # entry's message id, requester and request time instead of ``msg``'s.
    message_id: str | None = None
    requester: str | None = None
    requested_at: datetime | None = None
    own_request: bool = True  # False: ``requester``/``requested_at`` replace msg's


def policy_words(**families: str) -> dict[str, MarkerWords]:
    """Marker families by the dotted path of their word list in the policy:
    ``policy_words(task="tasks.markers")``."""
    return {family: attrgetter(path) for family, path in families.items()}


def nothing_due(planted: object, b: Builder) -> list[Obligation]:
    return []


@dataclass(frozen=True, slots=True)
class Chapter(Generic[S]):
    """One chapter of the rulebook in the demo.

    ``name``: its id series and random stream. ``plant`` plants it and returns what it planted
    (``S``); ``record`` gives its keys of ``planted.json`` from that and the finished bundle;
    ``obligations`` the open obligations it planted (they go into ``overdue``/``pending``);
    ``markers``: the marker families it owns (word lists of the policy), which no message may
    hold unless its role allows it."""

    name: str
    plant: Callable[[Planter], S]
    record: Callable[[S, Builder], dict[str, Any]]
    obligations: Callable[[S, Builder], list[Obligation]] = nothing_due
    markers: Mapping[str, MarkerWords] = field(default_factory=dict)
