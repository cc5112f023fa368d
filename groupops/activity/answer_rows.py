"""The reply rule of :mod:`groupops.activity.answers` in row form (plain Python, no pandas),
for the row engines of small spans (:mod:`groupops.activity.rowstats`,
:mod:`groupops.deadlines.rows`): one place for it, as ``answers.py`` is for the frames.

* :func:`asks_reply`: a message with mentions, not to everyone, neither a task nor a meeting
  notice or minutes (``reply_requests``; system messages are the caller's to leave out).
* :func:`mentioned`: the members a request asks, once each, in order, never its sender.
* :class:`FirstReply` / :class:`NextInGroup`: a member's first reply to a message, and a
  member's first message in the group strictly after an instant (``first_reply``,
  ``next_in_group``); :func:`earliest` keeps the second only when strictly earlier.

The messages handed to the finders come oldest first (``sent_at``, then ``message_id``), as
``load_messages`` orders them; ``tests/test_row_stats.py`` and ``tests/test_obligation_rows.py``
prove both row engines equal to the frame engine."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Generic, Protocol, TypeVar


class Written(Protocol):
    """What the finders read of a message."""

    @property
    def platform(self) -> str: ...
    @property
    def group_id(self) -> str: ...
    @property
    def message_id(self) -> str: ...
    @property
    def sender_id(self) -> str: ...
    @property
    def sent_at(self) -> datetime: ...
    @property
    def reply_to(self) -> str | None: ...


W = TypeVar("W", bound=Written)


def asks_reply(
    mentions: object,
    mention_all: object,
    text: str,
    is_task: Callable[[str], bool],
    is_meeting: Callable[[str], bool],
) -> bool:
    """Whether a (non-system) message is a reply request: it mentions someone (a non-empty
    list or tuple), not everyone, and is neither a task nor a meeting message."""
    return (
        isinstance(mentions, list | tuple)
        and len(mentions) > 0
        and not mention_all
        and not is_task(text)
        and not is_meeting(text)
    )


def mentioned(sender_id: str, mentions: Iterable[object]) -> list[str]:
    """The members a message mentions other than its sender, as text, once each, in order."""
    out: list[str] = []
    for target in mentions:
        if target is None or target == sender_id:
            continue
        name = str(target)
        if name not in out:
            out.append(name)
    return out


def earliest(a: W | None, b: W | None) -> W | None:
    """The earlier answer: ``b`` only when strictly earlier than ``a`` (or ``a`` is none)."""
    if b is not None and (a is None or b.sent_at < a.sent_at):
        return b
    return a


class FirstReply(Generic[W]):
    """Each member's first reply to a message among ``msgs`` (oldest first)."""

    def __init__(self, msgs: Iterable[W]) -> None:
        self._first: dict[tuple[str, str, str, str], W] = {}
        for m in msgs:
            if m.reply_to is not None:
                self._first.setdefault((m.platform, m.group_id, m.reply_to, m.sender_id), m)

    def get(self, platform: str, group_id: str, message_id: str, member: str) -> W | None:
        return self._first.get((platform, group_id, message_id, member))


class NextInGroup(Generic[W]):
    """A member's first message in a group strictly after an instant, among ``msgs`` (oldest
    first)."""

    def __init__(self, msgs: Iterable[W]) -> None:
        self._by: dict[tuple[str, str, str], tuple[list[datetime], list[W]]] = {}
        for m in msgs:
            times, found = self._by.setdefault((m.platform, m.group_id, m.sender_id), ([], []))
            times.append(m.sent_at)
            found.append(m)

    def get(self, platform: str, group_id: str, member: str, after: datetime) -> W | None:
        entry = self._by.get((platform, group_id, member))
        if entry is None:
            return None
        times, found = entry
        i = bisect_right(times, after)
        return found[i] if i < len(times) else None
